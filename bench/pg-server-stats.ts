/**
 * A Postgres server's cumulative activity counters: commits over all its databases, WAL written
 * (bytes and full-page images) and WAL fsyncs. Read at a phase's start and end, their differences
 * say how much a phase made the server write and flush, which is what a concurrent writer's commits
 * wait on (`IO:WalSync`, `LWLock:WALWrite` in bench/wait-sampler.ts). The counters are flushed by
 * each backend at most about once a second, so a reading right after a phase may miss its last second.
 */
import pg from 'pg';

export interface ServerActivity {
  commits: number;
  walBytes: number;
  walFullPageImages: number;
  /** WAL fsyncs (pg_stat_io, Postgres 16+); undefined where the server does not count them. */
  walFsyncs?: number;
}

export class ServerStats {
  private readonly client: pg.Client;

  constructor(serverUrl: string) {
    this.client = new pg.Client({ connectionString: serverUrl, application_name: 'bench-server-stats' });
    this.client.on('error', () => undefined);
  }

  async start(): Promise<this> {
    await this.client.connect();
    return this;
  }

  async read(): Promise<ServerActivity> {
    const { rows } = await this.client.query<{ commits: string; wal_bytes: string; wal_fpi: string }>(
      `SELECT (SELECT sum(xact_commit) FROM pg_stat_database)::text AS commits, wal_bytes::text, wal_fpi::text
         FROM pg_stat_wal`,
    );
    let walFsyncs: number | undefined;
    try {
      const io = await this.client.query<{ fsyncs: string | null }>(
        `SELECT sum(fsyncs)::text AS fsyncs FROM pg_stat_io WHERE object = 'wal'`,
      );
      walFsyncs = io.rows[0]?.fsyncs == null ? undefined : Number(io.rows[0].fsyncs);
    } catch {
      // Before Postgres 18, pg_stat_io has no WAL rows (and before 16, no pg_stat_io).
    }
    const r = rows[0]!;
    return {
      commits: Number(r.commits),
      walBytes: Number(r.wal_bytes),
      walFullPageImages: Number(r.wal_fpi),
      ...(walFsyncs !== undefined ? { walFsyncs } : {}),
    };
  }

  static between(a: ServerActivity, b: ServerActivity): ServerActivity {
    return {
      commits: b.commits - a.commits,
      walBytes: b.walBytes - a.walBytes,
      walFullPageImages: b.walFullPageImages - a.walFullPageImages,
      ...(a.walFsyncs !== undefined && b.walFsyncs !== undefined
        ? { walFsyncs: b.walFsyncs - a.walFsyncs }
        : {}),
    };
  }

  async stop(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
