import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantRoleName, tenantRolePassword } from '../../activities/pool/index.js';
import type { AuditEvent, OperationSnapshot, TenantRecord } from '../../domain/index.js';
import { withClient } from '../../dataplane/connection.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { testStack } from '../support/stack.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';

/** Connects to a region's pool database as the tenant's own role. */
async function connectAsTenant(h: Harness, tenantId: string, region = 'local-a'): Promise<pg.Client> {
  const url = h.directory.databaseUrl(region, {
    user: tenantRoleName(tenantId),
    password: tenantRolePassword(testStack().secret, region, tenantId),
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

describe('pool tenant onboarding through the API', () => {
  let h: Harness;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await new WebhookReceiver(WEBHOOK_SECRET).start();
    h = await Harness.create({ webhookUrls: [receiver.url], webhookSecret: WEBHOOK_SECRET });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.stop();
  });

  it('creates an active tenant with partition, role, admin user and signed notifications', async () => {
    const id = uniqueTenantId('acme');
    const res = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body: {
        name: 'Acme Corp',
        tier: 'standard',
        region: 'local-a',
        adminEmail: 'Owner@Acme.test',
        id,
        labels: { team: 'emea' },
        features: { sso: true },
      },
    });
    expect(res.status).toBe(202);
    const op = res.body as unknown as OperationSnapshot;
    expect(res.headers.get('location')).toBe(`/v1/operations/${op.id}`);
    expect(op).toMatchObject({ kind: 'onboard', tenantId: id, status: 'running' });

    const done = await h.waitForOperation(op.id);
    expect(done.status).toBe('succeeded');
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ['validate', 'succeeded'],
      ['record-tenant', 'succeeded'],
      ['create-partition', 'succeeded'],
      ['create-admin-user', 'succeeded'],
      ['notify-invite', 'succeeded'],
      ['notify-ready', 'succeeded'],
      ['activate', 'succeeded'],
    ]);
    for (const step of done.steps) expect(step.finishedAt! >= step.startedAt!).toBe(true);

    const tenant = (await h.api('GET', `/v1/tenants/${id}`, { role: 'viewer' }))
      .body as unknown as TenantRecord;
    expect(tenant).toMatchObject({
      id,
      status: 'active',
      tier: 'standard',
      region: 'local-a',
      deploymentModel: 'pool',
      adminEmail: 'owner@acme.test',
      labels: { team: 'emea' },
      features: { sso: true },
    });

    const pool = h.directory.pool('local-a');
    const partition = await pool.query(
      'SELECT role_name FROM landlord.tenant_partitions WHERE tenant_id = $1',
      [id],
    );
    expect(partition.rows).toEqual([{ role_name: tenantRoleName(id) }]);
    const users = await pool.query('SELECT email, role FROM app_users WHERE tenant_id = $1', [id]);
    expect(users.rows).toEqual([{ email: 'owner@acme.test', role: 'owner' }]);

    const mine = receiver.deliveries.filter((d) => d.body.tenantId === id);
    expect(mine.map((d) => d.event).sort()).toEqual(['tenant.invite', 'tenant.ready']);
    for (const d of mine) {
      expect(d.signatureValid).toBe(true);
      expect(d.idempotencyKey).toBe(`${op.id}:${d.event}`);
    }
    expect(mine.find((d) => d.event === 'tenant.invite')!.body.data).toMatchObject({
      email: 'owner@acme.test',
    });
  });

  it('takes the next request the moment an onboarding shows succeeded', async () => {
    // The onboarding's child records its success before the tenant workflow has taken it in; a
    // caller acting on it at once must not be refused as if the tenant were still being onboarded.
    const id = uniqueTenantId('eager');
    const create = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body: { name: 'Eager', tier: 'basic', region: 'local-a', adminEmail: 'a@eager.test', id },
    });
    const ended = await h.api('GET', `/v1/operations/${create.body!.id as string}?wait=30s`, {
      role: 'viewer',
    });
    expect(ended.body).toMatchObject({ status: 'succeeded' });
    const move = await h.api('PATCH', `/v1/tenants/${id}`, { role: 'operator', body: { tier: 'standard' } });
    const suspend = await h.api('POST', `/v1/tenants/${id}/suspend`, { role: 'operator' });
    expect([move.status, suspend.status]).toEqual([202, 202]);
    expect((await h.waitForOperation(move.body!.id as string)).status).toBe('succeeded');
    expect((await h.waitForOperation(suspend.body!.id as string)).status).toBe('succeeded');
    const tenant = (await h.api('GET', `/v1/tenants/${id}`, { role: 'viewer' })).body!;
    expect(tenant).toMatchObject({ tier: 'standard', status: 'suspended' });
  });

  it('keeps tenants apart with row-level security', async () => {
    const a = uniqueTenantId('rls-a');
    const b = uniqueTenantId('rls-b');
    expect((await h.onboard({ id: a })).status).toBe('succeeded');
    expect((await h.onboard({ id: b })).status).toBe('succeeded');
    const asA = await connectAsTenant(h, a);
    const asB = await connectAsTenant(h, b);
    try {
      await asB.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'b secret plans')`, [b]);
      await asA.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'a plans')`, [a]);
      // A sees its own rows only, even when it asks for B's by key.
      expect((await asA.query('SELECT tenant_id, name FROM projects')).rows).toEqual([
        { tenant_id: a, name: 'a plans' },
      ]);
      expect((await asA.query('SELECT * FROM projects WHERE tenant_id = $1', [b])).rowCount).toBe(0);
      expect((await asA.query('SELECT email FROM app_users')).rows).toEqual([{ email: `owner@${a}.test` }]);
      // A cannot write rows into B's partition, nor change or delete B's rows.
      await expect(
        asA.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'planted')`, [b]),
      ).rejects.toThrow(/row-level security/);
      expect((await asA.query(`UPDATE projects SET name = 'pwned' WHERE tenant_id = $1`, [b])).rowCount).toBe(
        0,
      );
      expect((await asA.query('DELETE FROM projects WHERE tenant_id = $1', [b])).rowCount).toBe(0);
      // Of Landlord's partition table it sees its own row only.
      expect((await asA.query('SELECT tenant_id FROM landlord.tenant_partitions')).rows).toEqual([
        { tenant_id: a },
      ]);
      expect((await asB.query('SELECT name FROM projects')).rows).toEqual([{ name: 'b secret plans' }]);
    } finally {
      await asA.end();
      await asB.end();
    }
  });

  it('suspends and resumes a tenant, turning its database login off and on', async () => {
    const id = uniqueTenantId('susp');
    await h.onboard({ id });
    const suspend = await h.api('POST', `/v1/tenants/${id}/suspend`, { role: 'operator' });
    expect(suspend.status).toBe(202);
    expect((await h.waitForOperation(suspend.body!.id as string)).status).toBe('succeeded');
    expect((await h.api('GET', `/v1/tenants/${id}`)).body!.status).toBe('suspended');
    await expect(connectAsTenant(h, id)).rejects.toThrow(/not permitted to log in/);

    const again = await h.api('POST', `/v1/tenants/${id}/suspend`, { role: 'operator' });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(again.body!.detail).toMatch(/already suspended/);

    const resume = await h.api('POST', `/v1/tenants/${id}/resume`, { role: 'operator' });
    expect(resume.status).toBe(202);
    expect((await h.waitForOperation(resume.body!.id as string)).status).toBe('succeeded');
    expect((await h.api('GET', `/v1/tenants/${id}`)).body!.status).toBe('active');
    const client = await connectAsTenant(h, id);
    await client.end();
    expect((await h.api('POST', `/v1/tenants/${id}/resume`, { role: 'operator' })).status).toBe(409);
  });

  it('lists tenants with filters and cursor pagination', async () => {
    const ids = [uniqueTenantId('list'), uniqueTenantId('list'), uniqueTenantId('list')];
    await Promise.all(
      ids.map((id, i) => h.onboard({ id, region: i === 2 ? 'local-b' : 'local-a', tier: 'basic' })),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.api('GET', `/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        role: 'viewer',
      });
      expect(page.status).toBe(200);
      const items = page.body!.items as TenantRecord[];
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((t) => t.id));
      cursor = page.body!.nextCursor as string | undefined;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids) expect(seen).toContain(id);

    const inB = await h.api('GET', '/v1/tenants?region=local-b&limit=100');
    const inBIds = (inB.body!.items as TenantRecord[]).map((t) => t.id);
    expect(inBIds).toContain(ids[2]);
    expect(inBIds).not.toContain(ids[0]);
    const suspended = await h.api('GET', '/v1/tenants?status=suspended&limit=100');
    for (const t of suspended.body!.items as TenantRecord[]) expect(t.status).toBe('suspended');
    const basic = await h.api('GET', '/v1/tenants?tier=basic&status=active&limit=100');
    expect((basic.body!.items as TenantRecord[]).map((t) => t.id)).toEqual(expect.arrayContaining(ids));
  });

  it('keeps an audit trail of who did what, when, with which request id and outcome', async () => {
    const id = uniqueTenantId('audit');
    const create = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      headers: { 'x-request-id': 'req-create-1' },
      body: { name: 'Audited', tier: 'basic', region: 'local-a', adminEmail: 'a@audit.test', id },
    });
    await h.waitForOperation(create.body!.id as string);
    const suspend = await h.api('POST', `/v1/tenants/${id}/suspend`, {
      role: 'operator',
      headers: { 'x-request-id': 'req-suspend-1' },
    });
    await h.waitForOperation(suspend.body!.id as string);
    const events = (await h.api('GET', `/v1/tenants/${id}/events`, { role: 'viewer' })).body!
      .items as AuditEvent[];
    const trail = events.map((e) => [e.action, e.outcome, e.requestId, e.actorRole]);
    expect(trail).toEqual([
      ['tenant.onboard', 'accepted', 'req-create-1', 'sales'],
      ['tenant.onboard', 'succeeded', 'req-create-1', 'sales'],
      ['tenant.suspend', 'accepted', 'req-suspend-1', 'operator'],
      ['tenant.suspend', 'succeeded', 'req-suspend-1', 'operator'],
    ]);
    for (const e of events) expect(Date.parse(e.at)).toBeGreaterThan(Date.now() - 120_000);
    // Append-only: the role Landlord runs as may not rewrite history, and Postgres refuses anyone else.
    await expect(
      h.store.pool.query(`UPDATE audit_events SET outcome = 'forged' WHERE tenant_id = $1`, [id]),
    ).rejects.toThrow(/permission denied/);
    await expect(
      withClient(h.config.postgres.registryUrl!, (c) =>
        c.query(`UPDATE audit_events SET outcome = 'forged' WHERE tenant_id = $1`, [id]),
      ),
    ).rejects.toThrow(/append-only/);
  });

  it('answers 409 for an existing tenant id and replays an Idempotency-Key', async () => {
    const id = uniqueTenantId('idem');
    const body = { name: 'Idem', tier: 'basic', region: 'local-a', adminEmail: 'a@idem.test', id };
    const first = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body,
      headers: { 'idempotency-key': `k-${id}` },
    });
    expect(first.status).toBe(202);
    const replay = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body,
      headers: { 'idempotency-key': `k-${id}` },
    });
    expect(replay.status).toBe(202);
    expect(replay.body!.id).toBe(first.body!.id);
    const other = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body: { ...body, name: 'Other' },
      headers: { 'idempotency-key': `k-${id}` },
    });
    expect(other.status).toBe(409);
    await h.waitForOperation(first.body!.id as string);
    const dup = await h.api('POST', '/v1/tenants', { role: 'sales', body });
    expect(dup.status).toBe(409);
    expect((await h.store.operations.listForTenant(id)).length).toBe(1);
  });
});
