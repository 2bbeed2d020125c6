/**
 * Text the registry cannot store, from the edge inwards: refused by the API before anything
 * starts, refused by the tenant workflow when it arrives another way, and — should a database still
 * refuse data — an operation that fails at once, visibly, leaving the tenant id free. No request
 * waits on a workflow longer than the API's bound, and a tenant workflow wedged by an earlier
 * version can be ended.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LandlordError, tenantSpecFrom } from '../../domain/index.js';
import type { OperationSnapshot } from '../../domain/index.js';
import { tenantWorkflowId } from '../../workflows/definitions.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

const ANSWER_TIMEOUT_MS = 3_000;
const actor = { principal: 'test', role: 'admin', requestId: 'poison-test' };

describe('poison inputs', () => {
  let h: Harness;
  /** Tenant ids whose next tenant projection carries a NUL past every check, as a bug would. */
  const poisonNext = new Set<string>();
  /** Tenant ids whose operation projections fail (and are retried) for as long as they are here. */
  const stuck = new Set<string>();
  /** Tenant ids whose next operation projection the registry refuses for good. */
  const refuseNext = new Set<string>();
  /** Tenant ids whose placement check waits for the promise. */
  const held = new Map<string, Promise<void>>();

  beforeAll(async () => {
    h = await Harness.create({
      answerTimeoutMs: ANSWER_TIMEOUT_MS,
      decorateActivities: (activities) => ({
        ...activities,
        async validatePlacement(input) {
          await held.get(input.spec.id);
          return activities.validatePlacement(input);
        },
        async projectOperation(snapshot) {
          if (refuseNext.delete(snapshot.tenantId))
            throw new LandlordError('DataRejected', 'the registry refused the operation (test)');
          if (stuck.has(snapshot.tenantId)) throw new Error('the registry is refusing this tenant (test)');
          return activities.projectOperation(snapshot);
        },
        async projectTenant(record) {
          if (poisonNext.delete(record.id))
            return activities.projectTenant({ ...record, name: 'Nul\u0000Corp' });
          return activities.projectTenant(record);
        },
      }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const create = (id: string, fields: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    h.api('POST', '/v1/tenants', {
      role: 'sales',
      headers,
      body: {
        name: `Tenant ${id}`,
        tier: 'basic',
        region: 'local-a',
        adminEmail: `ops@${id}.test`,
        id,
        ...fields,
      },
    });
  const workflowRuns = async (id: string) =>
    h.client.workflow
      .getHandle(tenantWorkflowId(id))
      .describe()
      .then((d) => d.status.name)
      .catch((err: unknown) => (err instanceof WorkflowNotFoundError ? 'none' : Promise.reject(err)));

  it('refuses NUL and lone surrogates at the edge, naming the field, and starts nothing', async () => {
    for (const [fields, path] of [
      [{ name: 'Nul\u0000Corp' }, ['name']],
      [{ name: '\ud800' }, ['name']],
      [{ labels: { team: '\u0000' } }, ['labels', 'team']],
    ] as const) {
      const id = uniqueTenantId('edge');
      const res = await create(id, fields, { 'idempotency-key': `edge-${id}` });
      expect(res.status).toBe(400);
      expect(res.body!.errors).toEqual([expect.objectContaining({ in: 'body', path })]);
      expect(await workflowRuns(id)).toBe('none');
      // The id is free, and so is nothing left in flight under the key.
      expect((await create(id, {}, { 'idempotency-key': `edge-${id}-2` })).status).toBe(202);
    }
  });

  it('refuses a poison spec that reaches the tenant workflow without the API; the id stays free', async () => {
    const id = uniqueTenantId('direct');
    const spec = tenantSpecFrom(
      { name: 'Nul\u0000Corp', tier: 'basic', region: 'local-a', adminEmail: `ops@${id}.test` },
      id,
    );
    const refused = await h.lifecycle.createTenant(spec, actor).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(LandlordError);
    expect(refused).toMatchObject({ kind: 'ValidationFailed' });
    expect((refused as Error).message).toMatch(/spec\.name must not contain the NUL character/);
    const res = await create(id);
    expect(res.status).toBe(202);
    expect((await h.waitForOperation(res.body!.id as string)).status).toBe('succeeded');
  });

  it('fails an operation at once when the registry refuses its data; a retry runs it again', async () => {
    const id = uniqueTenantId('refused');
    poisonNext.add(id);
    const res = await create(id, {}, { 'idempotency-key': `refused-${id}` });
    expect(res.status).toBe(202);
    const op = await h.waitForOperation(res.body!.id as string, 30_000);
    expect(op.status).toBe('failed');
    expect(op.error).toMatchObject({ type: 'DataRejected', step: 'record-tenant' });
    expect(op.steps.find((s) => s.name === 'record-tenant')).toMatchObject({ status: 'failed', attempts: 1 });
    // Recorded failed with the reason, as any failed onboarding: retried, it runs again.
    expect((await h.api('GET', `/v1/tenants/${id}`)).body).toMatchObject({ status: 'failed' });
    const replay = await create(id, {}, { 'idempotency-key': `refused-${id}` });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const retry = await h.api('POST', `/v1/operations/${op.id}/retry`, { role: 'operator' });
    expect(retry.status).toBe(202);
    expect((await h.waitForOperation(op.id)).status).toBe('succeeded');
  });

  it('does not run an operation the registry refused to record as accepted', async () => {
    const id = uniqueTenantId('unrecorded');
    refuseNext.add(id);
    const refused = await create(id, {}, { 'idempotency-key': `unrecorded-${id}` });
    expect(refused.status).toBe(500);
    // Nothing ran: no tenant, no operation, and the id and the key are free.
    expect((await h.api('GET', `/v1/tenants/${id}`)).status).toBe(404);
    expect(await h.store.operations.listForTenant(id)).toEqual([]);
    const again = await create(id, {}, { 'idempotency-key': `unrecorded-${id}` });
    expect(again.status).toBe(202);
    expect((await h.waitForOperation(again.body!.id as string)).status).toBe('succeeded');
  });

  it('answers within its bound while no worker runs, releasing the Idempotency-Key', async () => {
    await h.stopWorker();
    const id = uniqueTenantId('nowork');
    try {
      const first = await create(id, {}, { 'idempotency-key': `nowork-${id}` });
      expect(first.status).toBe(503);
      expect(first.body).toMatchObject({ type: 'https://landlord.dev/problems/service-unavailable' });
      // Released: the same request with the same key is tried again rather than held in flight.
      const second = await create(id, {}, { 'idempotency-key': `nowork-${id}` });
      expect(second.status).toBe(503);
    } finally {
      await h.startWorker();
    }
    // What was asked of the workflow still happens once a worker is back: the 503 said it might.
    const deadline = Date.now() + 60_000;
    let status: unknown;
    while (Date.now() < deadline) {
      status = (await h.api('GET', `/v1/tenants/${id}`)).body?.status;
      if (status === 'active') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe('active');
  });

  it('ends a workflow wedged while its onboarding is being accepted, so that the id can be onboarded', async () => {
    const id = uniqueTenantId('stuck');
    stuck.add(id);
    // The update waits on a projection that keeps failing, as the NUL made it do before: the API
    // gives up at its bound, and nothing of the tenant or its operation reaches the registry.
    const first = await create(id, {}, { 'idempotency-key': `stuck-${id}` });
    expect(first.status).toBe(503);
    expect(await workflowRuns(id)).toBe('RUNNING');
    expect(await h.store.operations.listForTenant(id)).toEqual([]);
    const ended = await h.api('DELETE', `/v1/tenants/${id}/workflow`);
    expect(ended.status).toBe(204);
    expect(await workflowRuns(id)).toBe('TERMINATED');
    stuck.delete(id);
    const again = await create(id, {}, { 'idempotency-key': `stuck-${id}` });
    expect(again.status).toBe(202);
    expect((await h.waitForOperation(again.body!.id as string)).status).toBe('succeeded');
  });

  it('refuses to end the workflow of a tenant whose onboarding is on its way', async () => {
    const id = uniqueTenantId('onway');
    let release!: () => void;
    held.set(id, new Promise<void>((r) => (release = r)));
    const res = await create(id);
    expect(res.status).toBe(202);
    // Recorded as running, held in its first step: not a wedge, an onboarding on its way.
    const refused = await h.api('DELETE', `/v1/tenants/${id}/workflow`);
    expect(refused.status).toBe(409);
    expect(refused.body!.detail).toMatch(/is running; cancel it instead/);
    release();
    expect((await h.waitForOperation(res.body!.id as string)).status).toBe('succeeded');
  });

  it('ends a tenant workflow that was never recorded, so that the id can be onboarded', async () => {
    const id = uniqueTenantId('wedged');
    // A workflow left running with no tenant in the registry, as a wedged one is.
    const spec = tenantSpecFrom(
      { name: 'Wedged\u0000', tier: 'basic', region: 'local-a', adminEmail: `ops@${id}.test` },
      id,
    );
    await h.lifecycle.createTenant(spec, actor).catch(() => undefined);
    expect(await workflowRuns(id)).toBe('RUNNING');

    expect((await h.api('DELETE', `/v1/tenants/${id}/workflow`, { role: 'operator' })).status).toBe(403);
    const ended = await h.api('DELETE', `/v1/tenants/${id}/workflow`);
    expect(ended.status).toBe(204);
    expect(await workflowRuns(id)).toBe('TERMINATED');
    expect((await h.api('DELETE', `/v1/tenants/${id}/workflow`)).status).toBe(404);
    const events = await h.store.audit.list({ tenantId: id, limit: 10 });
    expect(events.map((e) => [e.action, e.outcome])).toContainEqual(['tenant.end-workflow', 'succeeded']);

    const res = await create(id);
    expect(res.status).toBe(202);
    const op = (await h.waitForOperation(res.body!.id as string)) as OperationSnapshot;
    expect(op.status).toBe('succeeded');
    // A recorded tenant's workflow is its lifecycle: not ended by hand.
    expect((await h.api('DELETE', `/v1/tenants/${id}/workflow`)).status).toBe(409);
    expect(await workflowRuns(id)).toBe('RUNNING');
  });
});
