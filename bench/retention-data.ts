/**
 * The retention benchmark's tenant rows: written straight into the tenants' databases as the example
 * application would have written them over time, the same rows every time (ids, timestamps and
 * physical order), so that Landlord and the baseline each delete from an identical copy. Half of
 * each tenant's rows in each table are past its policy, with a day's margin on both sides of the
 * cutoff, so that a run minutes later finds exactly the same rows expired.
 */
import pg from 'pg';
import { effectiveRetention } from '../domain/index.js';
import type { DataPlaneManifest, RetentionPolicyFile } from '../domain/index.js';

const q = pg.escapeIdentifier;

/** Marks the concurrent writer's rows (`action` of activity_log, `title` of documents). */
export const WRITER_MARK = 'bench-writer';

/** The tables that hold the rows, with the columns the seed and the baseline need. */
export const SEEDED_TABLES = [
  { name: 'activity_log', dataClass: 'telemetry', tenantKey: 'tenant_id', timestampColumn: 'occurred_at' },
  { name: 'documents', dataClass: 'content', tenantKey: 'tenant_id', timestampColumn: 'updated_at' },
] as const;
export type SeededTableName = (typeof SEEDED_TABLES)[number]['name'];

/** Of each tenant's rows, the share in activity_log (the rest are documents). */
const ACTIVITY_SHARE = 0.8;
/** A silo tenant holds this many times a pool tenant's rows. */
const SILO_WEIGHT = 6.25;

export interface SeededTenant {
  id: string;
  tier: string;
  deploymentModel: 'pool' | 'silo';
  /** Superuser URL of the database its rows are in (the region's pool, or its silo). */
  url: string;
  /** Rows per table. */
  rows: Record<SeededTableName, number>;
  /** Retention days of each table's data class for the tenant's tier. */
  days: Record<SeededTableName, number>;
}

/** The manifest must still describe the tables as the seed writes them. */
export function checkManifest(manifest: DataPlaneManifest): void {
  for (const t of SEEDED_TABLES) {
    const m = manifest.tables.find((x) => x.name === t.name);
    if (
      !m ||
      m.dataClass !== t.dataClass ||
      m.timestampColumn !== t.timestampColumn ||
      m.tenantKey !== t.tenantKey
    )
      throw new Error(`the manifest no longer describes ${t.name} as the retention benchmark seeds it`);
  }
}

/** Days each seeded table's class is kept on `tier`. */
export function retentionDays(
  policy: Pick<RetentionPolicyFile, 'dataClasses'>,
  tier: string,
): Record<SeededTableName, number> {
  const effective = effectiveRetention(policy, tier);
  const days = (dataClass: string) => {
    const d = effective.find((e) => e.dataClass === dataClass)?.days;
    if (d === undefined) throw new Error(`data class ${dataClass} is kept forever on ${tier}`);
    return d;
  };
  return { activity_log: days('telemetry'), documents: days('content') };
}

/**
 * Rows per tenant: `total` split so that each silo tenant holds SILO_WEIGHT times a pool tenant's
 * rows, each tenant's rows 80% activity log and 20% documents, every count even (half expire).
 */
export function rowsPerTenant(
  total: number,
  pool: number,
  silo: number,
): { pool: Record<SeededTableName, number>; silo: Record<SeededTableName, number> } {
  const split = (n: number) => {
    const activity = Math.round((n * ACTIVITY_SHARE) / 2) * 2;
    return { activity_log: activity, documents: Math.round((n - activity) / 2) * 2 };
  };
  const perPool = Math.floor(total / (pool + SILO_WEIGHT * silo) / 10) * 10;
  const perSilo = silo > 0 ? Math.floor((total - perPool * pool) / silo / 10) * 10 : 0;
  return { pool: split(perPool), silo: split(perSilo) };
}

export const totalRows = (t: SeededTenant) => t.rows.activity_log + t.rows.documents;

/** Tenants by the database their rows are in. */
export function byDatabase(tenants: readonly SeededTenant[]): Map<string, SeededTenant[]> {
  const groups = new Map<string, SeededTenant[]>();
  for (const t of tenants) groups.set(t.url, [...(groups.get(t.url) ?? []), t]);
  return groups;
}

/** The deterministic project every seeded document belongs to. */
export const projectSql = (tenantExpr: string) => `md5(${tenantExpr} || ':project')::uuid`;

