/**
 * The tenant workflow in Temporal's time-skipping test server, with fake activities that keep the
 * registry in memory: long retry timers pass in seconds, and the workflow code is the real one.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { checkPlacement } from '../../domain/index.js';
import type {
  Actor,
  LegalHold,
  OperationSnapshot,
  TenantExport,
  TenantOperationKind,
  TenantRecord,
  TenantSpec,
} from '../../domain/index.js';
import { installQuietRuntime, WORKFLOWS_PATH } from '../../workers/lifecycle.js';
import type { LifecycleActivities } from '../../workers/lifecycle.js';
import type { RegionFailoverActivities } from '../../activities/region-failover/index.js';
import type { RetentionRunActivities } from '../../activities/retention-runs/index.js';
import type { BackupSweepActivities } from '../../activities/backups/sweep.js';
import type { RestoreVerificationActivities } from '../../activities/restore-verification/index.js';
import type { DataActivities } from '../../activities/data/index.js';
import {
  cancelOperation,
  decideApproval,
  legalHoldsChanged,
  requestOperation,
  retryOperation,
  tenantWorkflowId,
} from '../../workflows/definitions.js';
import type { tenantWorkflow } from '../../workflows/tenant.js';
import { uniqueTenantId } from '../support/harness.js';

const config = loadConfig({});
const actor: Actor = { principal: 'test', role: 'admin', requestId: 'req-timeskipping' };
const MINUTE = 60_000;

/** A gate an activity waits at until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/**
 * The registry the fake activities write: the latest snapshot of each operation and of each tenant
 * by version, as the real projection keeps them.
 */
class InMemoryRegistry {
  readonly operations = new Map<string, OperationSnapshot>();
  readonly tenants = new Map<string, TenantRecord>();
  readonly audit: { tenantId?: string; action: string; outcome: string }[] = [];
  /** Tenants with a data key. */
  readonly keys = new Set<string>();
  /** How often each tenant's erasure looked at its holds. */
  readonly erasureLooks = new Map<string, number>();
  /** Each tenant's partition, and whether its role may log in. */
  readonly partitions = new Set<string>();
  readonly logins = new Map<string, boolean>();
  /** Legal holds in force, per tenant. */
  readonly holds = new Map<string, LegalHold[]>();
  /** Tenants exported, and tenants whose data the final deletion removed. */
  readonly exported = new Set<string>();
  readonly deleted = new Set<string>();
  /** What restores did to each tenant's data, in order (`frozen`, `staged`, `switched`, `thawed`, ...). */
  readonly restoreSteps = new Map<string, string[]>();

  restoreStep(tenantId: string, step: string): void {
    this.restoreSteps.set(tenantId, [...(this.restoreSteps.get(tenantId) ?? []), step]);
  }

  operationsOf(tenantId: string): OperationSnapshot[] {
    return [...this.operations.values()].filter((o) => o.tenantId === tenantId);
  }
}

/** Per tenant id, how the fake data plane and receivers misbehave. */
interface Faults {
  /** The webhook receiver is down for this long (workflow time) from its first delivery attempt. */
  receiverDownForMs?: number;
  /** validatePlacement refuses the tenant. */
  refusePlacement?: boolean;
  /** validatePlacement waits here before answering. */
  holdPlacement?: Promise<void>;
  /** setTenantLogin waits here before answering. */
  holdLogin?: Promise<void>;
  /** The first switch of a restore takes effect, then fails for good (a data worker lost mid-way). */
  switchFailsAfterEffect?: boolean;
  /** A legal hold with an `until` this long (workflow time) after an erasure first looks keeps it waiting. */
  erasureHeldForMs?: number;
}

/** Per tenant id, how many deliveries the webhook receiver refused while it was down. */
const refusedDeliveries = new Map<string, number>();

/**
 * The tenant workflow's activities, and the data activities an erasure asks for; retention runs
 * are tested on the real stack (retention.test.ts), erasure's data plane in erasure-data.test.ts.
 */
