import { z } from 'zod';
import { LandlordError } from './errors.js';
import { Residency } from './tenant.js';
import type { TenantSpec } from './tenant.js';

const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 15m, 4h or 1d');

export const TierPolicy = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
  description: z.string(),
  deploymentModel: z.enum(['pool', 'silo']),
  dr: z.strictObject({
    enabled: z.boolean(),
    rpo: Duration,
    rto: Duration,
  }),
  backup: z.strictObject({ cadence: Duration, retentionDays: z.number().int().positive() }),
  apiQuota: z.strictObject({ requestsPerMinute: z.number().int().positive() }),
  /** What each tenant's database role may hold: its sessions at once. */
  database: z
    .strictObject({ connectionLimit: z.number().int().min(1).max(10_000) })
    .default({ connectionLimit: 10 }),
  /** Region ids this tier may be placed in; absent means every region. */
  allowedRegions: z.array(z.string()).optional(),
  /** Providers this tier may be placed on; absent means every provider. */
  allowedProviders: z.array(z.enum(['local', 'aws', 'gcp'])).optional(),
});
export type TierPolicy = z.infer<typeof TierPolicy>;

export const Region = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
  provider: z.enum(['local', 'aws', 'gcp']),
  cloudRegion: z.string(),
  residency: Residency,
  drPartner: z.string().optional(),
});
export type Region = z.infer<typeof Region>;

export const PolicyCatalog = z
  .strictObject({ tiers: z.array(TierPolicy).min(1), regions: z.array(Region).min(1) })
  .superRefine((catalog, ctx) => {
    const regionIds = new Set(catalog.regions.map((r) => r.id));
    const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
    for (const id of dupes(catalog.tiers.map((t) => t.id)))
      ctx.addIssue({ code: 'custom', message: `duplicate tier ${id}`, path: ['tiers'] });
    for (const id of dupes(catalog.regions.map((r) => r.id)))
      ctx.addIssue({ code: 'custom', message: `duplicate region ${id}`, path: ['regions'] });
    catalog.regions.forEach((region, i) => {
      if (region.drPartner === undefined) return;
      const partner = catalog.regions.find((r) => r.id === region.drPartner);
      if (!partner || partner.id === region.id) {
        ctx.addIssue({
          code: 'custom',
          message: `DR partner ${region.drPartner} is not another known region`,
          path: ['regions', i, 'drPartner'],
        });
      } else if (partner.residency !== region.residency) {
        ctx.addIssue({
          code: 'custom',
          message: `DR partner ${partner.id} keeps data in ${partner.residency}, not ${region.residency}`,
          path: ['regions', i, 'drPartner'],
        });
      }
    });
    catalog.tiers.forEach((tier, i) => {
      for (const r of tier.allowedRegions ?? []) {
        if (!regionIds.has(r))
          ctx.addIssue({
            code: 'custom',
            message: `unknown region ${r}`,
            path: ['tiers', i, 'allowedRegions'],
          });
      }
    });
  });
export type PolicyCatalog = z.infer<typeof PolicyCatalog>;

/** Where a tenant lands: its tier, its home region and (for DR tiers) the partner region. */
export interface Placement {
  tier: TierPolicy;
  region: Region;
  drRegion?: Region;
}

/**
 * Decides whether a tenant may live where it asks to. Throws a PolicyViolation (422) with a message
 * an operator can act on; pure, so the API and the workflow reach the same verdict.
 */
export function checkPlacement(
  catalog: PolicyCatalog,
  spec: Pick<TenantSpec, 'tier' | 'region' | 'residency'>,
): Placement {
  const tier = catalog.tiers.find((t) => t.id === spec.tier);
  if (!tier) {
    throw new LandlordError(
      'PolicyViolation',
      `unknown tier "${spec.tier}"; known tiers: ${catalog.tiers.map((t) => t.id).join(', ')}`,
      { field: 'tier' },
    );
  }
  const region = catalog.regions.find((r) => r.id === spec.region);
  if (!region) {
    throw new LandlordError(
      'PolicyViolation',
      `unknown region "${spec.region}"; known regions: ${catalog.regions.map((r) => r.id).join(', ')}`,
      { field: 'region' },
    );
  }
  if (tier.allowedRegions && !tier.allowedRegions.includes(region.id)) {
    throw new LandlordError(
      'PolicyViolation',
      `tier "${tier.id}" is not offered in region "${region.id}"; allowed: ${tier.allowedRegions.join(', ')}`,
      { field: 'region' },
    );
  }
  if (tier.allowedProviders && !tier.allowedProviders.includes(region.provider)) {
    throw new LandlordError(
      'PolicyViolation',
      `tier "${tier.id}" is not offered on provider "${region.provider}"`,
      { field: 'region' },
    );
  }
  if (spec.residency && spec.residency !== region.residency) {
    throw new LandlordError(
      'PolicyViolation',
      `region "${region.id}" keeps data in ${region.residency}, but residency ${spec.residency} was requested`,
      { field: 'residency' },
    );
  }
  if (!tier.dr.enabled) return { tier, region };
  const drRegion = catalog.regions.find((r) => r.id === region.drPartner);
  if (!drRegion) {
    throw new LandlordError(
      'PolicyViolation',
      `tier "${tier.id}" needs disaster recovery, but region "${region.id}" has no DR partner`,
      { field: 'region' },
    );
  }
  return { tier, region, drRegion };
}