/**
 * One table's rows for tenants that share a database, tier and row count: interleaved across the
 * tenants and oldest first (as an application appends them), so that the expired half of every
 * tenant lies in the older part of the heap. Row `k` of a tenant (0 = oldest) of `n` is
 * `days + 1` to `2·days + 1` days old in the first half, and 0 to `days - 1` in the second.
 */
function insertSql(table: SeededTableName): string {
  // $1 tenants, $2 rows per tenant, $3 days, $4 anchor time.
  const age = `(CASE WHEN k < $2 / 2 THEN $3 + 1 + ($2 / 2 - 1 - k)::float8 / ($2 / 2) * $3
                ELSE ($2 - 1 - k)::float8 / ($2 / 2) * ($3 - 1) END) * interval '1 day'`;
  const rows = `SELECT ($1::text[])[1 + g % cardinality($1::text[])] AS tenant, g / cardinality($1::text[]) AS k
                  FROM generate_series(0, $2 * cardinality($1::text[]) - 1) AS g ORDER BY g`;
  if (table === 'activity_log')
    return `INSERT INTO activity_log (tenant_id, actor_id, action, occurred_at)
            SELECT tenant, md5(tenant || ':user:' || (k % 20))::uuid, (ARRAY['viewed','edited','shared','exported'])[1 + k % 4],
                   $4::timestamptz - ${age}
              FROM (${rows}) AS r`;
  return `INSERT INTO documents (tenant_id, id, project_id, title, body, created_at, updated_at)
          SELECT tenant, md5(tenant || ':document:' || k)::uuid, ${projectSql('tenant')}, 'Document ' || k,
                 repeat('Lorem ipsum dolor sit amet. ', 8), $4::timestamptz - ${age}, $4::timestamptz - ${age}
            FROM (${rows}) AS r`;
}

/**
 * Empties the seeded tables of each database (restarting activity_log's identity, so that ids come
 * out the same), writes every tenant's rows as of `anchor`, then VACUUM ANALYZE and a CHECKPOINT,
 * so that each copy starts from the same state.
 */
export async function seed(tenants: readonly SeededTenant[], anchor: string): Promise<void> {
  for (const [url, group] of byDatabase(tenants)) {
    const c = new pg.Client({ connectionString: url, application_name: 'bench-seed' });
    await c.connect();
    try {
      const first = group[0]!;
      for (const t of group)
        if (t.tier !== first.tier || totalRows(t) !== totalRows(first))
          throw new Error('tenants that share a database are seeded with one tier and one row count');
      const ids = group.map((t) => t.id);
      await c.query('TRUNCATE activity_log, documents RESTART IDENTITY');
      await c.query(
        `INSERT INTO projects (tenant_id, id, name, created_at)
         SELECT t, ${projectSql('t')}, 'Main', $2::timestamptz - interval '3 years' FROM unnest($1::text[]) AS t
         ON CONFLICT DO NOTHING`,
        [ids, anchor],
      );
      for (const table of SEEDED_TABLES)
        await c.query(insertSql(table.name), [ids, first.rows[table.name], first.days[table.name], anchor]);
      await c.query('VACUUM (ANALYZE) activity_log, documents, projects');
      await c.query('CHECKPOINT');
    } finally {
      await c.end();
    }
  }
}

/** What is left of the seeded rows (the writer's not counted): rows and a digest of their ids, per table. */
export type Remaining = Record<string, { rows: number; digest: string }>;

export async function remaining(tenants: readonly SeededTenant[]): Promise<Remaining> {
  const out: Remaining = {};
  for (const [url, group] of byDatabase(tenants)) {
    const c = new pg.Client({ connectionString: url, application_name: 'bench-seed' });
    await c.connect();
    try {
      const database = new URL(url).pathname.slice(1);
      for (const { name } of SEEDED_TABLES) {
        const mark = name === 'activity_log' ? 'action' : 'title';
        const { rows } = await c.query<{ n: number; digest: string | null }>(
          `SELECT count(*)::int AS n, md5(string_agg(tenant_id || '/' || id::text, ',' ORDER BY tenant_id, id)) AS digest
             FROM ${q(name)} WHERE tenant_id = ANY($1) AND ${q(mark)} <> $2`,
          [group.map((t) => t.id), WRITER_MARK],
        );
        out[`${database}.${name}`] = { rows: rows[0]!.n, digest: rows[0]!.digest ?? '' };
      }
    } finally {
      await c.end();
    }
  }
  return out;
}
