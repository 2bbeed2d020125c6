import pg from 'pg';
import { LandlordError } from '../../domain/index.js';
import { LockWatchdog } from './lock-watchdog.js';
import type { EndedSession } from './lock-watchdog.js';
import { POOL_DATABASE } from './names.js';

/** Connections to each region's pool database, opened on first use. */
export class PoolDirectory {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly watchdogs: LockWatchdog[] = [];

  /** @param serverUrls superuser URL of each region's Postgres server, by region id. */
  constructor(private readonly serverUrls: Readonly<Record<string, string>>) {}

  get regions(): ReadonlySet<string> {
    return new Set(Object.keys(this.serverUrls));
  }

  /** Superuser URL of the region's server, as configured. */
  serverUrl(region: string): string {
    const server = this.serverUrls[region];
    if (!server)
      throw new LandlordError('Misconfigured', `region "${region}" has no Postgres server configured`);
    return server;
  }

  /** Superuser URL of the region's server, connected to `database`. */
  serverDatabaseUrl(region: string, database: string): string {
    const u = new URL(this.serverUrl(region));
    u.pathname = `/${database}`;
    return u.toString();
  }

  /** URL of the region's pool database, connected as the given role (default: the server's admin). */
  databaseUrl(region: string, credentials?: { user: string; password: string }): string {
    const server = this.serverUrls[region];
    if (!server)
      throw new LandlordError('Misconfigured', `region "${region}" has no pool database configured`);
    const u = new URL(server);
    u.pathname = `/${POOL_DATABASE}`;
    if (credentials) {
      u.username = encodeURIComponent(credentials.user);
      u.password = encodeURIComponent(credentials.password);
    }
    return u.toString();
  }

  pool(region: string): pg.Pool {
    let pool = this.pools.get(region);
    if (!pool) {
      pool = new pg.Pool({
        connectionString: this.databaseUrl(region),
        max: 5,
        application_name: 'landlord-worker',
      });
      pool.on('error', () => undefined);
      this.pools.set(region, pool);
    }
    return pool;
  }

  /**
   * Watches every region's pool database until `close` with a LockWatchdog: a session not
   * Landlord's that takes a table lock stronger than writes need, or keeps Landlord waiting longer
   * than the grace period, is ended.
   */
  watchLocks(
    options: {
      graceMs?: number;
      onEnded?: (region: string, session: EndedSession) => void;
      onError?: (region: string, err: Error) => void;
    } = {},
  ): void {
    for (const region of this.regions) {
      this.watchdogs.push(
        new LockWatchdog(this.databaseUrl(region), {
          ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
          onEnded: (session) => options.onEnded?.(region, session),
          onError: (err) => options.onError?.(region, err),
        }).start(),
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all([
      ...[...this.pools.values()].map((p) => p.end()),
      ...this.watchdogs.splice(0).map((w) => w.stop()),
    ]);
    this.pools.clear();
  }
}
