import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { Registry as MetricsRegistry } from 'prom-client';
import { MemoryRegistry } from '../../../registry/index.js';
import { createApp } from '../../../api/app.js';
import type { ExportArchiveReader } from '../../../api/route.js';
import { listen } from '../../../api/serve.js';
import { loadConfig } from '../../../config/index.js';
import type { PolicyCatalog, Role } from '../../../domain/index.js';
import { ROLES } from '../../../domain/index.js';
import { FakeLifecycle } from './fake-lifecycle.js';

/** How long the harness's server waits for a whole request (short, so that a test can see the 408). */
export const REQUEST_TIMEOUT_MS = 1_500;

/** A running API over the in-memory registry and a fake lifecycle, with one key per role: no server. */
export interface ApiHarness {
  baseUrl: string;
  store: MemoryRegistry;
  lifecycle: FakeLifecycle;
  catalog: PolicyCatalog;
  metrics: MetricsRegistry;
  /** Every line the API logged, as written. */
  logLines: string[];
  /** Secret of an active key for each role. */
  keys: Record<Role, string>;
  /** Moves the registry's clock (Idempotency-Key ages) forward. */
  advanceClock(ms: number): void;
  stop(): Promise<void>;
}

/** What a test may add to the API: an export reader over the harness's registry. */
export interface ApiHarnessOptions {
  exportArchives?: (store: MemoryRegistry) => ExportArchiveReader;
}

/** Serves the API on a free loopback port over a fresh in-memory registry. */
export async function startApiHarness({ exportArchives }: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    let offset = 0;
    const store = new MemoryRegistry({ clock: () => Date.now() + offset });
    const { catalog, retention } = loadConfig({});
    const lifecycle = new FakeLifecycle(store, catalog);
    const metrics = new MetricsRegistry();
    const logLines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    const app = createApp({
      store,
      lifecycle,
      catalog,
      retention,
      logger,
      metrics,
      ...(exportArchives ? { exportArchives: exportArchives(store) } : {}),
    });
    const server = await listen(app, 0, '127.0.0.1', { requestTimeoutMs: REQUEST_TIMEOUT_MS });
    stops.push(
      () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
    );
    stops.push(async () => server.closeAllConnections());
    const keys = {} as Record<Role, string>;
    for (const role of ROLES)
      keys[role] = (await store.apiKeys.create({ name: `test-${role}`, role, createdBy: 'test' })).secret;
    const { port } = server.address() as AddressInfo;
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      store,
      lifecycle,
      catalog,
      metrics,
      logLines,
      keys,
      advanceClock: (ms) => void (offset += ms),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Starts an API harness before the file's tests and stops it after them; the getter returns it.
 * What every API test file begins with.
 */
export function useApiHarness(options: ApiHarnessOptions = {}): () => ApiHarness {
  let api: ApiHarness | undefined;
  beforeAll(async () => {
    api = await startApiHarness(options);
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
export async function operationCount(store: MemoryRegistry): Promise<number> {
  return store.operations.rows.size;
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
