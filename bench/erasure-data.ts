/**
 * The erasure benchmark's tenant rows: one copy of a workspace of the example application, written
 * straight into a database as the application would have written it, identical for every tenant id
 * it is written under (same ids, values, timestamps and physical order; only `tenant_id`, and
 * activity_log's identity values, differ). Each copy holds the rows of many other people and, spread
 * evenly through the heap among them, the rows of a few data subjects of identical shape, one per
 * measured erasure.
 *
 * Ids are derived from names (`md5('user:' || k)::uuid`, `md5('subject:' || s)::uuid`), so a
 * subject has the same key in every copy.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { tableErasure } from '../domain/index.js';
import type { DataPlaneManifest } from '../domain/index.js';

/** How large one copy is. */
export interface CopyShape {
  /** Rows of people other than the subjects: app_users, documents, activity_log. */
  otherUsers: number;
  otherDocuments: number;
  otherActivity: number;
  /** Subjects in the copy; each has one app_users row and the rows below. */
  subjects: number;
  subjectDocuments: number;
  subjectActivity: number;
}

export const otherRows = (s: CopyShape) => s.otherUsers + s.otherDocuments + s.otherActivity;
export const subjectRows = (s: CopyShape) => 1 + s.subjectDocuments + s.subjectActivity;
export const copyRows = (s: CopyShape) => otherRows(s) + s.subjects * subjectRows(s);

/** What the erasure does to each table, children first: as Landlord goes (the manifest reversed). */
export const ERASURE_ORDER = [
  { table: 'activity_log', subjectKey: 'actor_id', mode: 'delete' },
  { table: 'documents', subjectKey: 'author_id', mode: 'anonymize' },
  { table: 'app_users', subjectKey: 'id', mode: 'delete' },
] as const;
export type ErasedTable = (typeof ERASURE_ORDER)[number]['table'];

/**
 * Subject indexes to compare, by name: none; `(tenant key, subject key)`; and the same with the
 * primary key's column appended, so that a batch can read its rows in key order straight from the
 * index, what config/application/migrations/002_subject_indexes.sql creates.
 */
export const INDEX_VARIANTS = {
  none: [],
  subject: [
    'CREATE INDEX documents_author ON documents (tenant_id, author_id)',
    'CREATE INDEX activity_log_actor ON activity_log (tenant_id, actor_id)',
  ],
  'subject + key': [
    'CREATE INDEX documents_author ON documents (tenant_id, author_id, id)',
    'CREATE INDEX activity_log_actor ON activity_log (tenant_id, actor_id, id)',
  ],
} as const;
export type IndexVariant = keyof typeof INDEX_VARIANTS;
/** The names of the subject indexes, whichever variant. */
export const SUBJECT_INDEXES = ['documents_author', 'activity_log_actor'] as const;

/** The manifest must still erase the tables as the benchmark's baseline script does. */
export function checkErasureManifest(manifest: DataPlaneManifest): void {
  const erased = [...manifest.tables]
    .reverse()
    .filter((t) => t.subjectKey)
    .map((t) => ({ table: t.name, subjectKey: t.subjectKey, mode: tableErasure(t).mode }));
  const expected = ERASURE_ORDER.map((e) => ({ ...e }));
  if (JSON.stringify(erased) !== JSON.stringify(expected))
    throw new Error(
      `the manifest no longer erases ${JSON.stringify(expected)} (it erases ${JSON.stringify(erased)}): update the erasure benchmark's baseline`,
    );
  const documents = manifest.tables.find((t) => t.name === 'documents');
  const cleared = documents ? tableErasure(documents) : undefined;
  if (cleared?.mode !== 'anonymize' || cleared.columns.join() !== 'author_id')
    throw new Error('the manifest no longer anonymizes documents by clearing author_id alone');
}

