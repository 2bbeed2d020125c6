import type { RouteDefinition } from '../route.js';
import { apiKeyRoutes } from './api-key-routes.js';
import { auditRoutes } from './audit-routes.js';
import { backupRoutes } from './backup-routes.js';
import { drillRoutes } from './drill-routes.js';
import { drRoutes } from './dr-routes.js';
import { erasureRoutes } from './erasure-routes.js';
import { exportRoutes } from './export-routes.js';
import { failoverRoutes } from './failover-routes.js';
import { offboardRoutes } from './offboard-routes.js';
import { evidenceRoutes } from './evidence-routes.js';
import { legalHoldRoutes } from './legal-hold-routes.js';
import { operationRoutes } from './operation-routes.js';
import { regionRoutes } from './region-routes.js';
import { retentionRoutes } from './retention-routes.js';
import { serviceRoutes } from './service-routes.js';
import { tenantRoutes } from './tenant-routes.js';

/** Every route of the API; express and the OpenAPI document are both built from this list. */
export const routeTable: readonly RouteDefinition[] = [
  ...serviceRoutes,
  ...tenantRoutes,
  ...operationRoutes,
  ...apiKeyRoutes,
  ...auditRoutes,
  ...evidenceRoutes,
  ...legalHoldRoutes,
  ...retentionRoutes,
  ...erasureRoutes,
  ...exportRoutes,
  ...offboardRoutes,
  ...backupRoutes,
  ...failoverRoutes,
  ...drillRoutes,
  ...regionRoutes,
  ...drRoutes,
];
