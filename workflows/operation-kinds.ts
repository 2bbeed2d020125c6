/**
 * Every kind of tenant operation, in one table: which tenant statuses it may start from and the
 * one it leaves, what else it needs of the tenant, its steps, who may ask for it, and which child
 * workflow runs it with which input. The tenant workflow (tenant.ts) is a loop over this table;
 * adding a kind is adding its entry here (and its child workflow).
 */
import { executeChild, workflowInfo } from '@temporalio/workflow';
// Value imports from modules without zod (domain/operation.ts says why), not from the index.
import { tierChangeRefusal } from '../domain/lifecycle.js';
import { activeRegionOf } from '../domain/served.js';
import { newSteps } from '../domain/operation.js';
import type {
  OperationKind,
  OperationPlan,
  OperationRequestOf,
  OperationSnapshot,
  OperationStep,
  Permission,
  TenantRecord,
  TenantSpec,
  TenantStatus,
} from '../domain/index.js';
import { changeTenantAccess } from './change-tenant-access.js';
import { changeTenantTier } from './change-tenant-tier.js';
import { checkTenantDrift } from './check-tenant-drift.js';
import { eraseSubject } from './erase-subject.js';
import { offboardTenant } from './offboard-tenant.js';
import { onboardTenant } from './onboard-tenant.js';
import { applyRetention, setRetention } from './retention.js';
import { backupTenant } from './backup-tenant.js';
import { restoreTenant } from './restore-tenant.js';
import { failoverTenant } from './failover-tenant.js';
import { drillTenant } from './drill-tenant.js';
import { syncStorageRules } from './sync-storage-rules.js';
import type { OperationOutcome } from './operation-tracker.js';

/** Why an operation cannot be taken or run: the error kind and what to tell the caller. */
export interface Refusal {
  type: 'InvalidTransition' | 'PolicyViolation' | 'ValidationFailed';
  message: string;
}

/** What the tenant workflow knows of its tenant when it decides about an operation. */
export interface TenantFacts {
  tenantId: string;
  status: TenantStatus | 'absent';
  tenant?: TenantRecord;
  spec?: TenantSpec;
  createdAt?: string;
  /** Where its onboarding places it (the deployment model), known from the onboarding's acceptance. */
  plan?: OperationPlan;
  /** Operations queued or running, the running one first. */
  queued: readonly OperationSnapshot[];
}

/** What a run needs besides its operation. */
export interface RunContext {
  facts: TenantFacts;
  /** The first tenant record version the run may write (workflows/versions.ts). */
  tenantVersion: number;
  provisioningQueue: string;
  dataQueue: string;
}

export interface OperationKindEntry<K extends OperationKind> {
  /** Statuses the tenant may be in for the operation to start. */
  from: readonly (TenantStatus | 'absent')[];
  /** The status once it has succeeded; absent: it leaves the status as it is. */
  to?: TenantStatus;
  /** Also retried from these statuses (a failed onboarding leaves its tenant `failed`). */
  retryFrom?: readonly TenantStatus[];
  /** How refusals name it: "a suspended tenant cannot be <verb>". */
  verb: string;
  /** Who may ask for it (domain/auth.ts). */
  permission: Permission;
  /** Its steps as `GET /v1/operations/{id}` shows them from the start. */
  steps(request: OperationRequestOf<K>): OperationStep[];
  /** What its snapshot records as its input. */
  input(request: OperationRequestOf<K>, facts: TenantFacts): Record<string, unknown>;
  /** What the request lacks on its own (checked first, before any tenant state). */
  malformed?(request: OperationRequestOf<K>, facts: TenantFacts): string | undefined;
  /** Why the tenant as it will be (everything queued done) cannot take it, beyond its statuses. */
  refusal?(request: OperationRequestOf<K>, facts: TenantFacts): Refusal | undefined;
  /** Why it can no longer run when its turn comes, beyond its statuses (the tenant changed meanwhile). */
  refusalAtTurn?(operation: OperationSnapshot, facts: TenantFacts): Refusal | undefined;
  /** What the tenant workflow keeps of an accepted request (an onboarding's spec). */
  accepted?(request: OperationRequestOf<K>, facts: TenantFacts, at: string): Partial<TenantFacts>;
  /** Runs it: its child workflow, with that workflow's input. */
  run(operation: OperationSnapshot, context: RunContext): Promise<OperationOutcome>;
}

