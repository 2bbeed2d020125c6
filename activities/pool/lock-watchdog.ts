/**
 * Ends the session of a tenant that holds up anyone else in a shared pool database. Every tenant
 * role may write its rows, and with that Postgres lets it `LOCK TABLE` a shared table in any mode:
 * no privilege separates the two. So a tenant's lock that keeps another role (another tenant,
 * Landlord) waiting longer than the grace period costs the tenant that session, and is logged.
 */
import pg from 'pg';
import { READ_ONLY_GROUP_ROLE, TENANTS_GROUP_ROLE } from './names.js';

export interface EndedSession {
  pid: number;
  /** The tenant role whose session was ended. */
  role: string;
  /** Who it kept waiting. */
  blockedRole: string;
  blockedApplication: string;
}

// Sessions waiting on a lock for longer than the grace period, and the tenant-role sessions that
// hold them up. Direct membership of the tenant groups (not pg_has_role) so that superusers, who
// count as members of every role, are never taken for tenants.
const BLOCKING_TENANTS_SQL = `
SELECT DISTINCT b.pid, b.usename::text AS role, w.usename::text AS blocked_role,
       w.application_name AS blocked_application
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity w ON w.pid = l.pid
CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(l.pid)) AS bp(pid)
JOIN pg_catalog.pg_stat_activity b ON b.pid = bp.pid
WHERE NOT l.granted
  AND l.waitstart < pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => $1)
  AND w.datname = pg_catalog.current_database()
  AND b.usesysid IS DISTINCT FROM w.usesysid
  AND EXISTS (
    SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
    WHERE m.member = b.usesysid AND g.rolname IN ($2, $3))`;

export class LockWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> = Promise.resolve();
  /** A connection of its own: the ones it protects may all be waiting. */
  private readonly pool: pg.Pool;

  /** @param databaseUrl superuser URL of the pool database to watch. */
  constructor(
    databaseUrl: string,
    private readonly options: {
      /** How long a tenant may keep another role waiting before its session is ended. */
      graceMs?: number;
      intervalMs?: number;
      onEnded?: (session: EndedSession) => void;
    } = {},
  ) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 1,
      application_name: 'landlord-lock-watchdog',
    });
    this.pool.on('error', () => undefined);
  }

  /** Looks for blocking tenant sessions every interval until `stop`. */
  start(): this {
    this.timer ??= setInterval(() => {
      this.sweeping = this.sweep().catch(() => undefined);
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

  /** Ends every tenant session that has kept another role waiting past the grace period. */
  async sweep(): Promise<EndedSession[]> {
    const { rows } = await this.pool.query<{
      pid: number;
      role: string;
      blocked_role: string;
      blocked_application: string;
    }>(BLOCKING_TENANTS_SQL, [
      (this.options.graceMs ?? 2_000) / 1000,
      TENANTS_GROUP_ROLE,
      READ_ONLY_GROUP_ROLE,
    ]);
    const ended: EndedSession[] = [];
    for (const r of rows) {
      if (ended.some((e) => e.pid === r.pid)) continue;
      await this.pool.query('SELECT pg_catalog.pg_terminate_backend($1)', [r.pid]);
      const session = {
        pid: r.pid,
        role: r.role,
        blockedRole: r.blocked_role,
        blockedApplication: r.blocked_application,
      };
      ended.push(session);
      this.options.onEnded?.(session);
    }
    return ended;
  }
}
