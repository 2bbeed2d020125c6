import type { OperationKind } from './operation.js';
import type { TenantStatus } from './tenant.js';

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
};

/** Returns why `kind` cannot start from `status`, or undefined when it can. */
export function transitionRefusal(kind: OperationKind, status: TenantStatus | 'absent'): string | undefined {
  const rule = TRANSITIONS[kind];
  if (rule.from.includes(status)) return undefined;
  if (kind === 'onboard') return 'the tenant already exists';
  if (status === 'absent') return 'the tenant does not exist';
  if (status === rule.to) return `the tenant is already ${status}`;
  const verb = { suspend: 'suspended', resume: 'resumed', 'drift-check': 'checked for drift' }[kind];
  return `a ${status} tenant cannot be ${verb}; it must be ${rule.from.join(' or ')}`;
}
