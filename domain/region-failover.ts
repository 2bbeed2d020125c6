/**
 * Region failover (docs/disaster-recovery.md): every DR tenant homed in a region failed over in
 * waves under one approval; a region drill, every tenant homed there drilled in waves. Neither is a
 * tenant's operation: the API records it and its own workflow runs it. No zod, no Node built-ins:
 * workflow code imports this module.
 */
import { newSteps } from './operation.js';
import type { Actor, OperationSnapshot } from './operation.js';

/** A region failover's (or drill's) `tenantId` is this and the region's id; no tenant id contains ':'. */
export const REGION_FAILOVER_TENANT_PREFIX = 'region:';

/** The operations run region by region by the `regionFailover` workflow. */
export type RegionOperationKind = 'region-failover' | 'region-drill';

/**
 * A region failover (or drill) as first recorded: running, every step pending, who asked kept for
 * four eyes.
 */
export function regionFailoverOperation({
  id,
  kind = 'region-failover',
  region,
  reason,
  waveSize,
  includeBackupRestores = false,
  actor,
  at,
}: {
  id: string;
  kind?: RegionOperationKind;
  region: string;
  reason?: string;
  waveSize: number;
  /** A region failover that also restores the tenants without DR in the partner region. */
  includeBackupRestores?: boolean;
  actor: Actor;
  at: string;
}): OperationSnapshot {
  return {
    id,
    tenantId: `${REGION_FAILOVER_TENANT_PREFIX}${region}`,
    kind,
    status: 'running',
    run: 1,
    steps: newSteps(kind, undefined, { includeBackupRestores }),
    actor,
    input: {
      region,
      ...(reason ? { reason } : {}),
      waveSize,
      ...(includeBackupRestores ? { includeBackupRestores } : {}),
      requestedBy: actor.principal,
    },
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}
