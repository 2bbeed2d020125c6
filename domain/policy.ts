import { z } from 'zod';
import { cloudLabels, SYSTEM_LABEL_KEYS } from './cloud-labels.js';
import { LandlordError } from './errors.js';
import { Residency } from './tenant.js';
import type { TenantSpec } from './tenant.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;

/** A tier's duration (`15m`, `4h`, `1d`: what Duration accepts) in milliseconds. */
export const durationMs = (d: string): number =>
  Number(d.replace(/\D+$/, '')) * UNIT_MS[d.replace(/^\d+/, '') as keyof typeof UNIT_MS];

const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 15m, 4h or 1d');

export const TierPolicy = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
  description: z.string(),
  deploymentModel: z.enum(['pool', 'silo']),
  dr: z.strictObject({
    enabled: z.boolean(),
    rpo: Duration,
    rto: Duration,
    /**
     * Approvals a restore, failover or failback of the tier's tenants needs, each from a principal
     * other than the requester; absent: LANDLORD_DR_APPROVALS.
     */
    approvals: z.number().int().min(1).max(5).optional(),
  }),
  backup: z.strictObject({ cadence: Duration, retentionDays: z.number().int().positive() }),
  apiQuota: z.strictObject({ requestsPerMinute: z.number().int().positive() }),
  /** Days an offboarded tenant's data is kept (access off, export made) before it is destroyed. */
  offboarding: z.strictObject({ graceDays: z.number().int().min(0).max(365) }).default({ graceDays: 30 }),
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

/**
 * Where an AWS region's silo databases live: the VPC, its subnets (two or more, in different
 * availability zones) or an existing DB subnet group, and the security group the application runs
 * in, the only one the database admits.
 */
export const AwsNetwork = z
  .strictObject({
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id such as vpc-0a1b2c3d4e5f60718'),
    subnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id such as subnet-0a1b2c3d'))
      .min(2, 'RDS needs subnets in at least two availability zones')
      .optional(),
    dbSubnetGroupName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9 ._-]{0,254}$/, 'an existing DB subnet group name')
      .optional(),
    appSecurityGroupId: z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id such as sg-0a1b2c3d'),
  })
  .refine((n) => (n.subnetIds === undefined) !== (n.dbSubnetGroupName === undefined), {
    message: 'give either subnetIds or dbSubnetGroupName',
  });
export type AwsNetwork = z.infer<typeof AwsNetwork>;

/**
 * Where a GCP region's Cloud SQL instances get their private IP: a VPC network with private
 * services access, and optionally the allocated range to take addresses from.
 */
export const GcpNetwork = z.strictObject({
  network: z
    .string()
    .regex(
      /^projects\/[a-z][-a-z0-9]{4,28}[a-z0-9]\/global\/networks\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
      'a network path such as projects/my-project/global/networks/landlord',
    ),
  allocatedIpRange: z
    .string()
    .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'an allocated range name')
    .optional(),
});
export type GcpNetwork = z.infer<typeof GcpNetwork>;

export const Region = z
  .strictObject({
    id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
    provider: z.enum(['local', 'aws', 'gcp']),
    cloudRegion: z.string(),
    residency: Residency,
    drPartner: z.string().optional(),
    /** AWS or GCP regions: the network silo databases live in (docs/cloud-targets.md). */
    network: z.union([AwsNetwork, GcpNetwork]).optional(),
  })
  .superRefine((region, ctx) => {
    if (region.network === undefined) return;
    const expected = { aws: 'vpcId', gcp: 'network' } as const;
    if (region.provider === 'local')
      ctx.addIssue({ code: 'custom', path: ['network'], message: 'a local region has no network' });
    else if (!(expected[region.provider] in region.network))
      ctx.addIssue({
        code: 'custom',
        path: ['network'],
        message: `an ${region.provider.toUpperCase()} region's network needs ${expected[region.provider]}`,
      });
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
  spec: Pick<TenantSpec, 'tier' | 'region' | 'residency'> & { labels?: Readonly<Record<string, string>> },
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
  const drRegion = tier.dr.enabled ? catalog.regions.find((r) => r.id === region.drPartner) : undefined;
  if (tier.dr.enabled && !drRegion) {
    throw new LandlordError(
      'PolicyViolation',
      `tier "${tier.id}" needs disaster recovery, but region "${region.id}" has no DR partner`,
      { field: 'region' },
    );
  }
  if (tier.deploymentModel === 'silo') {
    for (const r of [region, drRegion]) {
      if (!r || r.provider === 'local') continue;
      if (!r.network)
        throw new LandlordError(
          'PolicyViolation',
          `region "${r.id}" has no network in regions.json; a silo's database there needs one ` +
            '(see docs/cloud-targets.md)',
          { field: 'region' },
        );
      const reserved = Object.keys(spec.labels ?? {}).filter((k) =>
        (SYSTEM_LABEL_KEYS as readonly string[]).includes(k),
      );
      if (reserved.length > 0)
        throw new LandlordError(
          'PolicyViolation',
          `labels ${reserved.map((k) => `"${k}"`).join(', ')}: Landlord sets ${SYSTEM_LABEL_KEYS.join(', ')} on every silo resource itself`,
          { field: 'labels' },
        );
      const { problems } = cloudLabels(r.provider, {
        ...(spec.labels ?? {}),
        ...Object.fromEntries(SYSTEM_LABEL_KEYS.map((k) => [k, 'x'])),
      });
      if (problems.length > 0)
        throw new LandlordError(
          'PolicyViolation',
          `labels that region "${r.id}" cannot carry: ${problems.join('; ')}`,
          { field: 'labels' },
        );
    }
  }
  return drRegion ? { tier, region, drRegion } : { tier, region };
}
