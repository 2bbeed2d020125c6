/**
 * A tenant's part of a retention run, on the `landlord-data` queue (docs/retention.md): for each
 * manifest table whose data class has a policy in days, its expired rows are counted, the guard
 * and the tenant's legal holds applied, and the rest deleted in short batches by primary key
 * (dataplane/expiry.ts), each batch with its evidence in the database's outbox; the outbox is then
 * forwarded to the registry's ledger. A worker killed mid-part resumes from its heartbeated cursor.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { effectiveRetention, holdCoversObjects } from '../../domain/index.js';
import type {
  DataPlaneManifest,
  RetentionPolicyFile,
  RetentionRequest,
  RetentionTableReport,
  TenantRecord,
} from '../../domain/index.js';
import {
  batchKeyOf,
  comparableSubjects,
  countExpired,
  deleteExpiredBatch,
  drainOutbox,
  holdsOn,
  nextBatchSize,
} from '../../dataplane/expiry.js';
import { deleteObjectBatch, finishObjectDeletions, listObjects } from '../../dataplane/storage-expiry.js';
import type { StorageFolders } from '../../dataplane/storage-expiry.js';
import type { Registry } from '../../registry/index.js';
import type { PoolDirectory } from '../pool/directory.js';
import { stepProgressWriter } from '../step-progress.js';
import type { StepRef } from '../step-ref.js';
import { secondStoreExists, siloFoldersOf, storePlacement, withTenantDatabase } from './tenant-database.js';

const DAY_MS = 86_400_000;
const FIRST_BATCH = 500;
/** A table's or prefix's counts before anything is found. */
const NOTHING_FOUND = {
  rows: 0,
  expired: 0,
  deleted: 0,
  skippedUnderHold: 0,
  batches: 0,
  longestBatchMs: 0,
} as const;
/** Files per storage batch: no lock is held while they go, so the size only bounds one record. */
const OBJECT_BATCH = 500;

export interface TenantRetentionInput {
  stepRef?: StepRef;
  operationId: string;
  tenant: Pick<TenantRecord, 'id' | 'tier' | 'region' | 'deploymentModel' | 'retention'>;
  retention: RetentionRequest;
}

/** What a part heartbeats: where it is, so that a retried attempt resumes there. */
interface PartCursor {
  /** When the part began: every cutoff is measured from it, on every attempt. */
  startedAt: string;
  done: RetentionTableReport[];
  current?: { report: RetentionTableReport; afterKey?: string; batchSize: number };
}

/** What the data worker's activities are made over (workers/data.ts wires the real ones). */
export interface RetentionDeps {
  directory: PoolDirectory;
  manifest: DataPlaneManifest;
  store: Registry;
  /** Master secret: the silo's owner role, which Landlord works in a silo as, has a password derived from it. */
  secret: string;
  retention: Pick<RetentionPolicyFile, 'dataClasses' | 'lockBudgetMs' | 'guardShare'>;
  /**
   * The folder under which local regions keep their silo tenants' objects (`<data dir>/objects`);
   * absent: this worker sweeps no storage folder.
   */
  objectsRoot?: string;
}

/** Rows and batches this part's batches of one table have committed (their outbox records). */
async function outboxSoFar(
  c: pg.ClientBase,
  tenantId: string,
  recordKeyPrefix: string,
): Promise<{ rows: number; batches: number }> {
  const { rows } = await c.query<{ rows: number; batches: number }>(
    `SELECT coalesce(sum((entry->>'count')::int), 0)::int AS rows, count(*)::int AS batches
       FROM landlord.deletion_outbox WHERE tenant_id = $1 AND starts_with(record_key, $2)`,
    [tenantId, `${recordKeyPrefix}:`],
  );
  return rows[0]!;
}

