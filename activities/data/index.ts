/**
 * Data-plane moves on the `landlord-data` queue: a tenant's rows copied from its region's pool
 * database into its silo database, table by table as the manifest lists them, and checked after.
 */
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { LandlordError } from '../../domain/index.js';
import { createBackupExpiryActivities } from '../backups/expiry.js';
import { createBackupActivities } from './backup.js';
import type { BackupDeps } from './backup.js';
import { createErasureActivities } from './erasure.js';
import { createExportActivities } from './export.js';
import type { ExportDeps } from './export.js';
import { createTenantDeletionActivities } from './offboard.js';
import { createReplicationActivities } from './replication.js';
import { createRestoreActivities } from './restore.js';
import { createRetentionActivities } from './retention.js';
import type { RetentionDeps } from './retention.js';
import type { TenantKeyring } from '../keys/index.js';
import { siloOwnerUrl } from '../../dataplane/silo.js';
import type { StepRef } from '../step-ref.js';
import { copyableColumns, advanceSequences } from '../../dataplane/table-catalog.js';

const q = pg.escapeIdentifier;

interface MoveInput {
  stepRef?: StepRef;
  tenantId: string;
  /** The tenant's home region: its pool database and its silo are both on this region's server. */
  region: string;
}

/** Rows of the tenant per table, in the pool and in the silo. */
export type TableCounts = Record<string, { pool: number; silo: number }>;

