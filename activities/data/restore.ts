/**
 * Restoring a tenant from one of its backups, on the `landlord-data` queue
 * (docs/disaster-recovery.md): the data-plane side of a `restore` operation, in two steps and a
 * compensation.
 *
 * - `stageTenantRestore`: a silo's backup is restored into a staging database beside the live one
 *   (the tenant's rows stay as they are meanwhile); a pool's backup is only read through and
 *   checked, because the pool has no database of the tenant's own to stage into (below).
 * - `switchRestoredTenant`: the silo's staging database takes the live one's name; the pool
 *   tenant's rows are replaced by the backup's in one transaction.
 * - `discardStagedRestore`: a failure before the switch drops the staging database.
 *
 * Every erasure the tenant's erasure list records from the backup's snapshot on is applied again
 * to the restored rows before they go live (`reapplyErasures`), with evidence in the restored
 * database's deletion outbox for `forwardDeletionEvidence` to take to the ledger, so a restore
 * never brings back a person who asked to be forgotten.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import pg from 'pg';
import { holdActive, LandlordError, siloNames } from '../../domain/index.js';
import type { TenantBackup, TenantRecord } from '../../domain/index.js';
import { withDatabase } from '../../dataplane/connection.js';
import { DELETION_OUTBOX_SQL, drainOutbox } from '../../dataplane/expiry.js';
import { createClosedDatabase, retryRaces, revokePublicSql } from '../../dataplane/hardening.js';
import { applyApplicationMigrations, MIGRATIONS_TABLE } from '../../dataplane/migrations.js';
import {
  dropRestoreDatabase,
  openRestoreDatabaseToOwner,
  recordedRestore,
  recordReplacedRows,
  RESTORES_SQL,
  siloDatabases,
  siloRestoreNames,
  siloTableRows,
} from '../../dataplane/restore-databases.js';
import type { ReplacedRowsEntry } from '../../dataplane/restore-databases.js';
import {
  searchPathPinned,
  secureSiloDatabase,
  siloOwnerPassword,
  siloOwnerUrl,
} from '../../dataplane/silo.js';
import { readBackupArchive } from '../backups/archive.js';
import type { BackupObjectStore } from '../backups/object-store.js';
import type { TenantKeyring } from '../keys/index.js';
import { POOL_DATABASE } from '../pool/names.js';
import { takeLock } from '../pool/schema.js';
import { stepProgressWriter } from '../step-progress.js';
import type { StepRef } from '../step-ref.js';
import { restoreBackupInto } from './backup.js';
import type { BackupDeps, BackupRestoreResult } from './backup.js';
import { reapplyErasures } from './erasure-reapplication.js';
import type { ErasureReapplication } from './erasure-reapplication.js';
import { refusedByDatabase } from '../../dataplane/table-catalog.js';

const q = pg.escapeIdentifier;
/** How often a long restore heartbeats, so a live one is not taken for a dead one. */
const BEAT_MS = 10_000;
const APPLICATION_NAME = 'landlord-restore';
/**
 * Erasures recorded up to this long before a backup's snapshot are applied again too: the
 * registry's clock (erasedAt) and the region server's (takenAt) may differ, and applying an
 * erasure whose rows the snapshot no longer holds erases nothing.
 */
const CLOCK_SKEW_MS = 5 * 60_000;
/** How long the pool restore waits for a row lock a tenant session holds before it fails (and is retried). */
const POOL_LOCK_TIMEOUT = '30s';

/** The tenant as a restore needs it: where its rows are, and as what. */
type RestoredTenant = Pick<TenantRecord, 'id' | 'tier' | 'region' | 'deploymentModel'>;

/** What staging a tenant's restore takes: the operation, the tenant, and the backup to restore. */
export interface StageRestoreInput {
  stepRef?: StepRef;
  /** The restore operation: the staging database's name and every evidence record derive from it. */
  operationId: string;
  /**
   * The operation's run. The restore workflow leaves it out: what a restore stages and records
   * derives from its operation alone, so that a retried run finds what an earlier run switched.
   */
  run?: number;
  tenant: RestoredTenant;
  backupId: string;
  /** Who asked for the restore: what the re-applied erasures' ledger records name. */
  requestedBy?: string;
}

/** What switching a tenant to its restored rows takes: the staging's input, and what it answered. */
export interface SwitchRestoreInput extends StageRestoreInput {
  /** The staging database stageTenantRestore named (silo); absent: derived from the operation. */
  stagedDatabase?: string;
}

/** What dropping a restore's staging database takes: its name, or the operation it derives from. */
export interface DiscardRestoreInput {
  tenant: RestoredTenant;
  stagedDatabase?: string;
  operationId?: string;
  run?: number;
}

