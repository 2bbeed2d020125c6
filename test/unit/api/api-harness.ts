import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { Registry } from 'prom-client';
import { RegistryStore } from '../../../activities/registry/store.js';
import { createApp } from '../../../api/app.js';
import { listen } from '../../../api/serve.js';
import { loadConfig } from '../../../config/index.js';
import type { PolicyCatalog, Role } from '../../../domain/index.js';
import { ROLES } from '../../../domain/index.js';
import { ensureDatabase, withDatabase } from '../../../activities/database.js';
import { testStack } from '../../support/stack.js';
import { FakeLifecycle } from './fake-lifecycle.js';

/** How long the harness's server waits for a whole request (short, so that a test can see the 408). */
export const REQUEST_TIMEOUT_MS = 1_500;

/** A running API over a real registry database and a fake lifecycle, with one key per role. */
export interface ApiHarness {
  baseUrl: string;
  store: RegistryStore;
  lifecycle: FakeLifecycle;
  catalog: PolicyCatalog;
  metrics: Registry;
  /** Every line the API logged, as written. */
  logLines: string[];
  /** Secret of an active key for each role. */
  keys: Record<Role, string>;
  stop(): Promise<void>;
}

/** Migrates a fresh registry database on the shared test server and serves the API on a free loopback port. */
export async function startApiHarness(): Promise<ApiHarness> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const { registryServerUrl } = testStack();
    const database = `api_registry_${randomBytes(4).toString('hex')}`;
    await ensureDatabase(registryServerUrl, database);
    const store = RegistryStore.connect(withDatabase(registryServerUrl, database));
    stops.push(() => store.close());
    await store.migrate();
    const { catalog } = loadConfig({});
    const lifecycle = new FakeLifecycle(store, catalog);
    const metrics = new Registry();
    const logLines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    const app = createApp({ store, lifecycle, catalog, logger, metrics });
    const server = await listen(app, 0, '127.0.0.1', { requestTimeoutMs: REQUEST_TIMEOUT_MS });
    stops.push(
      () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
    );
    stops.push(async () => server.closeAllConnections());
    const keys = {} as Record<Role, string>;
    for (const role of ROLES)
      keys[role] = (await store.createApiKey({ name: `test-${role}`, role, createdBy: 'test' })).secret;
    const { port } = server.address() as AddressInfo;
    return { baseUrl: `http://127.0.0.1:${port}`, store, lifecycle, catalog, metrics, logLines, keys, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Starts an API harness before the file's tests and stops it after them; the getter returns it.
 * What every API test file begins with.
 */
export function useApiHarness(): () => ApiHarness {
  let api: ApiHarness | undefined;
  beforeAll(async () => {
    api = await startApiHarness();
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
  }, 60_000);
  return () => {
    if (!api) throw new Error('the API harness is not running');
    return api;
  };
}

/** Number of operations the registry holds. */
export async function operationCount(store: RegistryStore): Promise<number> {
  const { rows } = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM operations');
  return Number(rows[0]?.n ?? 0);
}

/** An answer read whole: status, headers and the parsed JSON body (or the text). */
export interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
}

/** Sends a request with `role`'s key (or a raw Authorization header, or none) and reads the answer. */
export async function call(
  api: ApiHarness,
  method: string,
  path: string,
  {
    role = 'admin',
    body,
    headers = {},
  }: { role?: Role | 'none'; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const sent: Record<string, string> = { ...headers };
  if (role !== 'none') sent.authorization ??= `Bearer ${api.keys[role]}`;
  if (body !== undefined && typeof body !== 'string') sent['content-type'] ??= 'application/json';
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: sent,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics text, empty 204)
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
