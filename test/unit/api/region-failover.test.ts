import { describe, expect, it } from 'vitest';
import { LandlordError } from '../../../domain/index.js';
import type { OperationSnapshot, Role } from '../../../domain/index.js';
import { call, operationCount, useApiHarness } from './api-harness.js';

const api = useApiHarness();
const problem = (kebab: string) => `https://landlord.dev/problems/${kebab}`;

const ask = (
  region: string,
  role: Role | 'none' = 'operator',
  body: object = {},
  headers: Record<string, string> = {},
) => call(api(), 'POST', `/v1/regions/${region}/failover`, { role, body, headers });

/** Region failovers started and operations recorded: what a refusal must leave as it was. */
const started = async () => [api().lifecycle.regionFailovers.length, await operationCount(api().store)];

/** Shows the operation waiting at its approval step, as its workflow records it after the plan. */
async function awaitingApproval(op: OperationSnapshot): Promise<void> {
  const now = new Date().toISOString();
  await api().store.operations.upsert({
    ...op,
    steps: op.steps.map((s) =>
      s.name === 'plan'
        ? { ...s, status: 'succeeded' }
        : s.name === 'approval'
          ? { ...s, status: 'waiting-approval', attempts: 1 }
          : s,
    ),
    approval: { required: 1, timeoutAt: new Date(Date.now() + 3_600_000).toISOString(), decisions: [] },
    updatedAt: now,
    version: op.version + 1,
  });
}

