import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantRoleName } from '../../activities/pool/index.js';
import { loadConfig } from '../../config/index.js';
import type { OperationSnapshot } from '../../domain/index.js';
import { freePort } from '../../scripts/servers/ports.js';
import { startTemporalDevServer } from '../../scripts/servers/temporal.js';
import type { DevServer } from '../../scripts/servers/temporal.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { testStack } from '../support/stack.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const WEBHOOK_SECRET = 'durability-webhook-secret-0123456789';

async function createTenants(h: Harness, ids: string[]): Promise<string[]> {
  return Promise.all(
    ids.map(async (id) => {
      const res = await h.api('POST', '/v1/tenants', {
        role: 'sales',
        body: { name: `Durable ${id}`, tier: 'basic', region: 'local-a', adminEmail: `owner@${id}.test`, id },
      });
      expect(res.status).toBe(202);
      return res.body!.id as string;
    }),
  );
}

/** Everything a finished onboarding leaves, counted, so that "exactly once" can be checked. */
async function footprint(h: Harness, id: string, receiver: WebhookReceiver) {
  const pool = h.directory.pool('local-a');
  const count = async (sql: string, arg: string) =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${sql}`, [arg])).rows[0].n);
  const operations = await h.store.operations.listForTenant(id);
  const audit = await h.store.audit.list({ tenantId: id, limit: 100 });
  const mine = receiver.deliveries.filter((d) => d.body.tenantId === id);
  return {
    status: (await h.store.tenants.get(id))?.status,
    registryRows: Number(
      (await h.store.pool.query('SELECT count(*) AS n FROM tenants WHERE id = $1', [id])).rows[0].n,
    ),
    partitions: await count('landlord.tenant_partitions WHERE tenant_id = $1', id),
    roles: await count('pg_roles WHERE rolname = $1', tenantRoleName(id)),
    adminUsers: await count('app_users WHERE tenant_id = $1', id),
    operations: operations.map((o) => [o.kind, o.status, o.run]),
    audit: audit.map((e) => e.outcome),
    notificationKeys: [...new Set(mine.map((d) => d.idempotencyKey))].length,
    unsignedNotifications: mine.filter((d) => !d.signatureValid).length,
  };
}

const exactlyOnce = {
  status: 'active',
  registryRows: 1,
  partitions: 1,
  roles: 1,
  adminUsers: 1,
  operations: [['onboard', 'succeeded', 1]],
  audit: ['accepted', 'succeeded'],
  notificationKeys: 2,
  unsignedNotifications: 0,
};

describe('durability', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await new WebhookReceiver(WEBHOOK_SECRET).start();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it('finishes every onboarding exactly once when the worker process is SIGKILLed mid-run', async () => {
    const h = await Harness.create({
      noWorker: true,
      webhookUrls: [receiver.url],
      webhookSecret: WEBHOOK_SECRET,
    });
    try {
      let worker = await h.spawnWorkerProcess();
      const ids = [uniqueTenantId('kill'), uniqueTenantId('kill'), uniqueTenantId('kill')];
      receiver.hold();
      const before = receiver.deliveries.length;
      const ops = await createTenants(h, ids);
      // Each onboarding is now inside its invite delivery: partition and admin user exist, the webhook is in flight.
      await receiver.waitForRequests(before + ids.length);
      await Harness.kill(worker);
      receiver.release();
      worker = await h.spawnWorkerProcess();

      // Killed again right after new work arrives: its workflow task may be in flight.
      const late = uniqueTenantId('kill');
      const lateOps = await createTenants(h, [late]);
      await Harness.kill(worker);
      worker = await h.spawnWorkerProcess();

      const results: OperationSnapshot[] = await Promise.all(
        [...ops, ...lateOps].map((id) => h.waitForOperation(id, 120_000)),
      );
      expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      for (const id of [...ids, late]) expect(await footprint(h, id, receiver)).toEqual(exactlyOnce);
      // The killed deliveries were retried under the same idempotency key: at least once, never a new key.
      for (const id of ids) {
        const invites = receiver.deliveries.filter(
          (d) => d.body.tenantId === id && d.event === 'tenant.invite',
        );
        expect(invites.length).toBeGreaterThanOrEqual(1);
        expect(new Set(invites.map((d) => d.idempotencyKey)).size).toBe(1);
      }
    } finally {
      receiver.release();
      await h.close();
    }
  });

  describe('with its own Temporal server', () => {
    let server: DevServer | undefined;
    let options: Parameters<typeof startTemporalDevServer>[0];

    beforeAll(async () => {
      options = {
        cliPath: loadConfig({}).temporal.cliPath!,
        dbFile: join(testStack().dir, `temporal-restart-${Date.now()}.db`),
        port: await freePort(),
        uiPort: await freePort(),
      };
      server = await startTemporalDevServer(options);
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('finishes every onboarding exactly once when the Temporal server restarts mid-run', async () => {
      const h = await Harness.create({
        temporalAddress: server!.address,
        webhookUrls: [receiver.url],
        webhookSecret: WEBHOOK_SECRET,
      });
      try {
        const ids = [uniqueTenantId('restart'), uniqueTenantId('restart')];
        receiver.hold();
        const before = receiver.deliveries.length;
        const ops = await createTenants(h, ids);
        await receiver.waitForRequests(before + ids.length);
        await server!.stop();
        receiver.release();
        server = await startTemporalDevServer(options);
        const results = await Promise.all(ops.map((id) => h.waitForOperation(id, 120_000)));
        expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
        for (const id of ids) expect(await footprint(h, id, receiver)).toEqual(exactlyOnce);

        // And the restarted server still takes new work.
        const after = uniqueTenantId('restart');
        expect((await h.onboard({ id: after })).status).toBe('succeeded');
      } finally {
        receiver.release();
        await h.close();
      }
    });
  });
});
