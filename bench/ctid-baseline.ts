/**
 * The retention benchmark's baseline: the plain script an operator would write to delete expired
 * rows, and nothing else. For each tenant and table it selects the expired rows' ctids (physical
 * addresses), in physical order, then deletes them with `DELETE … WHERE ctid = ANY($1)`, each
 * batch its own transaction, with the batch sizes Landlord's run used for that tenant and table.
 * No evidence, no ledger, no holds, no guard, no workflow; the same number of tenants at once as
 * Landlord's run (its window), each on a connection of its own.
 */
import pg from 'pg';
import { SEEDED_TABLES } from './retention-data.js';
import type { SeededTableName, SeededTenant } from './retention-data.js';

const q = pg.escapeIdentifier;
const DAY_MS = 86_400_000;

export interface BaselineResult {
  rows: number;
  batches: number;
  wallMs: number;
  /** Time in the ctid SELECTs, summed over tenants and tables. */
  selectMs: number;
  /** Each DELETE's time, ms. */
  batchMs: number[];
}

/** One tenant's expired rows of one table, by ctid, in batches of `sizes` (the last size repeats). */
async function deleteTable(
  c: pg.Client,
  tenant: SeededTenant,
  table: SeededTableName,
  sizes: readonly number[],
  into: BaselineResult,
): Promise<void> {
  const t = SEEDED_TABLES.find((x) => x.name === table)!;
  const cutoff = new Date(Date.now() - tenant.days[table] * DAY_MS).toISOString();
  const selected = performance.now();
  const { rows } = await c.query<{ ctid: string }>(
    `SELECT ctid::text AS ctid FROM ${q(t.name)} WHERE ${q(t.tenantKey)} = $1 AND ${q(t.timestampColumn)} < $2 ORDER BY ctid`,
    [tenant.id, cutoff],
  );
  into.selectMs += performance.now() - selected;
  const ctids = rows.map((r) => r.ctid);
  for (let at = 0, i = 0; at < ctids.length; i++) {
    const size = sizes[Math.min(i, sizes.length - 1)] ?? 1000;
    const batch = ctids.slice(at, at + size);
    at += batch.length;
    const started = performance.now();
    const { rowCount } = await c.query(`DELETE FROM ${q(t.name)} WHERE ctid = ANY($1::tid[])`, [batch]);
    into.batchMs.push(performance.now() - started);
    into.rows += rowCount ?? 0;
    into.batches += 1;
  }
}

/**
 * Deletes every tenant's expired rows of the seeded tables, `concurrency` tenants at once;
 * `sizes(tenant, table)` gives the batch sizes to use.
 */
export async function runCtidBaseline(
  tenants: readonly SeededTenant[],
  concurrency: number,
  sizes: (tenantId: string, table: SeededTableName) => readonly number[],
): Promise<BaselineResult> {
  const result: BaselineResult = { rows: 0, batches: 0, wallMs: 0, selectMs: 0, batchMs: [] };
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < tenants.length) {
      const tenant = tenants[next++]!;
      const c = new pg.Client({ connectionString: tenant.url, application_name: 'bench-baseline' });
      await c.connect();
      try {
        // Children before the tables they reference, as Landlord goes (the manifest's order reversed).
        for (const table of ['activity_log', 'documents'] as const)
          await deleteTable(c, tenant, table, sizes(tenant.id, table), result);
      } finally {
        await c.end();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tenants.length) }, lane));
  result.wallMs = performance.now() - started;
  return result;
}
