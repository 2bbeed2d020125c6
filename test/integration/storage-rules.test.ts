/**
 * A cloud silo's bucket rules follow its legal holds (`sync-storage-rules`), on the real Temporal
 * server with the real tenant workflow and policy activities. Only the cloud is a stand-in: no AWS
 * account is reachable here, so the provisioning worker records the specs its stacks would be
 * applied with (what Pulumi then turns into S3 lifecycle rules: test/unit/pulumi/aws-silo.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyActivities } from '../../activities/policy/index.js';
import { loadConfig } from '../../config/index.js';
import type {
  Actor,
  LegalHold,
  OperationSnapshot,
  SiloSpec,
  TenantRecord,
  TenantSpec,
} from '../../domain/index.js';
import { installQuietRuntime, WORKFLOWS_PATH } from '../../workers/lifecycle.js';
import { requestOperation, tenantWorkflowId } from '../../workflows/definitions.js';
import type { tenantWorkflow } from '../../workflows/tenant.js';
import { uniqueTenantId } from '../support/harness.js';
import { testStack } from '../support/stack.js';

const config = loadConfig({});
/** The shipped catalog, with the network regions.json names for an AWS region a silo database lives in. */
const withAwsNetworks = {
  ...config.catalog,
  regions: config.catalog.regions.map((r) =>
    r.provider === 'aws'
      ? {
          ...r,
          network: {
            vpcId: 'vpc-0a1b2c3d4e5f60718',
            subnetIds: ['subnet-0a1b2c3d', 'subnet-1a2b3c4d'],
            appSecurityGroupId: 'sg-0feedbeef',
          },
        }
      : r,
  ),
};
const actor: Actor = { principal: 'key_legal', role: 'legal', requestId: 'req-storage-rules' };

