/**
 * The `landlord-lifecycle` worker: tenant workflows, their operation workflows, and the short
 * activities they call (registry projections, policy, pool data plane, notifications).
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { NativeConnection, WorkflowBundle, WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../config/index.js';
import { createKeyActivities, localKek, TenantKeyring, tenantKeyringFrom } from '../activities/keys/index.js';
import { createErasureRequestActivities } from '../activities/erasure/index.js';
import { createNotificationActivities } from '../activities/notifications/index.js';
import { createPolicyActivities } from '../activities/policy/index.js';
import { PoolDirectory } from '../activities/pool/directory.js';
import { createTenantDatabaseActivities } from '../activities/pool/index.js';
import { createRegistryActivities } from '../activities/registry/index.js';
import { createRetentionRunActivities } from '../activities/retention-runs/index.js';
import { createBackupSweepActivities } from '../activities/backups/sweep.js';
import { createRegionFailoverActivities } from '../activities/region-failover/index.js';
import { createRestoreVerificationActivities } from '../activities/restore-verification/index.js';
import type { Registry } from '../registry/index.js';
import { activityInterceptors } from '../activities/interceptors.js';
import { logEndedSession, logWatchdogError, runAsMain, runWorkerProcess } from './process.js';

export { installQuietRuntime } from './process.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** A logger for the workflow bundler, which is chatty about what it packs. */
export const SILENT_LOGGER = {
  log: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
};

/** Bundles the workflow code once; tests and benchmarks share a bundle across workers. */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: SILENT_LOGGER,
  });
}

export interface LifecycleWorkerDeps {
  config: Pick<Config, 'catalog' | 'manifest' | 'webhooks' | 'taskQueues' | 'retention' | 'drApprovals'>;
  connection: NativeConnection;
  namespace: string;
  store: Registry;
  directory: PoolDirectory;
  secret: string;
  /** Tenants' data keys; absent: wrapped by the key-encryption key derived from `secret`. */
  keyring?: TenantKeyring;
  workflowBundle?: WorkflowBundleOption;
  /** Wraps the activities, e.g. to inject faults in tests. */
  decorateActivities?: (activities: LifecycleActivities) => LifecycleActivities;
  taskQueue?: string;
}

export function createLifecycleActivities({
  config,
  store,
  directory,
  secret,
  keyring = new TenantKeyring({ store: store.tenantKeys, kek: localKek(secret) }),
  client,
}: Pick<LifecycleWorkerDeps, 'config' | 'store' | 'directory' | 'secret' | 'keyring'> & {
  /** What retention runs ask tenant workflows for their parts with. */
  client: Client;
}) {
  return {
    ...createRegistryActivities({ store }),
    ...createKeyActivities({ keyring }),
    ...createErasureRequestActivities({ store, keyring, manifest: config.manifest }),
    ...createPolicyActivities({
      catalog: config.catalog,
      localRegions: directory.regions,
      retention: config.retention,
      manifest: config.manifest,
      approvals: config.drApprovals,
    }),
    ...createRetentionRunActivities({ client, store, concurrency: config.retention.concurrency }),
    ...createBackupSweepActivities({ client, store, catalog: config.catalog }),
    ...createRegionFailoverActivities({ client, store, catalog: config.catalog }),
    ...createRestoreVerificationActivities({ store, catalog: config.catalog }),
    ...createTenantDatabaseActivities({ directory, secret, manifest: config.manifest }),
    ...createNotificationActivities({
      urls: config.webhooks.urls,
      ...(config.webhooks.secret ? { secret: config.webhooks.secret } : {}),
    }),
  };
}
export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;

/** Creates (does not run) the lifecycle worker. */
export async function createLifecycleWorker(deps: LifecycleWorkerDeps): Promise<Worker> {
  const client = new Client({ connection: deps.connection, namespace: deps.namespace });
  const activities = createLifecycleActivities({ ...deps, client });
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue ?? deps.config.taskQueues.lifecycle,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: deps.decorateActivities ? deps.decorateActivities(activities) : activities,
    interceptors: { activity: [activityInterceptors({ store: deps.store })] },
    // Projections and data-plane calls are short; keep enough slots for bursts of onboardings.
    maxConcurrentActivityTaskExecutions: 64,
    maxConcurrentLocalActivityExecutions: 64,
    maxCachedWorkflows: 2000,
    shutdownGraceTime: '10s',
  });
}

runAsMain(import.meta.url, 'lifecycle', () =>
  runWorkerProcess('lifecycle', async ({ config, store, connection }) => {
    const { resolveSecret } = await import('../config/secret.js');
    const { prepareRegionServers } = await import('../activities/pool/schema.js');
    const secret = resolveSecret(config);
    const keyring = await tenantKeyringFrom({
      store: store.tenantKeys,
      secret,
      ...(config.kmsKey ? { kmsKey: config.kmsKey } : {}),
    });
    const log = (message: string) => console.warn(message);
    await prepareRegionServers(config.postgres.regionUrls, config.manifest, config.migrationsDir, secret, {
      log,
    });
    const directory = new PoolDirectory(config.postgres.regionUrls);
    directory.watchLocks({ onEnded: logEndedSession, onError: logWatchdogError });
    const worker = await createLifecycleWorker({
      config,
      connection,
      namespace: config.temporal.namespace,
      store,
      directory,
      secret,
      keyring,
    });
    if (config.retentionSchedule) {
      const { ensureRetentionSchedule } = await import('../client/retention-schedule.js');
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const done = await ensureRetentionSchedule(client, config.retention, config.taskQueues.lifecycle);
      log(`retention schedule ${done} (${JSON.stringify(config.retention.schedule)})`);
    }
    if (config.backupSchedule.enabled) {
      const { ensureBackupSchedule } = await import('../client/backup-schedule.js');
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const done = await ensureBackupSchedule(
        client,
        config.backupSchedule.every,
        config.taskQueues.lifecycle,
        config.taskQueues.data,
      );
      log(`backup schedule ${done} (a sweep every ${config.backupSchedule.every})`);
    }
    if (config.drVerification.schedule) {
      const { ensureVerificationSchedule } = await import('../client/verification-schedule.js');
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const { every, share } = config.drVerification;
      const done = await ensureVerificationSchedule(client, { every, share }, config.taskQueues);
      log(`restore verification schedule ${done} (a run every ${every}, sampling ${share} of the rest)`);
    }
    return { worker, taskQueue: config.taskQueues.lifecycle, close: () => directory.close() };
  }),
);
