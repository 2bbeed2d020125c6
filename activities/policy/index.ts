import { createHash } from 'node:crypto';
import {
  checkPlacement,
  durationMs,
  effectiveRetention,
  holdCoversObjects,
  LandlordError,
  tenantRetentionProblems,
} from '../../domain/index.js';
import type {
  DataPlaneManifest,
  EffectiveRetention,
  LegalHold,
  PolicyCatalog,
  Region,
  RetentionPolicyFile,
  SiloSpec,
  StorageRetention,
  TenantRetention,
  TenantSpec,
  TierPolicy,
} from '../../domain/index.js';
import type { StepRef } from '../step-ref.js';

export interface PlacementDecision {
  deploymentModel: 'pool' | 'silo';
  region: string;
  drRegion?: string;
  residency: string;
  /** Sessions the tenant's database role may hold at once. */
  connectionLimit: number;
  /** For silo tiers: what each stack is to provision. */
  /** `recovery`: its stack in the region a restore recovers it in, when asked for (`recoveryRegion`). */
  silo?: { primary: SiloSpec; standby?: SiloSpec; recovery?: SiloSpec };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** How many approvals DR operations need, and for how long they wait, unless a tier says otherwise. */
export interface ApprovalDefaults {
  required: number;
  timeoutMs: number;
}
const DEFAULT_APPROVALS: ApprovalDefaults = { required: 1, timeoutMs: 3_600_000 };

/** 8 base-32 characters unique per provisioning run (SiloSpec.generation). */
function generationOf(stepRef: StepRef | undefined): string | undefined {
  if (!stepRef) return undefined;
  const digest = createHash('sha256').update(`${stepRef.operationId}:${stepRef.run}`).digest();
  return base32(digest).slice(0, 8);
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const base32 = (bytes: Buffer) => [...bytes].map((b) => BASE32[b % 32]).join('');

/**
 * Each storage prefix of the manifest with the retention of its data class for the tenant, and
 * whether one of the tenant's holds (when the caller read them) covers it. An object has no subject
 * key, so a hold naming any subject covers every prefix, as it does on the local target.
 */
function storageRetentionOf(
  storage: DataPlaneManifest['storage'],
  policy: Pick<RetentionPolicyFile, 'dataClasses'>,
  tier: string,
  choices: TenantRetention | undefined,
  holds: readonly LegalHold[],
): StorageRetention[] {
  const byClass = new Map(effectiveRetention(policy, tier, choices).map((e) => [e.dataClass, e.days]));
  const at = new Date().toISOString();
  return storage.map(({ prefix, dataClass }) => {
    // A class the policy does not name has no expiry: it is kept.
    const days = byClass.get(dataClass);
    const held = holds.some((h) => holdCoversObjects(h, dataClass, at));
    return { prefix, dataClass, ...(days !== undefined ? { days } : {}), ...(held ? { held } : {}) };
  });
}

function siloSpec(
  spec: TenantSpec,
  tier: TierPolicy,
  region: Region,
  role: SiloSpec['role'],
  generation: string | undefined,
  storageRetention: StorageRetention[] | undefined,
): SiloSpec {
  return {
    tenantId: spec.id,
    tier: tier.id,
    region,
    role,
    // Enough automated backups to cover the tier's retention, at least one day past its RPO.
    backupRetentionDays: Math.max(tier.backup.retentionDays, Math.ceil(durationMs(tier.dr.rpo) / DAY_MS)),
    deletionProtection: tier.dr.enabled,
    connectionLimit: tier.database.connectionLimit,
    labels: spec.labels,
    ...(generation ? { generation } : {}),
    ...(storageRetention ? { storageRetention } : {}),
  };
}

/** Policy activities: the worker holds the tier policy and region catalog loaded from config/. */
export function createPolicyActivities({
  catalog,
  localRegions,
  retention,
  manifest,
  approvals = DEFAULT_APPROVALS,
}: {
  catalog: PolicyCatalog;
  /** What DR operations' approval steps need by default (LANDLORD_DR_APPROVALS, …_TIMEOUT). */
  approvals?: ApprovalDefaults;
  localRegions: ReadonlySet<string>;
  /** Retention policies (config/retention.json); absent where no tenant's choices are checked. */
  retention?: Pick<RetentionPolicyFile, 'dataClasses'>;
  /** The data-plane manifest; with `retention`, silo specs carry their storage's lifecycle. */
  manifest?: Pick<DataPlaneManifest, 'storage'>;
}) {
  return {
    /**
     * Checks a tenant's retention choices against its tier (ValidationFailed, one line per
     * problem) and returns the policy that results, per data class.
     */
    async checkTenantRetention({
      tier,
      choices,
    }: {
      tier: string;
      choices: TenantRetention;
    }): Promise<EffectiveRetention[]> {
      if (!retention) throw new LandlordError('Misconfigured', 'this worker has no retention policies');
      const problems = tenantRetentionProblems(retention, tier, choices);
      if (problems.length > 0) throw new LandlordError('ValidationFailed', problems.join('; '));
      return effectiveRetention(retention, tier, choices);
    },

    /**
     * What a DR operation's approval step of a tenant on `tier` needs: its tier's `dr.approvals`,
     * else the configured default; and how long it waits.
     */
    async approvalPolicy({ tier }: { tier: string }): Promise<{ required: number; timeoutMs: number }> {
      const found = catalog.tiers.find((t) => t.id === tier);
      return { required: found?.dr.approvals ?? approvals.required, timeoutMs: approvals.timeoutMs };
    },

    /** Where a region's tenants are recovered (and drilled): its DR partner, or itself without one. */
    async recoveryRegion({ region }: { region: string }): Promise<string> {
      return catalog.regions.find((r) => r.id === region)?.drPartner ?? region;
    },

    /** The tier's recovery targets (config/tiers.json `dr.rto`, `dr.rpo`) in milliseconds. */
    async recoveryTargets({ tier }: { tier: string }): Promise<{ rtoMs: number; rpoMs: number }> {
      const found = catalog.tiers.find((t) => t.id === tier);
      if (!found)
        throw new LandlordError('Misconfigured', `tier "${tier}" is not in this worker's tiers.json`);
      return { rtoMs: durationMs(found.dr.rto), rpoMs: durationMs(found.dr.rpo) };
    },

    /** The tier's backup cadence and how many days its backups are kept (config/tiers.json). */
    async backupPolicy({ tier }: { tier: string }): Promise<{ cadenceMs: number; retentionDays: number }> {
      const found = catalog.tiers.find((t) => t.id === tier);
      if (!found)
        throw new LandlordError('Misconfigured', `tier "${tier}" is not in this worker's tiers.json`);
      return { cadenceMs: durationMs(found.backup.cadence), retentionDays: found.backup.retentionDays };
    },

    /** Checks a tenant's tier and region against policy and settles where and how it will live. */
    async validatePlacement({
      stepRef,
      spec,
      retention: choices,
      holds = [],
      recoveryRegion,
    }: {
      stepRef?: StepRef;
      spec: TenantSpec;
      /**
       * A region a restore recovers the tenant in (its home region's DR partner): a silo tier's
       * placement then also has the spec of its stack there, `silo.recovery`.
       */
      recoveryRegion?: string;
      /** The tenant's own retention choices, where it has any (a tier change); else the tier's. */
      retention?: TenantRetention;
      /** The tenant's legal holds in force, where the caller read them: held prefixes get no expiry. */
      holds?: LegalHold[];
    }): Promise<PlacementDecision> {
      const generation = generationOf(stepRef);
      const { tier, region, drRegion } = checkPlacement(catalog, spec);
      const recovery =
        recoveryRegion === undefined ? undefined : catalog.regions.find((r) => r.id === recoveryRegion);
      if (recoveryRegion !== undefined && (!recovery || region.drPartner !== recoveryRegion))
        throw new LandlordError(
          'PolicyViolation',
          `tenant ${spec.id} is recovered only in its home region's DR partner` +
            (region.drPartner ? ` ${region.drPartner}` : ` (${region.id} has none)`) +
            `, not in ${recoveryRegion}`,
        );
      for (const r of [region, drRegion, recovery]) {
        if (r?.provider === 'local' && !localRegions.has(r.id)) {
          throw new LandlordError('Misconfigured', `region "${r.id}" has no Postgres server configured`);
        }
      }
      if (tier.deploymentModel === 'pool' && region.provider !== 'local' && !localRegions.has(region.id)) {
        throw new LandlordError('Misconfigured', `region "${region.id}" has no pool database configured`);
      }
      const storageRetention =
        manifest && retention
          ? storageRetentionOf(manifest.storage, retention, tier.id, choices, holds)
          : undefined;
      const silo = (r: Region, role: SiloSpec['role']) =>
        siloSpec(spec, tier, r, role, generation, storageRetention);
      return {
        deploymentModel: tier.deploymentModel,
        region: region.id,
        ...(drRegion ? { drRegion: drRegion.id } : {}),
        residency: region.residency,
        connectionLimit: tier.database.connectionLimit,
        ...(tier.deploymentModel === 'silo'
          ? {
              silo: {
                primary: silo(region, 'primary'),
                // The standby's bucket holds copies of the same objects and expires them by the same
                // rules: S3 replication does not carry lifecycle deletions over.
                ...(drRegion ? { standby: silo(drRegion, 'standby') } : {}),
                // A store of its own there, serving once the restore switches to it.
                ...(recovery ? { recovery: silo(recovery, 'primary') } : {}),
              },
            }
          : {}),
      };
    },
  };
}

export type PolicyActivities = ReturnType<typeof createPolicyActivities>;
