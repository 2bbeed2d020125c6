import { describe, expect, it } from 'vitest';
import type { OperationSnapshot, Role } from '../../../domain/index.js';
import { call, operationCount, useApiHarness } from './api-harness.js';

const api = useApiHarness();
const problem = (kebab: string) => `https://landlord.dev/problems/${kebab}`;

/** Onboards a tenant in local-a (whose DR partner is local-b): enterprise keeps a standby there. */
async function tenant(id: string, tier = 'enterprise'): Promise<void> {
  const body = { id, name: id, tier, region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

/** Records the tenant as served from `activeRegion`, as a failover that succeeded leaves it. */
async function servedFrom(id: string, activeRegion: string): Promise<void> {
  const record = (await api().store.tenants.get(id))!;
  await api().store.tenants.upsert({ ...record, activeRegion, version: record.version + 1 });
}

const ask = (verb: 'failover' | 'failback', id: string, role: Role = 'operator', body: object = {}) =>
  call(api(), 'POST', `/v1/tenants/${id}/${verb}`, { role, body });

/** Calls the lifecycle took and operations recorded: what a refusal must leave as it was. */
const started = async () => [
  api().lifecycle.calls.filter((c) => c.method === 'failoverTenant' || c.method === 'failbackTenant').length,
  await operationCount(api().store),
];

describe('failover and failback', () => {
  it("asks for a failover of a DR tenant, which waits for another's approval, with who asked and why", async () => {
    await tenant('failing-co');
    const asked = await ask('failover', 'failing-co', 'operator', { reason: 'local-a is down' });
    expect(asked.status).toBe(202);
    expect(asked.headers.get('location')).toBe(`/v1/operations/${asked.body.id}`);
    expect(asked.body).toMatchObject({
      kind: 'failover',
      tenantId: 'failing-co',
      input: { reason: 'local-a is down', requestedBy: asked.body.actor.principal },
      steps: [
        { name: 'approval', status: 'waiting-approval' },
        { name: 'fence-primary', status: 'pending' },
        { name: 'promote-standby', status: 'pending' },
        { name: 'switch-routing', status: 'pending' },
        { name: 'verify', status: 'pending' },
      ],
    });
    expect(api().lifecycle.calls.at(-1)).toMatchObject({
      method: 'failoverTenant',
      tenantId: 'failing-co',
      kind: 'failover',
      actor: { role: 'operator' },
    });

    // Four eyes: the requester cannot approve it; someone else can.
    const own = await call(api(), 'POST', `/v1/operations/${asked.body.id}/approve`, {
      role: 'operator',
      body: { comment: 'mine' },
    });
    expect(own).toMatchObject({ status: 403, body: { type: problem('self-approval') } });
    const approved = await call(api(), 'POST', `/v1/operations/${asked.body.id}/approve`, {
      role: 'admin',
      body: { comment: 'local-a confirmed down' },
    });
    expect(approved.status).toBe(200);
    const waiting = await call(api(), 'GET', '/v1/operations?status=waiting-approval&tenant=failing-co');
    expect(waiting.body.items).toEqual([]);
  });

  it('takes no reason, and an admin may ask too; suspended tenants fail over as well', async () => {
    await tenant('quiet-co');
    const bare = await ask('failover', 'quiet-co', 'admin');
    expect(bare.status).toBe(202);
    expect((bare.body as OperationSnapshot).input).toEqual({ requestedBy: bare.body.actor.principal });

    await tenant('resting-co');
    expect((await call(api(), 'POST', '/v1/tenants/resting-co/suspend', { role: 'operator' })).status).toBe(
      202,
    );
    expect((await ask('failover', 'resting-co')).status).toBe(202);
  });

  it('fails back a tenant served from its DR region, waiting for approval', async () => {
    await tenant('returning-co');
    await servedFrom('returning-co', 'local-b');
    const asked = await ask('failback', 'returning-co', 'admin', { reason: 'local-a is back' });
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({
      kind: 'failback',
      input: { reason: 'local-a is back', requestedBy: asked.body.actor.principal },
      steps: [
        { name: 'approval', status: 'waiting-approval' },
        ...[
          'reseed-home',
          'fence-standby',
          'promote-home',
          'switch-routing',
          'verify',
          'resume-replication',
        ].map((name) => ({ name, status: 'pending' })),
      ],
    });
    expect(api().lifecycle.calls.at(-1)).toMatchObject({ method: 'failbackTenant', kind: 'failback' });
  });

  it('refuses, starting nothing, a tenant without a standby, naming the restore that recovers it', async () => {
    await tenant('pooled-co', 'basic');
    await tenant('single-silo-co', 'premium');
    const before = await started();

    const pooled = await ask('failover', 'pooled-co');
    expect(pooled).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(pooled.body.detail).toContain('pool tenant');
    expect(pooled.body.detail).toContain('POST /v1/tenants/pooled-co/restore with "region": "local-b"');

    const silo = await ask('failover', 'single-silo-co', 'admin', { reason: 'local-a is down' });
    expect(silo).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(silo.body.detail).toContain('premium');
    expect(silo.body.detail).toContain('POST /v1/tenants/single-silo-co/restore with "region": "local-b"');
    expect(await started()).toEqual(before);
  });

  it('refuses, starting nothing, a failover of a tenant failed over and a failback of one at home', async () => {
    await tenant('moved-co');
    await servedFrom('moved-co', 'local-b');
    await tenant('home-co');
    await tenant('home-pool-co', 'basic');
    const before = await started();

    const again = await ask('failover', 'moved-co');
    expect(again).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(again.body.detail).toBe(
      'tenant "moved-co" is already served from local-b; fail back first (POST /v1/tenants/moved-co/failback)',
    );
    for (const id of ['home-co', 'home-pool-co']) {
      const home = await ask('failback', id);
      expect(home).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
      expect(home.body.detail).toBe(
        `tenant "${id}" is served from its home region local-a; there is nothing to fail back`,
      );
    }
    expect(await started()).toEqual(before);
  });

  it('refuses, starting nothing, a tenant not active or suspended, an unknown one, and other roles', async () => {
    const body = {
      id: 'new-co',
      name: 'new-co',
      tier: 'enterprise',
      region: 'local-a',
      adminEmail: 'a@new.example',
    };
    expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
    await tenant('guarded-co');
    const before = await started();

    const onboarding = await ask('failover', 'new-co');
    expect(onboarding).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(onboarding.body.detail).toContain('a provisioning tenant cannot be failed over');
    for (const verb of ['failover', 'failback'] as const) {
      const unknown = await ask(verb, 'nobody-co');
      expect(unknown).toMatchObject({ status: 404, body: { type: problem('tenant-not-found') } });
      for (const role of ['viewer', 'sales', 'legal'] as const)
        expect(await ask(verb, 'guarded-co', role)).toMatchObject({
          status: 403,
          body: { type: problem('forbidden') },
        });
    }
    expect(await started()).toEqual(before);
  });
});
