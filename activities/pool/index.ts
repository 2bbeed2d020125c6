/**
 * Pool data-plane activities: a tenant's partition in its region's shared database, made of its
 * partition row, a login role bound to it by row-level security, and its application rows.
 */
import { createHmac } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { LandlordError } from '../../domain/index.js';
import type { DataPlaneManifest } from '../../domain/index.js';
import { serverAnswers, withClient } from '../../dataplane/connection.js';
import type { StepRef } from '../step-ref.js';
import type { PoolDirectory } from './directory.js';
import { grantMembership, tenantRoleAttributes } from '../../dataplane/hardening.js';
import {
  DEFAULT_CONNECTION_LIMIT,
  POOL_DATABASE,
  READ_ONLY_GROUP_ROLE,
  TENANTS_GROUP_ROLE,
} from './names.js';
import { takeLock } from './schema.js';
import { siloDatabaseName } from '../../domain/index.js';
import { siloOwnerUrl } from '../../dataplane/silo.js';
import { cloudSiloDatabaseOf, withCloudSiloClient } from '../../dataplane/cloud-silo.js';

export { siloDatabaseName };

/** A tier's connection limit, or the default where a placement recorded by an earlier version has none. */
const limitOrDefault = (connectionLimit: number | undefined) =>
  Number.isInteger(connectionLimit) ? connectionLimit! : DEFAULT_CONNECTION_LIMIT;

const q = pg.escapeIdentifier;

/** The tenant's database role in a pool database. Slugs have no underscores, so this is one-to-one. */
export function tenantRoleName(tenantId: string): string {
  return `tenant_${tenantId.replaceAll('-', '_')}`;
}

/** The role's password, derived from the master secret so that it is never stored anywhere. */
export function tenantRolePassword(secret: string, region: string, tenantId: string): string {
  return createHmac('sha256', secret).update(`pool-role:${region}:${tenantId}`).digest('base64url');
}

interface PartitionInput {
  stepRef?: StepRef;
  tenantId: string;
  region: string;
}