type TenantActivities = Omit<
  LifecycleActivities,
  | keyof RetentionRunActivities
  | keyof BackupSweepActivities
  | keyof RestoreVerificationActivities
  | keyof RegionFailoverActivities
  | 'checkTenantRetention'
> &
  Pick<
    DataActivities,
    | 'eraseSubjectData'
    | 'forwardDeletionEvidence'
    | 'exportTenantData'
    | 'verifyTenantExport'
    | 'deleteTenantData'
    | 'stageTenantRestore'
    | 'switchRestoredTenant'
    | 'discardStagedRestore'
    | 'restoreTookEffect'
  >;

/** What an export of `tenantId` made by `operationId` records. */
const fakeExport = (tenantId: string, operationId: string): TenantExport => ({
  id: `export_${operationId.slice(-16).padStart(16, '0')}`,
  tenantId,
  operationId,
  createdAt: new Date().toISOString(),
  keyId: `key-${tenantId}`,
  format: 'tar+jsonl',
  bytes: 1,
  sha256: '0'.repeat(64),
  schemaVersion: '002_subject_indexes',
  tables: [],
});

function fakeActivities(registry: InMemoryRegistry, faults: Map<string, Faults>): TenantActivities {
  const receiverDownSince = new Map<string, number>();
  const { partitions, logins } = registry;
  /** When each tenant's erasure hold ends (workflow time), from the first look. */
  const holdEnds = new Map<string, number>();
  const workflowNow = () => Context.current().info.currentAttemptScheduledTimestampMs;
  return {
    async ensureTenantKey({ tenantId }) {
      registry.keys.add(tenantId);
      return { tenantId, keyId: `key-${tenantId}`, kekId: 'local:test', createdAt: new Date().toISOString() };
    },
    async destroyTenantKey({ tenantId }) {
      return registry.keys.delete(tenantId) ? 'destroyed' : 'unknown';
    },
    async beginErasure({ tenantId }) {
      const heldFor = faults.get(tenantId)?.erasureHeldForMs;
      if (heldFor !== undefined && !holdEnds.has(tenantId)) holdEnds.set(tenantId, workflowNow() + heldFor);
      const end = holdEnds.get(tenantId);
      registry.erasureLooks.set(tenantId, (registry.erasureLooks.get(tenantId) ?? 0) + 1);
      return end !== undefined && workflowNow() < end
        ? {
            blockedBy: ['hold_0000000000000001'],
            endsBy: new Date(end).toISOString(),
            subjectHmac: 'f'.repeat(64),
          }
        : { blockedBy: [], subjectHmac: 'f'.repeat(64) };
    },
    async erasureBlocked({ blockedBy }) {
      return { blockedBy };
    },
    async erasureProgress() {},
    async completeErasure() {
      return { erasedAt: new Date().toISOString() };
    },
    async eraseSubjectData({ store, tenant }) {
      return {
        blockedBy: [],
        counts: [
          { store, region: tenant.region, target: 'app_users', mode: 'delete', unit: 'rows', count: 1 },
        ],
      };
    },
    async forwardDeletionEvidence() {
      return 1;
    },
    async stageTenantRestore({ tenant, backupId }) {
      registry.restoreStep(tenant.id, 'staged');
      const counts = { erasuresChecked: 1, erasuresReapplied: 1, rowsErased: 2 };
      return { backupId, takenAt: new Date().toISOString(), tables: [], ...counts };
    },
    async switchRestoredTenant({ tenant }) {
      registry.restoreStep(tenant.id, 'switched');
      const fault = faults.get(tenant.id);
      if (fault?.switchFailsAfterEffect) {
        fault.switchFailsAfterEffect = false;
        throw ApplicationFailure.nonRetryable('the data worker was lost after the rename', 'InternalError');
      }
      const counts = { erasuresChecked: 1, erasuresReapplied: 1, rowsErased: 2 };
      return {
        switchedAt: new Date().toISOString(),
        takenAt: new Date().toISOString(),
        tables: [],
        ...counts,
      };
    },
    async restoreTookEffect({ tenant }) {
      return registry.restoreSteps.get(tenant.id)?.includes('switched') ?? false;
    },
    async discardStagedRestore({ tenant }) {
      registry.restoreStep(tenant.id, 'discarded');
    },
    async exportTenantData({ operationId, tenant }) {
      registry.exported.add(tenant.id);
      return fakeExport(tenant.id, operationId);
    },
    async verifyTenantExport({ tenant, exportId }) {
      return { ...fakeExport(tenant.id, 'op'), id: exportId, verifiedAt: new Date().toISOString() };
    },
    async deleteTenantData({ tenant, store }) {
      const held = (registry.holds.get(tenant.id) ?? []).map((h) => h.id);
      if (held.length > 0) return { blockedBy: held, counts: [] };
      registry.deleted.add(tenant.id);
      return {
        blockedBy: [],
        counts: [{ store, region: tenant.region, target: 'app_users', unit: 'rows', count: 2 }],
      };
    },
    async projectTenant(record) {
      const stored = registry.tenants.get(record.id);
      if (!stored || stored.version < record.version) registry.tenants.set(record.id, record);
    },
    async projectOperation(snapshot) {
      const stored = registry.operations.get(snapshot.id);
      if (!stored || stored.version < snapshot.version) registry.operations.set(snapshot.id, snapshot);
    },
    async activeLegalHolds(tenantId) {
      return registry.holds.get(tenantId) ?? [];
    },
    async regionApproval({ operationId }) {
      throw new Error(`no region failover ${operationId} in this test`);
    },
    async appendAudit(event) {
      registry.audit.push({
        ...(event.tenantId ? { tenantId: event.tenantId } : {}),
        action: event.action,
        outcome: event.outcome,
      });
    },
    async recoveryTargets() {
      return { rtoMs: 72 * 60 * MINUTE, rpoMs: 24 * 60 * MINUTE };
    },
    async recoveryRegion({ region }) {
      return region;
    },
    async approvalPolicy() {
      return { required: 1, timeoutMs: 3_600_000 };
    },
    async backupPolicy() {
      return { cadenceMs: 3_600_000, retentionDays: 7 };
    },
    async validatePlacement({ spec }) {
      const fault = faults.get(spec.id);
      await fault?.holdPlacement;
      if (fault?.refusePlacement)
        throw ApplicationFailure.nonRetryable(`tier "${spec.tier}" is not offered here`, 'PolicyViolation');
      const placement = checkPlacement(config.catalog, spec);
      return {
        deploymentModel: placement.tier.deploymentModel,
        region: placement.region.id,
        residency: placement.region.residency,
        connectionLimit: placement.tier.database.connectionLimit,
      };
    },
    async createPartition({ tenantId }) {
      partitions.add(tenantId);
      logins.set(tenantId, true);
      return { roleName: `tenant_${tenantId.replaceAll('-', '_')}`, database: 'landlord_pool' };
    },
    async dropPartition({ tenantId }) {
      partitions.delete(tenantId);
      logins.delete(tenantId);
    },
    async createAdminUser({ tenantId }) {
      return { userId: `user-${tenantId}` };
    },
    async createSiloAdminUser({ tenantId }) {
      return { userId: `silo-user-${tenantId}` };
    },
    async deleteAdminUser() {},
    async setTenantLogin({ tenantId, enabled }) {
      await faults.get(tenantId)?.holdLogin;
      logins.set(tenantId, enabled);
    },
    async setTenantWrites({ tenantId, writable }) {
      registry.restoreStep(tenantId, writable ? 'thawed' : 'frozen');
    },
    async setTenantConnectionLimit() {},
    async setSiloLogin() {},
    async fenceTenantStore({ tenantId, region, enabled }) {
      logins.set(tenantId, enabled);
      return { region, fenced: !enabled };
    },
    async deliverNotification({ tenantId }) {
      const downFor = faults.get(tenantId)?.receiverDownForMs;
      if (downFor !== undefined) {
        // Workflow time, which the test server skips: when this attempt was scheduled.
        const now = Context.current().info.currentAttemptScheduledTimestampMs;
        const since = receiverDownSince.get(tenantId) ?? now;
        receiverDownSince.set(tenantId, since);
        if (now - since < downFor) {
          refusedDeliveries.set(tenantId, (refusedDeliveries.get(tenantId) ?? 0) + 1);
          throw ApplicationFailure.retryable('webhook receiver answered HTTP 503', 'WebhookUnavailable');
        }
      }
      return { delivered: 1 };
    },
  };
}

