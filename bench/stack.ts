/**
 * The servers a benchmark runs on: the same Temporal dev server and embedded Postgres as
 * `npm start` and the tests, on free loopback ports in a temporary folder that `stop()` removes.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { startInfrastructure } from '../scripts/servers/infrastructure.js';
import type { Infrastructure } from '../scripts/servers/infrastructure.js';
import { freePort, freePortRange } from '../scripts/servers/ports.js';

export interface BenchStack {
  dir: string;
  secret: string;
  /** Environment for `loadConfig`: ports, data dir, secret and the started servers' URLs. */
  env: Record<string, string>;
  infra: Infrastructure;
  stop(): Promise<void>;
}

/** Starts Temporal (SQLite) and Postgres (registry, local-a, local-b), migrated. */
export async function startBenchStack(): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'landlord-bench-'));
  // Embedded Postgres runs as the postgres user when started by root.
  chmodSync(dir, 0o755);
  const secret = `bench-${randomBytes(24).toString('hex')}`;
  const env: Record<string, string> = {
    LANDLORD_DATA_DIR: dir,
    LANDLORD_TEMPORAL_PORT: String(await freePort()),
    LANDLORD_TEMPORAL_UI_PORT: String(await freePort()),
    LANDLORD_POSTGRES_PORT: String(await freePortRange(3)),
    LANDLORD_SECRET: secret,
  };
  let infra: Infrastructure;
  try {
    infra = await startInfrastructure(loadConfig({ ...env, PATH: process.env.PATH }), secret);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    secret,
    env: { ...env, ...infra.env },
    infra,
    async stop() {
      try {
        await infra.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
