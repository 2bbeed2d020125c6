/**
 * A tenant's database as the data activities that delete in it (retention, erasure) reach it: its
 * region's pool database, or its silo database as the silo's owner — never a superuser inside a
 * database the tenant can log in to — with Landlord's deletion outbox in it.
 */
import pg from 'pg';
import { LandlordError, localSiloFolder, localSiloStagingFolder, siloNames } from '../../domain/index.js';
import type { TenantRecord } from '../../domain/index.js';
import { DELETION_OUTBOX_SQL } from '../../dataplane/expiry.js';
import { withClient, withDatabase } from '../../dataplane/connection.js';
import { siloOwnerUrl } from '../../dataplane/silo.js';
import type { PoolDirectory } from '../pool/directory.js';
import { POOL_DATABASE } from '../pool/names.js';

/** What reaching a tenant's database takes: region servers, and the secret silo owners' passwords derive from. */
export interface TenantDatabaseAccess {
  directory: PoolDirectory;
  secret: string;
}

/** Where a tenant's rows are: `region` names the server (for a DR standby, the standby's region). */
export type TenantPlacement = Pick<TenantRecord, 'id' | 'region' | 'deploymentModel'>;

/**
 * Where one store of the tenant is: the primary in `region`; the standby, its second store, in
 * `drRegion` with the same database name (a silo's DR standby, or the store a tenant without one
 * left behind when a restore moved it: offboarding deletes both). Undefined without a second store.
 */
export function storePlacement(
  tenant: Pick<TenantRecord, 'id' | 'region' | 'drRegion' | 'deploymentModel'>,
  store: 'primary' | 'standby',
): TenantPlacement | undefined {
  if (store === 'primary')
    return { id: tenant.id, region: tenant.region, deploymentModel: tenant.deploymentModel };
  if (!tenant.drRegion) return undefined;
  return { id: tenant.id, region: tenant.drRegion, deploymentModel: tenant.deploymentModel };
}

/**
 * A silo store's local storage folder and its staging folder, when this worker sweeps folders
 * (`objectsRoot` set); undefined for a pool tenant, which has none.
 */
export function siloFoldersOf(
  objectsRoot: string | undefined,
  placement: TenantPlacement,
): { root: string; staging: string } | undefined {
  if (placement.deploymentModel !== 'silo' || !objectsRoot) return undefined;
  return {
    root: localSiloFolder(objectsRoot, placement.region, placement.id),
    staging: localSiloStagingFolder(objectsRoot, placement.region, placement.id),
  };
}

/** The tenant's database (its region's pool, or its silo, as the silo's owner) and its name. */
function tenantDatabaseOf(
  { directory, secret }: TenantDatabaseAccess,
  tenant: TenantPlacement,
  purpose: 'retention' | 'erasure' | 'offboarding' | 'export' | 'backup' | 'restore',
): { url: string; database: string } {
  if (!directory.regions.has(tenant.region))
    throw new LandlordError(
      'Misconfigured',
      `region ${tenant.region} has no Postgres server this worker reaches; ${purpose} of its tenants' rows needs one`,
    );
  if (tenant.deploymentModel === 'pool')
    return { url: directory.databaseUrl(tenant.region), database: POOL_DATABASE };
  return {
    url: siloOwnerUrl(directory.serverUrl(tenant.region), tenant.region, tenant.id, secret),
    database: siloNames(tenant.id).database,
  };
}

/** Runs `work` on a connection of its own to the tenant's database, its outbox in place. */
export async function withTenantDatabase<T>(
  access: TenantDatabaseAccess,
  tenant: TenantPlacement,
  purpose: 'retention' | 'erasure' | 'offboarding' | 'export' | 'backup' | 'restore',
  work: (c: pg.Client, database: string) => Promise<T>,
): Promise<T> {
  const { url, database } = tenantDatabaseOf(access, tenant, purpose);
  const c = new pg.Client({ connectionString: url, application_name: `landlord-${purpose}` });
  c.on('error', () => undefined);
  await c.connect();
  try {
    // A silo's outbox is made on first use, by its owner; tenants have no right on schema landlord.
    if (tenant.deploymentModel === 'silo') await c.query(DELETION_OUTBOX_SQL);
    return await work(c, database);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Whether a second store (`standby`) was ever built: a silo's database on its server. A pool's
 * partition lives in the region's pool database, which is always there. A store whose build failed
 * early (a restore's prepare-region cut short) holds nothing to delete or forward.
 */
export async function secondStoreExists(
  { directory }: TenantDatabaseAccess,
  placement: TenantPlacement,
): Promise<boolean> {
  if (placement.deploymentModel === 'pool') return true;
  return withClient(withDatabase(directory.serverUrl(placement.region), 'postgres'), async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      siloNames(placement.id).database,
    ]);
    return (rowCount ?? 0) > 0;
  });
}