/**
 * The tenant's tier and deployment model as they will be once everything queued has succeeded:
 * its record, or, while its onboarding is still queued or running, what that onboarding was asked
 * for. A request made the moment an onboarding shows `succeeded` (its child records that before
 * the tenant workflow has taken the outcome in) is judged against it, not refused.
 */
function placement(facts: TenantFacts): { tier: string; deploymentModel?: 'pool' | 'silo' } | undefined {
  if (facts.tenant) return facts.tenant;
  if (!facts.spec) return undefined;
  return { tier: facts.spec.tier, ...(facts.plan ? { deploymentModel: facts.plan.deploymentModel } : {}) };
}

/**
 * Retention concerns a recorded tenant. One whose onboarding is queued or running takes it: its turn
 * comes after the onboarding's, whose end decides (statuses are checked again at the turn). That is
 * also what a worker that has just replayed the workflow sees: an update is validated before the
 * other events of its workflow task are applied, so the onboarding's end may not be taken in yet.
 */
const onboarded = (_request: unknown, facts: TenantFacts): Refusal | undefined =>
  facts.tenant || facts.queued.some((o) => o.kind === 'onboard')
    ? undefined
    : { type: 'InvalidTransition', message: 'the tenant is still being onboarded' };

/** Refuses a kind that concerns a silo's stacks for a tenant that lives (or will) in its region's pool. */
const siloOnly =
  (what: string) =>
  (_request: unknown, facts: TenantFacts): Refusal | undefined =>
    placement(facts)?.deploymentModel !== 'silo'
      ? { type: 'InvalidTransition', message: `${what}; this tenant lives in its region's pool` }
      : undefined;

/**
 * Why a tenant cannot fail over (`back` false) or back: it has no standby, or it is already where
 * the operation would take it. Checked on acceptance and again at its turn.
 */
function failoverRefusal(back: boolean, tenant: TenantRecord | undefined): Refusal | undefined {
  if (!tenant) return { type: 'InvalidTransition', message: 'the tenant is still being onboarded' };
  if (
    (tenant.deploymentModel !== 'silo' || !tenant.drRegion) &&
    back &&
    activeRegionOf(tenant) !== tenant.region
  )
    return {
      type: 'InvalidTransition',
      message:
        `tenant ${tenant.id} has no DR standby: it is served from ${activeRegionOf(tenant)}, where a restore ` +
        `recovered it, and comes home by a restore: POST /v1/tenants/{id}/restore with "region": "${tenant.region}"`,
    };
  if (tenant.deploymentModel !== 'silo' || !tenant.drRegion)
    return {
      type: 'InvalidTransition',
      message:
        `tenant ${tenant.id} has no DR standby (its tier ${tenant.tier} has none): it is recovered in its ` +
        'partner region by a restore from its latest backup, POST /v1/tenants/{id}/restore with "region"',
    };
  const failedOver = tenant.activeRegion !== undefined && tenant.activeRegion !== tenant.region;
  if (!back && failedOver)
    return {
      type: 'InvalidTransition',
      message: `tenant ${tenant.id} is already served from ${tenant.activeRegion}; fail back first (POST /v1/tenants/{id}/failback)`,
    };
  if (back && !failedOver)
    return {
      type: 'InvalidTransition',
      message: `tenant ${tenant.id} is served from its home region ${tenant.region}; there is nothing to fail back`,
    };
  return undefined;
}

/**
 * Why a tenant cannot be restored into `region` instead of where it is served from: it has a
 * standby (it fails over), or it is served from there already (a retry finds it moved: refused only
 * when nothing of this restore moved it there, which the restore's own run decides).
 */
function relocationRefusal(region: string, tenant: TenantRecord | undefined): Refusal | undefined {
  if (!tenant) return { type: 'InvalidTransition', message: 'the tenant is still being onboarded' };
  if (tenant.drRegion)
    return {
      type: 'InvalidTransition',
      message:
        `tenant ${tenant.id} has a standby in ${tenant.drRegion}: it moves there by a failover, ` +
        'not by a restore into another region',
    };
  if (region !== tenant.region && tenant.recoveryRegion !== undefined && tenant.recoveryRegion !== region)
    return {
      type: 'InvalidTransition',
      message: `tenant ${tenant.id} was recovered in ${tenant.recoveryRegion}; it is restored only there or at home`,
    };
  return undefined;
}

