import pg from 'pg';

/** Replaces the database name of a Postgres URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs `work` on a connection of its own to `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `database` on the server at `serverUrl` unless it exists; safe to race. */
export async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  await withClient(withDatabase(serverUrl, 'postgres'), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`).catch((err: { code?: string }) => {
      // Another process created it between our check and our create.
      if (err.code !== '42P04' && err.code !== '23505') throw err;
    });
  });
}

/**
 * Whether the server at `url` takes a connection within `timeoutMs`: a region that is down (refused,
 * unreachable, silent) does not. A server that answers with a refusal of its own (a SQLSTATE, such
 * as a wrong password) does answer: that is thrown.
 */
export async function serverAnswers(
  url: string,
  timeoutMs = 10_000,
): Promise<{ answers: true } | { answers: false; reason: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { answers: true };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) throw err;
    return { answers: false, reason: `its server did not answer: ${(err as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}
