/**
 * A DR tenant's standby kept current by Postgres logical replication (docs/disaster-recovery.md):
 * the active silo database publishes its tables, the standby's database subscribes to them.
 *
 * Who does what, and why:
 * - On the source, the silo's owner (never a superuser inside a database a tenant logs in to) owns
 *   the publication, Landlord's heartbeat table and the grants; a superuser makes the replication
 *   login role, whose password derives from Landlord's master secret and is stored only in the
 *   subscription (a catalog column no tenant role may read).
 * - On the target, a superuser owns the subscription (CREATE SUBSCRIPTION needs one before 16);
 *   the tenant's role there cannot log in while it is a standby, so nothing but replication writes
 *   it, and from 16 on the apply worker runs as the tables' owner.
 * - The lag is measured, not estimated: a heartbeat row written on the source, and the time until
 *   the target holds it. Logical replication applies commits in order, so once the target holds a
 *   heartbeat it holds everything committed before it.
 */
import { createHash, createHmac } from 'node:crypto';
import pg from 'pg';
import { LandlordError } from '../domain/index.js';
import { withClient, withDatabase } from './connection.js';
import { MIGRATIONS_TABLE } from './migrations.js';
import { advanceSequences } from './table-catalog.js';

const q = pg.escapeIdentifier;

/** The publication in every replicated silo database (one per database, so one name). */
export const PUBLICATION = 'landlord_dr';

/** Replicated with the tenant's tables: its one row says when the source last wrote a heartbeat. */
const HEARTBEAT_SQL = `
CREATE SCHEMA IF NOT EXISTS landlord;
CREATE TABLE IF NOT EXISTS landlord.dr_heartbeat (
  id smallint PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  written_at timestamptz NOT NULL
);`;

/** One end of a tenant's replication: a silo database on a region's server. */
export interface ReplicationEnd {
  region: string;
  /** Superuser URL of the region's server (any database). */
  serverUrl: string;
  /** URL of the silo database as its owner. */
  ownerUrl: string;
  /** The silo database's name (the same in every region). */
  database: string;
  /** The tenant's login role there (the same name in every region). */
  tenantRole: string;
}

export interface ReplicationLink {
  tenantId: string;
  source: ReplicationEnd;
  target: ReplicationEnd;
  /** Landlord's master secret: the replication role's password derives from it. */
  secret: string;
}

/** Names of a link: the subscription and its slot share a name, unique per tenant and target. */
export function replicationNames(tenantId: string, targetRegion: string) {
  const key = tenantId.replaceAll('-', '_');
  // Slot names are at most 63 characters of [a-z0-9_]; region ids may hold anything else.
  const target = createHash('sha256').update(targetRegion).digest('hex').slice(0, 8);
  return { subscription: `landlord_dr_${key}_${target}`, role: replicatorRole(`silo_${key}`) };
}

/** The replication login role of a silo database (`silo_<key>`): a prefix no tenant role has. */
export function replicatorRole(database: string): string {
  return `landlord_repl_${database.replace(/^silo_/, '')}`;
}

function replicatorPassword(secret: string, region: string, tenantId: string): string {
  return createHmac('sha256', secret).update(`replicator:${region}:${tenantId}`).digest('base64url');
}

/** The subscription's connection to the source, as libpq reads it. */
function conninfo(link: ReplicationLink, role: string): string {
  const u = new URL(link.source.serverUrl);
  const value = (v: string) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  const parts: Record<string, string> = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port || '5432',
    dbname: link.source.database,
    user: role,
    password: replicatorPassword(link.secret, link.source.region, link.tenantId),
    connect_timeout: '10',
  };
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) parts.sslmode = sslmode;
  return Object.entries(parts)
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
}

