import { execFileSync } from 'node:child_process';
import { delimiter, dirname } from 'node:path';
import { pulumiEnvironment } from '../../workers/provisioning.js';
import type { Harness } from './harness.js';
import { testStack } from './stack.js';

/** Runs the plain `pulumi` CLI against the backend the harness's stacks live in. */
export function pulumiCli(h: Harness, args: string[]): string {
  const env = pulumiEnvironment(h.config, testStack().secret);
  return execFileSync(env.cliPath, args, {
    env: {
      ...process.env,
      PATH: [dirname(env.cliPath), env.pluginDir, process.env.PATH].join(delimiter),
      PULUMI_BACKEND_URL: env.backendUrl,
      PULUMI_CONFIG_PASSPHRASE: env.passphrase,
      PULUMI_HOME: env.home,
      PULUMI_SKIP_UPDATE_CHECK: 'true',
    },
    cwd: h.config.dataDir,
    encoding: 'utf8',
  });
}

/** `pulumi stack ls --all` as `<project>/<stack>` names (a DIY backend qualifies them with an org). */
export function listStacks(h: Harness): string[] {
  return listStacksQualified(h).map((name) => name.split('/').slice(-2).join('/'));
}

/**
 * The outputs of every resource in a stack's state, secrets shown, by resource name (the last part
 * of its URN): what a test needs to act as the tenant with its real credentials.
 */
export function stackResourceOutputs(h: Harness, stack: string): Record<string, Record<string, unknown>> {
  const qualified = listStacksQualified(h).find((name) => name.endsWith(`/${stack}`));
  if (!qualified) throw new Error(`no stack ${stack}`);
  const exported = JSON.parse(pulumiCli(h, ['stack', 'export', '--show-secrets', '--stack', qualified])) as {
    deployment: { resources?: { urn: string; outputs?: Record<string, unknown> }[] };
  };
  return Object.fromEntries(
    (exported.deployment.resources ?? []).map((r) => [
      r.urn.split('::').at(-1)!,
      Object.fromEntries(Object.entries(r.outputs ?? {}).map(([k, v]) => [k, plain(v)])),
    ]),
  );
}

/** An exported secret is `{ <sig>: …, plaintext: "<JSON>" }`; anything else is as it is. */
function plain(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'plaintext' in value)
    return JSON.parse((value as { plaintext: string }).plaintext);
  return value;
}

/** `pulumi stack ls --all` names as the backend gives them. */
function listStacksQualified(h: Harness): string[] {
  return (JSON.parse(pulumiCli(h, ['stack', 'ls', '--all', '--json'])) as { name: string }[]).map(
    (s) => s.name,
  );
}
