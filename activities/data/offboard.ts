/**
 * An offboarded tenant's final deletion in one of its stores, on the `landlord-data` queue
 * (docs/erasure-and-offboarding.md): once its data key is destroyed, every row of every manifest
 * table, children before the tables they reference (its rows of the region's pool database, or its
 * silo database's), in short batches each with its evidence in the database's outbox
 * (dataplane/tenant-deletion.ts); then a silo's restore databases (what failed restores left),
 * each table's rows recorded before it is dropped; then every file of a local silo's storage
 * folder, through the staging of dataplane/storage-expiry.ts. Even a silo database its stack destroy drops next is
 * emptied this way first: every deletion is batched, resumable, held by legal holds and in the
 * ledger. Any active legal hold of the tenant stops it, before it starts and before every batch
 * (offboarding deletes everything, so every hold covers some of it); calling it again once the
 * holds have ended goes on from there.
 */
import { readdir } from 'node:fs/promises';
import { CancelledFailure, Context } from '@temporalio/activity';
import pg from 'pg';
import { holdActive, siloNames } from '../../domain/index.js';
import type { LedgerEntry, OffboardCount, TenantRecord } from '../../domain/index.js';
import { withDatabase } from '../../dataplane/connection.js';
import { recordNothingErased } from '../../dataplane/erasure.js';
import {
  dropRestoreDatabase,
  openRestoreDatabaseToOwner,
  siloDatabases,
  siloTableRows,
} from '../../dataplane/restore-databases.js';
import { siloOwnerUrl } from '../../dataplane/silo.js';
import { batchKeyOf, nextBatchSize } from '../../dataplane/expiry.js';
import {
  deleteObjectBatch,
  finishObjectDeletions,
  listObjects,
  removeEmptyFolders,
} from '../../dataplane/storage-expiry.js';
import {
  deleteTenantBatch,
  offboardRecordKeyPrefix,
  refuseReferencedRows,
  tenantRowCount,
} from '../../dataplane/tenant-deletion.js';
import type { OffboardEntry } from '../../dataplane/tenant-deletion.js';
import { stepProgressWriter } from '../step-progress.js';
import type { StepRef } from '../step-ref.js';
import type { RetentionDeps } from './retention.js';
import { forwardedRecordCounts, recordedEvidence, tallyOf } from './forwarded-evidence.js';
import { secondStoreExists, siloFoldersOf, storePlacement, withTenantDatabase } from './tenant-database.js';
import type { TenantPlacement } from './tenant-database.js';

const FIRST_BATCH = 500;
/** Files per storage batch: no lock is held while they go, so the size only bounds one record. */
const OBJECT_BATCH = 500;
/**
 * The storage target of the files under no manifest prefix. A manifest prefix always ends in `/`
 * after a segment, so no prefix is `/`, and no table name holds one.
 */
const NO_PREFIX = '/';

export interface DeleteTenantDataInput {
  stepRef?: StepRef;
  /** The offboarding operation: its id keys the evidence, so a repeated call records nothing twice. */
  operationId: string;
  tenant: Pick<TenantRecord, 'id' | 'tier' | 'region' | 'drRegion' | 'deploymentModel'>;
  /** The tenant's primary database and folder, or its DR standby's. */
  store: 'primary' | 'standby';
  requestedBy: string;
}

/** What a call did: `blockedBy` empty once the store is empty, else the holds it stopped for. */
export interface DeleteTenantDataResult {
  blockedBy: string[];
  /** Per table and storage target, from the deletion's evidence so far. */
  counts: OffboardCount[];
}

/** What a call heartbeats, so that a retried attempt skips the targets it finished. */
interface DeletionCursor {
  done: OffboardCount[];
  current?: { target: string; batchSize: number; afterKey?: string };
}

/** One table, storage prefix or the files under none (`/`), as its counts name it. */
interface Target {
  target: string;
  unit: 'rows' | 'objects';
  /** Absent for the files under no prefix: nothing gives them a class. */
  dataClass?: string;
}

/**
 * Removes the empty folders below `root`, deepest first, and keeps `root` itself: the tenant's
 * folder is its stack's resource, which the stack destroy removes.
 */