/** The tables a silo replicates: every table of schema public but the migrations', and the heartbeat. */
async function publishedTables(c: pg.ClientBase): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND ((n.nspname = 'public' AND c.relname <> $1) OR (n.nspname = 'landlord' AND c.relname = 'dr_heartbeat'))
      ORDER BY 1`,
    [MIGRATIONS_TABLE],
  );
  return rows.map((r) => r.name);
}

async function setLogin(serverUrl: string, role: string, enabled: boolean): Promise<void> {
  await withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [role]);
    if (!rowCount) throw new LandlordError('NotFound', `role ${role} does not exist on the server`);
    await c.query(`ALTER ROLE ${q(role)} ${enabled ? 'LOGIN' : 'NOLOGIN'}`);
    // Once committed: a session ended earlier could log in again under the old setting.
    if (!enabled)
      await c.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1', [
        role,
      ]);
  });
}

/** Lets the tenant's role log in to one end, or stops it and ends its sessions (fencing). */
export async function setEndLogin(end: ReplicationEnd, enabled: boolean): Promise<void> {
  await setLogin(end.serverUrl, end.tenantRole, enabled);
}

/** The source's side: replication role, heartbeat, grants and publication; idempotent. */
async function preparePublisher(link: ReplicationLink, role: string): Promise<void> {
  const { source } = link;
  await withClient(withDatabase(source.serverUrl, 'postgres'), async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [role]);
    // REPLICATION lets a role stream the whole server's WAL, so its password is nowhere a tenant
    // reaches, and it may hold only the sessions replication needs.
    await c.query(
      `${rowCount ? 'ALTER' : 'CREATE'} ROLE ${q(role)} LOGIN REPLICATION NOINHERIT NOSUPERUSER NOCREATEDB
       NOCREATEROLE NOBYPASSRLS CONNECTION LIMIT 4
       PASSWORD ${pg.escapeLiteral(replicatorPassword(link.secret, source.region, link.tenantId))}`,
    );
    await c.query(`GRANT CONNECT ON DATABASE ${q(source.database)} TO ${q(role)}`);
  });
  await withClient(source.ownerUrl, async (c) => {
    await c.query(HEARTBEAT_SQL);
    const tables = await publishedTables(c);
    // Without a primary key an UPDATE or DELETE on a published table fails: the whole row then
    // identifies it.
    const { rows: keyless } = await c.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = ANY ($1::regclass[]) AND c.relreplident = 'd'
          AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)`,
      [tables],
    );
    for (const { name } of keyless) await c.query(`ALTER TABLE ${name} REPLICA IDENTITY FULL`);
    await c.query(`GRANT USAGE ON SCHEMA public, landlord TO ${q(role)}`);
    await c.query(`GRANT SELECT ON ${tables.join(', ')} TO ${q(role)}`);
    const exists = await c.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [PUBLICATION]);
    await c.query(
      exists.rowCount
        ? `ALTER PUBLICATION ${q(PUBLICATION)} SET TABLE ${tables.join(', ')}`
        : `CREATE PUBLICATION ${q(PUBLICATION)} FOR TABLE ${tables.join(', ')}`,
    );
  });
}

/** Whether the target's database has the link's subscription. */
async function hasSubscription(link: ReplicationLink, subscription: string): Promise<boolean> {
  return withClient(withDatabase(link.target.serverUrl, link.target.database), async (c) => {
    const { rowCount } = await c.query(
      `SELECT 1 FROM pg_catalog.pg_subscription
        WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`,
      [subscription],
    );
    return rowCount !== 0;
  });
}

