/** The application's migrations (the manifest's SQL folder), in the pool and in every silo. */
import type pg from 'pg';
import { runner } from 'node-pg-migrate';

/** The application's migrations table in every database Landlord migrates. */
export const MIGRATIONS_TABLE = 'app_migrations';

/**
 * Applies the application's migrations on a connected client. No advisory lock: tenants share a
 * database's advisory locks, so callers serialise migrators by other means (a row lock, a stack).
 */
export async function applyApplicationMigrations(
  client: pg.ClientBase,
  migrationsDir: string,
  /** `count`: only the next so many pending migrations, in the runner's order (absent: all). */
  { count }: { count?: number } = {},
): Promise<void> {
  await runner({
    dbClient: client,
    dir: migrationsDir,
    direction: 'up',
    ...(count !== undefined ? { count } : {}),
    migrationsTable: MIGRATIONS_TABLE,
    noLock: true,
    log: () => undefined,
  } as Parameters<typeof runner>[0]);
}