/** Each column's name and type (with its type modifier), in table order. */
async function columnTypes(c: pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await c.query<{ column: string }>(
    `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) AS column
     FROM pg_attribute a
     WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [table],
  );
  return rows.map((r) => r.column);
}

const APPLICATION_NAME = 'landlord-data';

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/**
 * Data activities: moving a tenant's rows into its silo, retention (./retention.ts), erasure
 * (./erasure.ts) and an offboarded tenant's deletion (./offboard.ts), over the same deps;
 * `keyring`: tenants' data keys, for what this queue seals or HMACs; exports (./export.ts) are
 * made with it into `exportsRoot`, and backups (./backup.ts) into `backups`.
 */
export function createDataActivities(
  deps: RetentionDeps & { keyring?: TenantKeyring } & ExportDeps & BackupDeps,
) {
  const { directory, manifest, store, secret } = deps;
  // Never a superuser inside a database the tenant can log in to: the silo's owner role.
  const siloUrl = (tenantId: string, region: string) =>
    siloOwnerUrl(directory.serverUrl(region), region, tenantId, secret);

  /** Runs `work` with a client on the tenant's pool database and one on its silo database. */
  async function withBoth<T>(
    { tenantId, region }: MoveInput,
    work: (pool: pg.Client, silo: pg.Client) => Promise<T>,
  ): Promise<T> {
    const [poolUrl, targetUrl] = [directory.databaseUrl(region), siloUrl(tenantId, region)];
    const source = await connect(poolUrl);
    let target: pg.Client | undefined;
    try {
      target = await connect(targetUrl);
      return await work(source, target);
    } finally {
      // Ending a connection with an open transaction rolls it back.
      await Promise.allSettled([source.end(), target?.end()]);
    }
  }

  return {
    ...createRetentionActivities(deps),
    ...createErasureActivities(deps),
    ...createExportActivities(deps),
    ...createBackupActivities(deps),
    ...createBackupExpiryActivities(deps),
    ...createRestoreActivities(deps),
    ...createReplicationActivities(deps),
    ...createTenantDeletionActivities(deps),
    /**
     * Checks, before the tenant is frozen, that both databases answer and that every table of the
     * manifest has the same columns of the same types in both (a binary COPY needs that).
     */
    async checkCopyable(input: MoveInput): Promise<void> {
      await withBoth(input, async (source, target) => {
        const differing: string[] = [];
        for (const table of manifest.tables) {
          const [a, b] = [await columnTypes(source, table.name), await columnTypes(target, table.name)];
          if (a.length === 0 || a.join(',') !== b.join(',')) differing.push(table.name);
        }
        if (differing.length > 0)
          throw new LandlordError(
            'SchemaDrift',
            `the silo's schema differs from the pool's in ${differing.join(', ')}; migrate both to the same version first`,
          );
      });
    },

    /**
     * Copies the tenant's rows from the pool into its silo in one silo transaction, from one
     * consistent snapshot of the pool; rows an earlier attempt left in the silo are replaced, so a
     * retry copies everything again. Returns the rows copied per table.
     */
    async copyTenantToSilo(input: MoveInput): Promise<Record<string, number>> {
      const { stepRef, tenantId } = input;
      const context = Context.current();
      let latest: { done: number; total: number; current?: string } | undefined;
      const progress = async (next: { done: number; total: number; current?: string }) => {
        latest = next;
        context.heartbeat(next);
        if (stepRef)
          await store.operations
            .recordStepProgress(stepRef.operationId, stepRef.run, stepRef.step, next)
            .catch(() => undefined);
      };
      // Heartbeat while a large table streams too, so a live copy is not taken for a dead one.
      const beat = setInterval(() => context.heartbeat(latest), 10_000);
      try {
        return await withBoth(input, async (source, target) => {
          // An earlier attempt whose worker vanished may still hold its silo transaction (and the
          // rows it inserted) until TCP gives up on it; one move per tenant runs at a time, so end it.
          await target.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1 AND usename = current_user
               AND pid <> pg_backend_pid()`,
            [APPLICATION_NAME],
          );
          await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          await target.query('BEGIN');
          for (const table of [...manifest.tables].reverse()) {
            await target.query(`DELETE FROM ${q(table.name)} WHERE ${q(table.tenantKey)} = $1`, [tenantId]);
          }
          const copied: Record<string, number> = {};
          const total = manifest.tables.length;
          for (const [i, table] of manifest.tables.entries()) {
            await progress({ done: i, total, current: table.name });
            const columns = (await copyableColumns(source, table.name)).map(q).join(', ');
            const out = source.query(
              copyTo(
                `COPY (SELECT ${columns} FROM ${q(table.name)} WHERE ${q(table.tenantKey)} = ${pg.escapeLiteral(tenantId)})
                 TO STDOUT (FORMAT binary)`,
              ),
            );
            const into = target.query(
              copyFrom(`COPY ${q(table.name)} (${columns}) FROM STDIN (FORMAT binary)`),
            );
            await pipeline(out, into, { signal: context.cancellationSignal });
            copied[table.name] = into.rowCount;
            await advanceSequences(target, table.name);
          }
          await target.query('COMMIT');
          await source.query('COMMIT');
          await progress({ done: total, total });
          return copied;
        });
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * Counts the tenant's rows per table in the pool and in the silo, and fails unless they match
     * (and the silo holds no one else's rows).
     */
    async verifyTenantCopy(input: MoveInput): Promise<TableCounts> {
      const context = Context.current();
      return withBoth(input, async (source, target) => {
        const counts: TableCounts = {};
        const mismatched: string[] = [];
        const count = async (c: pg.Client, table: string, where = '', params: unknown[] = []) => {
          context.heartbeat({ table });
          const { rows } = await c.query<{ n: string }>(
            `SELECT count(*) AS n FROM ${q(table)} ${where}`,
            params,
          );
          return Number(rows[0]!.n);
        };
        for (const table of manifest.tables) {
          const ofTenant = `WHERE ${q(table.tenantKey)} = $1`;
          const pool = await count(source, table.name, ofTenant, [input.tenantId]);
          const silo = await count(target, table.name, ofTenant, [input.tenantId]);
          const siloAll = await count(target, table.name);
          counts[table.name] = { pool, silo };
          if (pool !== silo || siloAll !== silo)
            mismatched.push(
              `${table.name} (pool ${pool}, silo ${silo}${siloAll !== silo ? `, ${siloAll} in all` : ''})`,
            );
        }
        if (mismatched.length > 0) {
          throw new LandlordError(
            'DataVerificationFailed',
            `the silo's rows do not match the pool's: ${mismatched.join('; ')}`,
          );
        }
        return counts;
      });
    },
  };
}

export type DataActivities = ReturnType<typeof createDataActivities>;