/**
 * Why a tenant cannot change tier for where its stores are: it is served from another region than
 * home, or a restore left it a store in its partner region that a move to another deployment model
 * or to a tier with a standby there would not account for.
 */
function movedRefusal(tenant: TenantRecord, plan: OperationPlan): Refusal | undefined {
  if (tenant.activeRegion && tenant.activeRegion !== tenant.region)
    return {
      type: 'InvalidTransition',
      message: tenant.drRegion
        ? `the tenant is served from its DR region ${tenant.activeRegion}; fail it back before changing its tier`
        : `the tenant is served from ${tenant.activeRegion}, where a restore recovered it; bring it home ` +
          `first (POST /v1/tenants/${tenant.id}/restore with "region": "${tenant.region}")`,
    };
  if (tenant.recoveryRegion && (plan.deploymentModel !== tenant.deploymentModel || plan.dr))
    return {
      type: 'InvalidTransition',
      message:
        `tenant ${tenant.id} keeps a store in ${tenant.recoveryRegion}, left by a restore into that region; ` +
        'a move to a tier with another deployment model or a DR standby is not supported while it does',
    };
  return undefined;
}

/** A failover or failback: approved, then only one of either queued or running at a time. */
const failoverKind = (kind: 'failover' | 'failback'): OperationKindEntry<typeof kind> => ({
  from: ['active', 'suspended'],
  verb: kind === 'failover' ? 'failed over' : 'failed back',
  permission: 'failoverTenant',
  steps: () => newSteps(kind),
  // Who asked stays on the input: a retry's actor is whoever retried, and neither may approve.
  input: (request) => ({
    ...(request.reason ? { reason: request.reason } : {}),
    requestedBy: request.actor.principal,
    // Only Landlord's region failover asks with it (the API's requests carry no such field).
    ...('approvedBy' in request && typeof request.approvedBy === 'string'
      ? { approvedBy: request.approvedBy }
      : {}),
  }),
  malformed: (request) =>
    request.reason !== undefined && (typeof request.reason !== 'string' || request.reason.length > 500)
      ? `a ${kind}'s reason is text of at most 500 characters`
      : undefined,
  refusal: (request, facts) =>
    onboarded(request, facts) ??
    (facts.queued.some((o) => ['failover', 'failback', 'restore', 'offboard', 'change-tier'].includes(o.kind))
      ? {
          type: 'InvalidTransition',
          message:
            'a failover, failback, restore, tier change or offboarding of this tenant is queued or running',
        }
      : failoverRefusal(kind === 'failback', facts.tenant)),
  refusalAtTurn: (_operation, facts) => failoverRefusal(kind === 'failback', facts.tenant),
  run: (operation, { facts, tenantVersion, dataQueue }) =>
    executeChild(failoverTenant, {
      ...childOptions(operation),
      args: [{ operation, tenant: facts.tenant!, tenantVersion, dataQueue }],
    }),
});

/** Options every operation's child workflow starts with: its id is the operation's. */
const childOptions = (operation: OperationSnapshot) => ({
  workflowId: operation.id,
  taskQueue: workflowInfo().taskQueue,
});

const changeAccess = (kind: 'suspend' | 'resume'): OperationKindEntry<typeof kind> => ({
  from: kind === 'suspend' ? ['active'] : ['suspended'],
  to: kind === 'suspend' ? 'suspended' : 'active',
  verb: kind === 'suspend' ? 'suspended' : 'resumed',
  permission: 'operateTenant',
  steps: () => newSteps(kind),
  input: () => ({}),
  run: (operation, { facts, tenantVersion }) =>
    executeChild(changeTenantAccess, {
      ...childOptions(operation),
      args: [
        {
          operation: operation as OperationSnapshot & { kind: 'suspend' | 'resume' },
          tenant: facts.tenant!,
          tenantVersion,
        },
      ],
    }),
});