async function inTransaction<T>(
  pool: pg.Pool,
  tenantId: string,
  work: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // One change to a tenant's partition at a time, even across workers, on a lock no tenant can reach.
    await takeLock(client, `partition:${tenantId}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Whether `err` is a connection that failed (ECONNREFUSED, ETIMEDOUT, ...), not an answer: Postgres
 * answers with a five-character SQLSTATE.
 */
export function unanswered(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return !(err instanceof LandlordError) && typeof code === 'string' && !/^[0-9A-Z]{5}$/.test(code);
}

/** Fails with TenantNotFound unless the tenant's role exists. */
async function requireRole(c: pg.ClientBase, role: string, what: string): Promise<void> {
  const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (!rowCount) throw new LandlordError('TenantNotFound', what);
}

/** Ends the role's sessions, waiting (up to 5 s each) until their backends are gone. */
async function terminateSessions(client: pg.ClientBase | pg.Pool, role: string): Promise<void> {
  await client.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1', [
    role,
  ]);
}

async function upsertAdminUser(
  c: pg.ClientBase,
  manifest: DataPlaneManifest,
  tenantId: string,
  email: string,
): Promise<{ userId: string }> {
  const a = manifest.adminUser;
  const key = manifest.tables.find((t) => t.name === a.table)!.tenantKey;
  const existing = await c.query(
    `SELECT id FROM ${q(a.table)} WHERE ${q(key)} = $1 AND ${q(a.emailColumn)} = $2`,
    [tenantId, email],
  );
  if (existing.rows[0]) return { userId: String(existing.rows[0].id) };
  const { rows } = await c.query(
    `INSERT INTO ${q(a.table)} (${q(key)}, ${q(a.emailColumn)}, ${q(a.roleColumn)}) VALUES ($1, $2, $3) RETURNING id`,
    [tenantId, email, a.roleValue],
  );
  return { userId: String(rows[0].id) };
}

export function createTenantDatabaseActivities({
  directory,
  secret,
  manifest,
  secretsManager,
  connectTimeoutMs = 10_000,
}: {
  directory: PoolDirectory;
  secret: string;
  manifest: DataPlaneManifest;
  /** How long a fence waits for a region's server to take a connection before passing it over. */
  connectTimeoutMs?: number;
  /** The Secrets Manager client of an AWS region (an RDS silo's master credentials are there). */
  secretsManager?: (region: string) => Pick<SecretsManagerClient, 'send'>;
}) {
  /** Changes attributes of a pool tenant's role under its partition lock; returns the role. */
  async function alterTenantRole(tenantId: string, region: string, attributes: string): Promise<string> {
    const role = tenantRoleName(tenantId);
    await inTransaction(directory.pool(region), tenantId, async (c) => {
      await requireRole(c, role, `tenant ${tenantId} has no database role in ${region}`);
      await c.query(`ALTER ROLE ${q(role)} ${attributes}`);
    });
    return role;
  }

  async function setTenantLogin({
    tenantId,
    region,
    enabled,
  }: PartitionInput & { enabled: boolean }): Promise<void> {
    const role = await alterTenantRole(tenantId, region, enabled ? 'LOGIN' : 'NOLOGIN');
    // Once committed: a session ended earlier could log in again under the old setting.
    if (!enabled) await terminateSessions(directory.pool(region), role);
  }

  async function setSiloLogin({
    tenantId,
    region,
    enabled,
  }: PartitionInput & { enabled: boolean }): Promise<void> {
    const role = siloDatabaseName(tenantId);
    await withClient(directory.serverDatabaseUrl(region, 'postgres'), async (client) => {
      await requireRole(client, role, `tenant ${tenantId} has no silo role in ${region}`);
      await client.query(`ALTER ROLE ${q(role)} ${enabled ? 'LOGIN' : 'NOLOGIN'}`);
      if (!enabled) await terminateSessions(client, role);
    });
  }

  return {
    /**
     * Creates the tenant's partition row and its login role (at most `connectionLimit` sessions,
     * its privileges only through the tenants group); idempotent.
     */
    async createPartition({
      tenantId,
      region,
      connectionLimit,
      login = true,
    }: PartitionInput & {
      connectionLimit?: number;
      /** false: the role made (or left) unable to log in, as a restore's store is until its thaw. */
      login?: boolean;
    }): Promise<{ roleName: string; database: string }> {
      const limit = limitOrDefault(connectionLimit);
      const role = tenantRoleName(tenantId);
      const password = tenantRolePassword(secret, region, tenantId);
      await inTransaction(directory.pool(region), tenantId, async (c) => {
        const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (!rowCount) await c.query(`CREATE ROLE ${q(role)} NOINHERIT`);
        await c.query(
          `ALTER ROLE ${q(role)} INHERIT ${login ? 'LOGIN' : 'NOLOGIN'} ${tenantRoleAttributes(limit)} PASSWORD ${pg.escapeLiteral(password)}`,
        );
        await grantMembership(c, TENANTS_GROUP_ROLE, role);
        await c.query(`REVOKE ${READ_ONLY_GROUP_ROLE} FROM ${q(role)}`);
        // CONNECT comes with the group; earlier versions granted it to each role.
        await c.query(`REVOKE CONNECT ON DATABASE ${q(POOL_DATABASE)} FROM ${q(role)}`);
        await c.query(
          `INSERT INTO landlord.tenant_partitions (tenant_id, role_name) VALUES ($1, $2)
           ON CONFLICT (tenant_id) DO UPDATE SET role_name = EXCLUDED.role_name`,
          [tenantId, role],
        );
      });
      return { roleName: role, database: POOL_DATABASE };
    },

    /** Removes the partition: every application row of the tenant, its partition row and its role; idempotent. */
    async dropPartition({ tenantId, region }: PartitionInput): Promise<void> {
      const role = tenantRoleName(tenantId);
      await inTransaction(directory.pool(region), tenantId, async (c) => {
        // Reverse manifest order so that rows referencing others go first.
        for (const table of [...manifest.tables].reverse()) {
          await c.query(`DELETE FROM ${q(table.name)} WHERE ${q(table.tenantKey)} = $1`, [tenantId]);
        }
        await c.query('DELETE FROM landlord.tenant_partitions WHERE tenant_id = $1', [tenantId]);
        const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (rowCount) {
          await terminateSessions(c, role);
          await c.query(`DROP OWNED BY ${q(role)}`);
          await c.query(`DROP ROLE ${q(role)}`);
        }
      });
    },

    /** Creates the tenant's first user, with the application's admin role; idempotent. */
    async createAdminUser({
      tenantId,
      region,
      email,
    }: PartitionInput & { email: string }): Promise<{ userId: string }> {
      return inTransaction(directory.pool(region), tenantId, async (c) => {
        const partition = await c.query('SELECT 1 FROM landlord.tenant_partitions WHERE tenant_id = $1', [
          tenantId,
        ]);
        if (!partition.rowCount)
          throw new LandlordError('TenantNotFound', `tenant ${tenantId} has no partition in ${region}`);
        return upsertAdminUser(c, manifest, tenantId, email);
      });
    },

    /** Creates the tenant's first user in its silo database, as the silo's owner; idempotent. */
    async createSiloAdminUser({
      tenantId,
      region,
      email,
      outputs,
    }: PartitionInput & {
      email: string;
      /** The primary stack's outputs: a cloud silo's database is found through them. */
      outputs?: Record<string, unknown>;
    }): Promise<{ userId: string }> {
      const cloud =
        outputs &&
        (await cloudSiloDatabaseOf(outputs, {
          region,
          tenantId,
          secret,
          secretsManager:
            secretsManager ?? ((cloudRegion) => new SecretsManagerClient({ region: cloudRegion })),
        }));
      if (cloud)
        return withCloudSiloClient(cloud, (client) => upsertAdminUser(client, manifest, tenantId, email));
      return withClient(siloOwnerUrl(directory.serverUrl(region), region, tenantId, secret), (client) =>
        upsertAdminUser(client, manifest, tenantId, email),
      );
    },

    /** Deletes the admin user onboarding created; idempotent. */
    async deleteAdminUser({ tenantId, region, email }: PartitionInput & { email: string }): Promise<void> {
      const a = manifest.adminUser;
      const key = manifest.tables.find((t) => t.name === a.table)!.tenantKey;
      await inTransaction(directory.pool(region), tenantId, async (c) => {
        await c.query(`DELETE FROM ${q(a.table)} WHERE ${q(key)} = $1 AND ${q(a.emailColumn)} = $2`, [
          tenantId,
          email,
        ]);
      });
    },

    /** Sets how many sessions the tenant's role may hold (its tier's); idempotent. */
    async setTenantConnectionLimit({
      tenantId,
      region,
      connectionLimit,
    }: PartitionInput & { connectionLimit?: number }): Promise<void> {
      await alterTenantRole(tenantId, region, `CONNECTION LIMIT ${limitOrDefault(connectionLimit)}`);
    },

    /** Lets the tenant's role log in, or stops it (ending its open sessions); idempotent. */
    setTenantLogin,

    /**
     * Turns a tenant's login off on its store in `region` and ends its sessions (`enabled` false:
     * fencing a store that no longer serves), or on again: its pool role, or its silo's role;
     * idempotent. A fence of a store whose server does not answer (the region is down) says so
     * rather than fail: nothing there takes writes either, and a restore elsewhere goes on.
     */
    async fenceTenantStore({
      tenantId,
      region,
      deploymentModel,
      enabled,
    }: PartitionInput & { deploymentModel: 'pool' | 'silo'; enabled: boolean }): Promise<{
      region: string;
      fenced: boolean;
      reason?: string;
    }> {
      // Asked first, briefly: a silent server would hold a connection until this activity timed out.
      if (!enabled) {
        const probe = await serverAnswers(directory.serverDatabaseUrl(region, 'postgres'), connectTimeoutMs);
        if (!probe.answers) return { region, fenced: false, reason: probe.reason };
      }
      try {
        if (deploymentModel === 'silo') await setSiloLogin({ tenantId, region, enabled });
        else await setTenantLogin({ tenantId, region, enabled });
        return { region, fenced: !enabled };
      } catch (err) {
        if (enabled || !unanswered(err)) throw err;
        return { region, fenced: false, reason: `its server did not answer: ${(err as Error).message}` };
      }
    },

    /**
     * Lets a silo tenant's login role (on its home region's server) log in, or stops it and ends its
     * sessions; idempotent. The role is the stack's; only its LOGIN attribute changes here.
     */
    setSiloLogin,

    /**
     * Makes the tenant read-only in the pool (its role may only select; open sessions are ended, so
     * no transaction begun before can still write), or writable again; idempotent.
     */
    async setTenantWrites({
      tenantId,
      region,
      writable,
    }: PartitionInput & { writable: boolean }): Promise<void> {
      const role = tenantRoleName(tenantId);
      await inTransaction(directory.pool(region), tenantId, async (c) => {
        await requireRole(c, role, `tenant ${tenantId} has no database role in ${region}`);
        const [grant, revoke] = writable
          ? [TENANTS_GROUP_ROLE, READ_ONLY_GROUP_ROLE]
          : [READ_ONLY_GROUP_ROLE, TENANTS_GROUP_ROLE];
        await grantMembership(c, grant, role);
        await c.query(`REVOKE ${revoke} FROM ${q(role)}`);
        if (writable) return;
        // REVOKE only warns when it removes nothing (a grant by another grantor, or made directly on
        // a table), so check what the role can really do before anyone relies on the freeze.
        const { rows } = await c.query<{ name: string }>(
          `SELECT t.name FROM unnest($2::text[]) AS t(name)
           WHERE has_table_privilege($1, quote_ident(t.name), 'INSERT, UPDATE, DELETE, TRUNCATE')`,
          [role, manifest.tables.map((t) => t.name)],
        );
        if (rows.length > 0)
          throw new LandlordError(
            'ForeignGrant',
            `tenant ${tenantId}'s role can still write to ${rows.map((r) => r.name).join(', ')} after the freeze; ` +
              'remove the grants made outside Landlord',
          );
      });
      // Once committed: a session ended earlier could reconnect with the old grants.
      if (!writable) await terminateSessions(directory.pool(region), role);
    },
  };
}

export type TenantDatabaseActivities = ReturnType<typeof createTenantDatabaseActivities>;