export function createRetentionActivities({
  directory,
  manifest,
  store,
  secret,
  retention,
  objectsRoot,
}: RetentionDeps) {
  const access = { directory, secret };

  return {
    /**
     * Deletes (or, in a dry run, counts) the tenant's expired rows, table by table, children
     * before the tables they reference; returns what it found and did per table.
     */
    async applyTenantRetention(input: TenantRetentionInput): Promise<RetentionTableReport[]> {
      const { tenant, retention: request } = input;
      const context = Context.current();
      const resumed = context.info.heartbeatDetails as PartCursor | undefined;
      const cursor: PartCursor = resumed ?? { startedAt: new Date().toISOString(), done: [] };
      const policies = effectiveRetention(retention, tenant.tier, tenant.retention ?? {});
      const tables = [...manifest.tables]
        .reverse()
        .filter((t) => !request.dataClasses || request.dataClasses.includes(t.dataClass));
      const storage = siloFoldersOf(objectsRoot, tenant);
      const areas = storage
        ? manifest.storage.filter((a) => !request.dataClasses || request.dataClasses.includes(a.dataClass))
        : [];
      const progress = stepProgressWriter(store, input.stepRef);
      const beat = () => {
        // Between batches, a cancelled part stops: what it deleted is in its outbox already.
        if (context.cancellationSignal.aborted)
          throw new CancelledFailure('the retention part was cancelled');
        context.heartbeat(cursor);
        progress.report({
          done: cursor.done.length,
          total: tables.length + areas.length,
          ...(cursor.current ? { current: cursor.current.report.table } : {}),
        });
      };
      /**
       * The silo folder's expired files, prefix by prefix, with the same policy, holds, guard and
       * evidence as rows (dataplane/storage-expiry.ts). An object has no subject key, so any hold
       * on a subject keeps every prefix too: nothing says which files are about that subject.
       */
      const sweepStorage = async (c: pg.Client, folders: StorageFolders) => {
        const storageHeld = async (dataClass: string) => {
          const at = new Date().toISOString();
          return (await store.legalHolds.list(tenant.id)).some((h) => holdCoversObjects(h, dataClass, at));
        };
        // Batches an earlier attempt wrote down and did not finish: recorded from what they took.
        if (!request.dryRun) await finishObjectDeletions(c, folders, tenant.id);
        for (const area of areas) {
          if (cursor.done.some((r) => r.unit === 'objects' && r.table === area.prefix)) continue;
          const policy = policies.find((p) => p.dataClass === area.dataClass)!;
          const base = {
            table: area.prefix,
            unit: 'objects' as const,
            dataClass: area.dataClass,
            source: policy.source,
          };
          if (policy.days === undefined) {
            cursor.done.push({ ...base, ...NOTHING_FOUND });
            continue;
          }
          const cutoffMs = Date.parse(cursor.startedAt) - policy.days * DAY_MS;
          // Table names never hold a `/`, prefixes always end in one: their keys never meet.
          const recordKeyPrefix = `retention:${request.runId}:${tenant.id}:${area.prefix}`;
          const objects = await listObjects(folders.root, area.prefix, () => {
            if (context.cancellationSignal.aborted)
              throw new CancelledFailure('the retention part was cancelled');
            context.heartbeat(cursor);
          });
          const expired = objects.filter((o) => o.modifiedMs < cutoffMs);
          const before = await outboxSoFar(c, tenant.id, recordKeyPrefix);
          const held = await storageHeld(area.dataClass);
          const report: RetentionTableReport = {
            ...base,
            ...NOTHING_FOUND,
            days: policy.days,
            rows: objects.length + before.rows,
            expired: expired.length + before.rows,
            // What an earlier attempt of this part deleted before it died.
            deleted: before.rows,
            batches: before.batches,
            skippedUnderHold: held ? expired.length : 0,
          };
          const deletable = held ? 0 : expired.length;
          if (report.rows > 0 && (deletable + before.rows) / report.rows > retention.guardShare)
            report.guard = request.force ? 'forced' : 'tripped';
          if (request.dryRun || held || deletable === 0 || report.guard === 'tripped') {
            if (request.dryRun && report.guard !== 'tripped') report.deleted = deletable;
            cursor.done.push(report);
            beat();
            continue;
          }
          let heldMidway = false;
          for (let i = 0; i < expired.length; i += OBJECT_BATCH) {
            if ((heldMidway = await storageHeld(area.dataClass))) break;
            const { ms } = await deleteObjectBatch(c, folders, {
              tenantId: tenant.id,
              prefix: area.prefix,
              objects: expired.slice(i, i + OBJECT_BATCH),
              cutoffMs,
              recordKeyPrefix,
              entry: {
                kind: 'retention.objects',
                region: tenant.region,
                dataClass: area.dataClass,
                policy: { days: policy.days, source: policy.source },
                runId: request.runId,
                operationId: input.operationId,
                requestedBy: request.requestedBy,
              },
            });
            report.longestBatchMs = Math.max(report.longestBatchMs, Math.round(ms));
            beat();
          }
          const committed = await outboxSoFar(c, tenant.id, recordKeyPrefix);
          report.deleted = committed.rows;
          report.batches = committed.batches;
          // A hold placed mid-run keeps the rest; a file rewritten since the listing is simply kept.
          if (heldMidway) report.skippedUnderHold = report.expired - report.deleted;
          cursor.done.push(report);
          beat();
        }
      };
      try {
        return await withTenantDatabase(access, tenant, 'retention', async (c, database) => {
          for (const table of tables) {
            if (cursor.done.some((r) => r.table === table.name)) continue;
            const policy = policies.find((p) => p.dataClass === table.dataClass)!;
            const base = { table: table.name, dataClass: table.dataClass, source: policy.source };
            if (policy.days === undefined) {
              // Kept forever: nothing is expired.
              cursor.done.push({ ...base, ...NOTHING_FOUND });
              continue;
            }
            const cutoff = new Date(Date.parse(cursor.startedAt) - policy.days * DAY_MS).toISOString();
            const key = await batchKeyOf(c, table);
            const comparable = new Map<string, boolean>();
            const holdsNow = async () => {
              const held = holdsOn(
                await store.legalHolds.list(tenant.id),
                table.dataClass,
                new Date().toISOString(),
              );
              return {
                ...held,
                heldSubjects: await comparableSubjects(c, key, held.heldSubjects, comparable),
              };
            };
            const recordKeyPrefix = `retention:${request.runId}:${tenant.id}:${table.name}`;
            let current = cursor.current?.report.table === table.name ? cursor.current : undefined;
            if (!current) {
              const held = await holdsNow();
              const counts = await countExpired(c, table, key, {
                tenantId: tenant.id,
                cutoff,
                heldSubjects: held.heldSubjects,
              });
              // An earlier attempt may have deleted some before it died, unheartbeated: they count too.
              const before = await outboxSoFar(c, tenant.id, recordKeyPrefix);
              counts.total += before.rows;
              counts.expired += before.rows;
              const deletable = held.tableHeld ? 0 : counts.expired - counts.held - counts.referenced;
              const report: RetentionTableReport = {
                ...base,
                days: policy.days,
                rows: counts.total,
                expired: counts.expired,
                deleted: 0,
                skippedUnderHold: held.tableHeld ? counts.expired : counts.held,
                ...(counts.referenced > 0 && !held.tableHeld ? { keptReferenced: counts.referenced } : {}),
                batches: 0,
                longestBatchMs: 0,
              };
              const overGuard = counts.total > 0 && deletable / counts.total > retention.guardShare;
              if (overGuard) report.guard = request.force ? 'forced' : 'tripped';
              if (request.dryRun || held.tableHeld || deletable === 0 || report.guard === 'tripped') {
                if (request.dryRun && report.guard !== 'tripped') report.deleted = deletable;
                cursor.done.push(report);
                beat();
                continue;
              }
              current = { report, batchSize: FIRST_BATCH };
              cursor.current = current;
              beat();
            }
            for (;;) {
              // Holds are read afresh before each batch: one placed mid-run counts from the next batch.
              const held = await holdsNow();
              if (held.tableHeld) break;
              const result = await deleteExpiredBatch(
                c,
                table,
                { tenantId: tenant.id, cutoff, heldSubjects: held.heldSubjects },
                {
                  key,
                  ...(current.afterKey !== undefined ? { afterKey: current.afterKey } : {}),
                  limit: current.batchSize,
                  recordKeyPrefix,
                  lockTimeoutMs: retention.lockBudgetMs * 10,
                  entry: {
                    kind: 'retention.delete',
                    region: tenant.region,
                    database,
                    dataClass: table.dataClass,
                    unit: 'rows',
                    policy: { days: policy.days, source: policy.source },
                    runId: request.runId,
                    operationId: input.operationId,
                    requestedBy: request.requestedBy,
                  },
                },
              );
              if (result.deleted === 0) break;
              const report = current.report;
              report.deleted += result.deleted;
              report.batches += 1;
              report.longestBatchMs = Math.max(report.longestBatchMs, Math.round(result.lockMs));
              current.afterKey = result.lastKey;
              current.batchSize = nextBatchSize(current.batchSize, result.lockMs, retention.lockBudgetMs);
              beat();
            }
            const report = current.report;
            // What the batches committed, counted from their evidence: exact however often the
            // part was interrupted (a heartbeat may be older than the last commit).
            const committed = await outboxSoFar(c, tenant.id, recordKeyPrefix);
            report.deleted = committed.rows;
            report.batches = committed.batches;
            // Whatever expired and was not deleted, a hold kept (one placed mid-run included).
            report.skippedUnderHold = Math.max(
              report.skippedUnderHold,
              report.expired - report.deleted - (report.keptReferenced ?? 0),
            );
            cursor.done.push(report);
            delete cursor.current;
            beat();
          }
          if (storage) await sweepStorage(c, storage);
          return cursor.done;
        });
      } finally {
        await progress.settle();
      }
    },

    /**
     * Forwards the outbox of the tenant's database, or of its DR standby's (`store: 'standby'`;
     * none for a tenant without one), to the ledger; returns how many records it forwarded.
     */
    async forwardDeletionEvidence(input: {
      tenant: Pick<TenantRecord, 'id' | 'region' | 'drRegion' | 'deploymentModel'>;
      store?: 'primary' | 'standby';
    }): Promise<number> {
      const placement = storePlacement(input.tenant, input.store ?? 'primary');
      if (!placement) return 0;
      if (input.store === 'standby' && !(await secondStoreExists(access, placement))) return 0;
      return withTenantDatabase(access, placement, 'retention', (c) =>
        drainOutbox(c, input.tenant.id, async (entry) => {
          await store.ledger.append(entry);
        }),
      );
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
