import type { AuditInput, Registry } from '../../registry/index.js';
import { holdActive } from '../../domain/index.js';
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
    /** Appends to the audit trail; a retried append with the same key is a no-op. */
    async appendAudit(event: AuditInput): Promise<void> {
      await store.audit.append(event);
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
