/**
 * The API process: reads configuration, migrates the registry, and serves until SIGINT/SIGTERM.
 * Reads keep working while Temporal or the workers are down; /readyz says which is missing.
 */
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { localExportsRoot, openExportArchive } from '../activities/data/export-archive.js';
import { tenantKeyringFrom } from '../activities/keys/index.js';
import type { Config } from '../config/index.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { stopWithParent } from '../config/lifetime.js';
import { connectRegistry, DEFAULT_IDEMPOTENCY } from '../registry/index.js';
import { purgeExpiredKeys } from './idempotency.js';
import { temporalAddress, tlsOptions } from '../client/temporal.js';
import { TemporalLifecycleClient } from '../client/temporal-lifecycle.js';
import { bootstrapAdminKey } from './admin-key.js';
import { createApp } from './app.js';
import type { ExportArchiveReader } from './route.js';
import { listen } from './serve.js';

/**
 * What serves export downloads: the tenants' keys, unwrapped with the KEK this process is
 * configured with (LANDLORD_TENANT_KEK, which npm start gives the API in place of the master
 * secret, or LANDLORD_SECRET, and LANDLORD_KMS_KEY), over the data folder's exports. Never from a
 * secret file made up here, which would wrap nothing the workers wrapped. Without either the API
 * runs, and a download answers that it is not configured.
 */
async function exportArchivesOf(
  config: Config,
  store: ReturnType<typeof connectRegistry>,
  logger: Logger,
): Promise<ExportArchiveReader | undefined> {
  if (!config.secret && !config.tenantKek) {
    logger.warn(
      'neither LANDLORD_TENANT_KEK nor LANDLORD_SECRET is set for the API: export downloads are off',
    );
    return undefined;
  }
  const keyring = await tenantKeyringFrom({
    store: store.tenantKeys,
    ...(config.secret ? { secret: config.secret } : { tenantKek: config.tenantKek! }),
    ...(config.kmsKey ? { kmsKey: config.kmsKey } : {}),
  });
  const exportsRoot = localExportsRoot(config.dataDir);
  return { open: (exported) => openExportArchive({ keyring, exportsRoot, export: exported }) };
}

async function main(): Promise<void> {
  const config = loadConfig();
  stopWithParent(config);
  const logger = pino({ level: config.logLevel, redact: ['req.headers.authorization', 'authorization'] });
  if (!config.postgres.registryUrl)
    throw new Error('LANDLORD_REGISTRY_URL is not set (npm start sets it for the embedded stack)');
  const store = connectRegistry(config.postgres.registryUrl, 10, {
    idempotency: { ...DEFAULT_IDEMPOTENCY, ttlMs: config.api.idempotencyTtlMs },
  });
  await store.migrate();
  const firstKey = await bootstrapAdminKey(store, config.adminKey);
  if (firstKey) logger.warn('created the first admin API key; it is printed once on stdout');
  if (firstKey) console.log(`First admin API key (shown once): ${firstKey}`);
  const t = config.temporal;
  const tls = tlsOptions(t);
  // Lazy: the API starts (and serves reads) even while Temporal is unreachable.
  const connection = Connection.lazy({
    address: temporalAddress(t),
    ...(tls ? { tls } : {}),
    ...(t.apiKey ? { apiKey: t.apiKey } : {}),
  });
  const lifecycle = new TemporalLifecycleClient(
    new Client({ connection, namespace: t.namespace }),
    config.taskQueues,
    config.catalog,
    { answerTimeoutMs: config.api.workflowTimeoutMs },
  );
  const exportArchives = await exportArchivesOf(config, store, logger);
  const app = createApp({
    store,
    lifecycle,
    catalog: config.catalog,
    retention: config.retention,
    logger,
    ...(exportArchives ? { exportArchives } : {}),
    drVerificationShare: config.drVerification.share,
  });
  const server = await listen(app, config.api.port, config.api.host);
  logger.info({ port: config.api.port, host: config.api.host }, 'API listening');
  const purging = purgeExpiredKeys(store.idempotency, logger);
  const shutdown = () => {
    purging.stop();
    server.close(
      () => void Promise.allSettled([store.close(), connection.close()]).then(() => process.exit(0)),
    );
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  // SIGHUP too: a closed terminal stops the API as Ctrl-C does.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, shutdown);
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : `API: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
