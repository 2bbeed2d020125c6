/**
 * Offboarding end to end on the real stack (Temporal, Postgres, Pulumi's local silo program): a
 * pool tenant and an enterprise silo tenant are offboarded; a legal hold keeps the final deletion
 * waiting after the export, which verifies and decrypts to the original rows; once released, the key
 * is gone first (the export no longer decrypts), then the rows with their evidence, the partition
 * and role or the stacks; the tombstone answers and the id stays reserved. A cancel within the grace
 * period gives the tenant back. (The grace period's timer itself runs in time-skipping:
 * tenant-workflow.timeskipping.test.ts.)
 */
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siloDatabaseName, tenantRoleName, tenantRolePassword } from '../../activities/pool/index.js';
import { withClient } from '../../dataplane/connection.js';
import type { LedgerRecord, OperationSnapshot, TenantRecord } from '../../domain/index.js';
import { standbyCaughtUp } from '../support/replication.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { rowsOf, TABLES } from '../support/tenant-rows.js';
import { listStacks } from '../support/pulumi-cli.js';
import { testStack } from '../support/stack.js';

describe('offboarding', () => {
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

  async function seed(url: string, tenantId: string): Promise<void> {
    await withClient(url, async (c) => {
      const user = randomUUID();
      await c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, $3)`, [
        tenantId,
        user,
        `u@${tenantId}.test`,
      ]);
      const project = (
        await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'p') RETURNING id`, [tenantId])
      ).rows[0].id as string;
      await c.query(
        `INSERT INTO documents (tenant_id, project_id, author_id, title, body)
         SELECT $1, $2, $3, 'doc ' || i, 'body ' || i FROM generate_series(1, 25) AS i`,
        [tenantId, project, user],
      );
      await c.query(
        `INSERT INTO activity_log (tenant_id, actor_id, action) SELECT $1, $2, 'a' || i FROM generate_series(1, 40) AS i`,
        [tenantId, user],
      );
    });
  }

  const countOf = (url: string, tenantId: string) =>
    withClient(url, async (c) => {
      let n = 0;
      for (const table of TABLES)
        n += (await c.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenantId]))
          .rows[0].n;
      return n;
    });

  /** The export's tables, from the decrypted archive the API streams. */
  async function download(tenantId: string, exportId: string) {
    const res = await fetch(`${h.baseUrl}/v1/tenants/${tenantId}/exports/${exportId}`, {
      headers: { authorization: `Bearer ${h.keys.get('admin')}` },
    });
    if (res.status !== 200) return { status: res.status, body: await res.text() };
    const files: Record<string, string> = {};
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => chunks.push(c as Buffer));
        stream.on('end', () => {
          files[header.name] = Buffer.concat(chunks).toString('utf8');
          next();
        });
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    Readable.fromWeb(res.body as never).pipe(extract);
    await done;
    return { status: 200, files };
  }

  async function waitForStep(opId: string, step: string, status: string): Promise<OperationSnapshot> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const op = (await h.api('GET', `/v1/operations/${opId}`)).body as unknown as OperationSnapshot;
      if (op.steps.find((s) => s.name === step)?.status === status) return op;
      if (op.status !== 'running') throw new Error(`operation ended: ${JSON.stringify(op)}`);
      if (Date.now() > deadline) throw new Error(`step ${step} not ${status}: ${JSON.stringify(op)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const ledgerOf = async (operationId: string): Promise<LedgerRecord[]> => {
    const records: LedgerRecord[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = await h.api('GET', `/v1/evidence?kind=offboard.delete&limit=500&afterSeq=${afterSeq}`);
      records.push(...(page.body!.items as LedgerRecord[]).filter((r) => r.operationId === operationId));
      if (!page.body!.nextAfterSeq) return records;
      afterSeq = page.body!.nextAfterSeq as number;
    }
  };

  /** Offboards with no grace, held by a hold until the test has looked at the export. */
  async function offboardHeld(id: string, urls: string[]) {
    const before = await Promise.all(urls.map((url) => countOf(url, id)));
    const hold = await h.api('POST', `/v1/tenants/${id}/legal-holds`, {
      role: 'legal',
      body: { reason: 'pending audit' },
    });
    expect(hold.status).toBe(201);
    const asked = await h.api('POST', `/v1/tenants/${id}/offboard`, {
      role: 'admin',
      body: { reason: 'contract ended', graceDays: 0 },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const opId = asked.body!.id as string;
    const waiting = await waitForStep(opId, 'check-holds', 'blocked-by-hold');
    // Suspension and export happened; nothing is deleted while the hold stands.
    expect(waiting.steps.slice(0, 3).map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(waiting.result).toMatchObject({ blockedBy: [hold.body!.id] });
    const tenant = (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;
    expect(tenant).toMatchObject({ status: 'offboarding', offboarding: { operationId: opId } });
    expect(await Promise.all(urls.map((url) => countOf(url, id)))).toEqual(before);

    const exportId = tenant.offboarding!.exportId!;
    const listed = await h.api('GET', `/v1/tenants/${id}/exports`, { role: 'operator' });
    expect(listed.body!.items).toEqual([
      expect.objectContaining({ id: exportId, verifiedAt: expect.any(String) }),
    ]);
    const archive = await download(id, exportId);
    expect(archive.status).toBe(200);
    const original = await rowsOf(urls[0]!, id);
    for (const table of TABLES) {
      const lines = archive.files![`${table}.jsonl`]!.split('\n').filter(Boolean);
      expect(
        lines.map((l) => JSON.parse(l)),
        table,
      ).toEqual(original[table]);
    }
    const manifest = JSON.parse(archive.files!['manifest.json']!);
    expect(manifest.tables.map((t: { name: string; rows: number }) => [t.name, t.rows]).sort()).toEqual(
      TABLES.map((t) => [t, original[t]!.length]).sort(),
    );

    const released = await h.api('DELETE', `/v1/tenants/${id}/legal-holds/${hold.body!.id}`, {
      role: 'legal',
      body: { reason: 'audit done' },
    });
    expect(released.status).toBe(200);
    const done = await h.waitForOperation(opId, 180_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    return { opId, exportId, rows: before.reduce((a, b) => a + b, 0) };
  }

  async function expectTombstone(id: string, opId: string, exportId: string) {
    const tenant = (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;
    expect(tenant).toMatchObject({
      status: 'deleted',
      offboarding: { operationId: opId, shreddedAt: expect.any(String), deletedAt: expect.any(String) },
    });
    expect(tenant.offboarding!.shreddedAt! <= tenant.offboarding!.deletedAt!).toBe(true);
    // The key went first: the export no longer decrypts.
    const gone = await download(id, exportId);
    expect(gone.status).toBe(410);
    expect(await h.store.tenantKeys.get(id)).toMatchObject({ destroyedAt: expect.any(String) });
    expect(await h.store.tenantKeys.get(id)).not.toHaveProperty('wrapped');
    const again = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body: { id, name: `Again ${id}`, tier: 'basic', region: 'local-a', adminEmail: `a@${id}.test` },
    });
    expect(again.status).toBe(409);
    expect(String(again.body!.detail)).toContain(opId);
    const records = await ledgerOf(opId);
    expect(new Set(records.map((r) => r.recordKey)).size).toBe(records.length);
    expect((await h.api('GET', '/v1/evidence/verify')).body).toMatchObject({ ok: true });
    return records;
  }

  it('offboards a pool tenant: export verified and readable, then key, rows, partition and role gone', async () => {
    const id = uniqueTenantId('off-pool');
    const other = uniqueTenantId('off-stay');
    for (const op of await Promise.all([h.onboard({ id }), h.onboard({ id: other })]))
      expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    await seed(poolUrl(), id);
    await seed(poolUrl(), other);

    const untouched = await countOf(poolUrl(), other);
    const { opId, exportId, rows } = await offboardHeld(id, [poolUrl()]);
    const records = await expectTombstone(id, opId, exportId);
    expect(await countOf(poolUrl(), id)).toBe(0);
    expect(await countOf(poolUrl(), other)).toBe(untouched);
    expect(records.filter((r) => r.unit === 'rows').reduce((n, r) => n + r.count, 0)).toBe(rows);
    await withClient(poolUrl(), async (c) => {
      const role = tenantRoleName(id);
      expect((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount).toBe(0);
      expect(
        (await c.query('SELECT 1 FROM landlord.tenant_partitions WHERE tenant_id = $1', [id])).rowCount,
      ).toBe(0);
    });
  }, 300_000);

  it('offboards an enterprise silo tenant: both databases emptied, both stacks destroyed and removed', async () => {
    const id = uniqueTenantId('off-silo');
    const onboarded = await h.onboard({ id, tier: 'enterprise' });
    expect(onboarded.status, JSON.stringify(onboarded.error)).toBe('succeeded');
    const standby = (await h.api('GET', `/v1/tenants/${id}`)).body!.drRegion as string;
    // The standby holds the same rows by replication.
    await seed(siloUrl(id), id);
    await standbyCaughtUp(h, id, 'local-a', standby);
    expect(listStacks(h)).toEqual(
      expect.arrayContaining([`landlord-silo/${id}.local-a`, `landlord-silo/${id}.${standby}`]),
    );

    const { opId, exportId, rows } = await offboardHeld(id, [siloUrl(id), siloUrl(id, standby)]);
    const records = await expectTombstone(id, opId, exportId);
    expect(records.filter((r) => r.unit === 'rows').reduce((n, r) => n + r.count, 0)).toBe(rows);
    expect(listStacks(h)).not.toContain(`landlord-silo/${id}.local-a`);
    expect(listStacks(h)).not.toContain(`landlord-silo/${id}.${standby}`);
    for (const region of ['local-a', standby])
      await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
        const db = siloDatabaseName(id);
        expect((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount, region).toBe(
          0,
        );
      });
  }, 420_000);

  it('gives a tenant back whole when its offboarding is cancelled in the grace period', async () => {
    const id = uniqueTenantId('off-back');
    expect((await h.onboard({ id })).status).toBe('succeeded');
    await seed(poolUrl(), id);
    const rows = await countOf(poolUrl(), id);
    const asked = await h.api('POST', `/v1/tenants/${id}/offboard`, {
      role: 'admin',
      body: { reason: 'changed their mind?', graceDays: 7 },
    });
    expect(asked.status).toBe(202);
    const opId = asked.body!.id as string;
    await waitForStep(opId, 'grace-period', 'running');
    const during = (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;
    expect(during.status).toBe('offboarding');
    expect(Date.parse(during.offboarding!.deletesAt) - Date.parse(during.offboarding!.requestedAt)).toBe(
      7 * 86_400_000,
    );

    const cancel = await h.api('POST', `/v1/tenants/${id}/offboard/cancel`, { role: 'operator' });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    const ended = await h.waitForOperation(opId);
    expect(ended).toMatchObject({ status: 'cancelled' });
    const after = (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;
    expect(after.status).toBe('active');
    expect(after).not.toHaveProperty('offboarding');
    expect(await countOf(poolUrl(), id)).toBe(rows);
    expect(await h.store.tenantKeys.get(id)).toMatchObject({ wrapped: expect.any(String) });

    // Its role logs in and writes again.
    const u = new URL(h.directory.serverDatabaseUrl('local-a', 'landlord_pool'));
    u.username = tenantRoleName(id);
    u.password = encodeURIComponent(tenantRolePassword(testStack().secret, 'local-a', id));
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    try {
      await c.query(`INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'back')`, [id]);
    } finally {
      await c.end();
    }
    expect(await countOf(poolUrl(), id)).toBe(rows + 1);
  }, 300_000);
});