describe("a cloud silo's storage rules and its legal holds", () => {
  const taskQueue = `storage-rules-${randomBytes(4).toString('hex')}`;
  const provisioningQueue = `${taskQueue}-provisioning`;
  const operations = new Map<string, OperationSnapshot>();
  const tenants = new Map<string, TenantRecord>();
  const holds = new Map<string, LegalHold[]>();
  /** Every stack apply the provisioning worker was asked for, in order. */
  const applied: SiloSpec[] = [];
  let client: Client;
  const workers: { worker: Worker; running: Promise<void> }[] = [];
  let startLifecycle: () => Promise<Worker>;
  const connections: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    installQuietRuntime();
    const { temporalAddress } = testStack();
    const connection = await NativeConnection.connect({ address: temporalAddress });
    const clientConnection = await Connection.connect({ address: temporalAddress });
    connections.push(connection, clientConnection);
    client = new Client({ connection: clientConnection });
    const policy = createPolicyActivities({
      catalog: withAwsNetworks,
      localRegions: new Set(),
      retention: config.retention,
      manifest: config.manifest,
    });
    startLifecycle = () =>
      Worker.create({
        connection,
        taskQueue,
        workflowsPath: WORKFLOWS_PATH,
        activities: {
          ...policy,
          async projectTenant(record: TenantRecord) {
            const stored = tenants.get(record.id);
            if (!stored || stored.version < record.version) tenants.set(record.id, record);
          },
          async projectOperation(snapshot: OperationSnapshot) {
            const stored = operations.get(snapshot.id);
            if (!stored || stored.version < snapshot.version) operations.set(snapshot.id, snapshot);
          },
          async appendAudit() {},
          async ensureTenantKey({ tenantId }: { tenantId: string }) {
            return {
              tenantId,
              keyId: `key-${tenantId}`,
              kekId: 'local:test',
              createdAt: new Date().toISOString(),
            };
          },
          async activeLegalHolds(tenantId: string) {
            return holds.get(tenantId) ?? [];
          },
          async createSiloAdminUser({ tenantId }: { tenantId: string }) {
            return { userId: `user-${tenantId}` };
          },
          async deliverNotification() {
            return { delivered: 0 };
          },
        },
      });
    const lifecycle = await startLifecycle();
    const provisioning = await Worker.create({
      connection,
      taskQueue: provisioningQueue,
      activities: {
        async provisionSilo({ spec }: { spec: SiloSpec }) {
          applied.push(spec);
          return { bucket: `bucket-${spec.tenantId}-${spec.region.id}` };
        },
        async destroySilo() {},
      },
    });
    for (const worker of [lifecycle, provisioning]) workers.push({ worker, running: worker.run() });
  });

  afterAll(async () => {
    for (const { worker } of workers) worker.shutdown();
    await Promise.allSettled(workers.map((w) => w.running));
    await Promise.allSettled(connections.map((c) => c.close()));
  });

  async function ended(id: string): Promise<OperationSnapshot> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const op = operations.get(id);
      if (op && op.status !== 'running') return op;
      if (Date.now() > deadline) throw new Error(`operation ${id} is still ${op?.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function onboard(spec: TenantSpec): Promise<OperationSnapshot> {
    return client.workflow.executeUpdateWithStart(requestOperation, {
      // Placed as the client places it: an enterprise tenant is a silo with DR.
      args: [
        {
          kind: 'onboard',
          actor: { ...actor, role: 'sales' },
          spec,
          plan: { deploymentModel: 'silo', dr: true },
        },
      ],
      startWorkflowOperation: new WithStartWorkflowOperation<typeof tenantWorkflow>('tenantWorkflow', {
        workflowId: tenantWorkflowId(spec.id),
        taskQueue,
        args: [{ tenantId: spec.id, provisioningQueue }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
  }

  const sync = (id: string) =>
    client.workflow
      .getHandle(tenantWorkflowId(id))
      .executeUpdate(requestOperation, { args: [{ kind: 'sync-storage-rules', actor }] });

  const spec = (id: string, tier: string, region: string): TenantSpec => ({
    id,
    name: `Tenant ${id}`,
    tier,
    region,
    adminEmail: `owner@${id}.test`,
    features: {},
    labels: {},
  });

  it("applies the standby's stack, then the primary's, with no expiry on what a hold covers", async () => {
    const id = uniqueTenantId('rules');
    const onboarded = await ended((await onboard(spec(id, 'enterprise', 'aws-eu-west-1'))).id);
    expect(onboarded.status, JSON.stringify(onboarded.error)).toBe('succeeded');
    // Onboarding, with no hold: every prefix expires by its class's enterprise retention.
    const unheld = applied.filter((s) => s.tenantId === id);
    expect(unheld.map((s) => s.role)).toEqual(['standby', 'primary']);
    expect(unheld[1]!.storageRetention).toEqual([
      { prefix: 'attachments/', dataClass: 'content', days: 730 },
      { prefix: 'exports/', dataClass: 'personal', days: 2555 },
      { prefix: 'logs/', dataClass: 'telemetry', days: 365 },
    ]);

    const at = new Date().toISOString();
    holds.set(id, [
      {
        id: 'hold_00000000000000a1',
        tenantId: id,
        reason: 'case 9',
        dataClasses: ['personal'],
        createdAt: at,
        createdBy: 'key_legal',
      },
    ]);
    const accepted = await sync(id);
    expect(accepted).toMatchObject({ kind: 'sync-storage-rules', status: 'running' });
    const op = await ended(accepted.id);
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(op.steps.map((s) => [s.name, s.status])).toEqual([
      ['read-holds', 'succeeded'],
      ['apply-storage-rules', 'succeeded'],
    ]);
    const after = applied.filter((s) => s.tenantId === id).slice(2);
    expect(after.map((s) => s.role)).toEqual(['standby', 'primary']);
    // The primary replicates into the standby it was just applied with.
    expect(after[1]!.drTarget).toMatchObject({ region: { id: 'aws-eu-central-1' } });
    for (const s of after)
      expect(s.storageRetention).toEqual([
        { prefix: 'attachments/', dataClass: 'content', days: 730 },
        { prefix: 'exports/', dataClass: 'personal', days: 2555, held: true },
        { prefix: 'logs/', dataClass: 'telemetry', days: 365 },
      ]);
    expect(op.result).toMatchObject({ holds: 1 });

    // A hold on a subject holds every prefix: no object says whom it is about.
    holds.set(id, [{ ...holds.get(id)![0]!, dataClasses: undefined, subjects: ['user-7'] } as LegalHold]);
    expect((await ended((await sync(id)).id)).status).toBe('succeeded');
    expect(applied.at(-1)!.storageRetention!.every((r) => r.held)).toBe(true);

    // Released: the rules expire again.
    holds.set(id, []);
    expect((await ended((await sync(id)).id)).status).toBe('succeeded');
    expect(applied.at(-1)!.storageRetention!.some((r) => r.held)).toBe(false);
  });

  it('takes a retention change asked for right after a restarted worker replays the onboarding', async () => {
    const id = uniqueTenantId('replayed');
    const onboarded = await ended((await onboard(spec(id, 'enterprise', 'aws-eu-west-1'))).id);
    expect(onboarded.status, JSON.stringify(onboarded.error)).toBe('succeeded');
    // A new worker (an empty cache): the next update's workflow task replays the whole history,
    // and the update is validated before the onboarding's end is taken in.
    const old = workers.shift()!;
    old.worker.shutdown();
    await old.running;
    const fresh = await startLifecycle();
    workers.push({ worker: fresh, running: fresh.run() });
    const accepted = await client.workflow.getHandle(tenantWorkflowId(id)).executeUpdate(requestOperation, {
      args: [
        {
          kind: 'set-retention',
          actor: { ...actor, role: 'operator' },
          dataClasses: { telemetry: { days: 30 } },
        },
      ],
    });
    expect(accepted).toMatchObject({ kind: 'set-retention' });
    const op = await ended(accepted.id);
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(tenants.get(id)?.retention).toEqual({ telemetry: { days: 30 } });
  });
});
