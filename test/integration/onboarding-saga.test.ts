import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantRoleName } from '../../activities/pool/index.js';
import { LandlordError, OPERATION_STEPS } from '../../domain/index.js';
import type { OperationSnapshot, TenantRecord } from '../../domain/index.js';
import type { LifecycleActivities } from '../../workers/lifecycle.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const WEBHOOK_SECRET = 'saga-webhook-secret-0123456789abcdef';
type Step = (typeof OPERATION_STEPS.onboard)[number];

/** tenant id → the onboarding step that fails for it (after doing its work, the harder case). */
const faults = new Map<string, Step>();

function injectFaults(activities: LifecycleActivities): LifecycleActivities {
  const fail = (tenantId: string, step: Step) => {
    if (faults.get(tenantId) === step) throw new LandlordError('InjectedFault', `fault injected at ${step}`);
  };
  return {
    ...activities,
    async validatePlacement(input) {
      fail(input.spec.id, 'validate');
      return activities.validatePlacement(input);
    },
    async projectTenant(record) {
      await activities.projectTenant(record);
      if (record.status === 'provisioning') fail(record.id, 'record-tenant');
      if (record.status === 'active') fail(record.id, 'activate');
    },
    async createPartition(input) {
      const result = await activities.createPartition(input);
      fail(input.tenantId, 'create-partition');
      return result;
    },
    async createAdminUser(input) {
      const result = await activities.createAdminUser(input);
      fail(input.tenantId, 'create-admin-user');
      return result;
    },
    async deliverNotification(input) {
      const result = await activities.deliverNotification(input);
      fail(input.tenantId, input.event === 'tenant.invite' ? 'notify-invite' : 'notify-ready');
      return result;
    },
  };
}

describe('onboarding saga under injected faults', () => {
  let h: Harness;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await new WebhookReceiver(WEBHOOK_SECRET).start();
    h = await Harness.create({
      webhookUrls: [receiver.url],
      webhookSecret: WEBHOOK_SECRET,
      decorateActivities: injectFaults,
    });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.stop();
  });

  async function leftovers(id: string) {
    const pool = h.directory.pool('local-a');
    const [partitions, roles, users] = await Promise.all([
      pool.query('SELECT 1 FROM landlord.tenant_partitions WHERE tenant_id = $1', [id]),
      pool.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [tenantRoleName(id)]),
      pool.query('SELECT 1 FROM app_users WHERE tenant_id = $1', [id]),
    ]);
    return { partitions: partitions.rowCount, roles: roles.rowCount, users: users.rowCount };
  }

  it.each(OPERATION_STEPS.onboard)(
    'a failure at %s leaves nothing behind, and retry succeeds',
    async (step) => {
      const id = uniqueTenantId(`f-${step.slice(0, 8)}`);
      faults.set(id, step);
      const failed = await h.onboard({ id });
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({ type: 'InjectedFault', step });
      expect(failed.steps.find((s) => s.name === step)).toMatchObject({
        status: 'failed',
        error: { type: 'InjectedFault' },
      });
      expect(await leftovers(id)).toEqual({ partitions: 0, roles: 0, users: 0 });
      const tenant = await h.api('GET', `/v1/tenants/${id}`);
      if (step === 'validate') {
        expect(tenant.status).toBe(404);
      } else {
        expect(tenant.body).toMatchObject({ status: 'failed', statusReason: `fault injected at ${step}` });
        const undone = failed.steps.filter((s) => s.status === 'compensated').map((s) => s.name);
        const ran = OPERATION_STEPS.onboard.slice(0, OPERATION_STEPS.onboard.indexOf(step));
        for (const s of ['create-partition', 'create-admin-user'] as const)
          expect(undone.includes(s)).toBe(ran.includes(s));
      }

      faults.delete(id);
      const retry = await h.api('POST', `/v1/operations/${failed.id}/retry`, { role: 'operator' });
      expect(retry.status).toBe(202);
      expect(retry.body).toMatchObject({ id: failed.id, run: 2, status: 'running' });
      const done = await h.waitForOperation(failed.id);
      expect(done).toMatchObject({ status: 'succeeded', run: 2 });
      expect(((await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord).status).toBe(
        'active',
      );
      expect(await leftovers(id)).toEqual({ partitions: 1, roles: 1, users: 1 });

      // A notification that was delivered before the failure is not sent again on retry.
      const invites = receiver.deliveries.filter(
        (d) => d.body.tenantId === id && d.event === 'tenant.invite',
      );
      const inviteDeliveredBeforeFault =
        OPERATION_STEPS.onboard.indexOf(step) > OPERATION_STEPS.onboard.indexOf('notify-invite');
      if (inviteDeliveredBeforeFault) expect(invites).toHaveLength(1);
      expect(new Set(invites.map((d) => d.idempotencyKey)).size).toBe(1);
    },
  );

  it('refuses to retry an operation that succeeded', async () => {
    const id = uniqueTenantId('noretry');
    const op: OperationSnapshot = await h.onboard({ id });
    const retry = await h.api('POST', `/v1/operations/${op.id}/retry`, { role: 'operator' });
    expect(retry.status).toBe(409);
    expect(retry.body!.detail).toMatch(/only a failed or cancelled operation can be retried/);
  });

  it('cancels a running onboarding and rolls it back', async () => {
    const id = uniqueTenantId('cancel');
    receiver.hold();
    try {
      const res = await h.api('POST', '/v1/tenants', {
        role: 'sales',
        body: { name: 'Cancel me', tier: 'basic', region: 'local-a', adminEmail: 'a@c.test', id },
      });
      const before = receiver.deliveries.length;
      await receiver.waitForRequests(before + 1);
      const cancel = await h.api('POST', `/v1/operations/${res.body!.id as string}/cancel`, {
        role: 'operator',
      });
      expect(cancel.status).toBe(202);
      const done = await h.waitForOperation(res.body!.id as string);
      expect(done.status).toBe('cancelled');
      expect(done.error).toMatchObject({ type: 'OperationCancelled', step: 'notify-invite' });
      expect(await leftovers(id)).toEqual({ partitions: 0, roles: 0, users: 0 });
      expect((await h.api('GET', `/v1/tenants/${id}`)).body!.status).toBe('failed');
      expect(
        (await h.api('POST', `/v1/operations/${res.body!.id as string}/cancel`, { role: 'operator' })).status,
      ).toBe(409);
    } finally {
      receiver.release();
    }
  });
});
