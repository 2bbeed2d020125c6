/**
 * A retention run's own activities, on the lifecycle queue: its record, the tenants it goes over
 * page by page, and each tenant's part asked of the tenant's workflow as an `apply-retention`
 * operation (so it never overlaps another operation of that tenant) and waited for.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { operationEnded } from '../operation-ended.js';
import type { RetentionRunRequest, RetentionTableReport, RetentionTenantPart } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';
import { requestTenantOperation } from '../../client/tenant-operations.js';

/** Statuses whose tenants a run goes over: a suspended tenant's data is still subject to retention. */
const SWEPT = new Set(['active', 'suspended']);
const PAGE = 100;

export interface RetentionPage {
  tenantIds: string[];
  /** Where the next page starts; absent after the last. */
  next?: string;
}

export function createRetentionRunActivities({
  client,
  store,
  concurrency,
}: {
  client: Client;
  store: Registry;
  /** Tenants whose parts run at once (config/retention.json). */
  concurrency: number;
}) {
  async function page(request: RetentionRunRequest, after: string | undefined): Promise<RetentionPage> {
    if (request.tenants) {
      const from = after ? Number(after) : 0;
      const tenantIds = request.tenants.slice(from, from + PAGE);
      const next = from + PAGE < request.tenants.length ? String(from + PAGE) : undefined;
      return { tenantIds, ...(next ? { next } : {}) };
    }
    const { items, nextCursor } = await store.tenants.list({
      limit: PAGE,
      ...(after ? { cursor: after } : {}),
    });
    return {
      tenantIds: items.filter((t) => SWEPT.has(t.status)).map((t) => t.id),
      ...(nextCursor ? { next: nextCursor } : {}),
    };
  }

  const ended = (id: string) => operationEnded(store, id);

  return {
    /** Records the run (again, harmlessly, on a retry) and counts the tenants it goes over. */
    async startRetentionRun(request: RetentionRunRequest): Promise<{ total: number; concurrency: number }> {
      await store.retentionRuns.start(request);
      let total = 0;
      let after: string | undefined;
      do {
        const p = await page(request, after);
        total += p.tenantIds.length;
        after = p.next;
      } while (after);
      await store.retentionRuns.setTotal(request.id, total);
      return { total, concurrency };
    },

    async retentionTenantsPage({
      request,
      after,
    }: {
      request: RetentionRunRequest;
      after?: string;
    }): Promise<RetentionPage> {
      return page(request, after);
    },

    /**
     * Asks the tenant's workflow for the run's part (once: the update's id is the run's, so a
     * retried attempt gets the same operation) and waits for it to end; records the part with the
     * run. Returns only its status, to keep the run's history small.
     */
    async applyRetentionToTenant({
      request,
      tenantId,
    }: {
      request: RetentionRunRequest;
      tenantId: string;
    }): Promise<RetentionTenantPart['status']> {
      const retention = {
        runId: request.id,
        dryRun: request.dryRun,
        force: request.force,
        requestedBy: request.requestedBy,
        ...(request.dataClasses ? { dataClasses: request.dataClasses } : {}),
      };
      let part: RetentionTenantPart;
      try {
        const accepted = await requestTenantOperation(
          client,
          tenantId,
          {
            kind: 'apply-retention',
            actor: {
              principal: request.requestedBy,
              role: request.trigger === 'schedule' ? 'schedule' : 'operator',
              requestId: request.id,
            },
            retention,
          },
          `retention:${request.id}`,
        );
        const op = await ended(accepted.id);
        const tables = (op.result as { tables?: RetentionTableReport[] } | undefined)?.tables ?? [];
        part = {
          tenantId,
          operationId: op.id,
          status: op.status === 'succeeded' ? 'succeeded' : 'failed',
          ...(op.error ? { reason: `${op.error.type}: ${op.error.message}` } : {}),
          tables,
        };
        const last = await store.retentionRuns.lastRealPart(tenantId, request.id);
        const shortened = tables.flatMap((t) => {
          const before = last?.tables.find((l) => l.table === t.table)?.days;
          return before !== undefined && t.days !== undefined && t.days < before
            ? [{ dataClass: t.dataClass, from: before, to: t.days }]
            : [];
        });
        const unique = [...new Map(shortened.map((s) => [s.dataClass, s])).values()];
        if (unique.length > 0) part.policyShortened = unique;
      } catch (err) {
        // A tenant that cannot take the part (no workflow, or not active or suspended) is skipped, said so.
        const refused =
          err instanceof WorkflowNotFoundError ||
          (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure);
        if (!refused) throw err;
        const reason =
          err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure
            ? err.cause.message
            : 'the tenant has no lifecycle workflow';
        part = { tenantId, status: 'skipped', reason, tables: [] };
      }
      await store.retentionRuns.recordPart(request.id, part);
      return part.status;
    },

    /** Records a part that could not be run at all (its activity gave up). */
    async recordFailedPart({ runId, tenantId, reason }: { runId: string; tenantId: string; reason: string }) {
      await store.retentionRuns.recordPart(runId, { tenantId, status: 'failed', reason, tables: [] });
    },

    async finishRetentionRun({
      runId,
      status,
      error,
    }: {
      runId: string;
      status: 'succeeded' | 'failed';
      error?: { type: string; message: string };
    }): Promise<void> {
      await store.retentionRuns.finish(runId, status, error);
    },
  };
}

export type RetentionRunActivities = ReturnType<typeof createRetentionRunActivities>;
