import { z } from 'zod';
import type { TenantOffboarding } from './offboard.js';
import { recordWithKeys, StoredText } from './text.js';

/** Tenant ids are slugs: they name workflows, database roles and stacks, so keep them boring. */
export const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{2,39}$/;
export const TenantId = z.string().regex(TENANT_ID_PATTERN, 'must match ^[a-z][a-z0-9-]{2,39}$');
export type TenantId = z.infer<typeof TenantId>;

/**
 * `offboarding`: access off, data kept until its grace period ends (or the offboarding is
 * cancelled); `deleted`: a tombstone, the id reserved for good.
 */
export const TENANT_STATUSES = [
  'provisioning',
  'active',
  'suspended',
  'failed',
  'offboarding',
  'deleted',
] as const;
export const TenantStatus = z.enum(TENANT_STATUSES);
export type TenantStatus = z.infer<typeof TenantStatus>;

export const Residency = z.string().regex(/^[A-Z]{2,8}$/, 'a residency code such as EU or US');

const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
const FEATURE_KEY = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;

/** A name from which a tenant id can be derived holds at least one letter A–Z. */
const NAMES_A_SLUG = /[A-Za-z]/;

export const CreateTenantRequest = z
  .strictObject({
    name: StoredText.trim().min(1).max(200),
    tier: StoredText.min(1).max(64),
    region: StoredText.min(1).max(64),
    // The pattern is the one the check uses, so that the OpenAPI document states it.
    adminEmail: z.email().max(320).meta({ pattern: z.regexes.email.source }),
    id: TenantId.optional(),
    residency: Residency.optional(),
    features: recordWithKeys(FEATURE_KEY, z.boolean(), 'a feature name').optional(),
    labels: recordWithKeys(LABEL_KEY, StoredText.max(256), 'a lowercase label key').optional(),
    /** Silo tiers: keep what a failed onboarding provisioned, for debugging, instead of destroying it. */
    retainOnFailure: z.boolean().optional(),
  })
  .superRefine((request, ctx) => {
    // A blank name is refused as such already.
    if (request.id === undefined && request.name.length > 0 && !NAMES_A_SLUG.test(request.name))
      ctx.addIssue({
        code: 'custom',
        path: ['id'],
        message: 'required when the name has no letter A-Z to derive the id from',
      });
  })
  .meta({ anyOf: [{ required: ['id'] }, { properties: { name: { pattern: NAMES_A_SLUG.source } } }] });
export type CreateTenantRequest = z.infer<typeof CreateTenantRequest>;

/** The tenant as onboarding needs it: every optional field settled. */
export interface TenantSpec {
  id: TenantId;
  name: string;
  tier: string;
  region: string;
  adminEmail: string;
  residency?: string;
  features: Record<string, boolean>;
  labels: Record<string, string>;
  retainOnFailure?: boolean;
}

/**
 * Derives a tenant id from a display name: lowercase ASCII, hyphens between words, padded or cut
 * to fit the slug rule. Returns undefined when nothing usable is left (e.g. a name of only symbols).
 */
export function slugFromName(name: string): TenantId | undefined {
  let slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  if (slug.length === 0) return undefined;
  if (slug.length < 3) slug = `${slug}-co`.slice(0, 40);
  return TENANT_ID_PATTERN.test(slug) ? slug : undefined;
}

export function tenantSpecFrom(request: CreateTenantRequest, id: TenantId): TenantSpec {
  return {
    id,
    name: request.name,
    tier: request.tier,
    region: request.region,
    adminEmail: request.adminEmail.toLowerCase(),
    ...(request.residency ? { residency: request.residency } : {}),
    features: request.features ?? {},
    labels: request.labels ?? {},
    ...(request.retainOnFailure ? { retainOnFailure: true } : {}),
  };
}

/** A tenant as the registry holds it and the API shows it. */
/** A resource that changed or vanished outside Pulumi, as a drift check reports it. */
export interface DriftedResource {
  urn: string;
  type: string;
  name: string;
  /** What refresh would do: `update` (changed outside Pulumi) or `delete` (gone). */
  change: string;
}

/** A tenant's own retention choices, per data class (PUT /v1/tenants/{id}/retention). */
export type TenantRetention = Partial<Record<string, { days: number }>>;

export interface TenantRecord {
  id: TenantId;
  name: string;
  tier: string;
  region: string;
  drRegion?: string;
  /**
   * Where the tenant is served from when that is not its home region: its DR region, after a
   * failover (until a failback). Absent: its home region.
   */
  activeRegion?: string;
  /**
   * A tenant without a standby recovered in its home region's DR partner by a restore
   * (`"region"`): that region, where the restore built it a store (a pool partition or a silo
   * stack). The store stays, fenced whenever another serves, until the tenant is offboarded.
   */
  recoveryRegion?: string;
  residency?: string;
  deploymentModel: 'pool' | 'silo';
  status: TenantStatus;
  statusReason?: string;
  adminEmail: string;
  features: Record<string, boolean>;
  labels: Record<string, string>;
  /** Non-secret outputs of what was provisioned for the tenant, by kind. */
  resources: Record<string, unknown>;
  /** Set while an operation holds the tenant read-only (its data is moving); absent when writable. */
  readOnly?: { since: string; operationId: string };
  /** The tenant's own retention choices per data class, within its tier's bounds (domain/retention.ts). */
  retention?: TenantRetention;
  /** While offboarding: why, by whom, when its data goes; once deleted, the tombstone (domain/offboard.ts). */
  offboarding?: TenantOffboarding;
  /** The latest drift check of the tenant's stacks. */
  drift?: { checkedAt: string; operationId: string; resources: DriftedResource[] };
  createdAt: string;
  updatedAt: string;
  /** Monotonic per tenant: a projection write with a lower version is ignored. */
  version: number;
}
