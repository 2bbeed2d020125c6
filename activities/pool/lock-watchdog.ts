/**
 * Keeps the tenants of a shared pool database from holding each other (and Landlord) up with locks.
 * Every tenant may write its rows, and with that Postgres lets it `LOCK TABLE` a shared table in
 * any mode: no privilege separates the two. A tenant's own work never needs a table lock stronger
 * than its writes take (ROW EXCLUSIVE), and locks that weak never conflict with each other; so:
 *
 * - a session (or prepared transaction) not Landlord's that holds or asks for a stronger table lock
 *   is ended at once — it can only be an explicit `LOCK TABLE`, and it stalls every other tenant;
 * - a session not Landlord's that keeps one of Landlord's sessions waiting (its DDL behind a long
 *   tenant query) longer than the grace period is ended too.
 *
 * "Landlord's" is a superuser or the role the watchdog connects as: the region's admin role. Every
 * ending is reported; no one else's session is touched.
 */
import pg from 'pg';

export interface EndedSession {
  /** The backend's pid; 0 for a prepared transaction. */
  pid: number;
  /** The role whose session (or prepared transaction `gid`) was ended. */
  role: string;
  reason: 'strong-lock' | 'blocked-landlord';
  gid?: string;
}

/** Table lock modes beyond what reads and writes take. */
const STRONG_MODES = [
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];

/** Roles whose sessions the watchdog leaves alone: superusers and the role it connects as. */
const IS_LANDLORD = (role: string) => `(SELECT r.rolsuper OR r.rolname = current_user
  FROM pg_catalog.pg_roles r WHERE r.oid = ${role})`;

const STRONG_LOCK_SESSIONS_SQL = `
SELECT DISTINCT a.pid, a.usename::text AS role
FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.mode = ANY($1)
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND NOT ${IS_LANDLORD('a.usesysid')}`;

const BLOCKING_LANDLORD_SQL = `
SELECT DISTINCT b.pid, b.usename::text AS role
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity w ON w.pid = l.pid
CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(l.pid)) AS bp(pid)
JOIN pg_catalog.pg_stat_activity b ON b.pid = bp.pid
WHERE NOT l.granted
  AND l.waitstart < pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => $1)
  AND w.datname = pg_catalog.current_database()
  AND ${IS_LANDLORD('w.usesysid')} AND NOT ${IS_LANDLORD('b.usesysid')}`;

// A prepared transaction's locks have no pid; its transaction id lock ties them to its gid. Ended
// when it holds a strong table lock, or when it is older than the grace period while one of
// Landlord's sessions waits on a prepared transaction (pid 0 among its blockers).
const PREPARED_SQL = `
SELECT x.gid, x.owner::text AS role,
  bool_or(l.locktype = 'relation' AND l.mode = ANY($1)) AS strong
FROM pg_catalog.pg_prepared_xacts x
JOIN pg_catalog.pg_locks t ON t.locktype = 'transactionid' AND t.transactionid = x.transaction AND t.pid IS NULL
JOIN pg_catalog.pg_locks l ON l.virtualtransaction = t.virtualtransaction AND l.pid IS NULL
WHERE x.database = pg_catalog.current_database()
  AND NOT ${IS_LANDLORD('(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = x.owner)')}
GROUP BY x.gid, x.owner, x.prepared
HAVING bool_or(l.locktype = 'relation' AND l.mode = ANY($1))
  OR (x.prepared < pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => $2)
      AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks wl JOIN pg_catalog.pg_stat_activity w ON w.pid = wl.pid
                  WHERE NOT wl.granted AND w.datname = pg_catalog.current_database()
                    AND ${IS_LANDLORD('w.usesysid')} AND 0 = ANY(pg_catalog.pg_blocking_pids(wl.pid))))`;

export class LockWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> = Promise.resolve();
  /** A connection of its own: the ones it protects may all be waiting. */
  private readonly pool: pg.Pool;
  /** Whether the server allows prepared transactions at all (a setting only a restart changes). */
  private preparedAllowed: boolean | undefined;

  /** @param databaseUrl URL of the pool database to watch, as the region's admin role. */
  constructor(
    databaseUrl: string,
    private readonly options: {
      /** How long a session not Landlord's may keep Landlord waiting before it is ended. */
      graceMs?: number;
      intervalMs?: number;
      onEnded?: (session: EndedSession) => void;
      /** Told when a look fails (the server is down, say); it looks again at the next interval. */
      onError?: (err: Error) => void;
    } = {},
  ) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 1,
      application_name: 'landlord-lock-watchdog',
    });
    this.pool.on('error', () => undefined);
  }

  /** Looks every interval until `stop`. */
  start(): this {
    this.timer ??= setInterval(() => {
      this.sweeping = this.sweep().catch((err: Error) => this.options.onError?.(err));
    }, this.options.intervalMs ?? 500);
    this.timer.unref();
    return this;
  }

  /** Stops looking and closes the connection. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
    await this.pool.end();
  }

  /** Ends what holds others up now; returns what it ended. */
  async sweep(): Promise<EndedSession[]> {
    const graceSeconds = (this.options.graceMs ?? 2_000) / 1000;
    const ended: EndedSession[] = [];
    const end = async (session: EndedSession) => {
      if (ended.some((e) => (session.gid ? e.gid === session.gid : e.pid === session.pid))) return;
      if (session.gid) await this.pool.query(`ROLLBACK PREPARED ${pg.escapeLiteral(session.gid)}`);
      else await this.pool.query('SELECT pg_catalog.pg_terminate_backend($1)', [session.pid]);
      ended.push(session);
      this.options.onEnded?.(session);
    };
    const strong = await this.pool.query<{ pid: number; role: string }>(STRONG_LOCK_SESSIONS_SQL, [
      STRONG_MODES,
    ]);
    for (const r of strong.rows) await end({ pid: r.pid, role: r.role, reason: 'strong-lock' });
    const blocking = await this.pool.query<{ pid: number; role: string }>(BLOCKING_LANDLORD_SQL, [
      graceSeconds,
    ]);
    for (const r of blocking.rows) await end({ pid: r.pid, role: r.role, reason: 'blocked-landlord' });
    this.preparedAllowed ??= (
      await this.pool.query<{ on: boolean }>(
        `SELECT pg_catalog.current_setting('max_prepared_transactions')::int > 0 AS on`,
      )
    ).rows[0]!.on;
    if (!this.preparedAllowed) return ended;
    const prepared = await this.pool.query<{ gid: string; role: string; strong: boolean }>(PREPARED_SQL, [
      STRONG_MODES,
      graceSeconds,
    ]);
    for (const r of prepared.rows)
      await end({ pid: 0, role: r.role, gid: r.gid, reason: r.strong ? 'strong-lock' : 'blocked-landlord' });
    return ended;
  }
}