export const OPERATION_TABLE: { [K in OperationKind]: OperationKindEntry<K> } = {
  onboard: {
    from: ['absent'],
    to: 'active',
    retryFrom: ['failed'],
    verb: 'onboarded',
    permission: 'createTenant',
    steps: (request) => newSteps('onboard', request.plan),
    input: (request) => ({ spec: request.spec }),
    malformed: (request, facts) =>
      request.spec?.id !== facts.tenantId ? 'onboarding needs the spec of this tenant' : undefined,
    accepted: (request, facts, at) => ({
      spec: request.spec,
      createdAt: facts.createdAt ?? at,
      ...(request.plan ? { plan: request.plan } : {}),
    }),
    run: (operation, { facts, tenantVersion, provisioningQueue, dataQueue }) =>
      executeChild(onboardTenant, {
        ...childOptions(operation),
        args: [
          {
            operation,
            spec: facts.spec!,
            tenantVersion,
            createdAt: facts.createdAt!,
            provisioningQueue,
            dataQueue,
          },
        ],
      }),
  },
  suspend: changeAccess('suspend'),
  resume: changeAccess('resume'),
  'drift-check': {
    from: ['active', 'suspended'],
    verb: 'checked for drift',
    permission: 'operateTenant',
    steps: () => newSteps('drift-check'),
    input: () => ({}),
    refusal: siloOnly('a drift check covers the stacks of a silo tenant'),
    run: (operation, { facts, tenantVersion, provisioningQueue }) =>
      executeChild(checkTenantDrift, {
        ...childOptions(operation),
        args: [{ operation, tenant: facts.tenant!, spec: facts.spec!, tenantVersion, provisioningQueue }],
      }),
  },
  'change-tier': {
    from: ['active'],
    verb: 'moved to another tier',
    permission: 'operateTenant',
    steps: (request) => newSteps('change-tier', request.plan),
    input: (request, facts) => ({ tier: request.tier, fromTier: facts.tenant?.tier, plan: request.plan }),
    malformed: (request) =>
      !request.tier || !request.plan ? 'a tier change needs the tier and its plan' : undefined,
    refusal: (request, facts) => {
      const tenant = placement(facts);
      if (!tenant) return { type: 'InvalidTransition', message: 'the tenant is still being onboarded' };
      // A silo onboarding from before plans were kept is judged at its turn (refusalAtTurn).
      const refused = tierChangeRefusal(tenant, request.tier, request.plan.deploymentModel);
      if (refused) return refused;
      const moved = facts.tenant ? movedRefusal(facts.tenant, request.plan) : undefined;
      if (moved) return moved;
      if (facts.queued.some((o) => o.kind === 'change-tier'))
        return {
          type: 'InvalidTransition',
          message: 'another tier change of this tenant is queued or running',
        };
      return undefined;
    },
    refusalAtTurn: (operation, facts) => {
      const { tier, plan } = operation.input as { tier: string; plan: OperationPlan };
      const tenant = facts.tenant!;
      return movedRefusal(tenant, plan) ?? tierChangeRefusal(tenant, tier, plan.deploymentModel);
    },
    run: (operation, { facts, tenantVersion, provisioningQueue, dataQueue }) =>
      executeChild(changeTenantTier, {
        ...childOptions(operation),
        args: [
          {
            operation,
            tenant: facts.tenant!,
            spec: facts.spec!,
            tier: (operation.input as { tier: string }).tier,
            tenantVersion,
            provisioningQueue,
            dataQueue,
          },
        ],
      }),
  },
  'set-retention': {
    from: ['active', 'suspended'],
    verb: 'given its own retention',
    permission: 'operateTenant',
    steps: () => newSteps('set-retention'),
    input: (request) => ({ dataClasses: request.dataClasses }),
    malformed: (request) =>
      typeof request.dataClasses !== 'object' || request.dataClasses === null
        ? 'a retention change needs its data classes'
        : undefined,
    refusal: onboarded,
    run: (operation, { facts, tenantVersion }) =>
      executeChild(setRetention, {
        ...childOptions(operation),
        args: [{ operation, tenant: facts.tenant!, tenantVersion }],
      }),
  },
  // A suspended tenant's data is still subject to retention.
  'apply-retention': {
    from: ['active', 'suspended'],
    verb: 'swept by a retention run',
    permission: 'operateTenant',
    steps: () => newSteps('apply-retention'),
    input: (request) => ({ retention: request.retention }),
    malformed: (request) =>
      !request.retention?.runId ? 'a retention part needs the run it belongs to' : undefined,
    refusal: onboarded,
    run: (operation, { facts, dataQueue }) =>
      executeChild(applyRetention, {
        ...childOptions(operation),
        args: [{ operation, tenant: facts.tenant!, dataQueue }],
      }),
  },
  // Holds change while a tenant is suspended too, and must reach its buckets then as well.
  'sync-storage-rules': {
    from: ['active', 'suspended'],
    verb: "given its buckets' storage rules again",
    permission: 'syncStorageRules',
    steps: () => newSteps('sync-storage-rules'),
    input: () => ({}),
    // A pool tenant with a move into a silo queued takes it: it runs after the move, on its buckets.
    refusal: (request, facts) =>
      facts.queued.some(
        (o) =>
          o.kind === 'change-tier' && (o.input as { plan?: OperationPlan }).plan?.deploymentModel === 'silo',
      )
        ? undefined
        : siloOnly("storage rules belong to a silo tenant's buckets")(request, facts),
    run: (operation, { facts, provisioningQueue }) =>
      executeChild(syncStorageRules, {
        ...childOptions(operation),
        args: [{ operation, tenant: facts.tenant!, spec: facts.spec!, provisioningQueue }],
      }),
  },
  // A suspended tenant's subjects may still ask to be erased; a hold parks it (erase-subject.ts).
  'erase-subject': {
    from: ['active', 'suspended'],
    verb: "asked to erase a data subject's data",
    permission: 'eraseSubject',
    steps: () => newSteps('erase-subject'),
    input: (request) => ({ erasureId: request.erasureId }),
    malformed: (request) =>
      typeof request.erasureId !== 'string' || request.erasureId === ''
        ? 'an erasure needs the request it carries out'
        : undefined,
    refusal: onboarded,
    run: (operation, { facts, dataQueue }) =>
      executeChild(eraseSubject, {
        ...childOptions(operation),
        args: [{ operation, tenant: facts.tenant!, dataQueue }],
      }),
  },
  // A failed run after the shred leaves its tenant `offboarding`: a retry goes on from there.
  offboard: {
    from: ['active', 'suspended'],
    to: 'deleted',
    retryFrom: ['offboarding'],
    verb: 'offboarded',
    permission: 'offboardTenant',
    steps: () => newSteps('offboard'),
    input: (request) => ({ reason: request.reason, graceDays: request.graceDays, export: request.export }),
    malformed: (request) =>
      typeof request.reason !== 'string' ||
      !Number.isInteger(request.graceDays) ||
      request.graceDays < 0 ||
      typeof request.export !== 'boolean'
        ? 'an offboarding needs its reason, its days of grace and whether to export first'
        : undefined,
    refusal: onboarded,
    run: (operation, { facts, tenantVersion, provisioningQueue, dataQueue }) =>
      executeChild(offboardTenant, {
        ...childOptions(operation),
        args: [
          {
            operation,
            tenant: facts.tenant!,
            spec: facts.spec!,
            tenantVersion,
            provisioningQueue,
            dataQueue,
          },
        ],
      }),
  },
  // A suspended tenant's data is kept, so it is backed up too. One backup waits its turn at a time
  // (besides the one running: a running one may have just recorded its end, which the workflow
  // has not taken in yet), so scheduled sweeps never pile backups up behind a long operation.
  backup: {
    from: ['active', 'suspended'],
    verb: 'backed up',
    permission: 'backupTenant',
    steps: () => newSteps('backup'),
    input: () => ({}),
    refusal: (request, facts) =>
      onboarded(request, facts) ??
      (facts.queued.slice(1).some((o) => o.kind === 'backup')
        ? { type: 'InvalidTransition', message: 'another backup of this tenant is already waiting its turn' }
        : undefined),
    run: (operation, { facts, dataQueue }) =>
      executeChild(backupTenant, {
        ...childOptions(operation),
        args: [{ operation, tenant: facts.tenant!, dataQueue }],
      }),
  },
  // Also a suspended tenant's data may need to be brought back; it stays suspended after.
  restore: {
    from: ['active', 'suspended'],
    verb: 'restored from a backup',
    permission: 'restoreTenant',
    steps: (request) => newSteps('restore', undefined, { relocate: request.region !== undefined }),
    // Who asked stays on the input: a retry's actor is whoever retried, and neither may approve.
    input: (request) => ({
      backupId: request.backupId,
      ...(request.pointInTime ? { pointInTime: request.pointInTime } : {}),
      ...(request.region ? { region: request.region } : {}),
      requestedBy: request.actor.principal,
      // Only Landlord's region failover asks with it (the API's requests carry no such field).
      ...(typeof request.approvedBy === 'string' ? { approvedBy: request.approvedBy } : {}),
    }),
    malformed: (request) =>
      typeof request.backupId !== 'string' || !/^backup_[0-9a-f]{16}$/.test(request.backupId)
        ? 'a restore needs the backup it restores'
        : request.region !== undefined && typeof request.region !== 'string'
          ? "a restore's region is a region id"
          : undefined,
    refusal: (request, facts) =>
      onboarded(request, facts) ??
      (facts.queued.some((o) =>
        ['restore', 'offboard', 'change-tier', 'failover', 'failback'].includes(o.kind),
      )
        ? {
            type: 'InvalidTransition',
            message:
              'a restore, failover, failback, tier change or offboarding of this tenant is queued or running',
          }
        : request.region !== undefined
          ? relocationRefusal(request.region, facts.tenant)
          : undefined),
    refusalAtTurn: (operation, facts) => {
      const { region } = operation.input as { region?: string };
      return region === undefined ? undefined : relocationRefusal(region, facts.tenant);
    },
    run: (operation, { facts, tenantVersion, dataQueue, provisioningQueue }) =>
      executeChild(restoreTenant, {
        ...childOptions(operation),
        args: [
          {
            operation,
            tenant: facts.tenant!,
            tenantVersion,
            dataQueue,
            ...(facts.spec ? { spec: facts.spec } : {}),
            provisioningQueue,
          },
        ],
      }),
  },
  failover: failoverKind('failover'),
  failback: failoverKind('failback'),
  // A drill reads only the backup catalog and files: any number may queue behind other operations,
  // but one at a time is enough for a tenant.
  drill: {
    from: ['active', 'suspended'],
    verb: 'drilled',
    permission: 'drillTenant',
    steps: () => newSteps('drill'),
    input: (request) => ({
      ...('regionOperationId' in request && typeof request.regionOperationId === 'string'
        ? { regionOperationId: request.regionOperationId }
        : {}),
      requestedBy: request.actor.principal,
    }),
    refusal: (request, facts) =>
      onboarded(request, facts) ??
      (facts.queued.some((o) => o.kind === 'drill')
        ? { type: 'InvalidTransition', message: 'a drill of this tenant is already queued or running' }
        : undefined),
    run: (operation, { facts, dataQueue }) =>
      executeChild(drillTenant, {
        ...childOptions(operation),
        args: [{ operation, tenant: facts.tenant!, dataQueue }],
      }),
  },
  'region-drill': {
    from: [],
    verb: 'drilled with its region',
    permission: 'drillTenant',
    steps: () => newSteps('region-drill'),
    input: () => ({}),
    malformed: () => 'a region drill is asked of its region (POST /v1/regions/{id}/drills), not of a tenant',
    run: () => Promise.reject(new Error('a region drill is not a tenant operation')),
  },
  // Run by its own workflow (workflows/region-failover.ts), never by a tenant's.
  'region-failover': {
    from: [],
    verb: 'failed over with its region',
    permission: 'failoverTenant',
    steps: () => newSteps('region-failover'),
    input: () => ({}),
    malformed: () =>
      'a region failover is asked of its region (POST /v1/regions/{id}/failover), not of a tenant',
    run: () => Promise.reject(new Error('a region failover is not a tenant operation')),
  },
};

