/**
 * The erasure benchmark's baselines: the bare SQL an operator would run to erase one subject of one
 * tenant, doing what the manifest prescribes in the order Landlord does it (children first:
 * activity_log deleted, documents anonymized, app_users deleted), and nothing else: no holds, no
 * evidence, no ledger, no workflow.
 *
 * - `statements`: one statement per table, each its own transaction (a `psql -f` script).
 * - `batches`: the same rows in batches by primary key, in the batch sizes Landlord's erasure of
 *   the same subject used, each batch its own transaction, until a batch finds nothing (as
 *   Landlord's loop ends): the cost of batching alone, without Landlord's bookkeeping.
 *
 * Each run opens a connection of its own, as a script would; its time includes the connect.
 */
import pg from 'pg';
import { ERASURE_ORDER } from './erasure-data.js';
import type { ErasedTable } from './erasure-data.js';

export interface BaselineStep {
  table: ErasedTable;
  rows: number;
  /** Statements sent (batches, the last one finding nothing). */
  statements: number;
  ms: number;
}

export interface BaselineRun {
  /** From connecting to the last statement's answer. */
  wallMs: number;
  connectMs: number;
  steps: BaselineStep[];
}

/** The three statements of the script: `$1` the tenant, `$2` the subject. */
export const STATEMENTS: Record<ErasedTable, string> = {
  activity_log: 'DELETE FROM activity_log WHERE tenant_id = $1 AND actor_id = $2',
  documents: 'UPDATE documents SET author_id = NULL WHERE tenant_id = $1 AND author_id = $2',
  app_users: 'DELETE FROM app_users WHERE tenant_id = $1 AND id = $2',
};

/** The next batch's rows: up to `$3` of the subject's, in primary key order, as Landlord's batches take them. */
const VICTIMS: Record<ErasedTable, string> = {
  activity_log: 'SELECT id FROM activity_log WHERE tenant_id = $1 AND actor_id = $2 ORDER BY id LIMIT $3',
  documents: 'SELECT id FROM documents WHERE tenant_id = $1 AND author_id = $2 ORDER BY id LIMIT $3',
  app_users: 'SELECT id FROM app_users WHERE tenant_id = $1 AND id = $2 ORDER BY id LIMIT $3',
};

/** One batch: its rows deleted or anonymized by primary key. */
const BATCHES: Record<ErasedTable, string> = {
  activity_log: `WITH victims AS (${VICTIMS.activity_log})
    DELETE FROM activity_log x USING victims WHERE x.tenant_id = $1 AND x.id = victims.id`,
  documents: `WITH victims AS (${VICTIMS.documents})
    UPDATE documents x SET author_id = NULL FROM victims WHERE x.tenant_id = $1 AND x.id = victims.id`,
  app_users: `WITH victims AS (${VICTIMS.app_users})
    DELETE FROM app_users x USING victims WHERE x.tenant_id = $1 AND x.id = victims.id`,
};

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

async function run(
  url: string,
  each: (c: pg.Client, table: ErasedTable) => Promise<Omit<BaselineStep, 'table' | 'ms'>>,
): Promise<BaselineRun> {
  const started = performance.now();
  const c = new pg.Client({ connectionString: url, application_name: 'bench-baseline' });
  const [, connectMs] = await timed(() => c.connect());
  try {
    const steps: BaselineStep[] = [];
    for (const { table } of ERASURE_ORDER) {
      const [done, ms] = await timed(() => each(c, table));
      steps.push({ table, ...done, ms });
    }
    return { wallMs: performance.now() - started, connectMs, steps };
  } finally {
    await c.end();
  }
}

/** The script: one statement per table. */
export function eraseByStatements(url: string, tenantId: string, subject: string): Promise<BaselineRun> {
  return run(url, async (c, table) => {
    const { rowCount } = await c.query(STATEMENTS[table], [tenantId, subject]);
    return { rows: rowCount ?? 0, statements: 1 };
  });
}

/** The same rows in batches of `sizes(table)` (the last size repeats), until one finds nothing. */
export function eraseInBatches(
  url: string,
  tenantId: string,
  subject: string,
  sizes: (table: ErasedTable) => readonly number[],
): Promise<BaselineRun> {
  return run(url, async (c, table) => {
    const plan = sizes(table);
    let [rows, statements] = [0, 0];
    for (;;) {
      const limit = plan[Math.min(statements, plan.length - 1)] ?? 500;
      const { rowCount } = await c.query(BATCHES[table], [tenantId, subject, limit]);
      statements += 1;
      if (!rowCount) return { rows, statements };
      rows += rowCount;
    }
  });
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** The scans and sorts of a plan, outermost first: "Sort + Bitmap Heap Scan on t + Bitmap Index Scan on i". */
function planSummary(plan: PlanNode): string {
  const parts: string[] = [];
  const walk = (n: PlanNode) => {
    if (n['Relation Name'] && /Scan/.test(n['Node Type']))
      parts.push(
        `${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''} on ${n['Relation Name']}`,
      );
    else if (n['Index Name']) parts.push(`${n['Node Type']} on ${n['Index Name']}`);
    else if (/Sort/.test(n['Node Type'])) parts.push(n['Node Type']);
    n.Plans?.forEach(walk);
  };
  walk(plan);
  return parts.join(' + ');
}

/** How the server would find the rows of the script's statements, and of its batches (of 500 and of 100), per table. */
export interface ScriptPlans {
  statements: Record<ErasedTable, string>;
  batches: Record<ErasedTable, string>;
}

/**
 * How the server finds the subject's rows for each statement of the script, and for a batch (the
 * batch's selection of its rows; EXPLAIN, not run): e.g. "Index Scan using activity_log_actor on
 * activity_log".
 */
export async function scriptPlans(url: string, tenantId: string, subject: string): Promise<ScriptPlans> {
  const c = new pg.Client({ connectionString: url, application_name: 'bench-baseline' });
  await c.connect();
  try {
    const explain = async (sql: string, params: unknown[]) => {
      const { rows } = await c.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) ${sql}`,
        params,
      );
      return planSummary(rows[0]!['QUERY PLAN'][0].Plan);
    };
    const out: ScriptPlans = { statements: {}, batches: {} } as ScriptPlans;
    for (const { table } of ERASURE_ORDER) {
      out.statements[table] = await explain(STATEMENTS[table], [tenantId, subject]);
      // The planner may take another path for a small batch (the last of a subject's rows).
      const [large, small] = [
        await explain(VICTIMS[table], [tenantId, subject, 500]),
        await explain(VICTIMS[table], [tenantId, subject, 100]),
      ];
      out.batches[table] = large === small ? large : `LIMIT 500: ${large}; LIMIT 100: ${small}`;
    }
    return out;
  } finally {
    await c.end();
  }
}
