/**
 * A Landlord for one test file on the shared test servers: its own registry database and task
 * queue, an in-process worker (or a worker process), the real API on a free port, and the real
 * Temporal client. Everything it starts, `close()` stops.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { loadConfig, PROJECT_ROOT } from '../../config/index.js';
import type { Config } from '../../config/index.js';
import { ensureDatabase, withDatabase } from '../../dataplane/connection.js';
import { PoolDirectory } from '../../activities/pool/directory.js';
import { connectRegistry } from '../../registry/index.js';
import type { PostgresRegistry } from '../../registry/index.js';
import { TemporalLifecycleClient } from '../../client/temporal-lifecycle.js';
import { openExportArchive } from '../../activities/data/export.js';
import { localExportsRoot } from '../../activities/data/export-archive.js';
import { tenantKeyringFrom } from '../../activities/keys/index.js';
import { tenantKekFromSecret } from '../../activities/keys/local-kek.js';
import { createApp } from '../../api/app.js';
import { listen } from '../../api/serve.js';
import { bootstrapAdminKey } from '../../api/admin-key.js';
import type { OperationSnapshot, Role } from '../../domain/index.js';
import { createLifecycleWorker, installQuietRuntime } from '../../workers/lifecycle.js';
import { createProvisioningWorker } from '../../workers/provisioning.js';
import { createDataWorker } from '../../workers/data.js';
import type { DataActivities } from '../../activities/data/index.js';
import type { LifecycleActivities } from '../../workers/lifecycle.js';
import { testStack } from './stack.js';

export const ADMIN_KEY = 'test-admin-key-'.padEnd(40, '0');

/** A slug no other test uses. */
export function uniqueTenantId(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface HarnessOptions {
  webhookUrls?: string[];
  webhookSecret?: string;
  decorateActivities?: (activities: LifecycleActivities) => LifecycleActivities;
  /** Skip the in-process worker (the test runs a worker process instead). */
  noWorker?: boolean;
  /** A Temporal server of the test's own instead of the shared one. */
  temporalAddress?: string;
  /** Also run a provisioning (Pulumi) worker in this process. */
  provisioning?: boolean;
  /** Also run a data worker (rows moving between databases) in this process. */
  data?: boolean;
  decorateDataActivities?: (activities: DataActivities) => DataActivities;
  /** How long the API waits for a tenant workflow's answer (default: the product's). */
  answerTimeoutMs?: number;
}

export class Harness {
  readonly keys = new Map<Role, string>();
  baseUrl = '';
  private worker?: { worker: Worker; run: Promise<void> };
  private provisioningWorker?: { worker: Worker; run: Promise<void> };
  private dataWorker?: { worker: Worker; run: Promise<void> };
  private workerConnection?: NativeConnection;
  private server?: Server;
  private readonly processes = new Set<ChildProcess>();
  /** What each spawned process wrote to stdout and stderr. */
  private readonly outputs = new Map<ChildProcess, string[]>();

  private constructor(
    readonly config: Config,
    readonly env: Record<string, string>,
    readonly store: PostgresRegistry,
    readonly directory: PoolDirectory,
    readonly client: Client,
    readonly lifecycle: TemporalLifecycleClient,
    private readonly options: HarnessOptions,
  ) {}

  static async create(options: HarnessOptions = {}): Promise<Harness> {
    installQuietRuntime();
    const stack = testStack();
    const suffix = randomBytes(4).toString('hex');
    const registryDb = `registry_${suffix}`;
    await ensureDatabase(stack.registryServerUrl, registryDb);
    const temporalAddress = options.temporalAddress ?? stack.temporalAddress;
    const env: Record<string, string> = {
      ...stack.env,
      LANDLORD_TEMPORAL_ADDRESS: temporalAddress,
      LANDLORD_REGISTRY_URL: withDatabase(stack.registryServerUrl, registryDb),
      LANDLORD_TASK_QUEUE_PREFIX: `test-${suffix}`,
      LANDLORD_ADMIN_KEY: ADMIN_KEY,
      LANDLORD_LOG_LEVEL: 'silent',
      // Tests share one Temporal server: a spawned worker must not put the daily Schedule on it.
      LANDLORD_RETENTION_SCHEDULE: 'false',
      LANDLORD_BACKUP_SCHEDULE: 'false',
      LANDLORD_DR_VERIFY_SCHEDULE: 'false',
      ...(options.webhookUrls ? { LANDLORD_WEBHOOK_URLS: options.webhookUrls.join(',') } : {}),
      ...(options.webhookSecret ? { LANDLORD_WEBHOOK_SECRET: options.webhookSecret } : {}),
    };
    const config = loadConfig({ ...env, PATH: process.env.PATH });
    const store = connectRegistry(env.LANDLORD_REGISTRY_URL!);
    await store.migrate();
    const directory = new PoolDirectory(config.postgres.regionUrls);
    // A look that fails is a test's failure to see: say so.
    directory.watchLocks({
      onError: (region, err) => console.error(`lock watchdog (${region}): ${err.message}`),
    });
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress }) });
    const lifecycle = new TemporalLifecycleClient(client, config.taskQueues, config.catalog, {
      ...(options.answerTimeoutMs ? { answerTimeoutMs: options.answerTimeoutMs } : {}),
    });
    const harness = new Harness(config, env, store, directory, client, lifecycle, options);
    if (!options.noWorker) await harness.startWorker();
    if (options.provisioning) await harness.startProvisioningWorker();
    if (options.data) await harness.startDataWorker();
    await harness.startApi();
    return harness;
  }

  /** Starts the lifecycle worker in this process. */
  async startWorker(): Promise<void> {
    const stack = testStack();
    this.workerConnection ??= await NativeConnection.connect({
      address: this.env.LANDLORD_TEMPORAL_ADDRESS!,
    });
    const worker = await createLifecycleWorker({
      config: this.config,
      connection: this.workerConnection,
      namespace: 'default',
      store: this.store,
      directory: this.directory,
      secret: stack.secret,
      workflowBundle: { codePath: stack.workflowBundlePath },
      ...(this.options.decorateActivities ? { decorateActivities: this.options.decorateActivities } : {}),
    });
    this.worker = { worker, run: worker.run() };
  }

  /** Starts the provisioning worker in this process. */
  async startProvisioningWorker(): Promise<void> {
    const stack = testStack();
    this.workerConnection ??= await NativeConnection.connect({
      address: this.env.LANDLORD_TEMPORAL_ADDRESS!,
    });
    const worker = await createProvisioningWorker({
      config: this.config,
      connection: this.workerConnection,
      namespace: 'default',
      store: this.store,
      secret: stack.secret,
      regionServerUrls: this.config.postgres.regionUrls,
    });
    this.provisioningWorker = { worker, run: worker.run() };
  }

  /** Starts the data worker in this process. */
  async startDataWorker(): Promise<void> {
    this.workerConnection ??= await NativeConnection.connect({
      address: this.env.LANDLORD_TEMPORAL_ADDRESS!,
    });
    const worker = await createDataWorker({
      config: this.config,
      connection: this.workerConnection,
      namespace: 'default',
      store: this.store,
      directory: this.directory,
      secret: testStack().secret,
      ...(this.options.decorateDataActivities
        ? { decorateActivities: this.options.decorateDataActivities }
        : {}),
    });
    this.dataWorker = { worker, run: worker.run() };
  }

  async stopWorker(): Promise<void> {
    if (!this.worker) return;
    this.worker.worker.shutdown();
    await this.worker.run;
    this.worker = undefined;
  }

  /** Starts `workers/<kind>.ts` as its own process, as `npm start` does; resolves once it polls. */
  async spawnWorkerProcess(
    kind: 'lifecycle' | 'provisioning' | 'data' = 'lifecycle',
    env: Record<string, string> = {},
  ): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(`../../workers/${kind}.ts`, import.meta.url))],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...this.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.processes.add(child);
    child.once('exit', () => this.processes.delete(child));
    const output: string[] = [];
    this.outputs.set(child, output);
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(`${kind} worker polling`)) resolve();
      });
      child.once('exit', (code) =>
        reject(new Error(`worker process exited (${code}) before polling: ${stderr.slice(-2000)}`)),
      );
    });
    return child;
  }

  /** Everything a spawned process has written to stdout and stderr so far. */
  outputOf(child: ChildProcess): string {
    return (this.outputs.get(child) ?? []).join('');
  }

  /** Kills a process as a crash would, and waits until it is gone. */
  static async kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  private async startApi(): Promise<void> {
    await bootstrapAdminKey(this.store, ADMIN_KEY);
    this.keys.set('admin', ADMIN_KEY);
    for (const role of ['viewer', 'sales', 'operator', 'legal'] as const) {
      this.keys.set(
        role,
        (await this.store.apiKeys.create({ name: `test ${role}`, role, createdBy: 'test' })).secret,
      );
    }
    const app = createApp({
      store: this.store,
      lifecycle: this.lifecycle,
      catalog: this.config.catalog,
      retention: this.config.retention,
      logger: pino({ level: 'silent' }),
      // As npm start gives the API: the tenants' key-encryption key alone, not the master secret.
      exportArchives: {
        open: async (exported) =>
          openExportArchive({
            keyring: await tenantKeyringFrom({
              store: this.store.tenantKeys,
              tenantKek: tenantKekFromSecret(testStack().secret),
            }),
            exportsRoot: localExportsRoot(this.config.dataDir),
            export: exported,
          }),
      },
    });
    this.server = await listen(app, 0, '127.0.0.1');
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** Calls the API as `role` (admin by default). */
  async api(
    method: string,
    path: string,
    {
      body,
      role = 'admin',
      headers = {},
    }: { body?: unknown; role?: Role; headers?: Record<string, string> } = {},
  ) {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.keys.get(role)}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  }

  /** Polls the API until the operation is no longer running. */
  async waitForOperation(id: string, timeoutMs = 90_000): Promise<OperationSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status, body } = await this.api('GET', `/v1/operations/${id}`);
      if (status === 200 && body?.status !== 'running') return body as unknown as OperationSnapshot;
      if (Date.now() > deadline)
        throw new Error(
          `operation ${id} still ${String(body?.status)} after ${timeoutMs} ms: ${JSON.stringify(body)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Creates a tenant through the API and waits for its onboarding to end. */
  async onboard(fields: { id: string; tier?: string; region?: string; name?: string; adminEmail?: string }) {
    const res = await this.api('POST', '/v1/tenants', {
      body: {
        name: fields.name ?? `Tenant ${fields.id}`,
        tier: fields.tier ?? 'basic',
        region: fields.region ?? 'local-a',
        adminEmail: fields.adminEmail ?? `owner@${fields.id}.test`,
        id: fields.id,
      },
      role: 'sales',
    });
    if (res.status !== 202)
      throw new Error(`create tenant answered ${res.status}: ${JSON.stringify(res.body)}`);
    return this.waitForOperation(res.body!.id as string);
  }

  async close(): Promise<void> {
    for (const child of this.processes) await Harness.kill(child);
    await this.stopWorker();
    for (const w of [this.provisioningWorker, this.dataWorker]) {
      if (!w) continue;
      w.worker.shutdown();
      await w.run;
    }
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    await this.workerConnection?.close();
    await this.client.connection.close();
    await this.directory.close();
    await this.store.close();
  }
}
