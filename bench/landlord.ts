/**
 * Landlord as it runs in production, in this process: the lifecycle worker, the HTTP API on a
 * loopback port with its own registry connections, and a Temporal client. `onboard` drives one
 * onboarding through the API exactly as a caller would. Silo tiers also need a provisioning worker
 * on the same task queue prefix (bench/worker-process.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { loadConfig } from '../config/index.js';
import type { Config } from '../config/index.js';
import { PoolDirectory } from '../activities/pool/directory.js';
import { connectRegistry } from '../registry/index.js';
import { bootstrapAdminKey } from '../api/admin-key.js';
import { createApp } from '../api/app.js';
import { listen } from '../api/serve.js';
import { TemporalLifecycleClient } from '../client/temporal-lifecycle.js';
import { tenantWorkflowId } from '../workflows/definitions.js';
import { bundleWorkflows, createLifecycleWorker } from '../workers/lifecycle.js';
import type { LifecycleWorkerDeps } from '../workers/lifecycle.js';
import type { BenchStack } from './stack.js';
import { WebhookSink } from './webhook-sink.js';
import { currentLoad } from './report.js';

export interface OnboardingSample {
  operationId: string;
  /** From sending the POST to reading `succeeded` from `GET /v1/operations/{id}`. */
  latencyMs: number;
  /** From sending the POST to its 202 answer (update-with-start). */
  acceptMs: number;
  /** GET requests it took to see `succeeded`. */
  polls: number;
}

/** How many activities one onboarding ran, read from its workflow histories. */
export interface ActivityCounts {
  activities: number;
  localActivities: number;
  /** Workflow tasks, summed over the tenant workflow and the operation's child workflow. */
  workflowTasks: number;
}

/** The task queue prefix of every benchmark's Landlord, in this process and in worker processes. */
export const BENCH_TASK_QUEUE_PREFIX = 'bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `POST /v1/tenants` body of a benchmark tenant. */
/**
 * What a benchmark of Landlord's workers begins with: the machine's load and the time at its start,
 * a run id for its names, and its workers' environment (task queues of their own, quiet logs) and
 * the configuration they load from it.
 */
export function benchStart(stack: BenchStack): {
  loadAtStart: number[];
  benchStarted: number;
  run: string;
  workerEnv: BenchStack['env'] & { LANDLORD_TASK_QUEUE_PREFIX: string; LANDLORD_LOG_LEVEL: string };
  config: Config;
} {
  const loadAtStart = currentLoad();
  const benchStarted = performance.now();
  const run = randomBytes(3).toString('hex');
  const workerEnv = {
    ...stack.env,
    LANDLORD_TASK_QUEUE_PREFIX: BENCH_TASK_QUEUE_PREFIX,
    LANDLORD_LOG_LEVEL: 'silent',
  };
  const config = loadConfig({ ...workerEnv, PATH: process.env.PATH });
  return { loadAtStart, benchStarted, run, workerEnv, config };
}

export function createTenantBody(tenantId: string, tier: string) {
  return {
    id: tenantId,
    name: `Bench ${tenantId}`,
    tier,
    region: 'local-a',
    adminEmail: `owner@${tenantId}.test`,
  };
}

export class Landlord {
  private constructor(
    private readonly baseUrl: string,
    private readonly adminKey: string,
    private readonly client: Client,
    private readonly stop: () => Promise<void>,
  ) {}

  static async start({
    stack,
    connection,
    webhook,
    decorateActivities,
  }: {
    stack: BenchStack;
    connection: NativeConnection;
    webhook: { url: string; secret: string };
    /** To time the activities (bench/trace-onboarding.ts); the benchmark itself runs them as they are. */
    decorateActivities?: LifecycleWorkerDeps['decorateActivities'];
  }): Promise<Landlord> {
    const adminKey = `bench-admin-key-${stack.secret.slice(-24)}`;
    const config = loadConfig({
      ...stack.env,
      LANDLORD_TASK_QUEUE_PREFIX: BENCH_TASK_QUEUE_PREFIX,
      LANDLORD_LOG_LEVEL: 'silent',
      LANDLORD_WEBHOOK_URLS: webhook.url,
      LANDLORD_WEBHOOK_SECRET: webhook.secret,
      PATH: process.env.PATH,
    });
    const registryUrl = config.postgres.registryUrl!;
    // The worker and the API are separate processes in production, each with its own pool.
    const workerStore = connectRegistry(registryUrl);
    const apiStore = connectRegistry(registryUrl);
    const directory = new PoolDirectory(config.postgres.regionUrls);
    const client = new Client({
      connection: await Connection.connect({ address: stack.infra.temporalAddress }),
    });
    let worker: { worker: Worker; run: Promise<void> } | undefined;
    let server: Server | undefined;
    const stop = async () => {
      if (server) {
        const closed = new Promise<void>((r) => server!.close(() => r()));
        server.closeAllConnections();
        await closed;
      }
      if (worker) {
        worker.worker.shutdown();
        await worker.run;
      }
      await Promise.allSettled([
        client.connection.close(),
        directory.close(),
        workerStore.close(),
        apiStore.close(),
      ]);
    };
    try {
      const lifecycleWorker = await createLifecycleWorker({
        config,
        connection,
        namespace: 'default',
        store: workerStore,
        directory,
        secret: stack.secret,
        workflowBundle: await bundleWorkflows(),
        ...(decorateActivities ? { decorateActivities } : {}),
      });
      worker = { worker: lifecycleWorker, run: lifecycleWorker.run() };
      await bootstrapAdminKey(apiStore, adminKey);
      const app = createApp({
        store: apiStore,
        lifecycle: new TemporalLifecycleClient(client, config.taskQueues, config.catalog),
        catalog: config.catalog,
        retention: config.retention,
        logger: pino({ level: 'silent' }),
      });
      server = await listen(app, 0, '127.0.0.1');
      const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      return new Landlord(baseUrl, adminKey, client, stop);
    } catch (err) {
      await stop();
      throw err;
    }
  }

