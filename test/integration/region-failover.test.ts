/**
 * A region failover on the real stack: three enterprise tenants and a pool tenant homed in
 * local-a, failed over in waves of two under one approval. One tenant's standby cannot be reached
 * (its owner may not log in there): its failover fails, the others finish, the region's operation
 * says which failed and lists the pool tenant with the RTO its tier promises; once the standby is
 * reachable again the failed tenant's own operation is retried from its failed step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { withClient } from '../../dataplane/connection.js';
import { siloNames } from '../../domain/index.js';
import type { OperationSnapshot, TenantRecord } from '../../domain/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

describe('region failover', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const setOwnerLogin = (id: string, enabled: boolean) =>
    withClient(h.directory.serverDatabaseUrl('local-b', 'postgres'), (c) =>
      c.query(`ALTER ROLE ${pg.escapeIdentifier(siloNames(id).owner)} ${enabled ? 'LOGIN' : 'NOLOGIN'}`),
    );
  const operation = async (id: string) =>
    (await h.api('GET', `/v1/operations/${id}`)).body as unknown as OperationSnapshot;

  it('fails over every DR tenant in waves under one approval; a failed one is retried on its own', async () => {
    const enterprise = [uniqueTenantId('rf-a'), uniqueTenantId('rf-b'), uniqueTenantId('rf-c')];
    const pool = uniqueTenantId('rf-pool');
    const onboarded = await Promise.all([
      ...enterprise.map((id) => h.onboard({ id, tier: 'enterprise' })),
      h.onboard({ id: pool }),
    ]);
    for (const op of onboarded) expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    const broken = enterprise[1]!;
    await setOwnerLogin(broken, false);

    const asked = await h.api('POST', '/v1/regions/local-a/failover', {
      role: 'operator',
      body: { reason: 'local-a is down', waveSize: 2 },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const id = asked.body!.id as string;
    // The plan is on the operation while it waits for its one approval.
    const deadline = Date.now() + 60_000;
    let waiting = await operation(id);
    while (!waiting.steps.some((s) => s.status === 'waiting-approval') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      waiting = await operation(id);
    }
    expect(waiting.steps.find((s) => s.name === 'approval')?.status).toBe('waiting-approval');
    const plan = waiting.result as {
      plan: { failover: string[] };
      withoutDr: { tenantId: string; rto: string }[];
    };
    expect([...plan.plan.failover].sort()).toEqual([...enterprise].sort());
    expect(plan.withoutDr).toEqual([{ tenantId: pool, tier: 'basic', rto: '72h' }]);
    const own = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'operator',
      body: { comment: 'me' },
    });
    expect(own.status).toBe(403);
    const ok = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'admin',
      body: { comment: 'go' },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);

    const done = await h.waitForOperation(id, 300_000);
    expect(done.status).toBe('failed');
    expect(done.error?.type).toBe('RegionFailoverIncomplete');
    const result = done.result as {
      waves: number;
      failed: string[];
      parts: { tenantId: string; status: string; operationId: string; measured?: { rtoMs: number } }[];
      totalRtoMs: number;
    };
    expect(result.waves).toBe(2);
    expect(result.failed).toEqual([broken]);
    expect(result.totalRtoMs).toBeGreaterThan(0);
    for (const part of result.parts) {
      const tenant = (await h.api('GET', `/v1/tenants/${part.tenantId}`)).body as unknown as TenantRecord;
      if (part.tenantId === broken) {
        expect(part.status).toBe('failed');
        // Nothing changed for it: still served from home, which takes logins again.
        expect(tenant.activeRegion).toBeUndefined();
      } else {
        expect(part.status).toBe('succeeded');
        expect(part.measured?.rtoMs).toBeGreaterThan(0);
        expect(tenant.activeRegion).toBe('local-b');
      }
      // Each tenant's failover took the region's approval as its own.
      const own = await operation(part.operationId);
      expect(own.input).toMatchObject({ approvedBy: id });
    }
    const pooled = (await h.api('GET', `/v1/tenants/${pool}`)).body as unknown as TenantRecord;
    expect(pooled.activeRegion).toBeUndefined();

    // Reachable again, the failed tenant's own failover is retried from its failed step.
    await setOwnerLogin(broken, true);
    const failedOp = result.parts.find((p) => p.tenantId === broken)!.operationId;
    const retried = await h.api('POST', `/v1/operations/${failedOp}/retry`, { role: 'operator' });
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    const again = await h.waitForOperation(failedOp, 300_000);
    expect(again.status, JSON.stringify(again.error)).toBe('succeeded');
    expect(again.steps.find((s) => s.name === 'approval')?.status).toBe('succeeded');
    const tenant = (await h.api('GET', `/v1/tenants/${broken}`)).body as unknown as TenantRecord;
    expect(tenant.activeRegion).toBe('local-b');
  });
});
