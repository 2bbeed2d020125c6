/**
 * Tenant backups on the `landlord-data` queue (domain/backup.ts): every manifest table of the
 * tenant read in one REPEATABLE READ snapshot as Postgres COPY text, written as it streams into a
 * sealed archive (../backups/archive.ts) in the configured object store, and recorded in the
 * registry's catalog. A backup's id comes from its operation, so a retried or re-run step finds
 * the backup it made instead of making another. A restore verification restores a backup into a
 * scratch database (../backups/scratch-database.ts) and reads it back, row for row.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledFailure, Context } from '@temporalio/activity';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { BACKUP_FORMAT, backupObjectKey, LandlordError } from '../../domain/index.js';
import type {
  BackedUpTable,
  BackupManifest,
  DataPlaneManifest,
  TenantBackup,
  TenantRecord,
} from '../../domain/index.js';
import { applyApplicationMigrations, MIGRATIONS_TABLE } from '../../dataplane/migrations.js';
import { readBackupArchive, writeBackupArchive } from '../backups/archive.js';
import type { BackupObjectStore } from '../backups/object-store.js';
import {
  drillTag,
  dropTaggedScratchDatabases,
  sweepScratchDatabases,
  withScratchDatabase,
} from '../backups/scratch-database.js';
import type { TenantKeyring } from '../keys/index.js';
import { stepProgressWriter } from '../step-progress.js';
import type { StepRef } from '../step-ref.js';
import type { RetentionDeps } from './retention.js';
import { withTenantDatabase } from './tenant-database.js';
import {
  advanceSequences,
  copyableColumns,
  primaryKeyOf,
  refusedByDatabase,
  schemaVersionOf,
} from '../../dataplane/table-catalog.js';

const q = pg.escapeIdentifier;
/** How often a long backup or verification heartbeats, so a live one is not taken for a dead one. */
const BEAT_MS = 10_000;
const DAY_MS = 86_400_000;

/**
 * Session settings under which COPY writes a value as the same text on any server: a backup's
 * checksums hold wherever it is read back. Local to the transaction.
 */
const COPY_TEXT_SETTINGS = [
  ['TimeZone', 'UTC'],
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '1'],
  ['bytea_output', 'hex'],
]
  .map(([name, value]) => `set_config(${pg.escapeLiteral(name!)}, ${pg.escapeLiteral(value!)}, true)`)
  .join(', ');

/** The tenant as a backup needs it: where its rows are. */
type BackedUpTenant = Pick<TenantRecord, 'id' | 'tier' | 'region' | 'deploymentModel'>;

/** What taking a tenant's backup takes: the operation it belongs to, the tenant, and how long it is kept. */
export interface TakeBackupInput {
  stepRef?: StepRef;
  /** The operation the backup belongs to: its id is derived from this one. */
  operationId: string;
  /** The operation's run: a retried run makes a backup of its own. */
  run?: number;
  tenant: BackedUpTenant;
  /** The tier's `backup.retentionDays`: the backup expires that long after its snapshot. */
  retentionDays: number;
  /** Who asked for it (the operation's audit trail has it; the catalog does not). */
  requestedBy?: string;
}

/** What verifying a backup by restoring it takes. */
export interface VerifyBackupInput {
  stepRef?: StepRef;
  tenantId: string;
  backupId: string;
  /** The region whose server the scratch database is made on; absent: the backup's region. */
  region?: string;
  /** A drill's operation: its copy is named for it (drillTag), so the drill finds it to drop it. */
  drillOperationId?: string;
}

/** What a restore verification found: each table as read back from the scratch database, against the catalog. */
export interface BackupVerificationResult {
  backupId: string;
  tenantId: string;
  /** The backup restored, and read back the same as the catalog records it. */
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  /** How long restoring it into the scratch database took (ms); 0 when it did not get that far. */
  restoreMs: number;
  tables: { name: string; rows: number; expectedRows: number; sha256: string; expectedSha256: string }[];
  /** Why it is not ok; empty when it is. */
  problems: string[];
}