  private async call(
    method: string,
    path: string,
    body?: unknown,
    key = this.adminKey,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /**
   * Onboards a tenant (basic tier unless told) in local-a and follows its operation until it has
   * succeeded, by long poll (`?wait=30s`): answered as soon as the operation ends.
   */
  async onboard(
    tenantId: string,
    { tier = 'basic', timeoutMs = 120_000 }: { tier?: string; timeoutMs?: number } = {},
  ): Promise<OnboardingSample> {
    const started = performance.now();
    const created = await this.call('POST', '/v1/tenants', createTenantBody(tenantId, tier));
    const acceptMs = performance.now() - started;
    if (created.status !== 202)
      throw new Error(`POST /v1/tenants answered ${created.status}: ${JSON.stringify(created.body)}`);
    const operationId = String(created.body.id);
    for (let polls = 1; ; polls++) {
      const { status, body } = await this.call(
        'GET',
        `/v1/operations/${encodeURIComponent(operationId)}?wait=30s`,
      );
      if (status !== 200)
        throw new Error(`GET /v1/operations/${operationId} answered ${status}: ${JSON.stringify(body)}`);
      if (body.status === 'succeeded')
        return { operationId, latencyMs: performance.now() - started, acceptMs, polls };
      if (body.status !== 'running')
        throw new Error(
          `onboarding of ${tenantId} ended ${String(body.status)}: ${JSON.stringify(body.error)}`,
        );
      if (performance.now() - started > timeoutMs)
        throw new Error(`onboarding of ${tenantId} still running after ${timeoutMs} ms`);
    }
  }

  /**
   * Counts the activities of one finished onboarding in the tenant workflow's history and its
   * operation's child workflow history. The tenant workflow records its last local activities
   * after the operation reads `succeeded`, so this waits until its history stops growing.
   */
  async activityCounts(tenantId: string, operationId: string): Promise<ActivityCounts> {
    const histories = async () =>
      Promise.all([
        this.client.workflow.getHandle(tenantWorkflowId(tenantId)).fetchHistory(),
        this.client.workflow.getHandle(operationId).fetchHistory(),
      ]);
    let events = (await histories()).flatMap((h) => h.events ?? []);
    for (let stable = 0; stable < 3;) {
      await sleep(100);
      const again = (await histories()).flatMap((h) => h.events ?? []);
      stable = again.length === events.length ? stable + 1 : 0;
      events = again;
    }
    return {
      activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
      localActivities: events.filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      ).length,
      workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    };
  }

  /** Any API call, with the admin key unless given another (a second principal, another role). */
  api(
    method: string,
    path: string,
    body?: unknown,
    { key }: { key?: string } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    return this.call(method, path, body, key);
  }

  /** A new API key of `role` (`POST /v1/api-keys`): its secret, for `api(…, { key })`. */
  async apiKey(name: string, role: string): Promise<string> {
    const { status, body } = await this.call('POST', '/v1/api-keys', { name, role });
    if (status !== 201) throw new Error(`POST /v1/api-keys answered ${status}: ${JSON.stringify(body)}`);
    return String(body.secret);
  }

  /** The tenant's status as `GET /v1/tenants/{id}` shows it. */
  async tenantStatus(tenantId: string): Promise<string> {
    const { status, body } = await this.call('GET', `/v1/tenants/${encodeURIComponent(tenantId)}`);
    if (status !== 200) throw new Error(`GET /v1/tenants/${tenantId} answered ${status}`);
    return String(body.status);
  }

  async close(): Promise<void> {
    await this.stop();
  }
}

/**
 * A loopback webhook receiver, a worker connection and Landlord on `stack`, each handed to `cleanup`
 * (which stops them in reverse order).
 */
export async function startLandlordWithSink(
  stack: BenchStack,
  cleanup: (fn: () => Promise<unknown>) => void,
  { decorateActivities }: { decorateActivities?: LifecycleWorkerDeps['decorateActivities'] } = {},
): Promise<{ sink: WebhookSink; connection: NativeConnection; landlord: Landlord }> {
  const sink = await new WebhookSink().start();
  cleanup(() => sink.stop());
  const connection = await NativeConnection.connect({ address: stack.infra.temporalAddress });
  cleanup(() => connection.close());
  const landlord = await Landlord.start({
    stack,
    connection,
    webhook: { url: sink.url, secret: stack.secret.slice(0, 32) },
    ...(decorateActivities ? { decorateActivities } : {}),
  });
  cleanup(() => landlord.close());
  return { sink, connection, landlord };
}
