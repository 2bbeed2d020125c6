import { checkPlacement, LandlordError } from '../../domain/index.js';
import type { PolicyCatalog, TenantSpec } from '../../domain/index.js';
import type { StepRef } from '../step-ref.js';

export interface PlacementDecision {
  deploymentModel: 'pool' | 'silo';
  region: string;
  drRegion?: string;
  residency: string;
}

/** Policy activities: the worker holds the tier policy and region catalog loaded from config/. */
export function createPolicyActivities({
  catalog,
  poolRegions,
}: {
  catalog: PolicyCatalog;
  poolRegions: ReadonlySet<string>;
}) {
  return {
    /** Checks a tenant's tier and region against policy and settles where it will live. */
    async validatePlacement({ spec }: { stepRef?: StepRef; spec: TenantSpec }): Promise<PlacementDecision> {
      const placement = checkPlacement(catalog, spec);
      if (placement.tier.deploymentModel === 'pool' && !poolRegions.has(placement.region.id)) {
        throw new LandlordError(
          'PolicyViolation',
          `region "${placement.region.id}" has no pool database configured`,
        );
      }
      if (placement.tier.deploymentModel === 'silo') {
        throw new LandlordError(
          'PolicyViolation',
          `tier "${placement.tier.id}" needs a silo; silo provisioning is not available yet`,
        );
      }
      return {
        deploymentModel: placement.tier.deploymentModel,
        region: placement.region.id,
        ...(placement.drRegion ? { drRegion: placement.drRegion.id } : {}),
        residency: placement.region.residency,
      };
    },
  };
}

export type PolicyActivities = ReturnType<typeof createPolicyActivities>;
