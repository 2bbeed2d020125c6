import type { OperationKind } from './operation.js';
import type { TenantRecord, TenantStatus } from './tenant.js';

/**
 * Status a tenant may be in for each operation to start, and the status it has once it succeeds
 * (`to` absent: the operation leaves the status as it is).
 */
export const TRANSITIONS: Record<
  OperationKind,
  { from: readonly (TenantStatus | 'absent')[]; to?: TenantStatus }
> = {
  onboard: { from: ['absent'], to: 'active' },
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  'drift-check': { from: ['active', 'suspended'] },
  'change-tier': { from: ['active'] },
};

/** Returns why `kind` cannot start from `status`, or undefined when it can. */
export function transitionRefusal(kind: OperationKind, status: TenantStatus | 'absent'): string | undefined {
  const rule = TRANSITIONS[kind];
  if (rule.from.includes(status)) return undefined;
  if (kind === 'onboard') return 'the tenant already exists';
  if (status === 'absent') return 'the tenant does not exist';
  if (status === rule.to) return `the tenant is already ${status}`;
  const verb = {
    suspend: 'suspended',
    resume: 'resumed',
    'drift-check': 'checked for drift',
    'change-tier': 'moved to another tier',
  }[kind];
  return `a ${status} tenant cannot be ${verb}; it must be ${rule.from.join(' or ')}`;
}

/**
 * Returns why a tenant cannot move to `tier` (already on it, or a move this version cannot make),
 * or undefined when it can. `targetModel` is the deployment model of the requested tier.
 */
export function tierChangeRefusal(
  tenant: Pick<TenantRecord, 'tier' | 'deploymentModel'>,
  tier: string,
  targetModel: 'pool' | 'silo',
): { type: 'InvalidTransition' | 'PolicyViolation'; message: string } | undefined {
  if (tenant.tier === tier)
    return { type: 'InvalidTransition', message: `the tenant is already on tier "${tier}"` };
  if (tenant.deploymentModel === 'silo')
    return {
      type: 'PolicyViolation',
      message:
        targetModel === 'pool'
          ? `moving a silo tenant back to the pool (tier "${tier}") is not supported yet`
          : `moving a silo tenant to another silo tier ("${tier}") is not supported yet`,
    };
  return undefined;
}