const uuidOf = (name: string) =>
  createHash('md5')
    .update(name)
    .digest('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

/** Subject `s`'s key, the same in every copy (Postgres writes it as `md5('subject:' || s)::uuid`). */
export const subjectId = (s: number) => uuidOf(`subject:${s}`);

/**
 * Row `g` of a table of `total` rows belongs to a subject when `g % stride = stride / 2` and
 * `g / stride` is below the subjects' row count: the subjects' rows are evenly spread through the
 * heap, subject `(g / stride) % subjects` after subject, between other people's rows.
 */
function spread(total: number, subjectRowCount: number) {
  const stride = Math.floor(total / subjectRowCount);
  if (stride < 2) throw new Error('the subjects would hold more than half of a table');
  return { total, stride, subjectRowCount };
}

/** `actor`: the subject's key for a subject's row, else another user's (`g % users`). */
const personSql = (column: string) =>
  `CASE WHEN g % $3::int = $3::int / 2 AND g / $3::int < $4::int
        THEN md5('subject:' || (g / $3::int) % $5::int)::uuid
        ELSE md5('user:' || g % $6::int)::uuid END AS ${column}`;

/**
 * Writes one copy under `tenantId` into the database at `url` (a superuser's connection: the
 * foreign key triggers are off while it writes, the rows being consistent by construction), as of
 * `anchor`: one project, the users, then documents and activity, each table's rows in order.
 */
export async function writeCopy(
  c: pg.ClientBase,
  tenantId: string,
  shape: CopyShape,
  anchor: string,
): Promise<void> {
  const docs = spread(
    shape.otherDocuments + shape.subjects * shape.subjectDocuments,
    shape.subjects * shape.subjectDocuments,
  );
  const acts = spread(
    shape.otherActivity + shape.subjects * shape.subjectActivity,
    shape.subjects * shape.subjectActivity,
  );
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL session_replication_role = replica`);
    await c.query(
      `INSERT INTO projects (tenant_id, id, name, created_at)
       VALUES ($1, md5('project')::uuid, 'Main', $2::timestamptz - interval '30 days')`,
      [tenantId, anchor],
    );
    await c.query(
      `INSERT INTO app_users (tenant_id, id, email, display_name, role, created_at)
       SELECT $1,
              CASE WHEN k < $2 THEN md5('user:' || k)::uuid ELSE md5('subject:' || (k - $2))::uuid END,
              CASE WHEN k < $2 THEN 'user' || k ELSE 'subject' || (k - $2) END || '@example.test',
              'Person ' || k, 'member', $4::timestamptz - interval '20 days' + k * interval '1 second'
         FROM generate_series(0, $2::int + $3::int - 1) AS k ORDER BY k`,
      [tenantId, shape.otherUsers, shape.subjects, anchor],
    );
    // $1 tenant, $2 rows, $3 stride, $4 subjects' rows, $5 subjects, $6 other users, $7 anchor.
    const params = (t: ReturnType<typeof spread>) => [
      tenantId,
      t.total,
      t.stride,
      t.subjectRowCount,
      shape.subjects,
      shape.otherUsers,
      anchor,
    ];
    await c.query(
      `INSERT INTO documents (tenant_id, id, project_id, author_id, title, body, created_at, updated_at)
       SELECT $1, md5('document:' || g)::uuid, md5('project')::uuid, author_id, 'Document ' || g,
              repeat('Lorem ipsum dolor sit amet. ', 8), at, at
         FROM (SELECT g, ${personSql('author_id')},
                      $7::timestamptz - ($2::int - g) * interval '1 second' AS at
                 FROM generate_series(0, $2::int - 1) AS g) AS r
        ORDER BY g`,
      params(docs),
    );
    await c.query(
      `INSERT INTO activity_log (tenant_id, actor_id, action, occurred_at)
       SELECT $1, actor_id, (ARRAY['viewed','edited','shared','exported'])[1 + g % 4],
              $7::timestamptz - ($2::int - g) * interval '1 second'
         FROM (SELECT g, ${personSql('actor_id')} FROM generate_series(0, $2::int - 1) AS g) AS r
        ORDER BY g`,
      params(acts),
    );
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** VACUUM ANALYZE of the erased tables, then a CHECKPOINT: every copy starts settled. */
export async function settle(c: pg.ClientBase): Promise<void> {
  await c.query('VACUUM (ANALYZE) app_users, projects, documents, activity_log');
  await c.query('CHECKPOINT');
}

/** What a subject has in a copy: rows per table (documents: still naming it). */
export async function subjectCounts(
  c: pg.ClientBase,
  tenantId: string,
  subject: string,
): Promise<Record<ErasedTable, number>> {
  const out = {} as Record<ErasedTable, number>;
  for (const { table, subjectKey } of ERASURE_ORDER) {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(table)} WHERE tenant_id = $1 AND ${pg.escapeIdentifier(subjectKey)} = $2::uuid`,
      [tenantId, subject],
    );
    out[table] = rows[0]!.n;
  }
  return out;
}

/**
 * A digest of what a copy holds now (its other people's rows and what is left of its subjects'),
 * leaving out what differs between copies by construction: the tenant id, activity_log's identity
 * values and the admin user onboarding wrote.
 */
export async function copyDigest(c: pg.ClientBase, tenantId: string): Promise<Record<ErasedTable, string>> {
  const digest = async (sql: string) => (await c.query<{ d: string }>(sql, [tenantId])).rows[0]!.d ?? '';
  return {
    app_users: await digest(
      `SELECT md5(string_agg(id::text || email, ',' ORDER BY id)) AS d FROM app_users
        WHERE tenant_id = $1 AND email LIKE '%@example.test'`,
    ),
    documents: await digest(
      `SELECT md5(string_agg(id::text || ':' || coalesce(author_id::text, '-'), ',' ORDER BY id)) AS d
         FROM documents WHERE tenant_id = $1`,
    ),
    activity_log: await digest(
      `SELECT md5(string_agg(coalesce(actor_id::text, '-') || action || occurred_at::text, ','
                             ORDER BY occurred_at, actor_id, action)) AS d
         FROM activity_log WHERE tenant_id = $1`,
    ),
  };
}

/** A connection of its own to `url`, closed after `work`. */
export async function withConnection<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'bench-seed' });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}
