/**
 * Where a worker process's database time goes, activity by activity: every `pg` query and connect
 * timed from the call to its answer, as bench/pg-trace.ts times them, and filed under the Temporal
 * activity that made it (`Context.current()` when the call is made; `(no activity)` for the rest,
 * such as the lock watchdog), so that one step's SQL can be told from another's in the same process.
 * Statement kinds are bench/pg-trace.ts's, with the erasure path's own statements named first.
 *
 * `node --import ./bench/activity-pg-trace.ts` with BENCH_ACTIVITY_TRACE_FILE set; each SIGWINCH
 * writes the totals so far to that file.
 */
import { writeFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import pg from 'pg';
import { statementKind } from './pg-trace.js';
import type { QueryTotals } from './pg-trace.js';

/** Statement totals by activity type, then by kind. */
export type ActivityQueryTotals = Record<string, QueryTotals>;

export const NO_ACTIVITY = '(no activity)';

/** What a statement is, for the erasure path; everything else as bench/pg-trace.ts says. */
export function erasureStatementKind(sql: string, database: string | undefined): string {
  const rules: [RegExp, string][] =
    database === 'landlord_registry'
      ? [
          [/erasure_requests|erasure_list/, 'registry: erasure request'],
          [
            /pg_advisory_xact_lock|INSERT INTO ledger_records|record_key = \$1|ORDER BY seq DESC/,
            'registry: ledger append',
          ],
          [/ledger_records/, 'registry: ledger read'],
        ]
      : [
          [/WITH victims/, 'erase batch (select + delete or update)'],
          [/pg_input_is_valid|server_version/, 'subject type check'],
          [/starts_with\(record_key/, 'outbox counts'],
          [/FILTER \(WHERE/, "count the subject's rows left"],
          [/ON CONFLICT \(record_key\) DO NOTHING/, 'outbox: record of nothing erased'],
        ];
  for (const [pattern, kind] of rules) if (pattern.test(sql)) return kind;
  return statementKind(sql, database);
}

const totals: ActivityQueryTotals = {};

function activityNow(): string {
  try {
    return Context.current().info.activityType;
  } catch {
    return NO_ACTIVITY;
  }
}

function add(activity: string, kind: string, ms: number): void {
  const t = ((totals[activity] ??= {})[kind] ??= { count: 0, ms: 0 });
  t.count += 1;
  t.ms += ms;
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/** Times the last argument's callback, or the returned promise, into `record`. */
function timedCall(fn: QueryFn, self: pg.Client, args: unknown[], record: (ms: number) => void): unknown {
  const started = performance.now();
  const last = args.at(-1);
  if (typeof last === 'function') {
    args[args.length - 1] = function (this: unknown, ...cbArgs: unknown[]) {
      record(performance.now() - started);
      return (last as (...a: unknown[]) => unknown).apply(this, cbArgs);
    };
    return fn.apply(self, args);
  }
  return (fn.apply(self, args) as Promise<unknown>).finally(() => record(performance.now() - started));
}

/** Wraps `pg.Client`'s `query` and `connect` (pools' clients included). */
function install(): void {
  const proto = pg.Client.prototype as unknown as { query: QueryFn; connect: QueryFn };
  const query = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; submit?: unknown } | undefined;
    // Streams (COPY, cursors) are submittables: not timed.
    if (typeof first === 'object' && first && typeof first.submit === 'function')
      return query.apply(this, args);
    const sql = typeof first === 'string' ? first : (first?.text ?? '');
    const activity = activityNow();
    const kind = erasureStatementKind(sql, this.database);
    return timedCall(query, this, args, (ms) => add(activity, kind, ms));
  };
  const connect = proto.connect;
  proto.connect = function (this: pg.Client, ...args: unknown[]) {
    const activity = activityNow();
    const kind = this.database === 'landlord_registry' ? 'registry: connect' : 'connect';
    return timedCall(connect, this, args, (ms) => add(activity, kind, ms));
  };
}

/** What was added between two readings of the totals. */
export function activityTraceBetween(
  before: ActivityQueryTotals,
  after: ActivityQueryTotals,
): ActivityQueryTotals {
  const out: ActivityQueryTotals = {};
  for (const [activity, kinds] of Object.entries(after))
    for (const [kind, t] of Object.entries(kinds)) {
      const b = before[activity]?.[kind] ?? { count: 0, ms: 0 };
      if (t.count > b.count) (out[activity] ??= {})[kind] = { count: t.count - b.count, ms: t.ms - b.ms };
    }
  return out;
}

const file = process.env.BENCH_ACTIVITY_TRACE_FILE;
if (file) {
  install();
  // Not SIGUSR2: the Temporal runtime shuts its workers down on that. SIGWINCH is ignored by default.
  process.on('SIGWINCH', () => writeFileSync(file, JSON.stringify(totals)));
}
