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
  return (JSON.parse(pulumiCli(h, ['stack', 'ls', '--all', '--json'])) as { name: string }[]).map((s) =>
    s.name.split('/').slice(-2).join('/'),
  );
}
