/**
 * A data subject's erasure in one store of a tenant, on the `landlord-data` queue
 * (docs/erasure-and-offboarding.md): the subject's rows, table by table, children before the
 * tables they reference, deleted or anonymized as the manifest says in short batches
 * (dataplane/erasure.ts), each with its evidence in the database's outbox; then, in a local silo,
 * the subject's folder under each storage prefix that has subject folders. The tenant's legal
 * holds are read before every batch: one covering the subject, a data class the erasure touches or
 * the whole tenant stops it, and calling it again once the hold has ended goes on from there.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { holdActive, holdsBlockingErasure, LandlordError, tableErasure } from '../../domain/index.js';
import type { ErasureCount, TableErasure, TenantRecord } from '../../domain/index.js';
import {
  checkAnonymizable,
  countSubjectRows,
  erasureRecordKeyPrefix,
  eraseSubjectBatch,
  recordNothingErased,
  subjectAmong,
  subjectFolder,
} from '../../dataplane/erasure.js';
import type { ErasureEntry, ErasureTable } from '../../dataplane/erasure.js';
import { batchKeyOf, nextBatchSize } from '../../dataplane/expiry.js';
import type { BatchKey } from '../../dataplane/expiry.js';
import {
  deleteObjectBatch,
  finishObjectDeletions,
  listObjects,
  removeEmptyFolders,
} from '../../dataplane/storage-expiry.js';
import { stepProgressWriter } from '../step-progress.js';
import type { StepRef } from '../step-ref.js';
import type { RetentionDeps } from './retention.js';
import { forwardedRecordCounts, recordedEvidence, tallyOf } from './forwarded-evidence.js';
import { siloFoldersOf, storePlacement, withTenantDatabase } from './tenant-database.js';

const FIRST_BATCH = 500;
/** Files per storage batch: no lock is held while they go, so the size only bounds one record. */
const OBJECT_BATCH = 500;

export interface EraseSubjectInput {
  stepRef?: StepRef;
  operationId: string;
  erasureId: string;
  tenant: Pick<TenantRecord, 'id' | 'tier' | 'region' | 'drRegion' | 'deploymentModel'>;
  /** The tenant's primary database and folder, or its DR standby's. */
  store: 'primary' | 'standby';
  /** The subject as the tenant's HMAC: what the evidence names. */
  subjectHmac: string;
  requestedBy: string;
}

/** What a call did: `blockedBy` empty once the store is erased, else the holds it stopped for. */
export interface EraseSubjectResult {
  blockedBy: string[];
  /** Per table and storage prefix, from the erasure's evidence so far. */
  counts: ErasureCount[];
}

/** What a call heartbeats, so that a retried attempt skips the targets it finished. */
interface ErasureCursor {
  done: ErasureCount[];
  current?: { target: string; batchSize: number };
}

/** One table or storage prefix the erasure goes through, as its counts name it. */
interface Target {
  target: string;
  unit: 'rows' | 'objects';
  mode: 'delete' | 'anonymize';
}

type SubjectTable = ErasureTable & {
  timestampColumn: string;
  dataClass: string;
  erasure: TableErasure;
};

