// No zod here: workflow code imports this module (domain/operation.ts says why).
import type { TenantRecord } from './tenant.js';

/** The region a tenant is served from: its home region, or its DR region after a failover. */
export function activeRegionOf(tenant: Pick<TenantRecord, 'region' | 'activeRegion'>): string {
  return tenant.activeRegion ?? tenant.region;
}

/**
 * A tenant's placement as the data plane works on it: `region` is where it is served from (its
 * active store), `drRegion` where its standby is. After a failover the two trade places; the
 * record itself keeps its home region. A tenant without a standby has none wherever it is served
 * (after a restore into its DR partner region, its home store is a former one: storeRegionsOf).
 */
export function servedPlacement<
  T extends Pick<TenantRecord, 'id' | 'tier' | 'region' | 'drRegion' | 'activeRegion' | 'deploymentModel'>,
>(tenant: T): Pick<TenantRecord, 'id' | 'tier' | 'region' | 'drRegion' | 'deploymentModel'> {
  const { id, tier, deploymentModel, region, drRegion } = tenant;
  const active = activeRegionOf(tenant);
  const standby = drRegion === undefined ? undefined : active === region ? drRegion : region;
  return { id, tier, deploymentModel, region: active, ...(standby ? { drRegion: standby } : {}) };
}

/**
 * Every region holding a store of the tenant's data: its home region, its standby's and the one a
 * restore recovered it in, the one serving first. Offboarding deletes the data in each of them.
 */
export function storeRegionsOf(
  tenant: Pick<TenantRecord, 'region' | 'drRegion' | 'activeRegion' | 'recoveryRegion'>,
): string[] {
  const all = [activeRegionOf(tenant), tenant.region, tenant.drRegion, tenant.recoveryRegion];
  return [...new Set(all.filter((r): r is string => r !== undefined))];
}

/**
 * Routing as the registry shows it once `region` serves the tenant: its pool partition's region,
 * or which of its silo stacks serves (`resources.silo.serving`).
 */
export function routedTo(
  tenant: Pick<TenantRecord, 'deploymentModel' | 'resources'>,
  region: string,
): Pick<TenantRecord, 'resources'> {
  if (tenant.deploymentModel === 'pool') {
    const pool = (tenant.resources.pool ?? {}) as Record<string, unknown>;
    return { resources: { ...tenant.resources, pool: { ...pool, region } } };
  }
  const silo = (tenant.resources.silo ?? {}) as Record<string, unknown>;
  return { resources: { ...tenant.resources, silo: { ...silo, serving: region } } };
}