/** Drops a slot of `name` the source holds for nobody (one a dropped subscription could not drop). */
async function dropOrphanSlot(serverUrl: string, name: string): Promise<void> {
  await withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
    await c.query(
      `SELECT pg_terminate_backend(active_pid, 5000) FROM pg_catalog.pg_replication_slots
        WHERE slot_name = $1 AND active_pid IS NOT NULL`,
      [name],
    );
    await c.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots
        WHERE slot_name = $1 AND NOT active`,
      [name],
    );
  });
}

/**
 * Starts replicating the source silo into the target (the standby): the target's tenant role may
 * no longer log in, its tables are emptied and copied afresh from the source, then changes stream.
 * When the target already subscribes, only tables added since are taken on. Idempotent. The
 * caller makes sure the target is not the tenant's active store: its rows are replaced.
 */
export async function startReplication(link: ReplicationLink): Promise<{ seeded: boolean }> {
  const { subscription, role } = replicationNames(link.tenantId, link.target.region);
  await preparePublisher(link, role);
  await setEndLogin(link.target, false);
  await withClient(link.target.ownerUrl, (c) => c.query(HEARTBEAT_SQL));
  if (await hasSubscription(link, subscription)) {
    await withClient(withDatabase(link.target.serverUrl, link.target.database), async (c) => {
      await c.query(`ALTER SUBSCRIPTION ${q(subscription)} ENABLE`);
      await c.query(`ALTER SUBSCRIPTION ${q(subscription)} REFRESH PUBLICATION WITH (copy_data = true)`);
    });
    return { seeded: false };
  }
  // A slot left by an earlier link of the same name (a failover while the source was unreachable)
  // would make CREATE SUBSCRIPTION fail, and hold WAL for ever.
  await dropOrphanSlot(link.source.serverUrl, subscription);
  await withClient(link.target.ownerUrl, async (c) => {
    const tables = await publishedTables(c);
    await c.query(`TRUNCATE ${tables.join(', ')}`);
  });
  await withClient(withDatabase(link.target.serverUrl, link.target.database), (c) =>
    c.query(
      `CREATE SUBSCRIPTION ${q(subscription)} CONNECTION ${pg.escapeLiteral(conninfo(link, role))}
       PUBLICATION ${q(PUBLICATION)} WITH (slot_name = ${pg.escapeLiteral(subscription)}, copy_data = true)`,
    ),
  );
  return { seeded: true };
}

/** What one measurement of a link found. */
export interface ReplicationMeasure {
  state: 'seeding' | 'streaming' | 'stopped' | 'broken';
  /** A heartbeat written on the source was on the target this many ms later. */
  lagMs?: number;
  /** WAL bytes the target had not confirmed when measured. */
  lagBytes?: number;
  /** When the newest heartbeat the target holds was written. */
  newestDataAt?: string;
  reason?: string;
}

/** Tables of the subscription still being copied (not yet `ready` or `synced`). */
async function tablesSyncing(link: ReplicationLink, subscription: string): Promise<number> {
  return withClient(withDatabase(link.target.serverUrl, link.target.database), async (c) => {
    const { rows } = await c.query<{ syncing: number }>(
      `SELECT count(*)::int AS syncing FROM pg_catalog.pg_subscription_rel r
         JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid
        WHERE s.subname = $1 AND r.srsubstate NOT IN ('r', 's')`,
      [subscription],
    );
    return rows[0]!.syncing;
  });
}

/** The newest heartbeat the link's target holds (seq 0: none yet). */
export async function standbyHeartbeat(link: ReplicationLink): Promise<{ seq: number; writtenAt?: string }> {
  return withClient(link.target.ownerUrl, async (c) => {
    const { rows } = await c.query<{ seq: string; written_at: Date }>(
      'SELECT seq, written_at FROM landlord.dr_heartbeat WHERE id = 1',
    );
    return rows[0] ? { seq: Number(rows[0].seq), writtenAt: rows[0].written_at.toISOString() } : { seq: 0 };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Measures the link: writes a heartbeat on the source and waits, up to `waitMs`, for the target to
 * hold it. Seen, the state is `streaming` and the lag measured; every commit on the source before
 * the heartbeat is then on the target too.
 */
export async function measureReplication(
  link: ReplicationLink,
  { waitMs = 30_000, beat = () => undefined }: { waitMs?: number; beat?: () => void } = {},
): Promise<ReplicationMeasure> {
  const { subscription } = replicationNames(link.tenantId, link.target.region);
  if (!(await hasSubscription(link, subscription)))
    return { state: 'stopped', reason: 'the standby does not subscribe to the active silo' };
  const slot = await withClient(withDatabase(link.source.serverUrl, 'postgres'), async (c) => {
    const { rows } = await c.query<{ lag: string | null; active: boolean }>(
      `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS lag, active
         FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
      [subscription],
    );
    return rows[0];
  });
  const lagBytes = slot?.lag != null ? Number(slot.lag) : undefined;
  const bytes = lagBytes !== undefined ? { lagBytes } : {};
  if (!slot) return { state: 'broken', reason: `the active silo holds no replication slot ${subscription}` };
  if ((await tablesSyncing(link, subscription)) > 0) return { state: 'seeding', ...bytes };
  const written = await withClient(link.source.ownerUrl, async (c) => {
    const { rows } = await c.query<{ seq: string; at: number }>(
      `INSERT INTO landlord.dr_heartbeat AS h (id, seq, written_at) VALUES (1, 1, clock_timestamp())
       ON CONFLICT (id) DO UPDATE SET seq = h.seq + 1, written_at = excluded.written_at
       RETURNING seq, extract(epoch FROM written_at) * 1000 AS at`,
    );
    return { seq: Number(rows[0]!.seq), at: Number(rows[0]!.at) };
  });
  const sentAt = Date.now();
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    const seen = await standbyHeartbeat(link);
    if (seen.seq >= written.seq)
      return {
        state: 'streaming',
        lagMs: Math.max(0, Date.now() - sentAt),
        newestDataAt: seen.writtenAt!,
        ...bytes,
      };
    if (Date.now() - sentAt > waitMs)
      return {
        state: 'broken',
        ...bytes,
        ...(seen.writtenAt ? { newestDataAt: seen.writtenAt } : {}),
        reason: slot.active
          ? `a heartbeat written on the active silo was not on the standby after ${waitMs} ms`
          : "the standby's subscription is not connected to the active silo (see the standby server's log)",
      };
    beat();
    await sleep(delay);
  }
}

/**
 * Ends the link from the target's side: its subscription dropped, and with it the source's slot
 * when the source answers; when it does not, the slot is left (a later start drops it).
 */
