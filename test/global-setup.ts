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
import { startInfrastructure } from '../scripts/stack/infrastructure.js';
import { freePort, freePortRange } from '../scripts/stack/ports.js';
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
  // Region local-b lives on a server started apart from Landlord, when this machine has Postgres.
  const external = startExternalPostgres(join(dir, 'external-postgres'), await freePort());
  const regionEnv = external ? { LANDLORD_REGION_LOCAL_B_URL: external.url } : {};
  const config = loadConfig({ ...env, ...regionEnv, PATH: process.env.PATH });
  let infra: Awaited<ReturnType<typeof startInfrastructure>>;
  let bundle: Awaited<ReturnType<typeof bundleWorkflows>>;
  try {
    [infra, bundle] = await Promise.all([startInfrastructure(config, secret), bundleWorkflows()]);
  } catch (err) {
    external?.stop();
    throw err;
  }
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  const stack: TestStack = {
    dir,
    env: { ...env, ...infra.env },
    temporalAddress: infra.temporalAddress,
    temporalDbFile: join(dir, 'temporal', 'temporal.db'),
    temporalPort: Number(env.LANDLORD_TEMPORAL_PORT),
    temporalUiPort: Number(env.LANDLORD_TEMPORAL_UI_PORT),
    registryServerUrl: infra.postgres.find((s) => s.name === 'registry')!.url,
    regionUrls: infra.regionUrls,
    workflowBundlePath: bundlePath,
    secret,
    ...(external ? { externalRegion: { region: 'local-b', version: external.version } } : {}),
  };
  project.provide('stack', stack);
  return async () => {
    await infra.stop();
    external?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
