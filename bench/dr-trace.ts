/**
 * Where a backup's or a restore's database time goes, in this process: every `pg` query, connect
 * and COPY stream, timed from the call to its answer (a COPY stream: from its submission until it
 * has finished or ended, so its time includes what the code piping it did meanwhile) and summed by
 * what kind of statement it is. bench/pg-trace.ts does this for the retention path's statements,
 * and leaves streams out.
 */
import { finished } from 'node:stream';
import type { Stream } from 'node:stream';
import pg from 'pg';
import { POOL_DATABASE } from '../activities/pool/names.js';
import type { QueryTotals } from './pg-trace.js';

const totals: QueryTotals = {};
let installed = false;

/** `public."documents"` → documents. */
const tableIn = (sql: string, after: RegExp) => after.exec(sql)?.[1]?.replaceAll('"', '') ?? '?';

/** What a statement is: the backup and restore paths' statements by their text, others by database. */
export function drStatementKind(sql: string, database: string | undefined): string {
  if (database !== POOL_DATABASE && database !== 'postgres' && !database?.startsWith('landlord_scratch_')) {
    const registry: [RegExp, string][] = [
      [/tenant_backups/, 'registry: backup catalog'],
      [/tenant_keys/, 'registry: tenant keys'],
      [/legal_holds/, 'registry: legal holds'],
      [/erasure/, 'registry: erasure list'],
    ];
    for (const [pattern, kind] of registry) if (pattern.test(sql)) return kind;
    return 'registry: other';
  }
  const where = database === POOL_DATABASE ? '' : database === 'postgres' ? 'server: ' : 'scratch: ';
  const rules: [RegExp, (sql: string) => string][] = [
    [/^\s*COPY \(SELECT/, (s) => `COPY out ${tableIn(s, /FROM public\.("?\w+"?)/)}`],
    [/^\s*COPY public\./, (s) => `COPY in ${tableIn(s, /^\s*COPY public\.("?\w+"?)/)}`],
    [/^\s*DELETE FROM public\./, (s) => `DELETE ${tableIn(s, /DELETE FROM public\.("?\w+"?)/)}`],
    [/^\s*COMMIT/i, () => 'COMMIT'],
    [/^\s*(BEGIN|ROLLBACK)\b|set_config\(/i, () => 'transaction control, session settings'],
    [/pg_get_serial_sequence|setval/, () => 'advance sequences (max of the key)'],
    [/count\(\*\)/, () => "count the tenant's rows"],
    [/information_schema|pg_index|pg_attribute|to_regclass/, () => 'catalog lookups'],
    [/landlord\.locks/, () => 'partition lock'],
    [/landlord\.restores/, () => 'restore record'],
    [/pgmigrations|_migrations/, () => 'schema version'],
    [/DATABASE/, () => 'create or drop a database'],
  ];
  for (const [pattern, kind] of rules) if (pattern.test(sql)) return `${where}${kind(sql)}`;
  return `${where}other`;
}

function add(kind: string, ms: number): void {
  const t = (totals[kind] ??= { count: 0, ms: 0 });
  t.count += 1;
  t.ms += ms;
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/** Wraps `pg.Client`'s `query` and `connect` (pools' clients included) once per process. */
export function installDrTrace(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: QueryFn; connect: QueryFn };
  const query = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; submit?: unknown } | undefined;
    const sql = typeof first === 'string' ? first : (first?.text ?? '');
    const kind = drStatementKind(sql, this.database);
    const started = performance.now();
    const done = () => add(kind, performance.now() - started);
    if (typeof first === 'object' && first && typeof first.submit === 'function') {
      const stream = query.apply(this, args) as Stream;
      finished(stream as unknown as NodeJS.ReadableStream, done);
      return stream;
    }
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, ...cbArgs: unknown[]) {
        done();
        return (last as (...a: unknown[]) => unknown).apply(this, cbArgs);
      };
      return query.apply(this, args);
    }
    return (query.apply(this, args) as Promise<unknown>).finally(done);
  };
  const connect = proto.connect;
  proto.connect = function (this: pg.Client, ...args: unknown[]) {
    const kind = drStatementKind('connect', this.database).replace(/other$/, 'connect');
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

/** The totals so far (a copy); pgTraceBetween (bench/pg-trace.ts) gives what a stretch added. */
export function drTraceTotals(): QueryTotals {
  return structuredClone(totals);
}
