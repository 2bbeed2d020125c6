/**
 * Starts the real servers once per test run: a Temporal dev server (SQLite file) and embedded
 * Postgres for the registry and the local regions, on free loopback ports in a temporary folder.
 * Also bundles the workflow code once for every in-process worker.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../config/index.js';
import { startInfrastructure } from '../scripts/servers/infrastructure.js';
import { StackSetupError } from '../scripts/servers/postgres.js';
import { freePort, freePortRange } from '../scripts/servers/ports.js';
import { bundleWorkflows } from '../workers/lifecycle.js';
import { startExternalPostgres } from './support/external-postgres.js';
import type { TestStack } from './support/stack.js';

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'landlord-test-'));
  chmodSync(dir, 0o755);
  const secret = 'test-secret-'.padEnd(48, 'x');
  const env = {
    LANDLORD_DATA_DIR: dir,
    LANDLORD_TEMPORAL_PORT: String(await freePort()),
    LANDLORD_TEMPORAL_UI_PORT: String(await freePort()),
    LANDLORD_POSTGRES_PORT: String(await freePortRange(3)),
    LANDLORD_SECRET: secret,
  };
  let external: ReturnType<typeof startExternalPostgres>;
  let infra: Awaited<ReturnType<typeof startInfrastructure>> | undefined;
  let stack: TestStack;
  try {
    // Region local-b lives on a server started apart from Landlord, when this machine has Postgres.
    external = startExternalPostgres(join(dir, 'external-postgres'), await freePort());
    const regionEnv = external ? { LANDLORD_REGION_LOCAL_B_URL: external.url } : {};
    const config = loadConfig({ ...env, ...regionEnv, PATH: process.env.PATH });
    // Both settle before anything is decided, so no server is still starting when a failure stops them.
    const [started, bundled] = await Promise.allSettled([
      startInfrastructure(config, secret),
      bundleWorkflows(),
    ]);
    if (started.status === 'fulfilled') infra = started.value;
    if (started.status === 'rejected') throw started.reason;
    if (bundled.status === 'rejected') throw bundled.reason;
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundled.value.code);
    stack = {
      dir,
      env: { ...env, ...infra!.env },
      temporalAddress: infra!.temporalAddress,
      temporalDbFile: join(dir, 'temporal', 'temporal.db'),
      temporalPort: Number(env.LANDLORD_TEMPORAL_PORT),
      temporalUiPort: Number(env.LANDLORD_TEMPORAL_UI_PORT),
      registryServerUrl: infra!.postgres.find((s) => s.id === 'registry')!.url,
      regionUrls: infra!.regionUrls,
      workflowBundlePath: bundlePath,
      secret,
      ...(external ? { externalRegion: { region: 'local-b', version: external.version } } : {}),
    };
  } catch (err) {
    // A failed start stops every server it started (and the reaper stops them should this process die).
    await infra?.stop();
    external?.stop();
    // A problem the user can fix is one line, not a stack trace.
    if (err instanceof StackSetupError) {
      process.stderr.write(`npm test: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  project.provide('stack', stack);
  return async () => {
    await infra!.stop();
    external?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