/** One restored table: its rows of the tenant now, and what the backup less re-applied deletions leaves. */
export interface RestoredTable {
  name: string;
  rows: number;
  expectedRows: number;
}

/** A staged restore: a silo's staging database, restored and checked; for a pool, the checked plan. */
export interface StagedRestore extends ErasureReapplication {
  backupId: string;
  /** The backup's snapshot time: its newest data is from then. */
  takenAt: string;
  /** Silo: the staging database on the tenant's region server. Pool: absent (nothing is staged). */
  stagedDatabase?: string;
  /** Silo: as restored. Pool: the backup's tables as read through (erasures are counted at the switch). */
  tables: RestoredTable[];
}

/** A restore that went live. */
export interface SwitchedRestore extends ErasureReapplication {
  switchedAt: string;
  /** The backup's snapshot time: the restored data is from then (what the RPO is measured to). */
  takenAt: string;
  tables: RestoredTable[];
}

/** What a restore records of itself in landlord.restores (and answers with again on a retry). */
type RecordedRestore = ErasureReapplication & { backupId: string; takenAt: string; tables: RestoredTable[] };

/** The tenant's rows of a table, in the database `c` is connected to. */
async function tenantRows(c: pg.ClientBase, table: { name: string; tenantKey: string }, tenantId: string) {
  const { rows } = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM public.${q(table.name)} WHERE ${q(table.tenantKey)} = $1`,
    [tenantId],
  );
  return rows[0]!.n;
}

/** What a restore's `restore.replace` records share: its operation and requester, and the backup. */
function replacedEntry(input: StageRestoreInput, backup: TenantBackup, database: string): ReplacedRowsEntry {
  return {
    region: input.tenant.region,
    database,
    operationId: input.operationId,
    requestedBy: input.requestedBy ?? 'landlord:restore',
    policy: { backupId: backup.id, takenAt: backup.takenAt },
  };
}

/** Runs `work` on a connection of its own to `url`, closed afterwards. */
async function withConnection<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The restore activities: staging a tenant's restore, switching it live, and discarding a staged one. */
export function createRestoreActivities(deps: BackupDeps) {
  const { directory, manifest, store, secret } = deps;

  const configured = () => {
    if (!deps.keyring || !deps.backups)
      throw new LandlordError(
        'Misconfigured',
        'this data worker restores no backups: it was started without a keyring or a backup store',
      );
    return { keyring: deps.keyring, backups: deps.backups };
  };

  /**
   * Heartbeats with `details` now and every BEAT_MS until `stop`; `beat` also stops a cancelled
   * restore, and tells `onEntry` of each archive entry begun (step progress).
   */
  const heartbeats = (first: Record<string, unknown>, onEntry?: (entry: string) => void) => {
    const context = Context.current();
    let latest = first;
    const timer = setInterval(() => context.heartbeat(latest), BEAT_MS);
    return {
      signal: context.cancellationSignal,
      beat(details: Record<string, unknown> = {}) {
        latest = { ...first, ...details };
        context.heartbeat(latest);
        if (typeof details.entry === 'string') onEntry?.(details.entry);
        if (context.cancellationSignal.aborted) throw new CancelledFailure('the restore was cancelled');
      },
      stop: () => clearInterval(timer),
    };
  };
  type Life = ReturnType<typeof heartbeats>;

  /**
   * The backup as the catalog has it, provided it may be restored into the tenant as the tenant
   * is now: its own, of its deployment model, and of tables the manifest knows.
   */
  async function restorableBackup(
    tenant: RestoredTenant,
    backupId: string,
    { needFile }: { needFile: boolean },
  ): Promise<TenantBackup> {
    const backup = await store.backups.get(tenant.id, backupId);
    if (!backup) throw new LandlordError('NotFound', `tenant ${tenant.id} has no backup ${backupId}`);
    if (backup.tenantId !== tenant.id)
      throw new LandlordError(
        'PolicyViolation',
        `backup ${backupId} is tenant ${backup.tenantId}'s, not tenant ${tenant.id}'s: a restore brings a tenant back from its own backups only`,
      );
    if (needFile && backup.status === 'expired')
      throw new LandlordError(
        'NotFound',
        `backup ${backupId} of tenant ${tenant.id} expired${backup.expiredAt ? ` at ${backup.expiredAt}` : ''}: its file is gone; restore a newer backup`,
      );
    if (backup.deploymentModel !== tenant.deploymentModel)
      throw new LandlordError(
        'PolicyViolation',
        `backup ${backupId} holds tenant ${tenant.id}'s rows as a ${backup.deploymentModel} tenant, and the tenant is a ` +
          `${tenant.deploymentModel} tenant now (tier ${tenant.tier}): a restore does not move a tenant between pool and silo; ` +
          `restore a backup taken since the tier move, or move the tenant back to a ${backup.deploymentModel} tier first`,
        { backupDeploymentModel: backup.deploymentModel, tenantDeploymentModel: tenant.deploymentModel },
      );
    const unknown = backup.tables.filter((t) => !manifest.tables.some((m) => m.name === t.name));
    if (unknown.length > 0)
      throw new LandlordError(
        'SchemaDrift',
        `backup ${backupId} of tenant ${tenant.id} holds table(s) ${unknown.map((t) => t.name).join(', ')}, which the application's manifest no longer names`,
      );
    return backup;
  }

  /** Refuses while any legal hold of the tenant is in force: a restore replaces every row of the tenant. */
  async function refuseUnderHolds(tenantId: string): Promise<void> {
    const at = new Date().toISOString();
    const held = (await store.legalHolds.list(tenantId)).filter((h) => holdActive(h, at)).map((h) => h.id);
    if (held.length > 0)
      throw new LandlordError(
        'PolicyViolation',
        `restore would overwrite rows under legal hold(s) ${held.join(', ')} of tenant ${tenantId}; ` +
          'release them, or wait until they end, then restore',
        { holds: held },
      );
  }

  /** Restores the backup's rows in `c`'s open transaction; whatever is wrong with them is thrown. */
  async function restoreRows(
    c: pg.ClientBase,
    backup: TenantBackup,
    { keyring, backups }: { keyring: TenantKeyring; backups: BackupObjectStore },
    life: Life,
  ): Promise<BackupRestoreResult> {
    let restored: BackupRestoreResult;
    try {
      restored = await restoreBackupInto(c, {
        keyring,
        objects: backups,
        backup,
        signal: life.signal,
        onEntry: (entry) => life.beat({ stage: 'restore', entry }),
      });
    } catch (err) {
      if (refusedByDatabase(err))
        throw new LandlordError(
          'DataRejected',
          `Postgres refused backup ${backup.id}'s rows of tenant ${backup.tenantId}: ${err.message}`,
        );
      throw err;
    }
    if (restored.problems.length > 0)
      throw new LandlordError(
        'DataVerificationFailed',
        `backup ${backup.id} of tenant ${backup.tenantId} did not restore whole, so nothing of it was kept: ${restored.problems.join('; ')}`,
        { problems: restored.problems },
      );
    // Every row COPY took in must be the tenant's: in the pool another tenant key would land the
    // row in another tenant's partition.
    for (const t of restored.tables) {
      const rows = await tenantRows(
        c,
        manifest.tables.find((m) => m.name === t.name)!,
        backup.tenantId,
      );
      if (rows !== t.rows)
        throw new LandlordError(
          'DataVerificationFailed',
          `${t.name}: ${t.rows - rows} of the ${t.rows} rows in backup ${backup.id} are not tenant ${backup.tenantId}'s`,
        );
    }
    return restored;
  }

  /**
   * Applies the tenant's erasures since about the backup's snapshot to the restored rows (in
   * `c`'s open transaction), then checks each table's rows: the backup's less those deleted.
   */
  async function reapplyAndVerify(
    c: pg.ClientBase,
    input: StageRestoreInput,
    backup: TenantBackup,
    keyring: TenantKeyring,
    database: string,
    life: Life,
  ): Promise<RecordedRestore> {
    const { tenant, operationId } = input;
    const since = new Date(Date.parse(backup.takenAt) - CLOCK_SKEW_MS).toISOString();
    const erasures = await store.erasures.erasureList(tenant.id, { since });
    const reapply = (hmac: (subject: string) => string) =>
      reapplyErasures(c, {
        manifest,
        tenantId: tenant.id,
        erasures,
        hmac,
        recordKeyPrefix: `restore:${operationId}:${input.run ?? 1}`,
        entry: {
          region: tenant.region,
          database,
          operationId,
          requestedBy: input.requestedBy ?? 'landlord:restore',
          policy: { reappliedBy: 'restore', backupId: backup.id },
        },
        onBatch: () => life.beat({ stage: 'reapply-erasures' }),
      });
    const reapplied =
      erasures.length > 0
        ? await keyring.withSubjectHmac(tenant.id, reapply)
        : { erasuresChecked: 0, erasuresReapplied: 0, rowsErased: 0, deleted: {} as Record<string, number> };

    const tables: RestoredTable[] = [];
    for (const t of backup.tables) {
      life.beat({ stage: 'verify', table: t.name });
      const rows = await tenantRows(
        c,
        manifest.tables.find((m) => m.name === t.name)!,
        tenant.id,
      );
      tables.push({ name: t.name, rows, expectedRows: t.rows - (reapplied.deleted[t.name] ?? 0) });
    }
    const differ = tables.filter((t) => t.rows !== t.expectedRows);
    if (differ.length > 0)
      throw new LandlordError(
        'DataVerificationFailed',
        `the restored rows of tenant ${tenant.id} do not match backup ${backup.id} less the erasures applied again: ` +
          differ.map((t) => `${t.name} has ${t.rows} rows, ${t.expectedRows} expected`).join('; '),
        { tables: differ },
      );
    return {
      backupId: backup.id,
      takenAt: backup.takenAt,
      tables,
      erasuresChecked: reapplied.erasuresChecked,
      erasuresReapplied: reapplied.erasuresReapplied,
      rowsErased: reapplied.rowsErased,
    };
  }

  /**
   * Fails unless the region's pool database has applied the backup's schema version. An older
   * version restores column by column as the backup names them; the application's data migrations
   * since then are not run again on the restored rows (they are in a silo's staging database).
   */
  async function requirePoolSchema(c: pg.ClientBase, backup: TenantBackup, region: string): Promise<void> {
    const { rowCount } = await c.query(`SELECT 1 FROM public.${q(MIGRATIONS_TABLE)} WHERE name = $1`, [
      backup.schemaVersion,
    ]);
    if (rowCount === 0)
      throw new LandlordError(
        'SchemaDrift',
        `backup ${backup.id} was taken at the application's schema version ${backup.schemaVersion}, ` +
          `which the pool database of ${region} has not applied`,
      );
  }

  /** Runs `work` as the region server's superuser, on its maintenance database (never a tenant's). */
  const onServer = <T>(region: string, work: (c: pg.Client) => Promise<T>) =>
    withConnection(withDatabase(directory.serverUrl(region), 'postgres'), work);
  /** A database of the silo's server as the silo's owner role (never a superuser inside a silo). */
  const asOwner = (tenant: RestoredTenant, database: string) =>
    withDatabase(
      siloOwnerUrl(directory.serverUrl(tenant.region), tenant.region, tenant.id, secret),
      database,
    );

  /** Migrates a fresh database, as its owner, up to `version` of the application's migrations and no further. */
  async function migrateTo(c: pg.ClientBase, migrationsDir: string, version: string): Promise<void> {
    const applied = async () => {
      const present = await c.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
        `public.${MIGRATIONS_TABLE}`,
      ]);
      if (!present.rows[0]!.present) return [];
      return (await c.query<{ name: string }>(`SELECT name FROM public.${q(MIGRATIONS_TABLE)}`)).rows.map(
        (r) => r.name,
      );
    };
    for (let done = await applied(); !done.includes(version);) {
      await applyApplicationMigrations(c, migrationsDir, { count: 1 });
      const now = await applied();
      if (now.length === done.length)
        throw new LandlordError(
          'SchemaDrift',
          `the backup was taken at the application's schema version ${version}, which is none of its migrations`,
        );
      done = now;
    }
  }

  /** Stages a silo restore: the staging database made afresh (or found complete), restored, checked. */
  async function stageSilo(
    input: StageRestoreInput,
    backup: TenantBackup,
    opened: { keyring: TenantKeyring; backups: BackupObjectStore },
    life: Life,
  ): Promise<StagedRestore> {
    const { tenant, operationId } = input;
    const run = input.run ?? 1;
    const { migrationsDir } = deps;
    if (!migrationsDir)
      throw new LandlordError(
        'Misconfigured',
        'this data worker restores no silo: it was started without the application migrations folder',
      );
    const names = siloRestoreNames(tenant.id, operationId, run);
    const found = await onServer(tenant.region, (c) => siloDatabases(c, names.live));
    const live = found.find((d) => d.name === names.live);
    if (!live)
      throw new LandlordError(
        'NotFound',
        `tenant ${tenant.id} has no silo database ${names.live} in region ${tenant.region} to restore`,
      );
    // Switched already (a stage retried after its switch): the record went live with the rows.
    if (live.comment === names.marker) {
      const recorded = await withConnection(asOwner(tenant, names.live), (c) =>
        recordedRestore<RecordedRestore>(c, operationId, run),
      );
      if (recorded) return { ...recorded.result, stagedDatabase: names.staged };
    }
    const staged = found.find((d) => d.name === names.staged);
    if (staged?.allowConnections && staged.comment === names.marker) {
      const recorded = await withConnection(asOwner(tenant, names.staged), (c) =>
        recordedRestore<RecordedRestore>(c, operationId, run),
      );
      if (recorded) return { ...recorded.result, stagedDatabase: names.staged };
    }

    await onServer(tenant.region, async (c) => {
      // One operation of a tenant runs at a time: any other restore database of this silo belongs
      // to a restore that has ended (a staging database a failed compensation left, a pre-restore
      // database a crash kept), and so does a half-made staging database of this one.
      for (const d of found) if (d.name !== names.live) await dropRestoreDatabase(c, d.name);
      // Made closed, with PUBLIC's rights revoked before it opens: no tenant can connect at any moment.
      const { owner } = siloNames(tenant.id);
      await createClosedDatabase(c, names.staged, { owner, comment: names.marker });
    });
    // What every silo is inside, before anything of the tenant's is in it (secureSiloDatabase does
    // the same again when it goes live): a superuser here is safe, no tenant can log in yet.
    await withConnection(searchPathPinned(directory.serverDatabaseUrl(tenant.region, names.staged)), (c) =>
      c.query(revokePublicSql(names.staged)),
    );

    return withConnection(asOwner(tenant, names.staged), async (c) => {
      await c.query(DELETION_OUTBOX_SQL);
      await c.query(RESTORES_SQL);
      life.beat({ stage: 'migrate' });
      // The schema the backup was taken at, then the rest on the restored rows: the application's
      // data migrations since then run on them as they ran on the live database.
      await migrateTo(c, migrationsDir, backup.schemaVersion);
      await c.query('BEGIN');
      try {
        await restoreRows(c, backup, opened, life);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      await applyApplicationMigrations(c, migrationsDir);
      await c.query('BEGIN');
      try {
        const result = await reapplyAndVerify(c, input, backup, opened.keyring, names.live, life);
        await c.query(
          `INSERT INTO landlord.restores (operation_id, run, tenant_id, backup_id, result) VALUES ($1, $2, $3, $4, $5)`,
          [operationId, run, tenant.id, backup.id, JSON.stringify(result)],
        );
        await c.query('COMMIT');
        return { ...result, stagedDatabase: names.staged };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Switches a silo to its staging database. Before the live database closes, erasures recorded
   * since staging are applied to the staging database too, the live one's outbox is forwarded to
   * the ledger and its unrecorded storage batches carried over; then the live database is closed,
   * its sessions ended, and both renamed in one transaction. The pre-restore database's rows are
   * counted into `restore.replace` records in the new live database's outbox, then it is dropped
   * whole: a restore replaces all of a tenant's rows at once by design, not in batches.
   */
  async function switchSilo(
    input: SwitchRestoreInput,
    backup: TenantBackup,
    keyring: TenantKeyring,
    life: Life,
  ): Promise<SwitchedRestore> {
    const { tenant, operationId } = input;
    const run = input.run ?? 1;
    const names = siloRestoreNames(tenant.id, operationId, run);
    if (input.stagedDatabase !== undefined && input.stagedDatabase !== names.staged)
      throw new LandlordError(
        'ValidationFailed',
        `${input.stagedDatabase} is not the staging database of restore ${operationId} run ${run} (${names.staged})`,
      );
    const owner = siloNames(tenant.id);
    const serverUrl = directory.serverUrl(tenant.region);

    /**
     * Before the pre-restore database goes: its rows per manifest table, the tenant's rows the
     * restore replaced, as `restore.replace` records in the live database's outbox (one
     * transaction; a retry writes the same keys, which add nothing).
     */
    const recordReplaced = async () => {
      const found = await onServer(tenant.region, (c) => siloDatabases(c, names.live));
      const pre = found.find((d) => d.name === names.preRestore);
      if (!pre) return;
      await onServer(tenant.region, (c) => openRestoreDatabaseToOwner(c, pre, owner.role));
      life.beat({ stage: 'count-replaced' });
      const tables = manifest.tables.map((t) => t.name);
      const rows = await withConnection(asOwner(tenant, names.preRestore), (c) => siloTableRows(c, tables));
      await withConnection(asOwner(tenant, names.live), async (c) => {
        await c.query(DELETION_OUTBOX_SQL);
        await c.query('BEGIN');
        try {
          await recordReplacedRows(c, {
            tenantId: tenant.id,
            run,
            tables: manifest.tables.map((t) => ({ ...t, rows: rows[t.name]! })),
            entry: replacedEntry(input, backup, names.live),
          });
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    };

    /** After the rename: the tenant's role let in again, the pre-restore database gone, the recorded result. */
    const finish = async (): Promise<SwitchedRestore> => {
      life.beat({ stage: 'secure' });
      await secureSiloDatabase(serverUrl, {
        database: owner.database,
        role: owner.role,
        owner: owner.owner,
        ownerPassword: siloOwnerPassword(secret, tenant.region, tenant.id),
      });
      await recordReplaced();
      await onServer(tenant.region, (c) => dropRestoreDatabase(c, names.preRestore));
      const recorded = await withConnection(asOwner(tenant, names.live), (c) =>
        recordedRestore<RecordedRestore>(c, operationId, run),
      );
      if (!recorded?.switchedAt)
        throw new LandlordError(
          'InternalError',
          `silo ${names.live} carries restore ${operationId} run ${run}'s mark but no record of it`,
        );
      const { backupId: _backupId, ...result } = recorded.result;
      return { ...result, switchedAt: recorded.switchedAt };
    };

    const found = await onServer(tenant.region, (c) => siloDatabases(c, names.live));
    const live = found.find((d) => d.name === names.live);
    if (live?.comment === names.marker) return finish();
    await refuseUnderHolds(tenant.id);
    const staged = found.find((d) => d.name === names.staged);
    if (!live || !staged?.allowConnections || staged.comment !== names.marker)
      throw new LandlordError(
        'NotFound',
        `restore ${operationId} run ${run} of tenant ${tenant.id} has nothing staged to switch to` +
          (live ? '' : `, and the silo has no database ${names.live}`) +
          ': stage it first',
      );

    await withConnection(asOwner(tenant, names.staged), async (c) => {
      if (!(await recordedRestore<RecordedRestore>(c, operationId, run)))
        throw new LandlordError(
          'NotFound',
          `restore ${operationId} run ${run} of tenant ${tenant.id} was not staged to its end: stage it again`,
        );
      // Erasures recorded while the restore waited (for an approval) went to the live rows only.
      await c.query('BEGIN');
      try {
        const result = await reapplyAndVerify(c, input, backup, keyring, names.live, life);
        await c.query(
          `UPDATE landlord.restores SET result = $3, switched_at = now() WHERE operation_id = $1 AND run = $2`,
          [operationId, run, JSON.stringify(result)],
        );
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });

    // Closed by an attempt that got this far already: its forwarding and carrying-over were done.
    if (live.allowConnections) {
      life.beat({ stage: 'forward-evidence' });
      await withConnection(asOwner(tenant, names.live), async (from) => {
        await from.query(DELETION_OUTBOX_SQL);
        await drainOutbox(from, tenant.id, async (entry) => {
          await store.ledger.append(entry);
        });
        const pending = await from.query<{ record_key: string; tenant_id: string; entry: unknown }>(
          'SELECT record_key, tenant_id, entry FROM landlord.object_deletions',
        );
        if (pending.rows.length > 0)
          await withConnection(asOwner(tenant, names.staged), async (to) => {
            for (const r of pending.rows)
              await to.query(
                `INSERT INTO landlord.object_deletions (record_key, tenant_id, entry) VALUES ($1, $2, $3)
                 ON CONFLICT (record_key) DO NOTHING`,
                [r.record_key, r.tenant_id, JSON.stringify(r.entry)],
              );
          });
      });
    }

    life.beat({ stage: 'switch' });
    await onServer(tenant.region, async (c) => {
      // Closed first, so no session can come back between the terminations and the renames.
      await c.query(`ALTER DATABASE ${q(names.live)} ALLOW_CONNECTIONS false`);
      try {
        for (let attempt = 0; ; attempt++) {
          const { rows } = await c.query<{ n: number }>(
            `SELECT count(pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity
              WHERE datname = ANY($1) AND pid <> pg_backend_pid()`,
            [[names.live, names.staged]],
          );
          if (rows[0]!.n === 0) break;
          if (attempt >= 5)
            throw new LandlordError(
              'Transient',
              `sessions on ${names.live} did not end; the switch is tried again`,
            );
        }
        // Postgres renames databases inside a transaction: both names change at once, or neither.
        await c.query('BEGIN');
        await c.query(`ALTER DATABASE ${q(names.live)} RENAME TO ${q(names.preRestore)}`);
        await c.query(`ALTER DATABASE ${q(names.staged)} RENAME TO ${q(names.live)}`);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        // Not switched: the tenant gets its database back as it was.
        await c.query(`ALTER DATABASE ${q(names.live)} ALLOW_CONNECTIONS true`).catch(() => undefined);
        throw err;
      }
    });
    return finish();
  }

  /**
   * Replaces a pool tenant's rows with the backup's, in one transaction under the tenant's
   * partition lock: its rows deleted from every manifest table (children first, each table's count
   * a `restore.replace` record in the pool's outbox), the backup restored, erasures applied again,
   * the counts checked, and the restore recorded in landlord.restores. A retry after the commit
   * finds the record and restores nothing again. Not batched, unlike every other deletion: a
   * restore is all or nothing by design, and a batch committed alone would leave the tenant with
   * neither its rows nor the backup's.
   */
  async function switchPool(
    input: SwitchRestoreInput,
    backup: TenantBackup,
    opened: { keyring: TenantKeyring; backups: BackupObjectStore },
    life: Life,
  ): Promise<SwitchedRestore> {
    const { tenant, operationId } = input;
    const run = input.run ?? 1;
    if (!directory.regions.has(tenant.region))
      throw new LandlordError(
        'Misconfigured',
        `region ${tenant.region} has no Postgres server this worker reaches; a restore of its tenants needs one`,
      );
    return withConnection(directory.databaseUrl(tenant.region), async (c) => {
      await retryRaces(() => c.query(RESTORES_SQL));
      await c.query('BEGIN');
      try {
        await c.query(`SELECT set_config('lock_timeout', $1, true)`, [POOL_LOCK_TIMEOUT]);
        await takeLock(c, `partition:${tenant.id}`);
        const recorded = await recordedRestore<RecordedRestore>(c, operationId, run);
        if (recorded) {
          await c.query('ROLLBACK');
          const { backupId: _backupId, ...result } = recorded.result;
          return { ...result, switchedAt: recorded.switchedAt! };
        }
        await refuseUnderHolds(tenant.id);
        if (backup.status === 'expired')
          throw new LandlordError(
            'NotFound',
            `backup ${backup.id} of tenant ${tenant.id} expired${backup.expiredAt ? ` at ${backup.expiredAt}` : ''}: its file is gone; restore a newer backup`,
          );
        await requirePoolSchema(c, backup, tenant.region);
        const replaced: { name: string; dataClass: string; rows: number }[] = [];
        for (const t of [...manifest.tables].reverse()) {
          life.beat({ stage: 'replace', table: t.name });
          const deleted = await c.query(`DELETE FROM public.${q(t.name)} WHERE ${q(t.tenantKey)} = $1`, [
            tenant.id,
          ]);
          replaced.push({ name: t.name, dataClass: t.dataClass, rows: deleted.rowCount ?? 0 });
        }
        // Committed with the deletions, or not at all.
        await recordReplacedRows(c, {
          tenantId: tenant.id,
          run,
          tables: replaced,
          entry: replacedEntry(input, backup, POOL_DATABASE),
        });
        await restoreRows(c, backup, opened, life);
        const result = await reapplyAndVerify(c, input, backup, opened.keyring, POOL_DATABASE, life);
        const switchedAt = new Date().toISOString();
        await c.query(
          `INSERT INTO landlord.restores (operation_id, run, tenant_id, backup_id, result, switched_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [operationId, run, tenant.id, backup.id, JSON.stringify(result), switchedAt],
        );
        await c.query('COMMIT');
        const { backupId: _backupId, ...switched } = result;
        return { ...switched, switchedAt };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  return {
    /**
     * Stages a tenant's restore from one of its backups. Silo: the backup restored into a fresh
     * staging database on the tenant's region server, closed to tenants and owned by the silo's
     * owner role, migrated, the erasures since the backup applied again and every table's rows
     * checked; a retry finds a complete staging database, or drops a half-made one and starts
     * again. Pool: the backup's file read through and checked; the rows are restored at the switch.
     * Refused under any legal hold of the tenant.
     */
    async stageTenantRestore(input: StageRestoreInput): Promise<StagedRestore> {
      const opened = configured();
      const { tenant } = input;
      const backup = await restorableBackup(tenant, input.backupId, { needFile: true });
      await refuseUnderHolds(tenant.id);
      const progress = stepProgressWriter(store, input.stepRef);
      let done = 0;
      const total = backup.tables.length;
      let current: string | undefined;
      const life = heartbeats({ backupId: backup.id }, (entry) => {
        const table = entry.split('/')[1];
        if (table && table !== current) progress.report({ done: done++, total, current: (current = table) });
      });
      try {
        if (tenant.deploymentModel === 'silo') {
          const staged = await stageSilo(input, backup, opened, life);
          await progress.finish({ done: total, total });
          return staged;
        }
        await withConnection(directory.databaseUrl(tenant.region), (c) =>
          requirePoolSchema(c, backup, tenant.region),
        );
        // A pool has no database of the tenant's own to stage into, and its restore is one
        // transaction at the switch that changes nothing when anything fails: restoring into a
        // scratch database now would cost a whole restore and prove little more than this read,
        // which finds a missing, damaged or altered file before the operation goes further.
        const read = await readBackupArchive({
          keyring: opened.keyring,
          objects: opened.backups,
          backup,
          signal: life.signal,
          onEntry: (entry) => life.beat({ stage: 'read', entry }),
        });
        if (read.problems.length > 0)
          throw new LandlordError(
            'DataVerificationFailed',
            `backup ${backup.id} of tenant ${tenant.id} cannot be restored: ${read.problems.join('; ')}`,
            { problems: read.problems },
          );
        await progress.finish({ done: total, total });
        return {
          backupId: backup.id,
          takenAt: backup.takenAt,
          tables: read.tables.map((t) => ({
            name: t.name,
            rows: t.rows,
            expectedRows: backup.tables.find((b) => b.name === t.name)?.rows ?? 0,
          })),
          erasuresChecked: 0,
          erasuresReapplied: 0,
          rowsErased: 0,
        };
      } catch (err) {
        if (life.signal.aborted && !(err instanceof CancelledFailure))
          throw new CancelledFailure('the restore was cancelled');
        throw err;
      } finally {
        life.stop();
        await progress.settle();
      }
    },

    /**
     * Puts the restored rows live. Silo: the staging database takes the live database's name
     * (the live one renamed aside and dropped), secured for the tenant's role. Pool: the tenant's
     * rows replaced by the backup's in one transaction. Either way the erasures recorded since the
     * backup are applied (again) first, and a retry after the switch answers as the first did.
     * Forward the restored database's evidence afterwards with forwardDeletionEvidence.
     */
    async switchRestoredTenant(input: SwitchRestoreInput): Promise<SwitchedRestore> {
      const opened = configured();
      const { tenant } = input;
      // A retry after the switch answers from its record, even once the backup has expired.
      const backup = await restorableBackup(tenant, input.backupId, { needFile: false });
      const progress = stepProgressWriter(store, input.stepRef);
      const life = heartbeats({ backupId: backup.id, stage: 'switch' });
      try {
        const switched =
          tenant.deploymentModel === 'silo'
            ? await switchSilo(input, backup, opened.keyring, life)
            : await switchPool(input, backup, opened, life);
        await progress.finish({ done: 1, total: 1 });
        return switched;
      } catch (err) {
        if (life.signal.aborted && !(err instanceof CancelledFailure))
          throw new CancelledFailure('the restore was cancelled');
        throw err;
      } finally {
        life.stop();
        await progress.settle();
      }
    },

    /**
     * Whether the restore `operationId` has switched the tenant to its backup's data: a pool
     * tenant's restore recorded as switched in the pool database, or a silo's live database carrying
     * the restore's mark. A switch that took effect and then failed is only ever gone on with.
     */
    async restoreTookEffect({
      tenant,
      operationId,
    }: {
      tenant: RestoredTenant;
      operationId: string;
    }): Promise<boolean> {
      if (tenant.deploymentModel === 'pool') {
        const recorded = await withConnection(directory.databaseUrl(tenant.region), (c) =>
          recordedRestore(c, operationId, 1),
        );
        return recorded?.switchedAt !== undefined;
      }
      const names = siloRestoreNames(tenant.id, operationId);
      const found = await onServer(tenant.region, (c) => siloDatabases(c, names.live));
      return found.some((d) => d.name === names.live && d.comment === names.marker);
    },

    /**
     * Compensation for a restore that failed before its switch: drops the silo's staging
     * database if it is there, and opens the live database again should a switch have closed it
     * and stopped short of the rename. Nothing to do for a pool tenant, or after the switch.
     */
    async discardStagedRestore(input: DiscardRestoreInput): Promise<void> {
      const { tenant } = input;
      if (tenant.deploymentModel !== 'silo') return;
      const live = siloNames(tenant.id).database;
      const staged =
        input.stagedDatabase ??
        (input.operationId !== undefined
          ? siloRestoreNames(tenant.id, input.operationId, input.run).staged
          : undefined);
      if (staged === undefined)
        throw new LandlordError(
          'ValidationFailed',
          'discarding a staged restore takes its staging database or its operation',
        );
      if (!new RegExp(`^${live}\\$restore_[0-9a-f]{8}$`).test(staged))
        throw new LandlordError(
          'ValidationFailed',
          `${staged} is no staging database of tenant ${tenant.id}`,
        );
      await onServer(tenant.region, async (c) => {
        const found = await siloDatabases(c, live);
        if (found.some((d) => d.name === staged)) await dropRestoreDatabase(c, staged);
        // Nothing but a switch closes a silo, and only until its renames: closed now, it stopped short.
        if (found.some((d) => d.name === live && !d.allowConnections))
          await c.query(`ALTER DATABASE ${q(live)} ALLOW_CONNECTIONS true`);
      });
    },
  };
}

/** The restore activities, as workflows proxy them. */
export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
