/**
 * Where a process's database time goes: every `pg` query and connect, timed from the call to its
 * answer and summed by what kind of statement it is (the retention path's statements are told
 * apart by their text). A profile for a process that mostly waits on Postgres, which a CPU profile
 * does not show. Costs a clock read and a regex or two per query.
 *
 * In this process: `installPgTrace()`. In a worker process: `node --import ./bench/pg-trace.ts`
 * with BENCH_PG_TRACE_FILE set; each SIGWINCH writes the totals so far to that file.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';

export type QueryTotals = Record<string, { count: number; ms: number }>;

const totals: QueryTotals = {};
let installed = false;

/** What a statement is, for the retention path; the database's name says which server it went to. */
export function statementKind(sql: string, database: string | undefined): string {
  const registry = database === 'landlord_registry';
  const rules: [RegExp, string][] = registry
    ? [
        [/legal_holds/, 'registry: read legal holds'],
        [/ledger_records|pg_advisory_xact_lock/, 'registry: ledger append'],
        [/step_progress/, 'registry: step progress'],
        [/retention_run/, 'registry: retention run record'],
        [/^\s*(BEGIN|COMMIT|ROLLBACK)/i, 'registry: transaction control'],
        [/audit/, 'registry: audit'],
        [/operations/, 'registry: operations'],
        [/tenants/, 'registry: tenants'],
      ]
    : [
        [/pg_locks/, 'lock watchdog'],
        [/pg_stat_activity/, 'wait sampler (bench)'],
        [/WITH victims/, 'delete batch (select + delete)'],
        [/INSERT INTO landlord\.deletion_outbox/, 'outbox insert'],
        [/^\s*(BEGIN|COMMIT|ROLLBACK)\b|set_config\('lock_timeout'/i, 'transaction control'],
        [/FILTER \(WHERE/, 'count expired'],
        [/pg_index|pg_attribute|pg_constraint/, 'catalog lookups'],
        [/sum\(\(entry->>'count'\)/, 'outbox sums'],
        [/FROM landlord\.deletion_outbox WHERE tenant_id = \$1 ORDER BY id/, 'evidence: outbox read'],
        [/DELETE FROM landlord\.deletion_outbox/, 'evidence: outbox delete'],
        [/CREATE SCHEMA IF NOT EXISTS landlord/, 'outbox DDL (silos)'],
        [/^\s*SELECT ctid/, 'baseline: select ctids'],
        [/WHERE ctid = ANY/, 'baseline: delete by ctid'],
      ];
  for (const [pattern, kind] of rules) if (pattern.test(sql)) return kind;
  return registry ? 'registry: other' : 'other';
}

function add(kind: string, ms: number): void {
  const t = (totals[kind] ??= { count: 0, ms: 0 });
  t.count += 1;
  t.ms += ms;
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/** Wraps `pg.Client`'s `query` and `connect` (pools' clients included) once per process. */
export function installPgTrace(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: QueryFn; connect: QueryFn };
  const query = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; submit?: unknown } | undefined;
    // Streams (COPY, cursors) are submittables: not timed.
    if (typeof first === 'object' && first && typeof first.submit === 'function')
      return query.apply(this, args);
    const sql = typeof first === 'string' ? first : (first?.text ?? '');
    const kind = statementKind(sql, this.database);
    const started = performance.now();
    const done = () => add(kind, performance.now() - started);
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, ...cbArgs: unknown[]) {
        done();
        return (last as (...a: unknown[]) => unknown).apply(this, cbArgs);
      };
      return query.apply(this, args);
    }
    const result = query.apply(this, args) as Promise<unknown>;
    return result.then(
      (value) => {
        done();
        return value;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
  };
  const connect = proto.connect;
  proto.connect = function (this: pg.Client, ...args: unknown[]) {
    const kind = this.database === 'landlord_registry' ? 'registry: connect' : 'connect';
    const started = performance.now();
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, ...cbArgs: unknown[]) {
        add(kind, performance.now() - started);
        return (last as (...a: unknown[]) => unknown).apply(this, cbArgs);
      };
      return connect.apply(this, args);
    }
    return (connect.apply(this, args) as Promise<unknown>).finally(() =>
      add(kind, performance.now() - started),
    );
  };
}

/** The totals so far (a copy). */
export function pgTraceTotals(): QueryTotals {
  return structuredClone(totals);
}

/** What was added between two readings of the totals. */
export function pgTraceBetween(before: QueryTotals, after: QueryTotals): QueryTotals {
  const out: QueryTotals = {};
  for (const [kind, t] of Object.entries(after)) {
    const b = before[kind] ?? { count: 0, ms: 0 };
    if (t.count > b.count) out[kind] = { count: t.count - b.count, ms: t.ms - b.ms };
  }
  return out;
}

const file = process.env.BENCH_PG_TRACE_FILE;
if (file) {
  installPgTrace();
  // Not SIGUSR2: the Temporal runtime shuts its workers down on that. SIGWINCH is ignored by default.
  process.on('SIGWINCH', () => writeFileSync(file, JSON.stringify(totals)));
}
