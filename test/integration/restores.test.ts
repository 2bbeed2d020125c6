/**
 * Restores end to end on the real stack (Temporal, Postgres, the local silo program): a pool and a
 * silo tenant are backed up, changed, one data subject erased after the backup, and restored once
 * another principal has approved: the rows are the backup's, the erased subject stays erased (the
 * result counts the re-applied erasure), a neighbour's rows are untouched, and the tenant takes
 * writes again. A restore whose approver rejects it changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siloDatabaseName } from '../../activities/pool/index.js';
import { withClient } from '../../dataplane/connection.js';
import type { LedgerRecord, OperationSnapshot, TenantRecord } from '../../domain/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { rowsOf } from '../support/tenant-rows.js';

describe('restores', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const poolUrl = () => h.directory.databaseUrl('local-a');
  const siloUrl = (id: string) => h.directory.serverDatabaseUrl('local-a', siloDatabaseName(id));

  /** One person who authors documents and acts, by subject id; returns their id. */
  async function person(url: string, tenantId: string, project: string, docs: number): Promise<string> {
    const id = randomUUID();
    await withClient(url, async (c) => {
      await c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, $3)`, [
        tenantId,
        id,
        `${id}@${tenantId}.test`,
      ]);
      await c.query(
        `INSERT INTO documents (tenant_id, project_id, author_id, title, body)
         SELECT $1, $2, $3, 'doc ' || i, 'body ' || i FROM generate_series(1, $4::int) AS i`,
        [tenantId, project, id, docs],
      );
      await c.query(
        `INSERT INTO activity_log (tenant_id, actor_id, action) SELECT $1, $2, 'a' || i FROM generate_series(1, $3::int) AS i`,
        [tenantId, id, 2 * docs],
      );
    });
    return id;
  }

  async function seed(url: string, tenantId: string): Promise<{ keep: string; erase: string }> {
    const project = await withClient(
      url,
      async (c) =>
        (await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'p') RETURNING id`, [tenantId]))
          .rows[0].id as string,
    );
    return { keep: await person(url, tenantId, project, 10), erase: await person(url, tenantId, project, 5) };
  }

  async function backUp(tenantId: string): Promise<string> {
    const asked = await h.api('POST', `/v1/tenants/${tenantId}/backups`, { role: 'operator' });
    const done = await h.waitForOperation(asked.body!.id as string, 120_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    return (done.result as { backupId: string }).backupId;
  }

  async function erase(tenantId: string, subject: string): Promise<void> {
    const res = await h.api('POST', `/v1/tenants/${tenantId}/erasures`, {
      role: 'legal',
      body: { subject, reason: 'Art. 17 request' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect((await h.waitForOperation(res.body!.id as string, 120_000)).status).toBe('succeeded');
  }

  /** Changes after the backup: a row deleted, one changed, one added. */
  async function change(url: string, tenantId: string, keep: string): Promise<void> {
    await withClient(url, async (c) => {
      await c.query(
        `DELETE FROM activity_log WHERE id = (SELECT min(id) FROM activity_log WHERE tenant_id = $1)`,
        [tenantId],
      );
      await c.query(`UPDATE documents SET title = 'changed' WHERE tenant_id = $1 AND author_id = $2`, [
        tenantId,
        keep,
      ]);
      await c.query(`INSERT INTO activity_log (tenant_id, actor_id, action) VALUES ($1, $2, 'after')`, [
        tenantId,
        keep,
      ]);
    });
  }

  /** Asks for a restore as an operator and has an admin approve it; returns the finished operation. */
  async function restore(tenantId: string, backupId: string): Promise<OperationSnapshot> {
    const asked = await h.api('POST', `/v1/tenants/${tenantId}/restore`, {
      role: 'operator',
      body: { backupId },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const id = asked.body!.id as string;
    const waiting = await waitForApproval(id);
    expect(waiting.approval).toMatchObject({ required: 1, decisions: [] });
    const own = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'operator',
      body: { comment: 'mine' },
    });
    expect(own.status).toBe(403);
    const approved = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'admin',
      body: { comment: 'restore drill for ticket 42' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const done = await h.waitForOperation(id, 180_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.approval?.decisions).toEqual([
      expect.objectContaining({
        decision: 'approved',
        role: 'admin',
        comment: 'restore drill for ticket 42',
      }),
    ]);
    return done;
  }

  async function waitForApproval(id: string): Promise<OperationSnapshot> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const op = (await h.api('GET', `/v1/operations/${id}`)).body as unknown as OperationSnapshot;
      if (op.steps[0]?.status === 'waiting-approval') return op;
      if (op.status !== 'running' || Date.now() > deadline)
        throw new Error(`not waiting: ${JSON.stringify(op)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  for (const [model, tier] of [
    ['pool', 'basic'],
    ['silo', 'premium'],
  ] as const)
    it(`restores a ${model} tenant after approval: the backup's rows, the erasure since re-applied, writes back`, async () => {
      const id = uniqueTenantId(`rs-${model}`);
      const neighbour = uniqueTenantId('rs-next');
      expect((await h.onboard({ id, tier })).status).toBe('succeeded');
      await h.onboard({ id: neighbour });
      const url = model === 'pool' ? poolUrl() : siloUrl(id);
      const { keep, erase: subject } = await seed(url, id);
      await seed(poolUrl(), neighbour);
      const backupId = await backUp(id);
      const backedUp = await rowsOf(url, id);
      const neighbourBefore = await rowsOf(poolUrl(), neighbour);

      await change(url, id, keep);
      await erase(id, subject);
      const done = await restore(id, backupId);
      expect(done.result).toMatchObject({ backupId, erasuresReapplied: 1 });
      expect((done.result as { rowsErased: number }).rowsErased).toBeGreaterThan(0);
      // Measured against the tier's targets, and shown as the tenant's last recovery.
      expect(done.result).toMatchObject({ measured: { rtoMet: true, rpoMet: true } });
      const standing = await h.api('GET', `/v1/tenants/${id}/dr`, { role: 'viewer' });
      expect(standing.body).toMatchObject({
        lastRecovery: { operationId: done.id, kind: 'restore', rtoMet: true, rpoMet: true },
        latestBackup: { id: backupId },
      });

      // The backup's rows, less what the erasure since removed or anonymized.
      const restored = await rowsOf(url, id);
      const erased = (row: unknown) => JSON.stringify(row).includes(subject);
      for (const table of ['projects'] as const) expect(restored[table]).toEqual(backedUp[table]);
      expect(restored.activity_log).toEqual(backedUp.activity_log!.filter((r) => !erased(r)));
      expect(restored.app_users).toEqual(backedUp.app_users!.filter((r) => !erased(r)));
      expect(restored.documents).toHaveLength(backedUp.documents!.length);
      expect(restored.documents!.filter(erased)).toEqual([]);
      expect(JSON.stringify(restored)).not.toContain('changed');
      expect(await rowsOf(poolUrl(), neighbour)).toEqual(neighbourBefore);

      // Writable again, and the re-applied erasure's deletions are in the ledger under the restore.
      const tenant = (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;
      expect(tenant.status).toBe('active');
      expect(tenant.readOnly).toBeUndefined();
      await change(url, id, keep);
      const evidence = (await h.api('GET', `/v1/evidence?tenant=${id}&limit=500`)).body!
        .items as LedgerRecord[];
      expect(evidence.filter((r) => r.operationId === done.id).length).toBeGreaterThan(0);
    });

  it('changes nothing when the restore is rejected', async () => {
    const id = uniqueTenantId('rs-no');
    await h.onboard({ id });
    const { keep } = await seed(poolUrl(), id);
    const backupId = await backUp(id);
    await change(poolUrl(), id, keep);
    const before = await rowsOf(poolUrl(), id);
    const asked = await h.api('POST', `/v1/tenants/${id}/restore`, { role: 'admin', body: { backupId } });
    await waitForApproval(asked.body!.id as string);
    const listed = await h.api('GET', `/v1/operations?status=waiting-approval&tenant=${id}`, {
      role: 'operator',
    });
    expect((listed.body!.items as OperationSnapshot[]).map((o) => o.id)).toEqual([asked.body!.id]);
    const rejected = await h.api('POST', `/v1/operations/${String(asked.body!.id)}/reject`, {
      role: 'operator',
      body: { comment: 'not this one' },
    });
    expect(rejected.status).toBe(200);
    const done = await h.waitForOperation(asked.body!.id as string);
    expect(done).toMatchObject({ status: 'failed', error: { type: 'ApprovalRejected', step: 'approval' } });
    expect(await rowsOf(poolUrl(), id)).toEqual(before);
    const audit = await h.api('GET', `/v1/audit?tenant=${id}&action=operation.reject`, { role: 'admin' });
    expect(audit.body!.items).toEqual([
      expect.objectContaining({
        operationId: asked.body!.id,
        detail: expect.objectContaining({ comment: 'not this one' }),
      }),
    ]);
  });
});
