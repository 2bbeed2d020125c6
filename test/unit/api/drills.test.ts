import { describe, expect, it } from 'vitest';
import { LandlordError } from '../../../domain/index.js';
import type { OperationSnapshot, Role, TenantDrStatus } from '../../../domain/index.js';
import { recordBackup } from '../../support/backups.js';
import { call, operationCount, useApiHarness } from './api-harness.js';

const api = useApiHarness();
const problem = (kebab: string) => `https://landlord.dev/problems/${kebab}`;

/** Onboards a tenant in local-a; `backedUp` records a backup taken an hour ago, as a data worker would. */
async function tenant(id: string, { backedUp = true } = {}): Promise<void> {
  const body = { id, name: id, tier: 'basic', region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
  if (backedUp) await recordBackup(api().store, id, { daysAgo: 1 / 24 });
}

const drill = (id: string, role: Role | 'none' = 'operator', headers: Record<string, string> = {}) =>
  call(api(), 'POST', `/v1/tenants/${id}/drills`, { role, headers });

const drillRegion = (region: string, role: Role | 'none' = 'operator', body: object = {}) =>
  call(api(), 'POST', `/v1/regions/${region}/drills`, { role, body });

/** Drills asked of tenants' workflows, region operations started and operations recorded. */
const started = async () => [
  api().lifecycle.calls.filter((c) => c.method === 'drillTenant').length,
  api().lifecycle.regionFailovers.length,
  await operationCount(api().store),
];

describe("a tenant's drill", () => {
  it('asks the tenant workflow for a drill, with who asked, and answers 202 with the operation', async () => {
    await tenant('drilled-co');
    const asked = await drill('drilled-co');
    expect(asked.status).toBe(202);
    const op = asked.body as OperationSnapshot;
    expect(asked.headers.get('location')).toBe(`/v1/operations/${op.id}`);
    expect(op).toMatchObject({
      kind: 'drill',
      tenantId: 'drilled-co',
      status: 'running',
      actor: { role: 'operator' },
      steps: ['pick-backup', 'restore-copy', 'destroy-copy'].map((name) => ({ name, status: 'pending' })),
    });
    expect(op.input).toEqual({ requestedBy: op.actor.principal });
    expect(api().lifecycle.calls.at(-1)).toMatchObject({
      method: 'drillTenant',
      tenantId: 'drilled-co',
      kind: 'drill',
      actor: { role: 'operator' },
    });
    // No approval: nothing waits for a second principal.
    const waiting = await call(api(), 'GET', '/v1/operations?status=waiting-approval&tenant=drilled-co');
    expect(waiting.body.items).toEqual([]);
  });

  it('drills a suspended tenant too, and admins may ask', async () => {
    await tenant('resting-co');
    expect((await call(api(), 'POST', '/v1/tenants/resting-co/suspend', { role: 'operator' })).status).toBe(
      202,
    );
    expect(await drill('resting-co', 'admin')).toMatchObject({ status: 202, body: { kind: 'drill' } });
  });

  it('refuses, starting nothing, a tenant with no available backup, naming how to take one', async () => {
    await tenant('unbacked-co', { backedUp: false });
    const expired = await recordBackup(api().store, 'unbacked-co', { daysAgo: 10 });
    await api().store.backups.markExpired('unbacked-co', expired.id, new Date().toISOString());
    const before = await started();
    const refused = await drill('unbacked-co');
    expect(refused).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(refused.body.detail).toContain('POST /v1/tenants/unbacked-co/backups');
    expect(await started()).toEqual(before);
  });

  it('refuses, starting nothing, a tenant that is not active or suspended', async () => {
    const body = {
      id: 'unborn-co',
      name: 'unborn-co',
      tier: 'basic',
      region: 'local-a',
      adminEmail: 'a@u.example',
    };
    expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
    await recordBackup(api().store, 'unborn-co');
    const before = await started();
    const refused = await drill('unborn-co');
    expect(refused).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(refused.body.detail).toContain('provisioning');
    expect(await started()).toEqual(before);
  });

  it('refuses a second drill of a tenant while one runs; an Idempotency-Key retry is the first', async () => {
    await tenant('busy-co');
    const headers = { 'idempotency-key': 'drill-busy-co-1' };
    const first = await drill('busy-co', 'operator', headers);
    expect(first.status).toBe(202);
    expect(await drill('busy-co', 'operator', headers)).toMatchObject({
      status: 202,
      body: { id: first.body.id },
    });
    const count = await operationCount(api().store);
    expect(await drill('busy-co', 'admin')).toMatchObject({
      status: 409,
      body: { type: problem('invalid-transition') },
    });
    expect(await operationCount(api().store)).toBe(count);
  });

  it('refuses an unknown tenant (404), and roles other than operator and admin, starting nothing', async () => {
    await tenant('guarded-co');
    const before = await started();
    expect(await drill('no-such-co')).toMatchObject({
      status: 404,
      body: { type: problem('tenant-not-found') },
    });
    for (const role of ['viewer', 'sales', 'legal'] as const)
      expect((await drill('guarded-co', role)).status, role).toBe(403);
    expect((await drill('guarded-co', 'none')).status).toBe(401);
    expect(await started()).toEqual(before);
  });

  it("shows a succeeded drill's measured RTO and RPO as the tenant's last recovery", async () => {
    await tenant('measured-co');
    const op = (await drill('measured-co')).body as OperationSnapshot;
    const at = new Date().toISOString();
    const measured = { rtoMs: 90_000, rpoMs: 3_600_000, rtoMet: true, rpoMet: true };
    await api().store.operations.upsert({
      ...op,
      status: 'succeeded',
      result: { measured },
      updatedAt: at,
      finishedAt: at,
      version: op.version + 1,
    });
    const standing = await call(api(), 'GET', '/v1/tenants/measured-co/dr', { role: 'viewer' });
    expect(standing.status).toBe(200);
    expect((standing.body as TenantDrStatus).lastRecovery).toEqual({
      operationId: op.id,
      kind: 'drill',
      at,
      ...measured,
    });
  });
});

describe("a region's drill", () => {
  it("records the region's drill, starts its workflow once and answers 202 with the operation", async () => {
    const asked = await drillRegion('local-a', 'operator', { reason: 'quarterly drill', waveSize: 3 });
    expect(asked.status).toBe(202);
    const op = asked.body as OperationSnapshot;
    expect(op.id).toMatch(/^rdr-[0-9a-f]{16}$/);
    expect(asked.headers.get('location')).toBe(`/v1/operations/${op.id}`);
    expect(op).toMatchObject({
      kind: 'region-drill',
      tenantId: 'region:local-a',
      status: 'running',
      run: 1,
      actor: { role: 'operator' },
      steps: ['plan', 'drill'].map((name) => ({ name, status: 'pending', attempts: 0 })),
    });
    expect(op.input).toEqual({
      region: 'local-a',
      reason: 'quarterly drill',
      waveSize: 3,
      requestedBy: op.actor.principal,
    });
    expect(await api().store.operations.get(op.id)).toMatchObject({ id: op.id, status: 'running' });
    expect(api().lifecycle.regionFailovers.at(-1)).toEqual(op);

    const [event] = await api().store.audit.list({ action: 'region.drill', limit: 10 });
    expect(event).toMatchObject({
      operationId: op.id,
      actor: op.actor.principal,
      outcome: 'accepted',
      detail: { region: 'local-a', waveSize: 3 },
    });
  });

  it('drills a region without a DR partner, its copies made at home, in waves of 5 unless told', async () => {
    const asked = await drillRegion('aws-us-east-1', 'admin');
    expect(asked).toMatchObject({
      status: 202,
      body: { kind: 'region-drill', tenantId: 'region:aws-us-east-1' },
    });
    expect(asked.body.input).toEqual({
      region: 'aws-us-east-1',
      waveSize: 5,
      requestedBy: asked.body.actor.principal,
    });
  });

  it('refuses a second drill of a region while one runs, naming it; starts nothing', async () => {
    const first = await drillRegion('gcp-europe-west1');
    expect(first.status).toBe(202);
    const before = await started();
    const again = await drillRegion('gcp-europe-west1', 'admin', { waveSize: 10 });
    expect(again).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(again.body.detail).toContain(first.body.id);
    expect(await started()).toEqual(before);
  });

  it("is neither held up by the region's failover nor holds it up", async () => {
    expect((await call(api(), 'POST', '/v1/regions/aws-eu-west-1/failover', { body: {} })).status).toBe(202);
    expect((await drillRegion('aws-eu-west-1')).status).toBe(202);
  });

  it('is not retried, and once cancelled the region may be drilled again', async () => {
    const asked = await drillRegion('local-b');
    expect(asked.status).toBe(202);
    const retry = await call(api(), 'POST', `/v1/operations/${asked.body.id}/retry`, { role: 'operator' });
    expect(retry).toMatchObject({ status: 409, body: { type: problem('operation-not-retryable') } });
    expect(retry.body.detail).toContain("retry the failed tenants' own drill operations");
    const cancelled = await call(api(), 'POST', `/v1/operations/${asked.body.id}/cancel`, {
      role: 'operator',
    });
    expect(cancelled).toMatchObject({ status: 202, body: { status: 'cancelled' } });
    const again = await drillRegion('local-b');
    expect(again.status).toBe(202);
    expect(again.body.id).not.toBe(asked.body.id);
  });

  it('refuses, starting nothing, an unknown region and roles other than operator and admin', async () => {
    const before = await started();
    const unknown = await drillRegion('mars-north-1');
    expect(unknown).toMatchObject({ status: 404, body: { type: problem('not-found') } });
    expect(unknown.body.detail).toContain('local-a');
    for (const role of ['viewer', 'sales', 'legal'] as const)
      expect((await drillRegion('aws-eu-central-1', role)).status, role).toBe(403);
    expect((await drillRegion('aws-eu-central-1', 'none')).status).toBe(401);
    expect(await started()).toEqual(before);
  });

  it('keeps the operation running when its start fails (it may have started), until it is cancelled', async () => {
    const lifecycle = api().lifecycle;
    const start = lifecycle.startRegionFailover;
    lifecycle.startRegionFailover = async () => {
      throw new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again');
    };
    try {
      const refused = await drillRegion('gcp-europe-west4');
      expect(refused).toMatchObject({ status: 503, body: { type: problem('service-unavailable') } });
    } finally {
      lifecycle.startRegionFailover = start;
    }
    const [recorded] = await api().store.operations.list({
      kind: 'region-drill',
      tenantId: 'region:gcp-europe-west4',
      limit: 10,
    });
    expect(recorded).toMatchObject({ status: 'running' });
    expect((await drillRegion('gcp-europe-west4')).status).toBe(409);
    const cancelled = await call(api(), 'POST', `/v1/operations/${recorded!.id}/cancel`, {
      role: 'operator',
    });
    expect(cancelled).toMatchObject({ status: 202, body: { status: 'cancelled' } });
    expect((await drillRegion('gcp-europe-west4')).status).toBe(202);
  });
});
