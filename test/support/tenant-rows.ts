/** A tenant's application rows as tests compare them, table by table. */
import { withClient } from '../../dataplane/connection.js';

/** The example application's tables, parents first. */
export const TABLES = ['app_users', 'projects', 'documents', 'activity_log'] as const;

/** The tenant's rows per table in the database at `url`, as JSON, ordered by primary key. */
export const rowsOf = (url: string, tenantId: string): Promise<Record<string, unknown[]>> =>
  withClient(url, async (c) => {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLES)
      out[table] = (
        await c.query(`SELECT to_jsonb(t) AS row FROM ${table} t WHERE tenant_id = $1 ORDER BY id`, [
          tenantId,
        ])
      ).rows.map((r) => r.row);
    return out;
  });