async function removeEmptySubfolders(root: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) if (entry.isDirectory()) await removeEmptyFolders(root, `${entry.name}/`);
}

/** Runs `work` on a connection of its own to `url`, closed afterwards. */
async function withConnection<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'landlord-offboarding' });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The offboarding deletion's activity over the data worker's deps (workers/data.ts wires them). */
export function createTenantDeletionActivities({
  directory,
  manifest,
  store,
  secret,
  retention,
  objectsRoot,
}: RetentionDeps) {
  const access = { directory, secret };

  /**
   * Drops every restore database of a silo store (`<silo>$restore_…`, `<silo>$pre_…`: what a
   * failed or crashed restore left beside the live database), each table's rows counted first, as
   * the silo's owner, into one `offboard.delete` record per table in the live database's outbox
   * (`live`), keyed `<store prefix><database>:<table>`: none outlives the offboarding unrecorded.
   * Each is dropped whole, like the databases a stack destroy drops: nothing reaches it but Landlord.
   */
  async function dropRestoreDatabases(
    live: pg.ClientBase,
    placement: TenantPlacement,
    { storePrefix, entry, beat }: { storePrefix: string; entry: OffboardEntry; beat: () => void },
  ): Promise<void> {
    const { database, role } = siloNames(placement.id);
    const server = withDatabase(directory.serverUrl(placement.region), 'postgres');
    const owner = siloOwnerUrl(directory.serverUrl(placement.region), placement.region, placement.id, secret);
    const found = await withConnection(server, (c) => siloDatabases(c, database));
    const tables = manifest.tables.map((t) => t.name);
    for (const d of found.filter((f) => f.name !== database)) {
      await withConnection(server, (c) => openRestoreDatabaseToOwner(c, d, role));
      const rows = await withConnection(withDatabase(owner, d.name), (c) => siloTableRows(c, tables));
      await live.query('BEGIN');
      try {
        for (const t of manifest.tables) {
          const recordKey = `${storePrefix}${d.name}:${t.name}`;
          const record: LedgerEntry = {
            ...entry,
            database: d.name,
            dataClass: t.dataClass,
            kind: 'offboard.delete',
            unit: 'rows',
            tenantId: placement.id,
            target: t.name,
            count: rows[t.name]!,
            recordKey,
          };
          await live.query(
            `INSERT INTO landlord.deletion_outbox (record_key, tenant_id, entry) VALUES ($1, $2, $3)
             ON CONFLICT (record_key) DO NOTHING`,
            [recordKey, placement.id, JSON.stringify(record)],
          );
        }
        await live.query('COMMIT');
      } catch (err) {
        await live.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      await withConnection(server, (c) => dropRestoreDatabase(c, d.name));
      beat();
    }
  }

  const order = (table: string) => manifest.tables.findIndex((t) => t.name === table);
  /** What the records of a store's restore databases say was deleted, by database and table. */
  const restoreDatabaseCounts = (
    records: ReadonlyMap<string, number>,
    storePrefix: string,
    of: Pick<OffboardCount, 'store' | 'region'> & { live: string },
  ): OffboardCount[] =>
    [...records]
      .filter(([key]) => key.startsWith(`${storePrefix}${of.live}$`))
      .map(([key, count]) => {
        const [database, target] = key.slice(storePrefix.length).split(':') as [string, string];
        return { store: of.store, region: of.region, database, target, unit: 'rows' as const, count };
      })
      .sort((a, b) => a.database!.localeCompare(b.database!) || order(a.target) - order(b.target));

  /** The ledger's records of one offboarding's store, by record key. */
  async function forwardedRecords(tenantId: string, operationId: string, storePrefix: string) {
    const operation = await store.operations.get(operationId);
    return forwardedRecordCounts(store, {
      tenantId,
      kinds: ['offboard.delete'],
      prefix: storePrefix,
      ...(operation ? { since: operation.createdAt } : {}),
    });
  }

  return {
    /**
     * Deletes every row and file of one store of an offboarded tenant, in batches with their
     * evidence (kind `offboard.delete`). Counts come from that evidence (the store's outbox and
     * what of it the ledger has already), so they are exact across retries, kills and calls; a
     * table or storage target that had nothing gets a record of count 0. Files are counted per
     * manifest storage prefix, and those under none as target `/`.
     */
    async deleteTenantData(input: DeleteTenantDataInput): Promise<DeleteTenantDataResult> {
      const { tenant } = input;
      const placement = storePlacement(tenant, input.store);
      if (!placement) return { blockedBy: [], counts: [] };
      if (input.store === 'standby' && !(await secondStoreExists(access, placement)))
        return { blockedBy: [], counts: [] };
      const context = Context.current();
      const cursor: DeletionCursor = (context.info.heartbeatDetails as DeletionCursor | undefined) ?? {
        done: [],
      };
      const tables = [...manifest.tables].reverse();
      const manifestTables = manifest.tables.map((t) => t.name);
      const folders = siloFoldersOf(objectsRoot, placement);
      const targets: Target[] = [
        ...tables.map((t) => ({ target: t.name, unit: 'rows' as const, dataClass: t.dataClass })),
        ...(folders
          ? [
              ...manifest.storage.map((a) => ({
                target: a.prefix,
                unit: 'objects' as const,
                dataClass: a.dataClass,
              })),
              { target: NO_PREFIX, unit: 'objects' as const },
            ]
          : []),
      ];
      const prefixOf = (target: string) => offboardRecordKeyPrefix(input.operationId, input.store, target);
      const storePrefix = prefixOf('');
      const forwarded = await forwardedRecords(tenant.id, input.operationId, storePrefix);
      const progress = stepProgressWriter(store, input.stepRef);
      const cancelled = () => {
        // Between batches, a cancelled deletion stops: what it did is in its outbox already.
        if (context.cancellationSignal.aborted)
          throw new CancelledFailure("the offboarded tenant's deletion was cancelled");
      };
      const beat = () => {
        cancelled();
        context.heartbeat(cursor);
        progress.report({
          done: cursor.done.length,
          total: targets.length,
          ...(cursor.current ? { current: cursor.current.target } : {}),
        });
      };

      try {
        return await withTenantDatabase(access, placement, 'offboarding', async (c, database) => {
          const entryOf = ({ unit, dataClass }: Target): OffboardEntry => ({
            region: placement.region,
            ...(unit === 'rows' ? { database } : {}),
            ...(dataClass ? { dataClass } : {}),
            operationId: input.operationId,
            requestedBy: input.requestedBy,
          });
          /**
           * Every record of this offboarding in this store, by key: those in the outbox and those
           * forwarded already (recorded ones stay in the outbox until forwarded).
           */
          const recorded = () => recordedEvidence(c, tenant.id, storePrefix, forwarded);
          /** What the committed batches of one target did so far, from their evidence. */
          const countOf = (records: Map<string, number>, { target, unit }: Target) => {
            const { count: n, batches } = tallyOf(records, prefixOf(target));
            const count: OffboardCount = {
              store: input.store,
              region: placement.region,
              ...(unit === 'rows' ? { database } : {}),
              target,
              unit,
              count: n,
            };
            return { count, batches };
          };
          const soFar = async (): Promise<OffboardCount[]> => {
            const records = await recorded();
            return targets.flatMap((t) => {
              const { count, batches } = countOf(records, t);
              return batches > 0 ? [count] : [];
            });
          };
          // Files an earlier attempt took and did not record are recorded before anything is counted.
          if (folders) await finishObjectDeletions(c, folders, tenant.id);
          /** The holds that stop the deletion now: any in force, read afresh so one placed meanwhile counts. */
          const blocked = async (): Promise<DeleteTenantDataResult | undefined> => {
            const at = new Date().toISOString();
            const ids = (await store.legalHolds.list(tenant.id))
              .filter((h) => holdActive(h, at))
              .map((h) => h.id);
            return ids.length > 0 ? { blockedBy: ids, counts: await soFar() } : undefined;
          };
          /** Ends a target: its count from its evidence, and a record of nothing where it had nothing. */
          const finish = async (target: Target) => {
            if (countOf(await recorded(), target).batches === 0)
              await recordNothingErased(c, {
                tenantId: tenant.id,
                target: target.target,
                recordKeyPrefix: prefixOf(target.target),
                entry: { ...entryOf(target), kind: 'offboard.delete', unit: target.unit },
              });
            cursor.done.push(countOf(await recorded(), target).count);
            delete cursor.current;
            beat();
          };
          const isDone = ({ target, unit }: Target) =>
            cursor.done.some((d) => d.unit === unit && d.target === target);

          let stop = await blocked();
          if (stop) return stop;
          // Rows of a table outside the manifest that reference the tenant's would stop the deletion
          // halfway: refused before any row goes.
          for (const t of tables)
            await refuseReferencedRows(c, t, tenant.id, { manifestTables, except: manifestTables });

          for (const [i, t] of tables.entries()) {
            const target = targets[i]!;
            if (isDone(target)) continue;
            const key = await batchKeyOf(c, t);
            const resumed = cursor.current?.target === t.name ? cursor.current : undefined;
            let batchSize = resumed?.batchSize ?? FIRST_BATCH;
            let afterKey = resumed?.afterKey;
            for (;;) {
              // Holds are read afresh before each batch: one placed meanwhile stops the next.
              if ((stop = await blocked())) return stop;
              const result = await deleteTenantBatch(c, t, tenant.id, {
                key,
                ...(afterKey !== undefined ? { afterKey } : {}),
                limit: batchSize,
                recordKeyPrefix: prefixOf(t.name),
                lockTimeoutMs: retention.lockBudgetMs * 10,
                entry: entryOf(target),
              });
              if (result.deleted > 0) {
                afterKey = result.lastKey;
                batchSize = nextBatchSize(batchSize, result.lockMs, retention.lockBudgetMs);
              } else if (afterKey !== undefined) {
                // Past the last key: rows behind the cursor (a row freed by its referencing row's
                // deletion, one written meanwhile) are looked for once more from the first key.
                afterKey = undefined;
              } else {
                // Nothing unreferenced is left: a row still here is referenced, and that fails.
                await refuseReferencedRows(c, t, tenant.id, { manifestTables });
                if ((await tenantRowCount(c, t, tenant.id)) === 0) break;
              }
              cursor.current = { target: t.name, batchSize, ...(afterKey !== undefined ? { afterKey } : {}) };
              beat();
            }
            await finish(target);
          }
          // What failed or crashed restores left beside a silo's live database goes too.
          let leftovers: OffboardCount[] = [];
          if (placement.deploymentModel === 'silo') {
            if ((stop = await blocked())) return stop;
            const entry = entryOf({ target: '', unit: 'rows' });
            await dropRestoreDatabases(c, placement, { storePrefix, entry, beat });
            leftovers = restoreDatabaseCounts(await recorded(), storePrefix, {
              store: input.store,
              region: placement.region,
              live: database,
            });
          }

          if (!folders) return { blockedBy: [], counts: [...cursor.done, ...leftovers] };
          for (const target of targets.slice(tables.length)) {
            if (isDone(target)) continue;
            cursor.current = { target: target.target, batchSize: OBJECT_BATCH };
            const listed = await listObjects(
              folders.root,
              target.target === NO_PREFIX ? '' : target.target,
              () => {
                cancelled();
                context.heartbeat(cursor);
              },
            );
            // A file under a manifest prefix is that prefix's, even one written there since its turn.
            const objects =
              target.target === NO_PREFIX
                ? listed.filter((o) => !manifest.storage.some((a) => o.key.startsWith(a.prefix)))
                : listed;
            for (let k = 0; k < objects.length; k += OBJECT_BATCH) {
              if ((stop = await blocked())) return stop;
              // No cutoff: every listed file is due, whatever its age.
              await deleteObjectBatch(c, folders, {
                tenantId: tenant.id,
                prefix: target.target,
                objects: objects.slice(k, k + OBJECT_BATCH),
                recordKeyPrefix: prefixOf(target.target),
                entry: { ...entryOf(target), kind: 'offboard.delete' },
              });
              beat();
            }
            await finish(target);
          }
          await removeEmptySubfolders(folders.root);
          return { blockedBy: [], counts: [...cursor.done, ...leftovers] };
        });
      } finally {
        await progress.settle();
      }
    },
  };
}

export type TenantDeletionActivities = ReturnType<typeof createTenantDeletionActivities>;
