import express from 'express';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../registry/index.js';
import type { LifecycleClient } from '../client/lifecycle.js';
import type { PolicyCatalog, RetentionPolicyFile } from '../domain/index.js';
import { accessLog } from './access-log.js';
import { errorHandler, notFound } from './error-handler.js';
import { erasureMetrics } from './erasure-metrics.js';
import { drStandingMetrics, restoreVerificationMetrics } from './restore-verification-metrics.js';
import { httpMetrics } from './http-metrics.js';
import { mountRoutes } from './mount-routes.js';
import { buildOpenApiDocument } from './openapi.js';
import { requestId } from './request-id.js';
import type { ExportArchiveReader } from './route.js';
import { routeTable } from './routes/route-table.js';

/** What the API needs from the outside world. */
export interface AppDeps {
  store: Registry;
  lifecycle: LifecycleClient;
  catalog: PolicyCatalog;
  /** Data retention policies (config/retention.json): their data classes are the ones holds may name. */
  retention: RetentionPolicyFile;
  logger: Logger;
  /** Where HTTP and process metrics go; a fresh registry when absent. */
  metrics?: MetricsRegistry;
  /** Reads tenants' export archives for download; absent (as in most tests), downloads answer 500. */
  exportArchives?: ExportArchiveReader;
  /** The share a restore verification samples when its request names none; absent: the default (0.1). */
  drVerificationShare?: number;
}

/** Builds the Landlord HTTP API as an express app; it holds no state beyond what `deps` carries. */
export function createApp({
  store,
  lifecycle,
  catalog,
  retention,
  logger,
  metrics = new MetricsRegistry(),
  exportArchives,
  drVerificationShare,
}: AppDeps): Express {
  let openApiDocument: unknown;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId());
  app.use(httpMetrics(metrics));
  erasureMetrics(metrics, store);
  restoreVerificationMetrics(metrics, store);
  drStandingMetrics(metrics, store, catalog);
  app.use(accessLog(logger));
  app.use(
    mountRoutes(routeTable, {
      store,
      lifecycle,
      catalog,
      retention,
      logger,
      metrics,
      ...(exportArchives ? { exportArchives } : {}),
      ...(drVerificationShare !== undefined ? { drVerificationShare } : {}),
      openApiDocument: () => (openApiDocument ??= buildOpenApiDocument(routeTable, { catalog, retention })),
    }),
  );
  app.use(notFound());
  app.use(errorHandler({ store, logger }));
  return app;
}