describe('region failover', () => {
  it("records the region's failover, starts its workflow once and answers 202 with the operation", async () => {
    const asked = await ask('local-a', 'operator', { reason: 'local-a is down' });
    expect(asked.status).toBe(202);
    const op = asked.body as OperationSnapshot;
    expect(op.id).toMatch(/^rfo-[0-9a-f]{16}$/);
    expect(asked.headers.get('location')).toBe(`/v1/operations/${op.id}`);
    expect(op).toMatchObject({
      kind: 'region-failover',
      tenantId: 'region:local-a',
      status: 'running',
      run: 1,
      actor: { role: 'operator' },
      steps: ['plan', 'approval', 'fail-over'].map((name) => ({ name, status: 'pending', attempts: 0 })),
    });
    expect(op.input).toEqual({
      region: 'local-a',
      reason: 'local-a is down',
      waveSize: 5,
      requestedBy: op.actor.principal,
    });

    expect(await api().store.operations.get(op.id)).toMatchObject({ id: op.id, status: 'running' });
    expect(api().lifecycle.regionFailovers).toEqual([op]);
    expect(api().lifecycle.calls.filter((c) => c.method === 'startRegionFailover')).toHaveLength(1);

    const shown = await call(api(), 'GET', `/v1/operations/${op.id}`);
    expect(shown).toMatchObject({ status: 200, body: { id: op.id, kind: 'region-failover' } });
    const listed = await call(api(), 'GET', '/v1/operations?status=running&kind=region-failover');
    expect(listed.body.items.map((o: OperationSnapshot) => o.id)).toEqual([op.id]);

    const [event] = await api().store.audit.list({ action: 'region.failover', limit: 10 });
    expect(event).toMatchObject({
      operationId: op.id,
      actor: op.actor.principal,
      outcome: 'accepted',
      detail: { region: 'local-a', waveSize: 5 },
    });
    expect(event!.tenantId).toBeUndefined();
  });

  it('refuses a second failover of a region while one runs, naming it; starts nothing', async () => {
    const [running] = await api().store.operations.list({
      kind: 'region-failover',
      status: 'running',
      limit: 10,
    });
    const before = await started();
    const again = await ask('local-a', 'admin', { waveSize: 10 });
    expect(again).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(again.body.detail).toContain(running!.id);
    expect(await started()).toEqual(before);
  });

  it('answers an Idempotency-Key retry with the first operation, starting no second one', async () => {
    const headers = { 'idempotency-key': 'region-failover-once-1' };
    const first = await ask('aws-eu-west-1', 'admin', { waveSize: 2 }, headers);
    expect(first.status).toBe(202);
    expect(first.body.input).toEqual({
      region: 'aws-eu-west-1',
      waveSize: 2,
      requestedBy: first.body.actor.principal,
    });
    const before = await started();
    const retried = await ask('aws-eu-west-1', 'admin', { waveSize: 2 }, headers);
    expect(retried).toMatchObject({ status: 202, body: { id: first.body.id } });
    expect(await started()).toEqual(before);
  });

  it('is approved by someone other than who asked, with the approval route every DR operation uses', async () => {
    const asked = await ask('gcp-europe-west1', 'operator', { reason: 'zone outage' });
    expect(asked.status).toBe(202);
    await awaitingApproval(asked.body);
    const waiting = await call(api(), 'GET', '/v1/operations?status=waiting-approval&kind=region-failover');
    expect(waiting.body.items.map((o: OperationSnapshot) => o.id)).toEqual([asked.body.id]);

    const own = await call(api(), 'POST', `/v1/operations/${asked.body.id}/approve`, {
      role: 'operator',
      body: { comment: 'mine' },
    });
    expect(own).toMatchObject({ status: 403, body: { type: problem('self-approval') } });
    const approved = await call(api(), 'POST', `/v1/operations/${asked.body.id}/approve`, {
      role: 'admin',
      body: { comment: 'gcp-europe-west1 confirmed down' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.steps[1]).toMatchObject({ name: 'approval', status: 'succeeded' });
  });

  it('is not retried, and once cancelled the region may be failed over again', async () => {
    const asked = await ask('local-b', 'operator');
    expect(asked.status).toBe(202);
    const retry = await call(api(), 'POST', `/v1/operations/${asked.body.id}/retry`, { role: 'operator' });
    expect(retry).toMatchObject({ status: 409, body: { type: problem('operation-not-retryable') } });
    expect(retry.body.detail).toContain("retry the failed tenants' own failover operations");

    const cancelled = await call(api(), 'POST', `/v1/operations/${asked.body.id}/cancel`, {
      role: 'operator',
    });
    expect(cancelled).toMatchObject({ status: 202, body: { status: 'cancelled' } });
    const again = await ask('local-b', 'operator');
    expect(again.status).toBe(202);
    expect(again.body.id).not.toBe(asked.body.id);
  });

  it('refuses, starting nothing, a region without a DR partner, naming the restores that recover it', async () => {
    const before = await started();
    const refused = await ask('aws-us-east-1', 'admin', { reason: 'us-east-1 is down' });
    expect(refused).toMatchObject({ status: 409, body: { type: problem('invalid-transition') } });
    expect(refused.body.detail).toContain('no DR partner');
    expect(refused.body.detail).toContain('restores');
    expect(await started()).toEqual(before);
  });

  it('refuses, starting nothing, an unknown region, naming the known ones', async () => {
    const before = await started();
    const refused = await ask('mars-north-1');
    expect(refused).toMatchObject({ status: 404, body: { type: problem('not-found') } });
    expect(refused.body.detail).toContain('local-a');
    expect(await started()).toEqual(before);
  });

  it('is for operators and admins only', async () => {
    const before = await started();
    for (const role of ['viewer', 'sales', 'legal'] as const)
      expect((await ask('aws-eu-central-1', role)).status, role).toBe(403);
    expect((await ask('aws-eu-central-1', 'none')).status).toBe(401);
    expect(await started()).toEqual(before);
  });

  it('keeps the operation running when its start fails (it may have started), until it is cancelled', async () => {
    const lifecycle = api().lifecycle;
    const start = lifecycle.startRegionFailover;
    lifecycle.startRegionFailover = async () => {
      throw new LandlordError('ServiceUnavailable', 'the workflow service did not answer; try again');
    };
    try {
      const refused = await ask('gcp-europe-west4', 'operator');
      expect(refused).toMatchObject({ status: 503, body: { type: problem('service-unavailable') } });
    } finally {
      lifecycle.startRegionFailover = start;
    }
    const [recorded] = await api().store.operations.list({
      kind: 'region-failover',
      tenantId: 'region:gcp-europe-west4',
      limit: 10,
    });
    expect(recorded).toMatchObject({ status: 'running' });
    const again = await ask('gcp-europe-west4', 'operator');
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain(`/v1/operations/${recorded!.id}/cancel`);
    const cancelled = await call(api(), 'POST', `/v1/operations/${recorded!.id}/cancel`, {
      role: 'operator',
    });
    expect(cancelled).toMatchObject({ status: 202, body: { status: 'cancelled' } });
    expect((await ask('gcp-europe-west4', 'operator')).status).toBe(202);
  });
});
