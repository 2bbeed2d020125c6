/**
 * What a Postgres server's sessions are doing, sampled from pg_stat_activity every `intervalMs`:
 * for each application (by `application_name`), how often an active session was seen on CPU or
 * waiting, and on what. A poor man's wait-event profile, to tell apart a writer slowed by the
 * deleter's locks, by I/O or WAL, or by nothing in the database at all (then it is CPU).
 */
import pg from 'pg';

/** Samples per application and state: `CPU` (active, no wait event) or `<type>:<event>`. */
export type WaitProfile = Record<string, Record<string, number>>;

export class WaitSampler {
  private readonly client: pg.Client;
  private timer: NodeJS.Timeout | undefined;
  private current: WaitProfile = {};
  private busy = false;
  samples = 0;

  constructor(
    serverUrl: string,
    private readonly intervalMs = 100,
  ) {
    this.client = new pg.Client({ connectionString: serverUrl, application_name: 'bench-wait-sampler' });
    this.client.on('error', () => undefined);
  }

  async start(): Promise<this> {
    await this.client.connect();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    return this;
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ app: string; state: string }>(
        `SELECT coalesce(nullif(application_name, ''), usename::text, 'other') AS app,
                CASE WHEN wait_event IS NULL THEN 'CPU' ELSE wait_event_type || ':' || wait_event END AS state
           FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      this.samples += 1;
      for (const { app, state } of rows) {
        const perApp = (this.current[app] ??= {});
        perApp[state] = (perApp[state] ?? 0) + 1;
      }
    } catch {
      // A sample lost to a busy server is just not counted.
    } finally {
      this.busy = false;
    }
  }

  /** The profile since the last take, and its sample count; starts a new one. */
  take(): { profile: WaitProfile; samples: number } {
    const taken = { profile: this.current, samples: this.samples };
    this.current = {};
    this.samples = 0;
    return taken;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client.end().catch(() => undefined);
  }
}