/** What restoreBackupInto found: each table's rows as COPY took them in, and SHA-256 as read. */
export interface BackupRestoreResult {
  tables: { name: string; rows: number; sha256: string }[];
  /** What is wrong with the backup's file (see readBackupArchive); a restore commits only when empty. */
  problems: string[];
}

/** What the backup activities are made over: the data deps, the keyring, and where backups go. */
export type BackupDeps = RetentionDeps & {
  keyring?: TenantKeyring;
  backups?: BackupObjectStore;
  /** The application's migrations (Config.migrationsDir): what a scratch database is migrated with. */
  migrationsDir?: string;
};

/** The id of the backup an operation makes of a tenant: the same for every attempt of a run. */
export function backupIdFor(tenantId: string, operationId: string, run = 1): string {
  const of = run > 1 ? `${operationId}\u0000${run}` : operationId;
  const digest = createHash('sha256').update(`landlord backup\u0000${tenantId}\u0000${of}`);
  return `backup_${digest.digest('hex').slice(0, 16)}`;
}

/**
 * The query whose COPY text is a table's part of a backup: a pool tenant's rows (its tenant key)
 * or a silo's whole table, in primary key order, so that the same rows make the same text.
 */
function tableSelect(
  table: Pick<DataPlaneManifest['tables'][number], 'name' | 'tenantKey'>,
  columns: readonly string[],
  key: readonly string[],
  tenant: { id: string; deploymentModel: 'pool' | 'silo' },
): string {
  const where =
    tenant.deploymentModel === 'pool'
      ? ` WHERE t.${q(table.tenantKey)} = ${pg.escapeLiteral(tenant.id)}`
      : '';
  // Without a primary key, the row's text is the only order the same rows always have.
  const order = key.length > 0 ? key.map((k) => `t.${q(k)}`).join(', ') : '(t.*)::text';
  return `SELECT ${columns.map((c) => `t.${q(c)}`).join(', ')} FROM public.${q(table.name)} t${where} ORDER BY ${order}`;
}

/**
 * Restores a backup into the database `client` is connected to: each table's COPY text, read
 * from the object store and checked as it goes, through one `COPY public.<table> (<columns>) FROM
 * STDIN` per table in the archive's (manifest) order; identity and serial sequences moved past the
 * rows. Neither begins nor ends a transaction: the caller commits only when `problems` is empty
 * (a pool restore inside one transaction after deleting the tenant's rows; a silo into a fresh
 * database). Thrown: a destroyed key, a store failure, and a COPY Postgres refused.
 */
export async function restoreBackupInto(
  client: pg.ClientBase,
  {
    keyring,
    objects,
    backup,
    onEntry,
    signal,
  }: {
    keyring: TenantKeyring;
    objects: BackupObjectStore;
    backup: TenantBackup;
    onEntry?: (name: string) => void;
    signal?: AbortSignal;
  },
): Promise<BackupRestoreResult> {
  await client.query(`SELECT ${COPY_TEXT_SETTINGS}`);
  const copied = new Map<string, number>();
  const read = await readBackupArchive({
    keyring,
    objects,
    backup,
    ...(onEntry ? { onEntry } : {}),
    ...(signal ? { signal } : {}),
    consume: async (table: BackedUpTable, copyText: AsyncIterable<Buffer>) => {
      const into = client.query(
        copyFrom(`COPY public.${q(table.name)} (${table.columns.map(q).join(', ')}) FROM STDIN`),
      );
      const from = Readable.from(copyText);
      await (signal ? pipeline(from, into, { signal }) : pipeline(from, into));
      copied.set(table.name, into.rowCount);
      await advanceSequences(client, table.name);
    },
  });
  const problems = [...read.problems];
  for (const t of read.tables) {
    const rows = copied.get(t.name);
    if (rows !== undefined && rows !== t.rows)
      problems.push(`${t.name}: COPY took in ${rows} rows from ${t.rows} lines of its text`);
  }
  return {
    tables: read.tables.map((t) => ({ name: t.name, rows: copied.get(t.name) ?? 0, sha256: t.sha256 })),
    problems,
  };
}

