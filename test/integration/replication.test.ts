/**
 * A DR standby kept current by logical replication (dataplane/replication.ts), between the two
 * local regions' servers: local-a (embedded) and local-b (a server started apart from Landlord,
 * another major version when one is installed). Rows written on the active silo reach the standby
 * within the measured lag; the standby's tenant role cannot log in; promotion stops replication,
 * moves sequences on and lets the tenant in; replicating back re-seeds the old primary; dropping
 * the databases leaves no slot, subscription or replication role behind.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { applyApplicationMigrations } from '../../dataplane/migrations.js';
import {
  dropReplicatorRole,
  measureReplication,
  promoteTarget,
  releaseReplication,
  replicationNames,
  startReplication,
} from '../../dataplane/replication.js';
import type { ReplicationEnd, ReplicationLink } from '../../dataplane/replication.js';
import { secureSiloDatabase, siloOwnerPassword, siloOwnerUrl } from '../../dataplane/silo.js';
import { siloNames } from '../../domain/index.js';
import { testStack } from '../support/stack.js';

const q = pg.escapeIdentifier;
const config = loadConfig({});
const HOME = 'local-a';
const DR = 'local-b';
const TENANT_PASSWORD = 'tenant-role-password-for-this-test';

describe('replicating a silo to its DR standby', () => {
  const secret = () => testStack().secret;
  const serverUrl = (region: string) => testStack().regionUrls[region]!;
  const tenants: string[] = [];

  /** The tenant's silo on `region`, as a stack makes it; its role logs in with a known password. */
  async function silo(tenantId: string, region: string): Promise<ReplicationEnd> {
    const names = siloNames(tenantId);
    await withClient(withDatabase(serverUrl(region), 'postgres'), (c) =>
      c.query(`CREATE ROLE ${q(names.role)} LOGIN PASSWORD ${pg.escapeLiteral(TENANT_PASSWORD)}`),
    );
    await ensureDatabase(serverUrl(region), names.database);
    await secureSiloDatabase(serverUrl(region), {
      database: names.database,
      role: names.role,
      owner: names.owner,
      ownerPassword: siloOwnerPassword(secret(), region, tenantId),
    });
    const ownerUrl = siloOwnerUrl(serverUrl(region), region, tenantId, secret());
    await withClient(ownerUrl, async (c) => {
      await applyApplicationMigrations(c, config.migrationsDir);
      await c.query(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${q(names.role)}`,
      );
    });
    return {
      region,
      serverUrl: serverUrl(region),
      ownerUrl,
      database: names.database,
      tenantRole: names.role,
    };
  }

  async function linkedTenant(): Promise<ReplicationLink> {
    const tenantId = `repl-${randomBytes(4).toString('hex')}`;
    tenants.push(tenantId);
    const source = await silo(tenantId, HOME);
    const target = await silo(tenantId, DR);
    return { tenantId, source, target, secret: secret() };
  }

  const reversed = (link: ReplicationLink): ReplicationLink => ({
    ...link,
    source: link.target,
    target: link.source,
  });

  /** Connects as the tenant's own role to one end. */
  const asTenant = (end: ReplicationEnd) => {
    const u = new URL(withDatabase(end.serverUrl, end.database));
    u.username = end.tenantRole;
    u.password = TENANT_PASSWORD;
    return u.toString();
  };

  const projects = (end: ReplicationEnd) =>
    withClient(end.ownerUrl, async (c) => {
      const { rows } = await c.query<{ name: string }>('SELECT name FROM projects ORDER BY name');
      return rows.map((r) => r.name);
    });
  const addProject = (end: ReplicationEnd, tenantId: string, name: string) =>
    withClient(end.ownerUrl, (c) =>
      c.query('INSERT INTO projects (tenant_id, name) VALUES ($1, $2)', [tenantId, name]),
    );

  /** Waits for the standby to finish its first copy and stream. */
  async function streaming(link: ReplicationLink) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const measured = await measureReplication(link, { waitMs: 10_000 });
      if (measured.state === 'streaming') return measured;
      if (Date.now() > deadline)
        throw new Error(`replication is ${measured.state}: ${measured.reason ?? ''}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const slotsOf = (region: string, database: string) =>
    withClient(withDatabase(serverUrl(region), 'postgres'), async (c) => {
      const { rows } = await c.query<{ slot_name: string }>(
        'SELECT slot_name FROM pg_replication_slots WHERE database = $1',
        [database],
      );
      return rows.map((r) => r.slot_name);
    });

  afterAll(async () => {
    for (const tenantId of tenants)
      for (const region of [HOME, DR]) {
        const names = siloNames(tenantId);
        await releaseReplication(serverUrl(region), names.database);
        await withClient(withDatabase(serverUrl(region), 'postgres'), async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${q(names.database)} WITH (FORCE)`);
          await c.query(`DROP ROLE IF EXISTS ${q(names.owner)}`);
          await c.query(`DROP ROLE IF EXISTS ${q(names.role)}`);
        });
        await dropReplicatorRole(serverUrl(region), names.database);
      }
  });

  it('copies the rows there, then streams every later write within the measured lag', async () => {
    const link = await linkedTenant();
    await addProject(link.source, link.tenantId, 'before');
    // Whatever the standby held before is replaced by the active silo's rows.
    await addProject(link.target, link.tenantId, 'stale');
    expect(await startReplication(link)).toEqual({ seeded: true });
    const first = await streaming(link);
    expect(await projects(link.target)).toEqual(['before']);
    expect(first.lagMs).toBeGreaterThanOrEqual(0);

    await addProject(link.source, link.tenantId, 'just before');
    const measured = await measureReplication(link);
    expect(measured.state).toBe('streaming');
    expect(measured.lagMs).toBeLessThan(30_000);
    // The heartbeat committed after the write: seen, so is the write.
    expect(await projects(link.target)).toEqual(['before', 'just before']);
    expect(Date.parse(measured.newestDataAt!)).toBeGreaterThan(Date.parse(first.newestDataAt!));

    // Idempotent: a second start only refreshes the subscription, and copies nothing again.
    expect(await startReplication(link)).toEqual({ seeded: false });
    expect(await projects(link.target)).toEqual(['before', 'just before']);
  });

  it('keeps the tenant out of its standby, and out of the replication', async () => {
    const link = await linkedTenant();
    await startReplication(link);
    await streaming(link);
    // The standby's tenant role cannot log in: only replication writes there.
    await expect(withClient(asTenant(link.target), (c) => c.query('SELECT 1'))).rejects.toThrow(
      /not permitted to log in/,
    );
    await withClient(asTenant(link.source), async (c) => {
      // The replication role's password is in the subscription only, which no tenant reads.
      for (const sql of [
        'SELECT subconninfo FROM pg_subscription',
        `ALTER PUBLICATION landlord_dr ADD TABLE projects`,
        'DROP PUBLICATION landlord_dr',
        'INSERT INTO landlord.dr_heartbeat VALUES (1, 999999, now())',
        `SELECT pg_drop_replication_slot(${pg.escapeLiteral(replicationNames(link.tenantId, DR).subscription)})`,
        `SELECT pg_create_logical_replication_slot('tenant_slot', 'pgoutput')`,
        `SET ROLE ${q(replicationNames(link.tenantId, DR).role)}`,
      ])
        await expect(c.query(sql), sql).rejects.toThrow(
          /permission denied|must be owner|must be superuser|REPLICATION/,
        );
    });
    // Nor can it log in as the replication role with a password of its own.
    const u = new URL(withDatabase(serverUrl(HOME), link.source.database));
    u.username = replicationNames(link.tenantId, DR).role;
    u.password = TENANT_PASSWORD;
    await expect(withClient(u.toString(), (c) => c.query('SELECT 1'))).rejects.toThrow(/password/);
  });

  it('promotes the standby, then replicates back to re-seed the old primary', async () => {
    const link = await linkedTenant();
    await withClient(link.source.ownerUrl, (c) =>
      c.query("INSERT INTO activity_log (tenant_id, action) SELECT $1, 'seen' FROM generate_series(1, 5)", [
        link.tenantId,
      ]),
    );
    await startReplication(link);
    await streaming(link);
    await addProject(link.source, link.tenantId, 'written at home');
    await streaming(link);

    expect(await promoteTarget(link)).toEqual({ slotDropped: true });
    expect(await slotsOf(HOME, link.source.database)).toEqual([]);
    expect((await measureReplication(link)).state).toBe('stopped');
    // The tenant logs in to the promoted standby, and its identity column goes on past the copy.
    await withClient(asTenant(link.target), async (c) => {
      const { rows } = await c.query<{ id: string }>(
        "INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'after failover') RETURNING id",
        [link.tenantId],
      );
      expect(Number(rows[0]!.id)).toBeGreaterThan(5);
      await c.query("INSERT INTO projects (tenant_id, name) VALUES ($1, 'written in DR')", [link.tenantId]);
    });

    // Failing back: the old primary is fenced and re-seeded from the standby.
    const back = reversed(link);
    expect(await startReplication(back)).toEqual({ seeded: true });
    await streaming(back);
    await expect(withClient(asTenant(link.source), (c) => c.query('SELECT 1'))).rejects.toThrow(
      /not permitted to log in/,
    );
    expect(await projects(link.source)).toEqual(['written at home', 'written in DR']);
    await promoteTarget(back);
    await withClient(asTenant(link.source), (c) => c.query('SELECT 1'));
  });

  it('drops a silo database that replicates, and one that publishes, leaving nothing behind', async () => {
    const link = await linkedTenant();
    await startReplication(link);
    await streaming(link);
    const { subscription, role } = replicationNames(link.tenantId, DR);
    expect(await slotsOf(HOME, link.source.database)).toEqual([subscription]);
    for (const end of [link.target, link.source]) {
      await releaseReplication(end.serverUrl, end.database);
      await withClient(withDatabase(end.serverUrl, 'postgres'), (c) =>
        c.query(`DROP DATABASE ${q(end.database)} WITH (FORCE)`),
      );
      await dropReplicatorRole(end.serverUrl, end.database);
    }
    expect(await slotsOf(HOME, link.source.database)).toEqual([]);
    const roles = await withClient(withDatabase(serverUrl(HOME), 'postgres'), (c) =>
      c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]),
    );
    expect(roles.rowCount).toBe(0);
  });
});
