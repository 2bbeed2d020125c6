/**
 * What the data activities that read or write whole tables (a tier move's copy, exports, backups
 * and restores) ask of a database's catalog about the application's tables in schema public.
 */
import pg from 'pg';
import { LandlordError } from '../domain/index.js';
import { MIGRATIONS_TABLE } from './migrations.js';

const q = pg.escapeIdentifier;

/** Columns a COPY reads and writes: every column but generated ones, in table order. */
export async function copyableColumns(c: pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await c.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER'
      ORDER BY ordinal_position`,
    [table],
  );
  if (rows.length === 0)
    throw new LandlordError('SchemaDrift', `table ${table} of the manifest is missing from a database`);
  return rows.map((r) => r.column_name);
}

/** The columns of a table's primary key, in key order; empty for a table without one. */
export async function primaryKeyOf(c: pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await c.query<{ column: string }>(
    `SELECT a.attname AS column
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = to_regclass(format('public.%I', $1::text)) AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [table],
  );
  return rows.map((r) => r.column);
}

/** The application's latest migration applied in this database, as its migration runner recorded it. */
export async function schemaVersionOf(c: pg.ClientBase, tenantId: string): Promise<string> {
  const table = `public.${q(MIGRATIONS_TABLE)}`;
  const present = await c.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    table,
  ]);
  const { rows } = present.rows[0]!.present
    ? await c.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY run_on DESC, id DESC LIMIT 1`)
    : { rows: [] };
  if (!rows[0])
    throw new LandlordError(
      'SchemaDrift',
      `tenant ${tenantId}'s database records no application migration (${MIGRATIONS_TABLE}): its schema version is unknown`,
    );
  return rows[0].name;
}

/** Moves each identity or serial sequence of `table` past its rows, never back. */
export async function advanceSequences(c: pg.ClientBase, table: string): Promise<void> {
  const { rows } = await c.query<{ column: string; seq: string }>(
    `SELECT a.attname AS column, pg_get_serial_sequence(format('public.%I', $1::text), a.attname) AS seq
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass(format('public.%I', $1::text)) AND a.attnum > 0 AND NOT a.attisdropped
        AND pg_get_serial_sequence(format('public.%I', $1::text), a.attname) IS NOT NULL`,
    [table],
  );
  for (const { column, seq } of rows)
    await c.query(
      `SELECT setval($1::regclass, greatest(coalesce((SELECT max(${q(column)}) FROM public.${q(table)}), 0),
                                            coalesce(pg_sequence_last_value($1::regclass), 0)) + 1, false)`,
      [seq],
    );
}

/**
 * Whether Postgres refused the data or the statement as it is (classes 22, 23, 42: no retry mends
 * it), not the connection: what a backup or restore reports as a damaged or unfitting archive.
 */
export function refusedByDatabase(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown }).code;
  return err instanceof Error && typeof code === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(code);
}