describe('tenant workflow with skipped time', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const registry = new InMemoryRegistry();
  const faults = new Map<string, Faults>();
  const taskQueue = `timeskipping-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    installQuietRuntime();
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: config.temporal.testServerPath! } },
    });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: fakeActivities(registry, faults),
    });
    running = worker.run();
  });

  afterAll(async () => {
    if (worker) {
      worker.shutdown();
      await running;
    }
    await env?.teardown();
  });

  const specOf = (id: string): TenantSpec => ({
    id,
    name: `Tenant ${id}`,
    tier: 'basic',
    region: 'local-a',
    adminEmail: `owner@${id}.test`,
    features: {},
    labels: {},
  });

  /** Asks for an onboarding the way client/temporal-lifecycle.ts does: update-with-start. */
  function onboard(id: string): Promise<OperationSnapshot> {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof tenantWorkflow>('tenantWorkflow', {
      workflowId: tenantWorkflowId(id),
      taskQueue,
      args: [{ tenantId: id, provisioningQueue: `${taskQueue}-provisioning`, dataQueue: taskQueue }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    return env.client.workflow.executeUpdateWithStart(requestOperation, {
      args: [{ kind: 'onboard', actor, spec: specOf(id) }],
      startWorkflowOperation,
    });
  }

  function requestTenantOperation(id: string, kind: TenantOperationKind): Promise<OperationSnapshot> {
    return env.client.workflow
      .getHandle(tenantWorkflowId(id))
      .executeUpdate(requestOperation, { args: [{ kind, actor }] });
  }

  /** Polls the registry until the operation has ended, letting `advance` move time on between looks. */
  async function ended(
    operationId: string,
    advance: () => Promise<void> = () => new Promise((r) => setTimeout(r, 20)),
  ): Promise<OperationSnapshot> {
    for (let look = 0; look < 2_000; look++) {
      const op = registry.operations.get(operationId);
      if (op && op.status !== 'running') return op;
      await advance();
    }
    throw new Error(`operation ${operationId} is still ${registry.operations.get(operationId)?.status}`);
  }

  /** Onboards a tenant whose webhook receiver is down for `downForMs` of workflow time. */
  async function onboardWithReceiverDown(downForMs: number) {
    const id = uniqueTenantId('down');
    faults.set(id, { receiverDownForMs: downForMs });
    const accepted = await onboard(id);
    expect(accepted).toMatchObject({ kind: 'onboard', status: 'running', run: 1 });
    const op = await ended(accepted.id, () => env.sleep('1m'));
    return { id, op };
  }

  it('onboards a tenant whose webhook receiver is down for half an hour', async () => {
    const { id, op } = await onboardWithReceiverDown(30 * MINUTE);
    expect(op).toMatchObject({ status: 'succeeded', run: 1 });
    expect(op.steps.find((s) => s.name === 'notify-invite')).toMatchObject({ status: 'succeeded' });
    expect(registry.tenants.get(id)).toMatchObject({
      status: 'active',
      resources: { pool: { adminUserId: `user-${id}` } },
    });
    // The receiver really was down: the first deliveries were refused and retried.
    expect(refusedDeliveries.get(id)).toBeGreaterThan(5);
  });

  it('onboards a tenant whose webhook receiver is down for 40 minutes', async () => {
    const { id, op } = await onboardWithReceiverDown(40 * MINUTE);
    expect(op.error).toBeUndefined();
    expect(op.status).toBe('succeeded');
    expect(registry.tenants.get(id)?.status).toBe('active');
  });

  it('ends a suspend queued behind a failing onboarding as an invalid transition', async () => {
    const id = uniqueTenantId('queued');
    const hold = gate();
    faults.set(id, { refusePlacement: true, holdPlacement: hold.opened });
    const onboarding = await onboard(id);
    // Accepted while the onboarding is still validating: it would apply once the tenant is active.
    const suspend = await requestTenantOperation(id, 'suspend');
    expect(suspend).toMatchObject({ kind: 'suspend', status: 'running' });
    hold.open();

    expect(await ended(onboarding.id)).toMatchObject({
      status: 'failed',
      error: { type: 'PolicyViolation', step: 'validate' },
    });
    expect(await ended(suspend.id)).toMatchObject({
      status: 'failed',
      error: { type: 'InvalidTransition', message: 'the tenant does not exist' },
    });
    expect((await ended(suspend.id)).steps.every((s) => s.status === 'pending')).toBe(true);
    // Refused at validation, the tenant was never recorded.
    expect(registry.tenants.get(id)).toBeUndefined();
    const view = await env.client.workflow
      .getHandle(tenantWorkflowId(id))
      .query<{ status: string; queued: string[] }>('tenantView');
    expect(view).toMatchObject({ status: 'absent', queued: [] });
  });

  it('rejects a second suspend before anything runs', async () => {
    const id = uniqueTenantId('twice');
    const hold = gate();
    faults.set(id, { holdLogin: hold.opened });
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });

    const first = await requestTenantOperation(id, 'suspend');
    const second = await requestTenantOperation(id, 'suspend').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(second).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (second as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'InvalidTransition', message: 'the tenant is already suspended' });
    // The rejected update left no operation behind.
    expect(registry.operationsOf(id).map((o) => o.kind)).toEqual(['onboard', 'suspend']);
    expect(registry.tenants.get(id)?.status).toBe('active');

    hold.open();
    expect(await ended(first.id)).toMatchObject({ status: 'succeeded' });
    expect(registry.tenants.get(id)?.status).toBe('suspended');
    expect(registry.operationsOf(id)).toHaveLength(2);
  });

  it('parks an erasure while a hold lasts, serves the tenant meanwhile, and finishes once the hold has ended', async () => {
    const id = uniqueTenantId('parked');
    faults.set(id, { erasureHeldForMs: 7 * 24 * 60 * MINUTE });
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    expect(registry.keys.has(id)).toBe(true);

    const erasure = await env.client.workflow
      .getHandle(tenantWorkflowId(id))
      .executeUpdate(requestOperation, {
        args: [{ kind: 'erase-subject', actor, erasureId: 'erasure_00000000000000aa' }],
      });
    for (let look = 0; registry.operations.get(erasure.id)?.steps[0]?.status !== 'blocked-by-hold'; look++) {
      if (look > 500) throw new Error(JSON.stringify(registry.operations.get(erasure.id)));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(registry.operations.get(erasure.id)).toMatchObject({
      status: 'running',
      result: { blockedBy: ['hold_0000000000000001'] },
    });
    // The child shows its wait before the tenant workflow has taken its outcome in: look until it has.
    const viewOf = () =>
      env.client.workflow
        .getHandle(tenantWorkflowId(id))
        .query<{ queued: string[]; parked?: string[] }>('tenantView');
    let view = await viewOf();
    for (let look = 0; look < 500 && view.queued.length > 0; look++) {
      await new Promise((r) => setTimeout(r, 20));
      view = await viewOf();
    }
    expect(view).toMatchObject({ queued: [], parked: [erasure.id] });

    // The parked erasure has given up its turn: a suspension runs now.
    const suspend = await requestTenantOperation(id, 'suspend');
    expect(await ended(suspend.id)).toMatchObject({ status: 'succeeded' });
    expect(registry.tenants.get(id)?.status).toBe('suspended');

    // A week of workflow time later the hold has ended by itself: the erasure goes on, and finishes.
    const done = await ended(erasure.id, () => env.sleep('6h'));
    expect(done).toMatchObject({ status: 'succeeded', result: { subjectHmac: 'f'.repeat(64) } });
    expect(done.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'skipped',
      'succeeded',
      'succeeded',
    ]);
    // It looked at its holds hourly at most, not in a busy loop.
    expect(registry.erasureLooks.get(id)).toBeGreaterThanOrEqual(2);
    expect(registry.erasureLooks.get(id)).toBeLessThanOrEqual(7 * 24 + 2);
  });

  function offboard(id: string, graceDays: number): Promise<OperationSnapshot> {
    return env.client.workflow.getHandle(tenantWorkflowId(id)).executeUpdate(requestOperation, {
      args: [{ kind: 'offboard', actor, reason: 'contract ended', graceDays, export: true }],
    });
  }

  it('offboards a tenant after a 30-day grace period: export first, key destroyed before the data, tombstone last', async () => {
    const id = uniqueTenantId('leaving');
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    const op = await offboard(id, 30);
    for (let look = 0; registry.operations.get(op.id)?.steps[3]?.status !== 'running'; look++) {
      if (look > 500) throw new Error(JSON.stringify(registry.operations.get(op.id)));
      await new Promise((r) => setTimeout(r, 20));
    }
    // In its grace period: access off, exported, data and key still there.
    expect(registry.tenants.get(id)).toMatchObject({
      status: 'offboarding',
      offboarding: { operationId: op.id },
    });
    expect(registry.logins.get(id)).toBe(false);
    expect(registry.exported.has(id)).toBe(true);
    expect(registry.keys.has(id)).toBe(true);
    expect(registry.deleted.has(id)).toBe(false);

    const done = await ended(op.id, () => env.sleep('1d'));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ['suspend-access', 'succeeded'],
      ['export', 'succeeded'],
      ['verify-export', 'succeeded'],
      ['grace-period', 'succeeded'],
      ['check-holds', 'succeeded'],
      ['shred-key', 'succeeded'],
      ['delete-data', 'succeeded'],
      ['record-evidence', 'succeeded'],
      ['remove-resources', 'succeeded'],
      ['tombstone', 'succeeded'],
    ]);
    const grace = done.steps[3]!;
    expect(Date.parse(grace.finishedAt!) - Date.parse(done.createdAt)).toBeGreaterThanOrEqual(
      30 * 24 * 60 * MINUTE,
    );
    expect(registry.keys.has(id)).toBe(false);
    expect(registry.deleted.has(id)).toBe(true);
    expect(registry.partitions.has(id)).toBe(false);
    expect(registry.tenants.get(id)).toMatchObject({
      status: 'deleted',
      offboarding: { deleted: [{ target: 'app_users', count: 2 }] },
    });
    // The id stays taken.
    const again = await onboard(id).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((again as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'InvalidTransition' });
  });

  it('gives a tenant back whole when its offboarding is cancelled in the grace period', async () => {
    const id = uniqueTenantId('staying');
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    const op = await offboard(id, 30);
    await ended(op.id, async () => {
      if (registry.operations.get(op.id)?.steps[3]?.status === 'running') {
        await env.client.workflow
          .getHandle(tenantWorkflowId(id))
          .executeUpdate(cancelOperation, { args: [{ operationId: op.id, actor }] });
      }
      await env.sleep('1h');
    });
    const cancelled = registry.operations.get(op.id)!;
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { type: 'OperationCancelled' } });
    expect(cancelled.steps[0]).toMatchObject({ name: 'suspend-access', status: 'compensated' });
    expect(registry.tenants.get(id)?.status).toBe('active');
    expect(registry.tenants.get(id)).not.toHaveProperty('offboarding');
    expect(registry.logins.get(id)).toBe(true);
    expect(registry.keys.has(id)).toBe(true);
    expect(registry.deleted.has(id)).toBe(false);
    expect(registry.partitions.has(id)).toBe(true);
    // And it takes operations again.
    const suspend = await requestTenantOperation(id, 'suspend');
    expect(await ended(suspend.id)).toMatchObject({ status: 'succeeded' });
  });

  it('waits past the grace period while a legal hold is in force, and deletes once it is released', async () => {
    const id = uniqueTenantId('held');
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    const hold: LegalHold = {
      id: 'hold_00000000000000aa',
      tenantId: id,
      reason: 'litigation',
      createdAt: new Date().toISOString(),
      createdBy: 'key_legal',
    };
    registry.holds.set(id, [hold]);
    const op = await offboard(id, 1);
    await ended(op.id, async () => {
      const step = registry.operations.get(op.id)?.steps.find((s) => s.name === 'check-holds');
      if (step?.status === 'blocked-by-hold' && registry.holds.has(id)) {
        expect(registry.keys.has(id)).toBe(true);
        expect(registry.deleted.has(id)).toBe(false);
        await env.sleep('10d');
        // Still waiting, ten days on.
        expect(registry.operations.get(op.id)?.status).toBe('running');
        registry.holds.delete(id);
        await env.client.workflow.getHandle(tenantWorkflowId(id)).signal(legalHoldsChanged);
      }
      await env.sleep('1h');
    });
    expect(registry.operations.get(op.id)).toMatchObject({ status: 'succeeded' });
    expect(registry.deleted.has(id)).toBe(true);
    expect(registry.tenants.get(id)?.status).toBe('deleted');
  });

  /** Asks for a restore of a backup as `by` and waits until it shows its approval step waiting. */
  async function askRestore(id: string, by: Actor = actor): Promise<OperationSnapshot> {
    const accepted = await env.client.workflow
      .getHandle(tenantWorkflowId(id))
      .executeUpdate(requestOperation, {
        args: [{ kind: 'restore', actor: by, backupId: 'backup_0a1b2c3d4e5f6071' }],
      });
    for (let look = 0; look < 500; look++) {
      const op = registry.operations.get(accepted.id);
      if (op?.steps[0]?.status === 'waiting-approval') return op;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`restore ${accepted.id} never waited for approval`);
  }

  const decide = (operationId: string, decision: 'approved' | 'rejected', by: Actor, comment = 'ok') =>
    env.client.workflow
      .getHandle(operationId)
      .executeUpdate(decideApproval, { args: [{ decision, comment, actor: by }] });

  const refusalOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (err: unknown) => (err as WorkflowUpdateFailedError).cause as ApplicationFailure,
    );

  const approver: Actor = { principal: 'key_approver', role: 'operator', requestId: 'req-approve' };

  it('waits for an approval from someone else, then freezes, stages, switches and thaws', async () => {
    const id = uniqueTenantId('restore');
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    const waiting = await askRestore(id);
    expect(waiting.approval).toMatchObject({ required: 1, decisions: [] });
    // An hour in minus a minute nothing has happened to the tenant's data.
    await env.sleep(59 * MINUTE);
    expect(registry.restoreSteps.get(id)).toBeUndefined();

    const own = await refusalOf(decide(waiting.id, 'approved', actor));
    expect(own).toMatchObject({ type: 'SelfApproval' });
    const approved = await decide(waiting.id, 'approved', approver, 'backup checked');
    expect(approved.approval?.decisions).toEqual([
      expect.objectContaining({ decision: 'approved', principal: 'key_approver', comment: 'backup checked' }),
    ]);
    const done = await ended(waiting.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      result: { backupId: 'backup_0a1b2c3d4e5f6071', erasuresReapplied: 1 },
    });
    expect(done.steps.map((s) => s.status)).toEqual(Array(6).fill('succeeded'));
    expect(registry.restoreSteps.get(id)).toEqual(['frozen', 'staged', 'switched', 'thawed']);
    // Its workflow has ended: nothing takes a decision any more.
    await expect(decide(waiting.id, 'approved', { ...approver, principal: 'key_late' })).rejects.toThrow();
  });

  it('fails a rejected restore and one not approved within the hour, having changed nothing', async () => {
    const id = uniqueTenantId('unapproved');
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    const rejected = await askRestore(id);
    await decide(rejected.id, 'rejected', approver, 'wrong backup');
    expect(await ended(rejected.id)).toMatchObject({
      status: 'failed',
      error: { type: 'ApprovalRejected', step: 'approval', message: expect.stringContaining('wrong backup') },
    });

    const ignored = await askRestore(id);
    const timedOut = await ended(ignored.id, () => env.sleep('5m'));
    expect(timedOut).toMatchObject({
      status: 'failed',
      error: { type: 'ApprovalTimedOut', step: 'approval' },
    });
    expect(Date.parse(timedOut.finishedAt!) - Date.parse(ignored.createdAt)).toBeGreaterThanOrEqual(
      60 * MINUTE,
    );
    expect(timedOut.steps.slice(1).every((s) => s.status === 'pending')).toBe(true);
    expect(registry.restoreSteps.get(id)).toBeUndefined();
    // The tenant takes other operations again.
    expect(await ended((await requestTenantOperation(id, 'suspend')).id)).toMatchObject({
      status: 'succeeded',
    });
  });

  const retry = (operationId: string, id: string, by: Actor) =>
    env.client.workflow
      .getHandle(tenantWorkflowId(id))
      .executeUpdate(retryOperation, { args: [{ operationId, actor: by }] });

  it('keeps four eyes across a retry: neither who asked nor who retried may approve', async () => {
    const id = uniqueTenantId('foureyes');
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    const asked = await askRestore(id);
    await decide(asked.id, 'rejected', approver, 'not yet');
    expect(await ended(asked.id)).toMatchObject({ status: 'failed', error: { type: 'ApprovalRejected' } });
    const retrier: Actor = { principal: 'key_retrier', role: 'operator', requestId: 'req-retry' };
    await retry(asked.id, id, retrier);
    for (let look = 0; registry.operations.get(asked.id)?.steps[0]?.status !== 'waiting-approval'; look++) {
      if (look > 500) throw new Error('the retry never waited for approval');
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const by of [actor, retrier])
      expect(await refusalOf(decide(asked.id, 'approved', by))).toMatchObject({ type: 'SelfApproval' });
    await decide(asked.id, 'approved', approver, 'now it is time');
    expect(await ended(asked.id)).toMatchObject({ status: 'succeeded', run: 2 });
  });

  it('never undoes a switch that took effect before it failed; a retry goes on from there', async () => {
    const id = uniqueTenantId('switched');
    faults.set(id, { switchFailsAfterEffect: true });
    expect(await ended((await onboard(id)).id)).toMatchObject({ status: 'succeeded' });
    const asked = await askRestore(id);
    await decide(asked.id, 'approved', approver);
    expect(await ended(asked.id)).toMatchObject({ status: 'failed', error: { step: 'switch' } });
    // Not compensated: the staged data is live, and the tenant stays frozen until the retry.
    expect(registry.restoreSteps.get(id)).toEqual(['frozen', 'staged', 'switched']);
    await retry(asked.id, id, actor);
    expect(await ended(asked.id)).toMatchObject({ status: 'succeeded', run: 2 });
    // The retry neither froze nor staged again: it finished the switch and thawed.
    expect(registry.restoreSteps.get(id)).toEqual(['frozen', 'staged', 'switched', 'switched', 'thawed']);
  });
});