export async function stopReplication(link: ReplicationLink): Promise<{ slotDropped: boolean }> {
  const { subscription } = replicationNames(link.tenantId, link.target.region);
  return dropSubscription(withDatabase(link.target.serverUrl, link.target.database), subscription);
}

async function dropSubscription(
  databaseUrl: string,
  subscription: string,
): Promise<{ slotDropped: boolean }> {
  return withClient(databaseUrl, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_catalog.pg_subscription WHERE subname = $1', [
      subscription,
    ]);
    if (!rowCount) return { slotDropped: true };
    try {
      // Stops the subscription's workers and drops its slot on the source.
      await c.query(`DROP SUBSCRIPTION ${q(subscription)}`);
      return { slotDropped: true };
    } catch (err) {
      // Only when the source did not answer: keep its slot (a later start drops it), drop the
      // subscription without it.
      if (!/could not connect|connection to server|timeout/i.test((err as Error).message)) throw err;
      await c.query(`ALTER SUBSCRIPTION ${q(subscription)} DISABLE`);
      await c.query(`ALTER SUBSCRIPTION ${q(subscription)} SET (slot_name = NONE)`);
      await c.query(`DROP SUBSCRIPTION ${q(subscription)}`);
      return { slotDropped: false };
    }
  });
}

/**
 * Makes the target the tenant's writable store: replication ended, its sequences moved past its
 * rows (logical replication does not carry them), its tenant role able to log in (unless `login`
 * is false: a suspended tenant's).
 */
export async function promoteTarget(
  link: ReplicationLink,
  { login = true }: { login?: boolean } = {},
): Promise<{ slotDropped: boolean }> {
  const stopped = await stopReplication(link);
  await withClient(link.target.ownerUrl, async (c) => {
    const { rows } = await c.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename <> $1`,
      [MIGRATIONS_TABLE],
    );
    for (const { name } of rows) await advanceSequences(c, name);
  });
  // A suspended tenant stays out wherever it is served from.
  if (login) await setEndLogin(link.target, true);
  return stopped;
}

/**
 * Before a silo database is dropped: the subscriptions in it dropped (leaving their slots when the
 * source does not answer), and the slots on its server that publish from it dropped, with its
 * replication role. Run as a superuser of the server; idempotent; nothing happens for a database
 * that was never replicated.
 */
export async function releaseReplication(serverUrl: string, database: string): Promise<void> {
  const exists = await withClient(withDatabase(serverUrl, 'postgres'), (c) =>
    c.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1 AND datallowconn', [database]),
  );
  if (exists.rowCount) {
    const subscriptions = await withClient(withDatabase(serverUrl, database), async (c) => {
      const { rows } = await c.query<{ subname: string }>(
        `SELECT subname FROM pg_catalog.pg_subscription
          WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`,
      );
      return rows.map((r) => r.subname);
    });
    for (const name of subscriptions) await dropSubscription(withDatabase(serverUrl, database), name);
  }
  await withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
    const { rows } = await c.query<{ slot_name: string }>(
      `SELECT slot_name FROM pg_catalog.pg_replication_slots WHERE database = $1 AND slot_type = 'logical'`,
      [database],
    );
    for (const { slot_name } of rows) await dropOrphanSlot(serverUrl, slot_name);
    const role = replicatorRole(database);
    await c.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1', [role]);
    const { rowCount } = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [role]);
    // Its grants are in the database about to go; on this server it owns nothing else.
    if (rowCount) {
      await c.query(`REVOKE CONNECT ON DATABASE ${q(database)} FROM ${q(role)}`).catch(() => undefined);
      await c.query(`DROP ROLE ${q(role)}`).catch((err: { code?: string }) => {
        // Still granted rights inside the database: DROP DATABASE takes them along, then retry.
        if (err.code !== '2BP01') throw err;
      });
    }
  });
}

/** Drops a silo database's replication role once the database is gone (see releaseReplication). */
export async function dropReplicatorRole(serverUrl: string, database: string): Promise<void> {
  await withClient(withDatabase(serverUrl, 'postgres'), (c) =>
    c.query(`DROP ROLE IF EXISTS ${q(replicatorRole(database))}`),
  );
}

/**
 * After a failover that could not reach the tenant's former store (its region was down): once it
 * answers, its tenant role is fenced (no second store takes writes) and the slot the failover could
 * not drop there is dropped (it would hold the server's WAL). The link runs from the store the
 * tenant is served from to the former one. Idempotent; fails while the former store is unreachable.
 */
export async function settleFormerSource(link: ReplicationLink): Promise<void> {
  await setEndLogin(link.target, false);
  await dropOrphanSlot(
    link.target.serverUrl,
    replicationNames(link.tenantId, link.source.region).subscription,
  );
}