export function createErasureActivities({
  directory,
  manifest,
  store,
  secret,
  retention,
  objectsRoot,
}: RetentionDeps) {
  const access = { directory, secret };

  /** The ledger's records of one erasure's store, by record key. */
  async function forwardedRecords(tenantId: string, erasureId: string, storePrefix: string) {
    const request = await store.erasures.get(tenantId, erasureId);
    return forwardedRecordCounts(store, {
      tenantId,
      kinds: ['erasure.delete', 'erasure.anonymize'],
      prefix: storePrefix,
      ...(request ? { since: request.createdAt } : {}),
    });
  }

  return {
    /**
     * Erases a subject's data in one store of the tenant: its rows in every manifest table with a
     * subject key, then its storage folders. The subject is read from the registry here (activity
     * inputs are kept in workflow histories). Counts come from the erasure's evidence (the
     * store's outbox and what of it the ledger has already), so they are exact across retries,
     * kills and calls; a table or prefix where the subject had nothing gets a record of count 0.
     */
    async eraseSubjectData(input: EraseSubjectInput): Promise<EraseSubjectResult> {
      const { tenant } = input;
      const placement = storePlacement(tenant, input.store);
      if (!placement) return { blockedBy: [], counts: [] };
      const subject = await store.erasures.subjectOf(tenant.id, input.erasureId);
      if (subject === undefined)
        throw new LandlordError(
          'NotFound',
          `erasure ${input.erasureId} of tenant ${tenant.id} has no subject to erase: it is unknown, or erased already`,
        );
      const context = Context.current();
      const cursor: ErasureCursor = (context.info.heartbeatDetails as ErasureCursor | undefined) ?? {
        done: [],
      };
      const tables: SubjectTable[] = [...manifest.tables]
        .reverse()
        .flatMap((t) => (t.subjectKey ? [{ ...t, subjectKey: t.subjectKey, erasure: tableErasure(t) }] : []));
      const folders = siloFoldersOf(objectsRoot, placement);
      const areas = folders ? manifest.storage.filter((a) => a.subjectFolders) : [];
      const dataClasses = [...new Set([...tables, ...areas].map((t) => t.dataClass))];
      const prefixOf = (target: string) => erasureRecordKeyPrefix(input.erasureId, input.store, target);
      const storePrefix = prefixOf('');
      const forwarded = await forwardedRecords(tenant.id, input.erasureId, storePrefix);
      const progress = stepProgressWriter(store, input.stepRef);
      const beat = () => {
        // Between batches, a cancelled erasure stops: what it did is in its outbox already.
        if (context.cancellationSignal.aborted) throw new CancelledFailure('the erasure was cancelled');
        context.heartbeat(cursor);
        progress.report({
          done: cursor.done.length,
          total: tables.length + areas.length,
          ...(cursor.current ? { current: cursor.current.target } : {}),
        });
      };
      const entryOf = (dataClass: string): ErasureEntry => ({
        region: placement.region,
        dataClass,
        operationId: input.operationId,
        requestedBy: input.requestedBy,
        subjectHmac: input.subjectHmac,
      });

      try {
        return await withTenantDatabase(access, placement, 'erasure', async (c, database) => {
          /**
           * Every record of this erasure in this store, by key: those in the outbox and those
           * forwarded already (recorded ones stay in the outbox until the erasure forwards them;
           * a retention part's forwarding, while the erasure waits for a hold, takes them too).
           */
          const recorded = () => recordedEvidence(c, tenant.id, storePrefix, forwarded);
          /** What the committed batches of one target did so far, from their evidence. */
          const countOf = (records: Map<string, number>, { target, unit, mode }: Target) => {
            const { count: rows, batches } = tallyOf(records, prefixOf(target));
            const count: ErasureCount = {
              store: input.store,
              region: placement.region,
              ...(unit === 'rows' ? { database } : {}),
              target,
              mode,
              unit,
              count: rows,
            };
            return { count, batches };
          };
          const targets: Target[] = [
            ...tables.map((t) => ({ target: t.name, unit: 'rows' as const, mode: t.erasure.mode })),
            ...areas.map((a) => ({ target: a.prefix, unit: 'objects' as const, mode: 'delete' as const })),
          ];
          const soFar = async (): Promise<ErasureCount[]> => {
            const records = await recorded();
            return targets.flatMap((t) => {
              const { count, batches } = countOf(records, t);
              return batches > 0 ? [count] : [];
            });
          };
          // Files an earlier attempt took and did not record are recorded before anything is counted.
          if (folders) await finishObjectDeletions(c, folders, tenant.id);
          const keys = new Map<string, BatchKey>();
          for (const t of tables) keys.set(t.name, await batchKeyOf(c, t));
          /** The holds that stop the erasure now: read afresh, so one placed meanwhile counts. */
          const blockers = async (): Promise<string[]> => {
            const at = new Date().toISOString();
            const holds = (await store.legalHolds.list(tenant.id)).filter((h) => holdActive(h, at));
            const ids = holdsBlockingErasure(holds, dataClasses, subject, at).map((h) => h.id);
            // A hold may write the subject otherwise than the request (a UUID's case): compared as
            // each subject column compares its values, it still covers the subject.
            for (const h of holds) {
              if (ids.includes(h.id) || !h.subjects?.length) continue;
              for (const t of tables)
                if (await subjectAmong(c, t, keys.get(t.name)!, subject, h.subjects)) {
                  ids.push(h.id);
                  break;
                }
            }
            return ids;
          };
          const blocked = async (): Promise<EraseSubjectResult | undefined> => {
            const ids = await blockers();
            return ids.length > 0 ? { blockedBy: ids, counts: await soFar() } : undefined;
          };
          /** Ends a target: its count from its evidence, and a record of nothing where it had nothing. */
          const finish = async (target: Target, dataClass: string) => {
            if (countOf(await recorded(), target).batches === 0)
              await recordNothingErased(c, {
                tenantId: tenant.id,
                target: target.target,
                recordKeyPrefix: prefixOf(target.target),
                entry: {
                  ...entryOf(dataClass),
                  ...(target.unit === 'rows' ? { database } : {}),
                  kind: target.mode === 'delete' ? 'erasure.delete' : 'erasure.anonymize',
                  unit: target.unit,
                },
              });
            cursor.done.push(countOf(await recorded(), target).count);
            delete cursor.current;
            beat();
          };

          let stop = await blocked();
          if (stop) return stop;
          // Every anonymized column is checked before any row changes.
          for (const t of tables)
            if (t.erasure.mode === 'anonymize') await checkAnonymizable(c, t, t.erasure.columns);

          for (const [i, t] of tables.entries()) {
            if (cursor.done.some((d) => d.unit === 'rows' && d.target === t.name)) continue;
            const key = keys.get(t.name)!;
            const scope = { tenantId: tenant.id, subject };
            let batchSize = cursor.current?.target === t.name ? cursor.current.batchSize : FIRST_BATCH;
            for (;;) {
              // Holds are read afresh before each batch: one placed meanwhile stops the next.
              if ((stop = await blocked())) return stop;
              const result = await eraseSubjectBatch(c, t, scope, {
                key,
                mode: t.erasure.mode,
                ...(t.erasure.mode === 'anonymize' ? { columns: t.erasure.columns } : {}),
                limit: batchSize,
                recordKeyPrefix: prefixOf(t.name),
                lockTimeoutMs: retention.lockBudgetMs * 10,
                entry: { ...entryOf(t.dataClass), database },
              });
              if (result.erased === 0) break;
              // Erased rows no longer match: a batch short of its size took all that was left,
              // so no empty batch is needed to prove it.
              const short = result.erased < batchSize;
              batchSize = nextBatchSize(batchSize, result.lockMs, retention.lockBudgetMs);
              cursor.current = { target: t.name, batchSize };
              beat();
              if (short) break;
            }
            if (t.erasure.mode === 'delete') {
              // Rows a batch left because others reference them: erasing them would cascade into
              // rows this erasure does not cover, so the erasure stops here and says why.
              const { referenced } = await countSubjectRows(c, t, key, scope);
              if (referenced > 0)
                throw new LandlordError(
                  'DataRejected',
                  `${referenced} row(s) of the subject in table ${t.name} are still referenced by other rows through a foreign key, so they were not erased; erase or detach the referencing rows first`,
                  { table: t.name, referenced },
                );
            }
            await finish(targets[i]!, t.dataClass);
          }

          for (const [j, area] of areas.entries()) {
            if (cursor.done.some((d) => d.unit === 'objects' && d.target === area.prefix)) continue;
            const folder = subjectFolder(area.prefix, subject);
            cursor.current = { target: area.prefix, batchSize: OBJECT_BATCH };
            const objects = folder
              ? await listObjects(folders!.root, folder, () => {
                  if (context.cancellationSignal.aborted)
                    throw new CancelledFailure('the erasure was cancelled');
                  context.heartbeat(cursor);
                })
              : [];
            for (let i = 0; i < objects.length; i += OBJECT_BATCH) {
              if ((stop = await blocked())) return stop;
              // The ledger names the prefix, never the subject's folder.
              await deleteObjectBatch(c, folders!, {
                tenantId: tenant.id,
                prefix: area.prefix,
                objects: objects.slice(i, i + OBJECT_BATCH),
                recordKeyPrefix: prefixOf(area.prefix),
                entry: { ...entryOf(area.dataClass), kind: 'erasure.delete' },
              });
              beat();
            }
            if (folder) await removeEmptyFolders(folders!.root, folder);
            await finish(targets[tables.length + j]!, area.dataClass);
          }
          return { blockedBy: [], counts: cursor.done };
        });
      } finally {
        await progress.settle();
      }
    },
  };
}

export type ErasureActivities = ReturnType<typeof createErasureActivities>;
