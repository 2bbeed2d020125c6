import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slugFromName } from '../../domain/index.js';
import { tenantWorkflowId } from '../../workflows/definitions.js';
import { badRequests, sendBadRequest, validTenant } from '../support/bad-requests.js';
import { Harness } from '../support/harness.js';

/** The same table the API unit tests use, here against the real worker, Temporal and registry. */
describe('bad requests against the real stack', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.create();
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(badRequests.map((c) => [c.name, c] as const))('refuses: %s', async (_name, badRequest) => {
    const answer = await sendBadRequest(h.baseUrl, badRequest, (role) => h.keys.get(role)!);
    expect(answer.status, JSON.stringify(answer.body)).toBe(badRequest.expectStatus);
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    if (badRequest.expectType) expect((answer.body as { type: string }).type).toBe(badRequest.expectType);
  });

  it('started nothing: no tenant, no operation, no workflow', async () => {
    const { rows } = await h.store.pool.query(
      `SELECT (SELECT count(*) FROM tenants) AS tenants, (SELECT count(*) FROM operations) AS operations,
              (SELECT count(*) FROM erasure_requests) AS erasures`,
    );
    expect(rows[0]).toEqual({ tenants: '0', operations: '0', erasures: '0' });
    const ids = new Set([
      slugFromName(validTenant.name)!,
      ...badRequests.flatMap((c) =>
        typeof c.body === 'object' && 'id' in c.body && typeof c.body.id === 'string' ? [c.body.id] : [],
      ),
    ]);
    for (const id of ids) {
      await expect(h.client.workflow.getHandle(tenantWorkflowId(id)).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
    }
    const started = [];
    for await (const wf of h.client.workflow.list({
      query: `TaskQueue = "${h.config.taskQueues.lifecycle}"`,
    }))
      started.push(wf.workflowId);
    expect(started).toEqual([]);
  });
});
