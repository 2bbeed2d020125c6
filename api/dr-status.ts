/**
 * Tenants' disaster-recovery standing (domain/dr-status.ts) gathered from the registry: their
 * newest backup, latest restore verification, last measured recovery and replication to their
 * standby, against their tier.
 */
import { durationMs, drStatusOf } from '../domain/index.js';
import type {
  DrFacts,
  MeasuredRecovery,
  PolicyCatalog,
  TenantDrStatus,
  TenantRecord,
} from '../domain/index.js';
import type { Registry } from '../registry/index.js';

/** Recoveries looked at for the fleet report: the newest succeeded of each kind across tenants. */
const RECOVERIES = 1000;
const RECOVERY_KINDS = ['restore', 'failover', 'failback', 'drill'] as const;

/** The measured recovery an operation's result records, if any. */
function recoveryOf(op: { id: string; kind: string; finishedAt?: string; result?: Record<string, unknown> }) {
  const measured = op.result?.measured as Omit<MeasuredRecovery, 'operationId' | 'kind' | 'at'> | undefined;
  if (!measured || !op.finishedAt) return undefined;
  const { rtoMs, rpoMs, rtoMet, rpoMet } = measured;
  return { operationId: op.id, kind: op.kind, at: op.finishedAt, rtoMs, rpoMs, rtoMet, rpoMet };
}

/** The standing of each of `tenants` now, in their order. */
export async function drStatuses(
  store: Registry,
  catalog: PolicyCatalog,
  tenants: readonly TenantRecord[],
): Promise<TenantDrStatus[]> {
  const ids = tenants.map((t) => t.id);
  const [taken, verified, restores, replicated] = await Promise.all([
    store.backups.lastTakenAt(ids),
    store.verifications.latestResults(ids),
    // Every kind that recovers a tenant, or rehearses it (a drill), measures it; the newest of any counts.
    Promise.all(
      RECOVERY_KINDS.map((kind) =>
        tenants.length === 1
          ? store.operations.list({ tenantId: ids[0]!, kind, status: 'succeeded', limit: 1 })
          : store.operations.list({ kind, status: 'succeeded', limit: RECOVERIES }),
      ),
    ).then((lists) => lists.flat().sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''))),
    // One row per DR silo: the whole table is small next to the tenants it is read for.
    tenants.length === 1
      ? store.replication.get(ids[0]!).then((r) => (r ? [r] : []))
      : store.replication.list(),
  ]);
  const replication = new Map(replicated.map((r) => [r.tenantId, r]));
  const recoveries = new Map<string, MeasuredRecovery>();
  for (const op of restores) {
    const measured = recoveryOf(op);
    if (measured && !recoveries.has(op.tenantId)) recoveries.set(op.tenantId, measured);
  }
  const now = Date.now();
  return tenants.map((t) => {
    const tier = catalog.tiers.find((x) => x.id === t.tier);
    const result = verified.get(t.id);
    const facts: DrFacts = {
      tenantId: t.id,
      tier: t.tier,
      status: t.status,
      deploymentModel: t.deploymentModel,
      drEnabled: tier?.dr.enabled ?? false,
      targets: {
        rto: tier?.dr.rto ?? '0m',
        rpo: tier?.dr.rpo ?? '0m',
        rtoMs: tier ? durationMs(tier.dr.rto) : 0,
        rpoMs: tier ? durationMs(tier.dr.rpo) : 0,
      },
      ...(taken.has(t.id) ? { latestBackupAt: taken.get(t.id)! } : {}),
      ...(result
        ? {
            verification: {
              runId: result.runId,
              ...(result.backupId ? { backupId: result.backupId } : {}),
              ok: result.ok,
              at: result.finishedAt,
              ...(result.restoreMs !== undefined ? { restoreMs: result.restoreMs } : {}),
              problems: result.problems,
            },
          }
        : {}),
      ...(recoveries.has(t.id) ? { lastRecovery: recoveries.get(t.id)! } : {}),
      ...(replication.has(t.id) ? { replication: replication.get(t.id)! } : {}),
    };
    return drStatusOf(facts, now);
  });
}

/** Every active and suspended tenant's standing, those out of target first. */
export async function fleetDrReport(store: Registry, catalog: PolicyCatalog): Promise<TenantDrStatus[]> {
  const statuses: TenantDrStatus[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.tenants.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    const kept = page.items.filter((t) => t.status === 'active' || t.status === 'suspended');
    if (kept.length > 0) statuses.push(...(await drStatuses(store, catalog, kept)));
    cursor = page.nextCursor;
  } while (cursor);
  return statuses.sort(
    (a, b) => Number(a.withinTarget) - Number(b.withinTarget) || a.tenantId.localeCompare(b.tenantId),
  );
}
