/**
 * The disaster-recovery benchmark's rows: a workspace of the example application written straight
 * into a region's pool database under a tenant id (app_users, projects, documents, activity_log),
 * with other tenants' rows around it: each table is written in slices, one slice of every tenant in
 * turn, so that the tenant's rows lie between its neighbours' in every heap, as in a pool where
 * tenants write at the same time. A row's values depend only on its number within its tenant's
 * table, so every tenant written with the same shape holds the same rows (only `tenant_id`, and
 * activity_log's identity values, differ).
 */
import pg from 'pg';
import type { DataPlaneManifest } from '../domain/index.js';

/** Rows written per table (onboarding's admin user comes on top, in app_users). */
export interface TenantShape {
  users: number;
  projects: number;
  documents: number;
  activity: number;
}

export const shapeRows = (s: TenantShape): number => s.users + s.projects + s.documents + s.activity;

/** The manifest's tables, in its order: the benchmark writes and restores these. */
export const DR_TABLES = ['app_users', 'projects', 'documents', 'activity_log'] as const;
export type DrTable = (typeof DR_TABLES)[number];

/** The manifest must still name the tables this benchmark writes, with `tenant_id` as their tenant key. */
export function checkDrManifest(manifest: DataPlaneManifest): void {
  const named = manifest.tables.map((t) => `${t.name}:${t.tenantKey}`).join(', ');
  const expected = DR_TABLES.map((t) => `${t}:tenant_id`).join(', ');
  if (named !== expected)
    throw new Error(
      `the manifest's tables are ${named}, not ${expected}: update bench/dr-data.ts's row writer`,
    );
}

/** What a slice's INSERT … SELECT is told: rows `from` ≤ g < `to` of `tenant`. */
interface Slice {
  tenant: string;
  from: number;
  to: number;
  users: number;
  projects: number;
  anchor: string;
}

/** One INSERT … SELECT per table, and its parameters for a slice. */
const INSERTS: Record<DrTable, { sql: string; params: (s: Slice) => unknown[] }> = {
  app_users: {
    sql: `INSERT INTO app_users (tenant_id, id, email, display_name, role, created_at)
      SELECT $1, md5('user:' || g)::uuid, 'user' || g || '@example.test',
             CASE WHEN g % 17 = 0 THEN NULL ELSE 'Person ' || g END,
             CASE WHEN g % 50 = 0 THEN 'admin' ELSE 'member' END,
             $4::timestamptz - interval '400 days' + g * interval '1 minute'
        FROM generate_series($2::int, $3::int - 1) AS g ORDER BY g`,
    params: (s) => [s.tenant, s.from, s.to, s.anchor],
  },
  projects: {
    sql: `INSERT INTO projects (tenant_id, id, name, created_at)
      SELECT $1, md5('project:' || g)::uuid, 'Project ' || g || E'\\tplanning',
             $4::timestamptz - interval '300 days' + g * interval '1 hour'
        FROM generate_series($2::int, $3::int - 1) AS g ORDER BY g`,
    params: (s) => [s.tenant, s.from, s.to, s.anchor],
  },
  // Bodies of 4 to 12 sentences, some with a newline or a tab (COPY text escapes them).
  documents: {
    sql: `INSERT INTO documents (tenant_id, id, project_id, author_id, title, body, created_at, updated_at)
      SELECT $1, md5('document:' || g)::uuid, md5('project:' || (g % $5::int))::uuid,
             CASE WHEN g % 41 = 0 THEN NULL ELSE md5('user:' || (g % $4::int))::uuid END,
             'Document ' || g,
             repeat('Lorem ipsum dolor sit amet. ', 4 + g % 9)
               || CASE g % 7 WHEN 0 THEN E'\\nSee also ' || g WHEN 1 THEN E'\\t#' || g ELSE '' END,
             $6::timestamptz - interval '200 days' + g * interval '30 seconds',
             $6::timestamptz - interval '100 days' + g * interval '15 seconds'
        FROM generate_series($2::int, $3::int - 1) AS g ORDER BY g`,
    params: (s) => [s.tenant, s.from, s.to, s.users, s.projects, s.anchor],
  },
  activity_log: {
    sql: `INSERT INTO activity_log (tenant_id, actor_id, action, occurred_at)
      SELECT $1, CASE WHEN g % 97 = 0 THEN NULL ELSE md5('user:' || ((g * 7) % $4::int))::uuid END,
             (ARRAY['viewed','edited','shared','exported','commented'])[1 + g % 5],
             $5::timestamptz - interval '100 days' + g * interval '5 seconds'
        FROM generate_series($2::int, $3::int - 1) AS g ORDER BY g`,
    params: (s) => [s.tenant, s.from, s.to, s.users, s.anchor],
  },
};

const countOf = (shape: TenantShape, table: DrTable) =>
  ({
    app_users: shape.users,
    projects: shape.projects,
    documents: shape.documents,
    activity_log: shape.activity,
  })[table];

/**
 * Writes each tenant's rows into the pool database `c` is connected to (as a superuser: foreign
 * key triggers are off while it writes, the rows being consistent by construction), in one
 * transaction: table by table in the manifest's order, each in `slices` slices, one of every
 * tenant in turn.
 */
export async function writeTenants(
  c: pg.ClientBase,
  tenants: { id: string; shape: TenantShape }[],
  anchor: string,
  slices = 10,
): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query('SET LOCAL session_replication_role = replica');
    for (const table of DR_TABLES)
      for (let s = 0; s < slices; s++)
        for (const { id, shape } of tenants) {
          const n = countOf(shape, table);
          const [from, to] = [Math.floor((n * s) / slices), Math.floor((n * (s + 1)) / slices)];
          if (to <= from) continue;
          const insert = INSERTS[table];
          await c.query(
            insert.sql,
            insert.params({ tenant: id, from, to, users: shape.users, projects: shape.projects, anchor }),
          );
        }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** VACUUM ANALYZE of the tables, then a CHECKPOINT: what every measured restore starts from. */
export async function settleTables(c: pg.ClientBase): Promise<void> {
  await c.query(`VACUUM (ANALYZE) ${DR_TABLES.map((t) => pg.escapeIdentifier(t)).join(', ')}`);
  await c.query('CHECKPOINT');
}

/** The tenant's rows per table. */
export async function tenantCounts(c: pg.ClientBase, tenantId: string): Promise<Record<DrTable, number>> {
  const out = {} as Record<DrTable, number>;
  for (const table of DR_TABLES) {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(table)} WHERE tenant_id = $1`,
      [tenantId],
    );
    out[table] = rows[0]!.n;
  }
  return out;
}

/** A connection of its own to `url`, closed after `work`. */
export async function withConnection<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'bench-dr' });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}
