/**
 * Cloud resource names derived from tenant ids. A tenant id (`^[a-z][a-z0-9-]{2,39}$`) may end
 * with a hyphen or hold several in a row, and may be 40 characters long; most cloud names allow
 * neither, or fewer characters. Every name here is valid for every id the API accepts
 * (test/unit/pulumi/cloud-policies.test.ts checks the edge ids against each documented pattern),
 * and two tenants never get the same one: a shortened id carries a hash of the whole id.
 */
import { createHash } from 'node:crypto';

/** Hyphen runs made one, none at either end. */
const tidyHyphens = (text: string) => text.replace(/-+/g, '-').replace(/^-|-$/g, '');

const hashOf = (text: string, length: number) =>
  createHash('sha256').update(text).digest('hex').slice(0, length);

/**
 * The tenant id as a name part of at most `max` characters: its readable head (hyphen runs made
 * one, no hyphen at either end, GCS's forbidden "google" and its look-alikes spelled `ggl`), then
 * 10 hex characters of the whole id's hash. The hash is always there: a tenant who chooses an id
 * that looks like another's shortened one still gets other names.
 */
export function namePart(tenantId: string, max: number): string {
  return named(tenantId, tenantId, max);
}

/** As namePart, the hash taken of `hashed` (the id with what else makes the name unique). */
function named(tenantId: string, hashed: string, max: number): string {
  const head = tidyHyphens(tenantId.replace(/g[o0]{2}g[l1]e/g, 'ggl'))
    .slice(0, Math.max(1, max - 11))
    .replace(/-$/, '');
  return `${head}-${hashOf(hashed, 10)}`;
}

/**
 * Logical name of a tenant's silo component: its children's names, and the names the providers
 * generate from them (a random suffix added), start with it. `ll-` keeps generated names off
 * reserved prefixes (`xn--`, `goog`, `sthree-`); 30 characters leave room for a suffix within
 * RDS's 63 and a bucket's 63.
 */
export function siloResourcePrefix(tenantId: string): string {
  return `ll-${namePart(tenantId, 27)}`;
}

/**
 * The RDS final snapshot's identifier: letters, digits and single hyphens, starting with a letter,
 * not ending with a hyphen, at most 255. Unique per provisioning run (the spec's generation), so a
 * tenant onboarded again after a rollback never hits `DBSnapshotAlreadyExists`.
 */
export function rdsFinalSnapshotId(
  tenantId: string,
  regionId: string,
  generation: string | undefined,
): string {
  return `ll-${namePart(tenantId, 40)}-${tidyHyphens(regionId)}-${generation ?? 'first'}-final`;
}

/**
 * A Postgres database name: letters, digits and underscores, starting with a letter, at most 63.
 * Tenant ids hold no underscores, so hyphens become underscores one to one.
 */
export function rdsDatabaseName(tenantId: string): string {
  return `tenant_${tenantId.replaceAll('-', '_')}`;
}

/** An AWS Backup vault, plan or selection name: letters, digits, `-` and `_`, 2 to 50, per region. */
export function backupName(tenantId: string, regionId: string, what: 'vault' | 'plan' | 'selection'): string {
  return `ll-${named(tenantId, `${tenantId}:${regionId}`, 36)}-${what}`;
}

/**
 * A GCP service account id: 6 to 30 lowercase letters, digits and hyphens, letter first, no hyphen
 * last; one per tenant and region (a DR tenant's stacks share the project).
 */
export function gcpServiceAccountId(tenantId: string, regionId: string): string {
  return `ll-${named(tenantId, `${tenantId}:${regionId}`, 26)}`;
}

/** A BigQuery dataset id (letters, digits, underscores) unique per tenant and region in a project. */
export function bigQueryDatasetId(tenantId: string, regionId: string): string {
  const readable = `landlord_${tenantId}_${regionId}`.replace(/[^a-zA-Z0-9_]/g, '_');
  return `${readable}_${hashOf(`${tenantId}:${regionId}`, 10)}`;
}

/** A Cloud SQL database name (Postgres): as rdsDatabaseName. */
export const cloudSqlDatabaseName = rdsDatabaseName;
