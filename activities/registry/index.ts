import type { AuditInput, Registry } from '../../registry/index.js';
import { holdActive, LandlordError } from '../../domain/index.js';
import type { LegalHold, OperationSnapshot, TenantRecord } from '../../domain/index.js';

/** Registry projection activities: idempotent, versioned writes of what the workflows decided. */
export function createRegistryActivities({ store }: { store: Registry }) {
  return {
    /** Writes the tenant's projection; an older version never overwrites a newer one. */
    async projectTenant(record: TenantRecord): Promise<void> {
      await store.tenants.upsert(record);
    },
    /** Writes an operation snapshot; an older version never overwrites a newer one. */
    async projectOperation(snapshot: OperationSnapshot): Promise<void> {
      await store.operations.upsert(snapshot);
    },
    /** The tenant's legal holds in force now. */
    async activeLegalHolds(tenantId: string): Promise<LegalHold[]> {
      const at = new Date().toISOString();
      return (await store.legalHolds.list(tenantId)).filter((h) => holdActive(h, at));
    },
    /**
     * The approval a tenant's failover takes over from its region's failover: that operation must
     * be a region failover of the tenant's home region whose approval step succeeded with every
     * approval it needed. Throws (non-retryable) otherwise, so no failover skips its approval.
     */
    async regionApproval({
      operationId,
      region,
    }: {
      operationId: string;
      region: string;
    }): Promise<{ approvedBy: string; approvals: string[] }> {
      const op = await store.operations.get(operationId);
      const approved =
        op?.kind === 'region-failover' &&
        // Its waves ask while it runs; a retried tenant failover keeps the approval it took then.
        op.status === 'running' &&
        (op.input as { region?: unknown }).region === region &&
        op.steps.some((s) => s.name === 'approval' && s.status === 'succeeded') &&
        (op.approval?.decisions.filter((d) => d.decision === 'approved').length ?? 0) >=
          (op.approval?.required ?? 1);
      if (!op || !approved)
        throw new LandlordError(
          'PolicyViolation',
          `operation ${operationId} is no approved failover of region ${region}: the tenant's failover needs its own approval`,
        );
      return {
        approvedBy: operationId,
        approvals: op.approval!.decisions.filter((d) => d.decision === 'approved').map((d) => d.principal),
      };
    },
    /** Appends to the audit trail; a retried append with the same key is a no-op. */
    async appendAudit(event: AuditInput): Promise<void> {
      await store.audit.append(event);
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
