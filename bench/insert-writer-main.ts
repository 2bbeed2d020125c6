/**
 * The concurrent writer of the retention benchmark, as a process of its own (started by
 * bench/insert-writer.ts), standing in for the application: single-row INSERTs, each its own
 * transaction, into the tables being deleted from, at a fixed rate (an open loop: an insert is sent
 * when it is due, whether or not earlier ones have answered). An insert's latency is from when it
 * was due to its answer, so a stalled writer's queue counts too. Every sample carries the phase
 * that was current when it was due; the parent names the phases over IPC.
 */
import pg from 'pg';
import { WRITER_MARK } from './retention-data.js';

export interface WriterTarget {
  tenantId: string;
  /** The connection string the application would use for this tenant. */
  url: string;
}

export interface WriterConfig {
  targets: WriterTarget[];
  /** Inserts per second, over all targets. */
  rate: number;
}

/** Parent → writer. */
export type WriterCommand = { type: 'phase'; phase: string | null } | { type: 'report' } | { type: 'stop' };

/** Writer → parent. */
export type WriterMessage =
  | { type: 'ready' }
  | { type: 'report'; phases: Record<string, PhaseSamples> }
  | { type: 'error'; message: string };

export interface PhaseSamples {
  /** From due to answer, ms, in the order they were due. */
  latencies: number[];
  /** From handed to its connection (behind any insert still on it) to answer, ms. */
  service: number[];
  errors: number;
}

const config = JSON.parse(process.env.BENCH_WRITER_CONFIG ?? '{}') as WriterConfig;
const send = (message: WriterMessage) => process.send?.(message);

const clients = await Promise.all(
  config.targets.map(async (t) => {
    const c = new pg.Client({ connectionString: t.url, application_name: 'bench-writer' });
    c.on('error', () => undefined);
    await c.connect();
    // One insert at a time per connection: a later one waits here (and counts that wait).
    return { client: c, tenantId: t.tenantId, tail: Promise.resolve() };
  }),
);

const phases: Record<string, PhaseSamples> = {};
let phase: string | null = null;
let scheduleStart = 0;
let issued = 0;

function insert(index: number, due: number, tag: string): void {
  const target = clients[index % clients.length]!;
  // One insert in five is a document, as in the seeded data.
  const sql =
    index % 5 === 4
      ? `INSERT INTO documents (tenant_id, project_id, title, body) VALUES ($1, md5($1 || ':project')::uuid, $2, 'written while the benchmark ran')`
      : `INSERT INTO activity_log (tenant_id, actor_id, action) VALUES ($1, md5($1 || ':user:0')::uuid, $2)`;
  const samples = (phases[tag] ??= { latencies: [], service: [], errors: 0 });
  const sent = performance.now();
  target.tail = target.tail.then(async () => {
    try {
      await target.client.query(sql, [target.tenantId, WRITER_MARK]);
      const done = performance.now();
      samples.latencies.push(done - due);
      samples.service.push(done - sent);
    } catch {
      samples.errors += 1;
    }
  });
}

/** Sends every insert that has fallen due. */
function tick(): void {
  if (phase === null) return;
  const now = performance.now();
  const due = Math.floor(((now - scheduleStart) * config.rate) / 1000);
  for (; issued <= due; issued++) insert(issued, scheduleStart + (issued * 1000) / config.rate, phase);
}

const timer = setInterval(tick, 2);

process.on('message', (command: WriterCommand) => {
  if (command.type === 'phase') {
    // A fresh schedule after a pause; a phase that follows another keeps the schedule going.
    if (phase === null && command.phase !== null) {
      scheduleStart = performance.now();
      issued = 0;
    }
    tick();
    phase = command.phase;
  } else if (command.type === 'report') {
    send({ type: 'report', phases });
  } else {
    clearInterval(timer);
    void Promise.allSettled(clients.map((c) => c.client.end())).then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