/** The backup activities: taking a tenant's backup, and verifying one by restoring it. */
export function createBackupActivities(deps: BackupDeps) {
  const { directory, manifest, store, secret } = deps;
  const access = { directory, secret };

  const configured = () => {
    if (!deps.keyring || !deps.backups)
      throw new LandlordError(
        'Misconfigured',
        'this data worker takes no backups: it was started without a keyring or a backup store',
      );
    return { keyring: deps.keyring, backups: deps.backups };
  };

  /**
   * The recorded backup as found again: its file there with its recorded size and SHA-256 (an
   * attempt taken for dead may have overwritten it with a file of the same size), else a failure
   * no retry mends. Reads the whole file, which only a retry of a recorded backup does.
   */
  const recordedIntact = async (backups: BackupObjectStore, backup: TenantBackup, signal: AbortSignal) => {
    if (backup.location !== backups.location)
      throw new LandlordError(
        'Misconfigured',
        `backup ${backup.id} of tenant ${backup.tenantId} is kept in ${backup.location}, and this worker's backups are in ${backups.location}`,
      );
    const found = await backups.head(backup.objectKey);
    let differs = found ? `${found.bytes} bytes, not ${backup.bytes}` : 'missing';
    if (found?.bytes === backup.bytes) {
      const hash = createHash('sha256');
      const context = Context.current();
      for await (const chunk of await backups.get(backup.objectKey, signal)) {
        hash.update(chunk as Buffer);
        context.heartbeat({ backupId: backup.id, stage: 'check' });
      }
      const sha256 = hash.digest('hex');
      if (sha256 === backup.sha256) return backup;
      differs = `not the file recorded (its SHA-256 is ${sha256}, not ${backup.sha256})`;
    }
    throw new LandlordError(
      'DataVerificationFailed',
      `backup ${backup.id} of tenant ${backup.tenantId} is recorded, but its file ${backup.objectKey} is ` +
        `${differs}; take the backup again under a new operation`,
    );
  };

  /** Heartbeats with `details` now and every BEAT_MS until `stop`. */
  const heartbeats = (first: Record<string, unknown>) => {
    const context = Context.current();
    let latest = first;
    const timer = setInterval(() => context.heartbeat(latest), BEAT_MS);
    return {
      beat(details: Record<string, unknown>) {
        latest = { ...first, ...details };
        context.heartbeat(latest);
      },
      stop: () => clearInterval(timer),
    };
  };

  return {
    /**
     * Backs the tenant's rows of every manifest table up, from one snapshot, into one sealed
     * archive in the backup store, and records it in the catalog; called again for the same
     * operation, returns the backup made the first time.
     */
    async takeTenantBackup(input: TakeBackupInput): Promise<TenantBackup> {
      const { keyring, backups } = configured();
      const { tenant, operationId, retentionDays } = input;
      if (!Number.isFinite(retentionDays) || retentionDays <= 0)
        throw new LandlordError(
          'Misconfigured',
          `a backup is kept a positive number of days, not ${retentionDays}`,
        );
      const context = Context.current();
      const signal = context.cancellationSignal;
      const backupId = backupIdFor(tenant.id, operationId, input.run);
      const objectKey = backupObjectKey(tenant.id, backupId);
      const recorded = await store.backups.get(tenant.id, backupId);
      if (recorded) return recordedIntact(backups, recorded, signal);

      await keyring.ensure(tenant.id);
      const { keyId, key } = await keyring.open(tenant.id);
      const progress = stepProgressWriter(store, input.stepRef);
      const life = heartbeats({ backupId });
      const beat = (details: Record<string, unknown>) => {
        life.beat(details);
        if (signal.aborted) throw new CancelledFailure('the backup was cancelled');
      };
      try {
        const taken = await withTenantDatabase(access, tenant, 'backup', async (c) => {
          await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          // This first statement takes the snapshot; now() is the transaction's start, just before
          // it: every row committed before takenAt is in the backup.
          const { rows } = await c.query<{ taken_at: Date }>(
            `SELECT date_trunc('milliseconds', now()) AS taken_at, ${COPY_TEXT_SETTINGS}`,
          );
          const takenAt = rows[0]!.taken_at.toISOString();
          const schemaVersion = await schemaVersionOf(c, tenant.id);
          const plans: { name: string; columns: string[]; select: string }[] = [];
          for (const table of manifest.tables) {
            const columns = await copyableColumns(c, table.name);
            const select = tableSelect(table, columns, await primaryKeyOf(c, table.name), tenant);
            plans.push({ name: table.name, columns, select });
          }
          const tables: BackedUpTable[] = [];
          const file = await writeBackupArchive({
            seal: { tenantId: tenant.id, keyId, key },
            mtime: new Date(takenAt),
            store: (sealed) => backups.put(objectKey, sealed, signal),
            produce: async (writeTable): Promise<BackupManifest> => {
              for (const [i, plan] of plans.entries()) {
                progress.report({ done: i, total: plans.length, current: plan.name });
                beat({ table: plan.name, rows: 0 });
                const copy = c.query(copyTo(`COPY (${plan.select}) TO STDOUT`));
                const written = await writeTable(plan.name, copy, ({ rows: copiedRows }) =>
                  beat({ table: plan.name, rows: copiedRows }),
                );
                tables.push({
                  name: plan.name,
                  columns: plan.columns,
                  rows: written.rows,
                  sha256: written.sha256,
                });
              }
              return {
                format: BACKUP_FORMAT,
                application: manifest.application,
                schemaVersion,
                tenantId: tenant.id,
                backupId,
                takenAt,
                region: tenant.region,
                deploymentModel: tenant.deploymentModel,
                tables,
              };
            },
          });
          await c.query('COMMIT');
          return { takenAt, schemaVersion, tables, ...file };
        });

        const backup = await store.backups.record({
          id: backupId,
          tenantId: tenant.id,
          operationId,
          takenAt: taken.takenAt,
          region: tenant.region,
          deploymentModel: tenant.deploymentModel,
          keyId,
          format: BACKUP_FORMAT,
          location: backups.location,
          objectKey,
          bytes: taken.bytes,
          sha256: taken.sha256,
          schemaVersion: taken.schemaVersion,
          tables: taken.tables,
          expiresAt: new Date(Date.parse(taken.takenAt) + retentionDays * DAY_MS).toISOString(),
        });
        // An attempt taken for dead recorded its own file first, and this one's took its place.
        if (backup.sha256 !== taken.sha256)
          throw new LandlordError(
            'DataVerificationFailed',
            `backup ${backupId} of tenant ${tenant.id} was recorded by another attempt, whose file this one replaced; ` +
              'take the backup again under a new operation',
          );
        await progress.finish({ done: manifest.tables.length, total: manifest.tables.length });
        return backup;
      } catch (err) {
        if (signal.aborted && !(err instanceof CancelledFailure))
          throw new CancelledFailure('the backup was cancelled');
        throw err;
      } finally {
        life.stop();
        key.fill(0);
        await progress.settle();
      }
    },

    /** The tenant's latest available backup, which a drill restores; none is a refusal. */
    async latestDrillBackup({ tenantId }: { tenantId: string }): Promise<{ id: string; takenAt: string }> {
      const backup = await store.backups.latest(tenantId, new Date().toISOString());
      if (!backup)
        throw new LandlordError(
          'NotFound',
          `tenant ${tenantId} has no available backup to drill with; take one first (POST /v1/tenants/${tenantId}/backups)`,
        );
      return { id: backup.id, takenAt: backup.takenAt };
    },

    /**
     * The tenant's latest available backup when it was taken after `since` (or at all, without
     * `since`): what a failover restores over a standby that fell behind it. Null when none is.
     */
    async backupNewerThan({
      tenantId,
      since,
    }: {
      tenantId: string;
      since?: string;
    }): Promise<{ id: string; takenAt: string } | null> {
      const backup = await store.backups.latest(tenantId, new Date().toISOString());
      if (!backup || (since !== undefined && Date.parse(backup.takenAt) <= Date.parse(since))) return null;
      return { id: backup.id, takenAt: backup.takenAt };
    },

    /**
     * Drops every copy a drill made (its scratch databases, named for its operation) on the drill
     * region's server, whichever attempt made them; idempotent. Throws while that server does not
     * answer, so the drill's cleanup retries until it does; no other server is waited for.
     */
    async dropDrillCopies({
      operationId,
      region,
    }: {
      operationId: string;
      region: string;
    }): Promise<{ dropped: string[] }> {
      return {
        dropped: await dropTaggedScratchDatabases(directory.serverUrl(region), drillTag(operationId)),
      };
    },

    /**
     * Drops, on every region server this worker reaches, the scratch databases made more than
     * `olderThanMs` ago: those a verification cut short by a crash left behind (a live one is
     * younger than its activity's start-to-close bound). A server that does not answer is named in
     * the result, not thrown: the next run sweeps it.
     */
    async sweepScratchDatabasesEverywhere({
      olderThanMs,
    }: {
      olderThanMs: number;
    }): Promise<{ dropped: string[]; unreachable: string[] }> {
      // Regions that share a server are swept once.
      const servers = new Map<string, string>();
      for (const region of directory.regions) {
        const url = directory.serverUrl(region);
        if (!servers.has(url)) servers.set(url, region);
      }
      const dropped: string[] = [];
      const unreachable: string[] = [];
      for (const [url, region] of servers) {
        Context.current().heartbeat({ region });
        try {
          dropped.push(...(await sweepScratchDatabases(url, olderThanMs)));
        } catch {
          unreachable.push(region);
        }
      }
      return { dropped, unreachable };
    },

    /**
     * Verifies a backup by restoring it: into a scratch database on its region's server, migrated
     * to the application's schema, in one transaction; then reads every table back with the query
     * the backup used and compares rows and SHA-256 with the catalog, and notes it verified when
     * all match. A missing, damaged or altered file or a difference is `ok: false` with its
     * problems; what a retry may mend (a server down) is thrown. The scratch database is dropped
     * whatever happened.
     */
    async verifyBackupRestore(input: VerifyBackupInput): Promise<BackupVerificationResult> {
      const { keyring, backups } = configured();
      const { migrationsDir } = deps;
      if (!migrationsDir)
        throw new LandlordError(
          'Misconfigured',
          'this data worker verifies no backups: it was started without the application migrations folder',
        );
      const { tenantId, backupId } = input;
      const signal = Context.current().cancellationSignal;
      const backup = await store.backups.get(tenantId, backupId);
      if (!backup) throw new LandlordError('NotFound', `tenant ${tenantId} has no backup ${backupId}`);
      const startedAt = new Date().toISOString();
      const serverUrl = directory.serverUrl(input.region ?? backup.region);
      const problems: string[] = [];
      const readBack = new Map<string, { rows: number; sha256: string }>();
      let restoreMs = 0;
      const progress = stepProgressWriter(store, input.stepRef);
      const total = backup.tables.length * 2;
      let done = 0;
      const life = heartbeats({ backupId });
      let current: string | undefined;
      /** Heartbeats; a table begun moves the step's progress on. */
      const step = (details: Record<string, unknown>, table: string) => {
        life.beat(details);
        if (signal.aborted) throw new CancelledFailure('the verification was cancelled');
        if (table !== current) progress.report({ done: done++, total, current: (current = table) });
      };
      try {
        if (backup.status === 'expired')
          problems.push(`it expired${backup.expiredAt ? ` at ${backup.expiredAt}` : ''}: its file is gone`);
        else
          await withScratchDatabase(
            serverUrl,
            async (url) => {
              const c = new pg.Client({ connectionString: url, application_name: 'landlord-restore' });
              c.on('error', () => undefined);
              await c.connect();
              try {
                life.beat({ stage: 'migrate' });
                try {
                  await applyApplicationMigrations(c, migrationsDir);
                } catch (err) {
                  if (!refusedByDatabase(err)) throw err;
                  problems.push(`the application's migrations fail in a scratch database: ${err.message}`);
                  return;
                }
                const applied = await c.query<{ name: string }>(
                  `SELECT name FROM public.${q(MIGRATIONS_TABLE)}`,
                );
                if (!applied.rows.some((r) => r.name === backup.schemaVersion))
                  problems.push(
                    `its schema version ${backup.schemaVersion} is none of the application's migrations`,
                  );

                const began = performance.now();
                await c.query('BEGIN');
                let restored: BackupRestoreResult;
                try {
                  restored = await restoreBackupInto(c, {
                    keyring,
                    objects: backups,
                    backup,
                    signal,
                    onEntry: (name) => step({ stage: 'restore', entry: name }, name.split('/')[1] ?? name),
                  });
                } catch (err) {
                  await c.query('ROLLBACK').catch(() => undefined);
                  if (!refusedByDatabase(err)) throw err;
                  problems.push(`Postgres refused its data: ${err.message}`);
                  return;
                }
                if (restored.problems.length > 0) {
                  await c.query('ROLLBACK');
                  problems.push(...restored.problems);
                  return;
                }
                await c.query('COMMIT');
                restoreMs = Math.round(performance.now() - began);

                await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
                await c.query(`SELECT ${COPY_TEXT_SETTINGS}`);
                for (const table of backup.tables) {
                  step({ stage: 'read back', table: table.name }, table.name);
                  const described = manifest.tables.find((t) => t.name === table.name);
                  if (!described) {
                    problems.push(`${table.name}: not a table of the application's manifest`);
                    continue;
                  }
                  const select = tableSelect(described, table.columns, await primaryKeyOf(c, table.name), {
                    id: backup.tenantId,
                    deploymentModel: backup.deploymentModel,
                  });
                  const hash = createHash('sha256');
                  let rows = 0;
                  for await (const data of c.query(
                    copyTo(`COPY (${select}) TO STDOUT`),
                  ) as AsyncIterable<Buffer>) {
                    hash.update(data);
                    for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) rows++;
                  }
                  readBack.set(table.name, { rows, sha256: hash.digest('hex') });
                }
                await c.query('COMMIT');
              } finally {
                await c.end().catch(() => undefined);
              }
            },
            input.drillOperationId ? drillTag(input.drillOperationId) : undefined,
          );
      } finally {
        life.stop();
        await progress.settle();
      }

      const tables = backup.tables.map((t) => {
        const found = readBack.get(t.name);
        return {
          name: t.name,
          rows: found?.rows ?? 0,
          expectedRows: t.rows,
          sha256: found?.sha256 ?? '',
          expectedSha256: t.sha256,
        };
      });
      if (problems.length === 0)
        for (const t of tables) {
          if (!readBack.has(t.name)) problems.push(`${t.name}: not read back`);
          else if (t.rows !== t.expectedRows || t.sha256 !== t.expectedSha256)
            problems.push(
              `${t.name}: ${t.rows} rows read back, ${t.expectedRows} recorded` +
                (t.sha256 !== t.expectedSha256 ? ', and its SHA-256 differs from the recorded one' : ''),
            );
        }
      const finishedAt = new Date().toISOString();
      const ok = problems.length === 0;
      if (ok) await store.backups.markVerified(tenantId, backupId, finishedAt);
      return { backupId, tenantId, ok, startedAt, finishedAt, restoreMs, tables, problems };
    },
  };
}

/** The backup activities, as workflows proxy them. */
export type BackupActivities = ReturnType<typeof createBackupActivities>;
