/**
 * Data-subject erasure end to end on the real stack (Temporal, Postgres, Pulumi's local silo
 * program): a subject's rows are deleted, or anonymized where the manifest says they stay, in a
 * pool tenant and in an enterprise silo and its DR standby; other subjects and other tenants are
 * untouched; the counts answer what a query finds; every table has its ledger record, with the
 * subject only as an HMAC; a hold parks the request until it is released.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siloDatabaseName } from '../../activities/pool/index.js';
import { withClient } from '../../dataplane/connection.js';
import { localObjectsRoot } from '../../dataplane/silo.js';
import type { ErasureRequest, LedgerRecord, OperationSnapshot } from '../../domain/index.js';
import { localSiloFolder } from '../../domain/index.js';
import { standbyCaughtUp } from '../support/replication.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

describe('data-subject erasure', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const poolUrl = () => h.directory.databaseUrl('local-a');
  const siloUrl = (id: string, region = 'local-a') =>
    h.directory.serverDatabaseUrl(region, siloDatabaseName(id));

  /** The subject's rows and another subject's, written past Landlord as the application would. */
  async function seed(url: string, tenantId: string, subject: string, other: string): Promise<void> {
    await withClient(url, async (c: pg.Client) => {
      const project = (
        await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'p') RETURNING id`, [tenantId])
      ).rows[0].id as string;
      for (const [who, docs, acts] of [
        [subject, 3, 4],
        [other, 2, 1],
      ] as const) {
        await c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, $3)`, [
          tenantId,
          who,
          `${who}@${tenantId}.test`,
        ]);
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title)
           SELECT $1, $2, $3, 'd' FROM generate_series(1, $4)`,
          [tenantId, project, who, docs],
        );
        await c.query(
          `INSERT INTO activity_log (tenant_id, actor_id, action) SELECT $1, $2, 'a' FROM generate_series(1, $3)`,
          [tenantId, who, acts],
        );
      }
    });
  }

  /** What a query finds of `who` in the tenant's tables. */
  const found = (url: string, tenantId: string, who: string) =>
    withClient(url, async (c) => {
      const n = async (sql: string) => (await c.query(sql, [tenantId, who])).rows[0].n as number;
      return {
        users: await n('SELECT count(*)::int AS n FROM app_users WHERE tenant_id = $1 AND id = $2'),
        documents: await n(
          'SELECT count(*)::int AS n FROM documents WHERE tenant_id = $1 AND author_id = $2',
        ),
        activity: await n(
          'SELECT count(*)::int AS n FROM activity_log WHERE tenant_id = $1 AND actor_id = $2',
        ),
        anonymous: (
          await c.query(
            'SELECT count(*)::int AS n FROM documents WHERE tenant_id = $1 AND author_id IS NULL',
            [tenantId],
          )
        ).rows[0].n as number,
      };
    });

  async function erase(tenantId: string, subject: string): Promise<{ op: string; erasure: string }> {
    const res = await h.api('POST', `/v1/tenants/${tenantId}/erasures`, {
      role: 'legal',
      body: { subject, reason: 'Art. 17 request' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return { op: res.body!.id as string, erasure: (res.body!.erasure as { id: string }).id };
  }

  const erasureOf = async (tenantId: string, id: string) =>
    (await h.api('GET', `/v1/tenants/${tenantId}/erasures/${id}`, { role: 'operator' }))
      .body as unknown as ErasureRequest;

  const ledgerOf = async (operationId: string): Promise<LedgerRecord[]> => {
    const records: LedgerRecord[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = await h.api('GET', `/v1/evidence?limit=500&afterSeq=${afterSeq}`, { role: 'viewer' });
      records.push(...(page.body!.items as LedgerRecord[]).filter((r) => r.operationId === operationId));
      if (!page.body!.nextAfterSeq) return records;
      afterSeq = page.body!.nextAfterSeq as number;
    }
  };

  const countOf = (e: ErasureRequest, store: string, target: string) =>
    e.counts.filter((c) => c.store === store && c.target === target).reduce((n, c) => n + c.count, 0);

  it('erases a pool tenant subject: deleted or anonymized as the manifest says, nobody else touched', async () => {
    const [t, other] = [uniqueTenantId('er-pool'), uniqueTenantId('er-other')];
    for (const op of await Promise.all([h.onboard({ id: t }), h.onboard({ id: other })]))
      expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    const [subject, bystander] = [randomUUID(), randomUUID()];
    await seed(poolUrl(), t, subject, bystander);
    // The same subject key in another tenant is another person's.
    await seed(poolUrl(), other, subject, randomUUID());

    const { op, erasure } = await erase(t, subject);
    const done = await h.waitForOperation(op);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ['check-holds', 'succeeded'],
      ['erase-primary', 'succeeded'],
      ['erase-standby', 'skipped'],
      ['record-evidence', 'succeeded'],
      ['record-erasure', 'succeeded'],
    ]);

    expect(await found(poolUrl(), t, subject)).toEqual({ users: 0, documents: 0, activity: 0, anonymous: 3 });
    expect(await found(poolUrl(), t, bystander)).toMatchObject({ users: 1, documents: 2, activity: 1 });
    expect(await found(poolUrl(), other, subject)).toEqual({
      users: 1,
      documents: 3,
      activity: 4,
      anonymous: 0,
    });

    const request = await erasureOf(t, erasure);
    expect(request).toMatchObject({ status: 'erased', overdue: false, operationId: op });
    expect(countOf(request, 'primary', 'app_users')).toBe(1);
    expect(countOf(request, 'primary', 'documents')).toBe(3);
    expect(countOf(request, 'primary', 'activity_log')).toBe(4);
    expect(request.counts.find((c) => c.target === 'documents')?.mode).toBe('anonymize');

    const records = await ledgerOf(op);
    for (const [target, count] of [
      ['app_users', 1],
      ['documents', 3],
      ['activity_log', 4],
    ] as const)
      expect(
        records.filter((r) => r.target === target).reduce((n, r) => n + r.count, 0),
        target,
      ).toBe(count);
    expect(new Set(records.map((r) => r.subjectHmac))).toEqual(new Set([request.subjectHmac]));
    expect(JSON.stringify(records)).not.toContain(subject);
    expect((await h.api('GET', '/v1/evidence/verify', { role: 'viewer' })).body).toMatchObject({ ok: true });
    const { rows } = await h.store.pool.query('SELECT subject FROM erasure_requests WHERE id = $1', [
      erasure,
    ]);
    expect(rows).toEqual([{ subject: null }]);
    expect(await h.store.erasures.erasureList(t)).toEqual([
      expect.objectContaining({ erasureId: erasure, subjectHmac: request.subjectHmac }),
    ]);
  });

  it('erases a subject with no data as a success with zero counts and a record per table', async () => {
    const t = uniqueTenantId('er-none');
    expect((await h.onboard({ id: t })).status).toBe('succeeded');
    const { op, erasure } = await erase(t, 'not-a-uuid-at-all');
    expect((await h.waitForOperation(op)).status).toBe('succeeded');
    const request = await erasureOf(t, erasure);
    expect(request.status).toBe('erased');
    expect(request.counts.every((c) => c.count === 0)).toBe(true);
    const records = await ledgerOf(op);
    expect(records.map((r) => [r.target, r.count]).sort()).toEqual([
      ['activity_log', 0],
      ['app_users', 0],
      ['documents', 0],
    ]);
  });

  it('waits while a hold covers the subject, lets other operations run meanwhile, and finishes once released', async () => {
    const t = uniqueTenantId('er-held');
    expect((await h.onboard({ id: t })).status).toBe('succeeded');
    const subject = randomUUID();
    await seed(poolUrl(), t, subject, randomUUID());
    const hold = await h.api('POST', `/v1/tenants/${t}/legal-holds`, {
      role: 'legal',
      body: { reason: 'litigation', subjects: [subject] },
    });
    expect(hold.status).toBe(201);

    const { op, erasure } = await erase(t, subject);
    const deadline = Date.now() + 60_000;
    let parked: OperationSnapshot;
    for (;;) {
      parked = (await h.api('GET', `/v1/operations/${op}`)).body as unknown as OperationSnapshot;
      if (parked.steps[0]?.status === 'blocked-by-hold') break;
      if (Date.now() > deadline) throw new Error(`not blocked: ${JSON.stringify(parked)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(parked).toMatchObject({ status: 'running', result: { blockedBy: [hold.body!.id] } });
    expect(await erasureOf(t, erasure)).toMatchObject({
      status: 'blocked-by-hold',
      blockedBy: [hold.body!.id],
    });
    expect(await found(poolUrl(), t, subject)).toMatchObject({ users: 1, documents: 3, activity: 4 });

    // The tenant is not stuck behind it.
    const suspend = await h.api('POST', `/v1/tenants/${t}/suspend`, { role: 'operator' });
    expect(suspend.status).toBe(202);
    expect((await h.waitForOperation(suspend.body!.id as string)).status).toBe('succeeded');

    const released = await h.api('DELETE', `/v1/tenants/${t}/legal-holds/${hold.body!.id}`, {
      role: 'legal',
      body: { reason: 'settled' },
    });
    expect(released.status).toBe(200);
    const done = await h.waitForOperation(op);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(await found(poolUrl(), t, subject)).toMatchObject({ users: 0, documents: 0, activity: 0 });
    expect(await erasureOf(t, erasure)).toMatchObject({ status: 'erased' });
  });

  it('erases an enterprise silo subject in the primary, its DR standby and its storage folder', async () => {
    const t = uniqueTenantId('er-silo');
    const onboarded = await h.onboard({ id: t, tier: 'enterprise' });
    expect(onboarded.status, JSON.stringify(onboarded.error)).toBe('succeeded');
    const tenant = (await h.api('GET', `/v1/tenants/${t}`)).body!;
    const standbyRegion = tenant.drRegion as string;
    expect(standbyRegion).toBeTruthy();
    const [subject, bystander] = [randomUUID(), randomUUID()];
    // The standby holds the same rows by replication.
    await seed(siloUrl(t), t, subject, bystander);
    await standbyCaughtUp(h, t, 'local-a', standbyRegion);
    const objects = localObjectsRoot(h.config.dataDir);
    const files = [
      join(localSiloFolder(objects, 'local-a', t), 'exports', subject, 'export.zip'),
      join(localSiloFolder(objects, 'local-a', t), 'exports', bystander, 'export.zip'),
    ];
    for (const file of files) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, 'x');
    }

    const { op, erasure } = await erase(t, subject);
    const done = await h.waitForOperation(op, 120_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.find((s) => s.name === 'erase-standby')?.status).toBe('succeeded');
    for (const url of [siloUrl(t), siloUrl(t, standbyRegion)]) {
      expect(await found(url, t, subject)).toEqual({ users: 0, documents: 0, activity: 0, anonymous: 3 });
      expect(await found(url, t, bystander)).toMatchObject({ users: 1, documents: 2, activity: 1 });
    }
    expect(existsSync(files[0]!)).toBe(false);
    expect(existsSync(files[1]!)).toBe(true);
    const request = await erasureOf(t, erasure);
    expect(countOf(request, 'primary', 'app_users')).toBe(1);
    expect(countOf(request, 'primary', 'documents')).toBe(3);
    expect(countOf(request, 'primary', 'activity_log')).toBe(4);
    // Replication may have carried the primary's erasure to the standby before its own pass ran:
    // that pass then finds fewer rows, and its evidence says so.
    for (const [table, most] of [
      ['app_users', 1],
      ['documents', 3],
      ['activity_log', 4],
    ] as const) {
      expect(countOf(request, 'standby', table), table).toBeGreaterThanOrEqual(0);
      expect(countOf(request, 'standby', table), table).toBeLessThanOrEqual(most);
    }
    expect(countOf(request, 'primary', 'exports/')).toBe(1);
    const records = await ledgerOf(op);
    expect(records.filter((r) => r.unit === 'objects').reduce((n, r) => n + r.count, 0)).toBe(1);
    expect((await h.api('GET', '/v1/evidence/verify', { role: 'viewer' })).body).toMatchObject({ ok: true });
  });
});
