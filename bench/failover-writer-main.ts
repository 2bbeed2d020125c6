/**
 * The steady write load of the failover benchmark, as a process of its own (started by
 * bench/failover-writer.ts), standing in for each tenant's application: one connection per tenant
 * to its home silo database as the tenant's own role, one single-row INSERT into `activity_log`
 * every `intervalMs` (each its own transaction), the id of every acknowledged row kept. The fence
 * of a failover ends the role's sessions and refuses its logins: a tenant's writer stops at its
 * first failed insert and says why, so its last acknowledged row is the last one it committed.
 */
import pg from 'pg';

export interface FailoverWriterTarget {
  tenantId: string;
  /** The home silo database as the tenant's role. */
  url: string;
}

export interface FailoverWriterConfig {
  targets: FailoverWriterTarget[];
  /** Between one insert's start and the next's, per tenant. */
  intervalMs: number;
  /** The `action` of every row it writes. */
  action: string;
}

/** Parent → writer. */
export type FailoverWriterCommand = { type: 'report' } | { type: 'stop' };

/** Writer → parent. */
export type FailoverWriterMessage =
  { type: 'ready' } | { type: 'report'; tenants: TenantWrites[] } | { type: 'error'; message: string };

/** What one tenant's writer did so far. */
export interface TenantWrites {
  tenantId: string;
  /** Ids of the rows whose INSERT was acknowledged, in order. */
  ids: number[];
  /** From sending each acknowledged INSERT to its answer, ms, in order. */
  latencies: number[];
  /** Epoch ms of the first and the last acknowledgement. */
  firstCommitAt?: number;
  lastCommitAt?: number;
  /** The failed insert that stopped it (epoch ms, SQLSTATE when Postgres sent one). */
  stopped?: { at: number; code?: string; message: string };
}

const config = JSON.parse(process.env.BENCH_FAILOVER_WRITER_CONFIG ?? '{}') as FailoverWriterConfig;
const send = (message: FailoverWriterMessage) => process.send?.(message);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stopping = false;

const writers = await Promise.all(
  config.targets.map(async (t) => {
    const client = new pg.Client({ connectionString: t.url, application_name: 'bench-failover-writer' });
    // A session the fence ends while idle shows here first, then fails the next insert.
    client.on('error', () => undefined);
    await client.connect();
    const writes: TenantWrites = { tenantId: t.tenantId, ids: [], latencies: [] };
    return { client, writes };
  }),
).catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});

/** One tenant's inserts until the first fails or the writer stops; a late one is not made up for. */
async function write({ client, writes }: (typeof writers)[number]): Promise<void> {
  let due = performance.now();
  while (!stopping) {
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (stopping) break;
    const sent = performance.now();
    try {
      const { rows } = await client.query<{ id: string }>(
        'INSERT INTO activity_log (tenant_id, action) VALUES ($1, $2) RETURNING id',
        [writes.tenantId, config.action],
      );
      const at = Date.now();
      writes.ids.push(Number(rows[0]!.id));
      writes.latencies.push(performance.now() - sent);
      writes.firstCommitAt ??= at;
      writes.lastCommitAt = at;
    } catch (err) {
      writes.stopped = {
        at: Date.now(),
        ...(typeof (err as { code?: unknown }).code === 'string'
          ? { code: (err as { code: string }).code }
          : {}),
        message: (err as Error).message,
      };
      break;
    }
    due = Math.max(due + config.intervalMs, performance.now());
  }
  await client.end().catch(() => undefined);
}

const running = writers.map(write);

process.on('message', (command: FailoverWriterCommand) => {
  if (command.type === 'report') {
    send({ type: 'report', tenants: writers.map((w) => w.writes) });
  } else {
    stopping = true;
    void Promise.allSettled(running).then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
