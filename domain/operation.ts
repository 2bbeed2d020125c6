// No zod here: workflow code imports this module, and every new workflow evaluates what it imports.
import type { ErrorInfo } from './errors.js';
import type { TenantRetention, TenantSpec } from './tenant.js';

export const OPERATION_KINDS = [
  'onboard',
  'suspend',
  'resume',
  'drift-check',
  'change-tier',
  'set-retention',
  'apply-retention',
  'sync-storage-rules',
  'erase-subject',
  'offboard',
  'backup',
  'restore',
  'failover',
  'failback',
  'region-failover',
  'drill',
  'region-drill',
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
/** Operations on an existing tenant that need nothing but its id. */
export type TenantOperationKind = Exclude<
  OperationKind,
  | 'onboard'
  | 'change-tier'
  | 'set-retention'
  | 'apply-retention'
  | 'erase-subject'
  | 'offboard'
  | 'restore'
  | 'failover'
  | 'failback'
  | 'region-failover'
  | 'drill'
  | 'region-drill'
>;

export const OPERATION_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

export const STEP_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'compensated',
  /** Waiting for the legal holds that cover its data to end; the operation gives up its turn meanwhile. */
  'blocked-by-hold',
  /** Waiting for approvers (`POST /v1/operations/{id}/approve`); nothing has changed yet. */
  'waiting-approval',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** The steps of each operation kind, in order. The names are what `GET /v1/operations/{id}` shows. */
export const OPERATION_STEPS = {
  onboard: [
    'validate',
    'record-tenant',
    'create-partition',
    'create-admin-user',
    'notify-invite',
    'notify-ready',
    'activate',
  ],
  suspend: ['disable-role', 'record-status'],
  resume: ['enable-role', 'record-status'],
  'drift-check': ['check-drift', 'record-drift'],
  /** Between two pool tiers only the record changes; see TIER_MOVE_STEPS for pool → silo. */
  'change-tier': ['validate', 'switch-routing'],
  'set-retention': ['validate', 'record-retention'],
  /** Expired rows deleted in batches (or counted, in a dry run), then their evidence into the ledger. */
  'apply-retention': ['delete-expired', 'record-evidence'],
  /**
   * A cloud silo's bucket lifecycle rules brought in line with the tenant's retention and its legal
   * holds: the holds read, then its stacks applied (the standby's first).
   */
  'sync-storage-rules': ['read-holds', 'apply-storage-rules'],
  /**
   * A data subject's rows and objects erased: the holds checked (the step waits, `blocked-by-hold`,
   * while one covers them), the primary's then the DR standby's data erased in batches, the
   * batches' evidence forwarded to the ledger, the request ended with its subject forgotten.
   */
  'erase-subject': ['check-holds', 'erase-primary', 'erase-standby', 'record-evidence', 'record-erasure'],
  /**
   * A tenant offboarded: access off, its data exported and the export verified, the grace period
   * waited out (a durable timer; cancelling gives the tenant back), legal holds waited for, then
   * past the point of no return: its data key destroyed, its data deleted in batches with their
   * evidence, its stacks or pool partition removed, its record left as a tombstone.
   */
  offboard: [
    'suspend-access',
    'export',
    'verify-export',
    'grace-period',
    'check-holds',
    'shred-key',
    'delete-data',
    'record-evidence',
    'remove-resources',
    'tombstone',
  ],
  /**
   * A backup: the tenant's rows read in one snapshot, sealed with its data key and stored; then
   * its backups past the tier's retention deleted, each with a ledger record, unless a hold stops it.
   */
  backup: ['snapshot', 'expire-backups'],
  /**
   * A restore from a backup: approved (four eyes), writes frozen, the backup restored beside the
   * live data (a staging database for a silo; checked whole for a pool tenant) with every erasure
   * made since re-applied and the result verified, then switched in (a pool tenant's rows replaced
   * in one transaction), writes thawed, the evidence forwarded to the ledger. A failure before the
   * switch leaves the tenant as it was; a retry after it goes on from the switch.
   */
  restore: ['approval', 'freeze-writes', 'stage-restore', 'switch', 'thaw', 'record-evidence'],
  /**
   * A DR tenant served from its standby in the DR partner region: approved (four eyes), the active
   * silo fenced (its login off), the standby caught up with it where it answers, then promoted
   * (replication ended, sequences moved on, erasures applied again, its login on), routing switched
   * to it, and it checked.
   */
  failover: ['approval', 'fence-primary', 'promote-standby', 'switch-routing', 'verify'],
  /**
   * The reverse, once the home region is healthy: the home silo re-seeded from the serving one,
   * then fenced, caught up and promoted as in a failover, routing switched back, and replication
   * to the standby started again.
   */
  failback: [
    'approval',
    'reseed-home',
    'fence-standby',
    'promote-home',
    'switch-routing',
    'verify',
    'resume-replication',
  ],
  /**
   * Every DR tenant homed in a region failed over in waves under one approval (not a tenant's
   * operation: its tenantId is `region:<id>`): the plan (DR tenants, and those without DR with the
   * RTO their tier promises), the approval, then each wave's tenant failovers, pre-approved.
   */
  'region-failover': ['plan', 'approval', 'fail-over'],
  /**
   * A DR drill (no approval: production is not touched): the tenant's latest backup picked, restored
   * into a drill copy (a closed scratch database named for the drill) on its DR partner region's
   * server and verified as a restore verification does, measuring RTO and RPO, then every copy the
   * drill made dropped, whatever happened before.
   */
  drill: ['pick-backup', 'restore-copy', 'destroy-copy'],
  /** Every tenant homed in a region drilled, in waves (not a tenant's operation: `region:<id>`). */
  'region-drill': ['plan', 'drill'],
} as const satisfies Record<OperationKind, readonly string[]>;

export type StepName<K extends OperationKind = OperationKind> = (typeof OPERATION_STEPS)[K][number];

export interface OperationStep {
  name: string;
  status: StepStatus;
  /** Activity attempts the step took in the latest run (0 before it starts). */
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  error?: ErrorInfo;
  /** For long steps (provisioning): resources done of total, and the one being worked on. */
  progress?: StepProgress;
}

export interface StepProgress {
  done: number;
  total: number;
  current?: string;
}

/** Who asked for an operation, carried into the audit trail. */
export interface Actor {
  principal: string;
  role: string;
  requestId: string;
}

/** One approver's decision at an operation's approval step. */
export interface ApprovalDecision {
  decision: 'approved' | 'rejected';
  principal: string;
  role: string;
  requestId: string;
  comment: string;
  at: string;
}

/** An operation's approval step: how many approvals it needs, until when, and the decisions so far. */
export interface ApprovalState {
  required: number;
  /** When the step fails with ApprovalTimedOut if it has not had its approvals (ISO). */
  timeoutAt: string;
  decisions: ApprovalDecision[];
}

/** The operation as the registry stores it; the workflow writes whole snapshots with a rising version. */
export interface OperationSnapshot {
  id: string;
  tenantId: string;
  kind: OperationKind;
  status: OperationStatus;
  /** 1 for the first run; each retry adds one. */
  run: number;
  steps: OperationStep[];
  actor: Actor;
  input: Record<string, unknown>;
  error?: ErrorInfo & { step?: string };
  /** What the operation found, for operations that report something (a drift check's drift). */
  result?: Record<string, unknown>;
  /** For operations with an approval step: who approved or rejected, when, with what comment. */
  approval?: ApprovalState;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Monotonic per operation: a write with a lower version than the stored one is ignored. */
  version: number;
}

/** Onboarding of a silo tier: its stacks replace the pool partition; DR tiers add the standby first. */
export const SILO_ONBOARDING_STEPS = [
  'validate',
  'record-tenant',
  'provision-standby',
  'provision-primary',
  'create-admin-user',
  'start-replication',
  'notify-invite',
  'notify-ready',
  'activate',
] as const;

/**
 * A pool tenant moving to a silo tier: its stacks first, then its rows move while it is read-only.
 * Everything up to `switch-routing` is undone on failure; what follows only goes forward.
 */
export const TIER_MOVE_STEPS = [
  'validate',
  'provision-standby',
  'provision-primary',
  'freeze-writes',
  'copy-data',
  'verify-data',
  'switch-routing',
  'remove-pool-data',
  'resume-writes',
] as const;

/** How an operation will run, known once its placement is: decides the onboarding steps. */
export interface OperationPlan {
  /** The deployment model the tenant ends up with. */
  deploymentModel: 'pool' | 'silo';
  dr: boolean;
}

/**
 * A restore into another region (`"region"`, a tenant without a standby recovered in its DR
 * partner, or brought home again): the target region's store prepared (a pool partition or a silo
 * stack, its login off), the serving store fenced rather than frozen, and routing switched after the
 * switch. The store left behind stays fenced.
 */
export const RELOCATING_RESTORE_STEPS = [
  'approval',
  'prepare-region',
  'freeze-writes',
  'stage-restore',
  'switch',
  'switch-routing',
  'thaw',
  'record-evidence',
] as const;

/** A region failover asked to, then restores the region's tenants without DR in its partner. */
export const REGION_FAILOVER_WITH_RESTORES_STEPS = [
  'plan',
  'approval',
  'fail-over',
  'restore-from-backup',
] as const;

/** What else decides the steps of a restore or a region failover. */
export interface StepVariant {
  /** A restore into another region than the serving one. */
  relocate?: boolean;
  /** A region failover that restores its tenants without DR in the partner region. */
  includeBackupRestores?: boolean;
}

export function stepNames(
  kind: OperationKind,
  plan?: OperationPlan,
  variant: StepVariant = {},
): readonly string[] {
  if (kind === 'restore' && variant.relocate) return RELOCATING_RESTORE_STEPS;
  if (kind === 'region-failover' && variant.includeBackupRestores) return REGION_FAILOVER_WITH_RESTORES_STEPS;
  if ((kind !== 'onboard' && kind !== 'change-tier') || plan?.deploymentModel !== 'silo')
    return OPERATION_STEPS[kind];
  const steps = kind === 'onboard' ? SILO_ONBOARDING_STEPS : TIER_MOVE_STEPS;
  return steps.filter((s) => plan.dr || (s !== 'provision-standby' && s !== 'start-replication'));
}

/** What each kind of operation is asked with, besides its kind and who asks. */
export interface OperationInputs {
  /** The tenant to create, and where it ends up (decides the steps shown from the start). */
  onboard: { spec: TenantSpec; plan?: OperationPlan };
  suspend: Record<never, never>;
  resume: Record<never, never>;
  'drift-check': Record<never, never>;
  /** The tier to move to, and where the tenant ends up on it. */
  'change-tier': { tier: string; plan: OperationPlan };
  /** The tenant's own retention choices, replacing its earlier ones (domain/retention.ts). */
  'set-retention': { dataClasses: TenantRetention };
  /** The tenant's part of a retention run. */
  'apply-retention': { retention: RetentionRequest };
  'sync-storage-rules': Record<never, never>;
  /** The erasure request (registry), which alone holds the subject: inputs land in histories. */
  'erase-subject': { erasureId: string };
  /** Why, how many days of grace (the tier's when the API resolved none), and whether to export first. */
  offboard: { reason: string; graceDays: number; export: boolean };
  backup: Record<never, never>;
  /**
   * The backup to restore (the API resolves a point in time to one); `region`: restored into that
   * region instead of the serving one (a tenant without a standby recovered in its DR partner, or
   * brought home). `approvedBy`: the region failover whose approval stands for this one's.
   */
  restore: { backupId: string; pointInTime?: string; region?: string; approvedBy?: string };
  /** Why the operator fails the tenant over or back (kept on the operation). */
  /** `approvedBy`: the region failover whose approval stands for this one's. */
  failover: { reason?: string; approvedBy?: string };
  failback: { reason?: string };
  /** The region, its runbook's wave size, and who asked (kept: four eyes). */
  'region-failover': { region: string; reason?: string; waveSize: number; includeBackupRestores?: boolean };
  /** The region drill that asked for it, if one did. */
  drill: { regionOperationId?: string };
  'region-drill': { region: string; reason?: string; waveSize: number };
}

/** What a retention run asks of each tenant (docs/retention.md). */
export interface RetentionRequest {
  runId: string;
  /** Count what would be deleted; delete nothing. */
  dryRun: boolean;
  /** Delete past the guard (a table losing more than the configured share of its rows). */
  force: boolean;
  /** Only these data classes; absent: all. */
  dataClasses?: string[];
  /** Who asked: an API principal, or `schedule:landlord-retention`. */
  requestedBy: string;
}

/** A request for one kind of operation: its kind, who asks, and that kind's input. */
export type OperationRequestOf<K extends OperationKind> = { kind: K; actor: Actor } & OperationInputs[K];

/** A request for an operation, discriminated by `kind`. */
export type OperationRequest = { [K in OperationKind]: OperationRequestOf<K> }[OperationKind];

export function newSteps(kind: OperationKind, plan?: OperationPlan, variant?: StepVariant): OperationStep[] {
  return stepNames(kind, plan, variant).map((name) => ({ name, status: 'pending', attempts: 0 }));
}

/**
 * Who may not approve an operation: who asked for it (kept on its input) and who retried it (its
 * actor now), four eyes either way.
 */
export function requesters(op: Pick<OperationSnapshot, 'actor' | 'input'>): string[] {
  const asked = op.input.requestedBy;
  return typeof asked === 'string' && asked !== op.actor.principal
    ? [asked, op.actor.principal]
    : [op.actor.principal];
}