/** The entry of `kind`, typed loosely, for code that handles every kind alike. */
export const kindOf = (kind: OperationKind) =>
  OPERATION_TABLE[kind] as unknown as OperationKindEntry<OperationKind>;

/** Returns why `kind` cannot start from `status`, or undefined when it can. */
export function transitionRefusal(kind: OperationKind, status: TenantStatus | 'absent'): string | undefined {
  const entry = kindOf(kind);
  if (entry.from.includes(status)) return undefined;
  if (kind === 'onboard') return 'the tenant already exists';
  if (status === 'absent') return 'the tenant does not exist';
  if (status === entry.to) return `the tenant is already ${status}`;
  return `a ${status} tenant cannot be ${entry.verb}; it must be ${entry.from.join(' or ')}`;
}

/** As transitionRefusal, for a retry: some kinds are also retried from statuses they leave behind. */
export function retryRefusal(kind: OperationKind, status: TenantStatus | 'absent'): string | undefined {
  return status !== 'absent' && kindOf(kind).retryFrom?.includes(status)
    ? undefined
    : transitionRefusal(kind, status);
}

/** The status a tenant will have once every operation in `queue` has succeeded. */
export function statusAfter(
  status: TenantStatus | 'absent',
  queue: readonly OperationKind[],
): TenantStatus | 'absent' {
  return queue.reduce<TenantStatus | 'absent'>((s, kind) => kindOf(kind).to ?? s, status);
}
