import type { TenantRecord } from './tenant.js';

/**
 * Returns why a tenant cannot move to `tier` (already on it, or a move this version cannot make),
 * or undefined when it can. `targetModel` is the deployment model of the requested tier.
 */
export function tierChangeRefusal(
  tenant: { tier: string; deploymentModel?: TenantRecord['deploymentModel'] },
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
