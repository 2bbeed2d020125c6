/** Registry rows to domain records. */
import type pg from 'pg';
import type {
  ApiKeyRecord,
  AuditEvent,
  OperationSnapshot,
  Role,
  TenantRecord,
  TenantStatus,
} from '../../domain/index.js';

export type Row = Record<string, unknown>;

export const iso = (v: Date | null | undefined): string | undefined => (v ? v.toISOString() : undefined);

/**
 * A page of an append-only table in `seq` order, after `afterSeq`, filtered by conditions each
 * with one `?` for its value (`['tenant_id = ?', id]`) or none (`['tenant_id IS NULL']`).
 */
export async function pageBySeq(
  pool: pg.Pool,
  table: string,
  conditions: ([string, unknown] | [string])[],
  { afterSeq = 0, limit }: { afterSeq?: number; limit: number },
): Promise<Row[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  for (const condition of [...conditions, ['seq > ?', afterSeq] as [string, unknown]]) {
    if (condition.length === 1) where.push(condition[0]);
    else {
      args.push(condition[1]);
      where.push(condition[0].replace('?', `$${args.length}`));
    }
  }
  args.push(limit);
  const { rows } = await pool.query(
    `SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${args.length}`,
    args,
  );
  return rows as Row[];
}

export function tenantFromRow(r: Row): TenantRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    tier: r.tier as string,
    region: r.region as string,
    ...(r.dr_region ? { drRegion: r.dr_region as string } : {}),
    ...(r.active_region ? { activeRegion: r.active_region as string } : {}),
    ...(r.recovery_region ? { recoveryRegion: r.recovery_region as string } : {}),
    ...(r.residency ? { residency: r.residency as string } : {}),
    deploymentModel: r.deployment_model as 'pool' | 'silo',
    status: r.status as TenantStatus,
    ...(r.status_reason ? { statusReason: r.status_reason as string } : {}),
    adminEmail: r.admin_email as string,
    features: r.features as Record<string, boolean>,
    labels: r.labels as Record<string, string>,
    resources: r.resources as Record<string, unknown>,
    ...(r.read_only ? { readOnly: r.read_only as TenantRecord['readOnly'] } : {}),
    ...(r.drift ? { drift: r.drift as TenantRecord['drift'] } : {}),
    ...(r.retention ? { retention: r.retention as TenantRecord['retention'] } : {}),
    ...(r.offboarding ? { offboarding: r.offboarding as TenantRecord['offboarding'] } : {}),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    version: Number(r.version),
  };
}

export function operationFromRow(r: Row): OperationSnapshot {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    kind: r.kind as OperationSnapshot['kind'],
    status: r.status as OperationSnapshot['status'],
    run: r.run as number,
    steps: r.steps as OperationSnapshot['steps'],
    actor: r.actor as OperationSnapshot['actor'],
    input: r.input as Record<string, unknown>,
    ...(r.error ? { error: r.error as OperationSnapshot['error'] } : {}),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    ...(r.finished_at ? { finishedAt: iso(r.finished_at as Date)! } : {}),
    ...(r.result ? { result: r.result as Record<string, unknown> } : {}),
    ...(r.approval ? { approval: r.approval as OperationSnapshot['approval'] } : {}),
    version: Number(r.version),
  };
}

export function apiKeyFromRow(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    role: r.role as Role,
    createdBy: r.created_by as string,
    createdAt: iso(r.created_at as Date)!,
    ...(r.revoked_at ? { revokedAt: iso(r.revoked_at as Date)! } : {}),
    ...(r.last_used_at ? { lastUsedAt: iso(r.last_used_at as Date)! } : {}),
  };
}

export function auditFromRow(r: Row): AuditEvent {
  return {
    seq: Number(r.seq),
    at: iso(r.at as Date)!,
    ...(r.tenant_id ? { tenantId: r.tenant_id as string } : {}),
    ...(r.operation_id ? { operationId: r.operation_id as string } : {}),
    actor: r.actor as string,
    ...(r.actor_role ? { actorRole: r.actor_role as string } : {}),
    ...(r.request_id ? { requestId: r.request_id as string } : {}),
    action: r.action as string,
    outcome: r.outcome as string,
    detail: r.detail as Record<string, unknown>,
  };
}
