/**
 * The `landlord-data` worker: activities that move or inspect tenants' rows (today: a pool tenant's
 * rows copied into its new silo). Long, heartbeating, and kept off the lifecycle queue.
 */
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/index.js';
import { backupObjectStoreFrom } from '../activities/backups/index.js';
import { createDataActivities } from '../activities/data/index.js';
import { localExportsRoot } from '../activities/data/export-archive.js';
import type { DataActivities } from '../activities/data/index.js';
import { activityInterceptors } from '../activities/interceptors.js';
import { localKek, TenantKeyring, tenantKeyringFrom } from '../activities/keys/index.js';
import type { PoolDirectory } from '../activities/pool/directory.js';
import { localObjectsRoot } from '../dataplane/silo.js';
import type { Registry } from '../registry/index.js';
import { logEndedSession, logWatchdogError, runAsMain, runWorkerProcess } from './process.js';

export interface DataWorkerDeps {
  config: Pick<Config, 'manifest' | 'taskQueues' | 'retention' | 'dataDir' | 'migrationsDir' | 'backupUrl'>;
  connection: NativeConnection;
  namespace: string;
  store: Registry;
  directory: PoolDirectory;
  secret: string;
  /** Tenants' data keys; absent: wrapped by the key-encryption key derived from `secret`. */
  keyring?: TenantKeyring;
  /** Wraps the activities, e.g. to inject faults in tests. */
  decorateActivities?: (activities: DataActivities) => DataActivities;
  taskQueue?: string;
}

/** Creates (does not run) the data worker. */
export async function createDataWorker(deps: DataWorkerDeps): Promise<Worker> {
  const activities = createDataActivities({
    directory: deps.directory,
    manifest: deps.config.manifest,
    store: deps.store,
    secret: deps.secret,
    retention: deps.config.retention,
    objectsRoot: localObjectsRoot(deps.config.dataDir),
    exportsRoot: localExportsRoot(deps.config.dataDir),
    backups: backupObjectStoreFrom({
      ...(deps.config.backupUrl ? { url: deps.config.backupUrl } : {}),
      dataDir: deps.config.dataDir,
    }),
    migrationsDir: deps.config.migrationsDir,
    keyring: deps.keyring ?? new TenantKeyring({ store: deps.store.tenantKeys, kek: localKek(deps.secret) }),
  });
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue ?? deps.config.taskQueues.data,
    activities: deps.decorateActivities ? deps.decorateActivities(activities) : activities,
    interceptors: { activity: [activityInterceptors({ store: deps.store })] },
    // Each move holds two connections for its length; a few at once is plenty.
    maxConcurrentActivityTaskExecutions: 4,
    shutdownGraceTime: '30s',
  });
}

runAsMain(import.meta.url, 'data', () =>
  runWorkerProcess(
    'data',
    async ({ config, store, connection }) => {
      const { PoolDirectory } = await import('../activities/pool/directory.js');
      const { resolveSecret } = await import('../config/secret.js');
      const secret = resolveSecret(config);
      const directory = new PoolDirectory(config.postgres.regionUrls);
      directory.watchLocks({ onEnded: logEndedSession, onError: logWatchdogError });
      const worker = await createDataWorker({
        config,
        connection,
        namespace: config.temporal.namespace,
        store,
        directory,
        secret,
        keyring: await tenantKeyringFrom({
          store: store.tenantKeys,
          secret,
          ...(config.kmsKey ? { kmsKey: config.kmsKey } : {}),
        }),
      });
      return { worker, taskQueue: config.taskQueues.data, close: () => directory.close() };
    },
    { registryPoolSize: 4 },
  ),
);
