// No zod here: workflow code imports this module (domain/operation.ts says why).
import type { TenantRecord } from './tenant.js';

/** The region a tenant is served from: its home region, or its DR region after a failover. */
export function activeRegionOf(tenant: Pick<TenantRecord, 'region' | 'activeRegion'>): string {
  return tenant.activeRegion ?? tenant.region;
}

/**
 * A tenant's placement as the data plane works on it: `region` is where it is served from (its
 * active store), `drRegion` where its standby is. After a failover the two trade places; the
 * record itself keeps its home region.
 */
export function servedPlacement<
  T extends Pick<TenantRecord, 'id' | 'tier' | 'region' | 'drRegion' | 'activeRegion' | 'deploymentModel'>,
>(tenant: T): Pick<TenantRecord, 'id' | 'tier' | 'region' | 'drRegion' | 'deploymentModel'> {
  const { id, tier, deploymentModel, region, drRegion } = tenant;
  const active = activeRegionOf(tenant);
  const standby = active === region ? drRegion : region;
  return { id, tier, deploymentModel, region: active, ...(standby ? { drRegion: standby } : {}) };
}
