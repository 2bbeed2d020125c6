import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../dataplane/connection.js';
import { siloDatabaseName, tenantRoleName, tenantRolePassword } from '../../activities/pool/index.js';
import { LandlordError } from '../../domain/index.js';
import type { OperationSnapshot, TenantRecord } from '../../domain/index.js';
import { inspectLocalSilo } from '../../pulumi/local/providers.js';
import { localSiloNames } from '../../pulumi/local/tenant-silo.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { listStacks } from '../support/pulumi-cli.js';
import { testStack } from '../support/stack.js';

const TABLES = ['app_users', 'projects', 'documents', 'activity_log'] as const;
type Counts = Record<(typeof TABLES)[number], number>;

/** Tenants whose copy fails on purpose, after the copy has written its rows into the silo. */
const COPY_FAILS = 'copyfail';

describe('moving a pool tenant to a silo tier (PATCH /v1/tenants/{id})', () => {
  let h: Harness;
  /** Per tenant: copy attempts, and what the tenant looked like while its rows were being copied. */
  const copyAttempts = new Map<string, number>();
  const duringCopy = new Map<string, { readOnly: unknown; writeError: string }>();

  beforeAll(async () => {
    h = await Harness.create({
      provisioning: true,
      data: true,
      decorateDataActivities: (activities) => ({
        ...activities,
        async copyTenantToSilo(input) {
          const attempt = (copyAttempts.get(input.tenantId) ?? 0) + 1;
          copyAttempts.set(input.tenantId, attempt);
          const tenant = await h.store.tenants.get(input.tenantId);
          const write = await asTenant(input.tenantId, (c) =>
            c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'during the copy')`, [
              input.tenantId,
            ]),
          ).then(
            () => 'none: the write went through',
            (err: Error) => err.message,
          );
          duringCopy.set(input.tenantId, { readOnly: tenant?.readOnly, writeError: write });
          const copied = await activities.copyTenantToSilo(input);
          if (input.tenantId.startsWith(COPY_FAILS))
            throw new LandlordError('InjectedFault', 'the copy failed (injected by the test)');
          // The first attempt loses its reply after the rows were committed: the retry copies again.
          if (attempt === 1) throw new Error('connection lost after the copy (injected by the test)');
          return copied;
        },
      }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const region = 'local-a';
  const poolUrl = () => h.directory.databaseUrl(region);
  const siloUrl = (id: string) => h.directory.serverDatabaseUrl(region, siloDatabaseName(id));

  /** Connected as the tenant's own pool role, as the application would be (row-level security on). */
  const asTenant = <T>(id: string, work: (c: pg.Client) => Promise<T>) =>
    withClient(
      h.directory.databaseUrl(region, {
        user: tenantRoleName(id),
        password: tenantRolePassword(testStack().secret, region, id),
      }),
      work,
    );

  /** Rows in every application table, written by the tenant through its own role. */
  async function seed(id: string): Promise<void> {
    await asTenant(id, async (c) => {
      const users = await c.query(
        `INSERT INTO app_users (tenant_id, email, display_name) VALUES ($1, 'ann@x.test', 'Ann'), ($1, 'bo@x.test', 'Bo')
         RETURNING id`,
        [id],
      );
      const projects = await c.query(
        `INSERT INTO projects (tenant_id, name) VALUES ($1, 'Alpha'), ($1, 'Beta'), ($1, 'Gamma') RETURNING id`,
        [id],
      );
      for (const [i, project] of projects.rows.entries()) {
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title, body) VALUES ($1, $2, $3, $4, $5)`,
          [id, project.id, users.rows[i % 2].id, `Doc ${i}`, 'x'.repeat(1000 * (i + 1))],
        );
      }
      for (let i = 0; i < 5; i++) {
        await c.query(`INSERT INTO activity_log (tenant_id, actor_id, action) VALUES ($1, $2, $3)`, [
          id,
          users.rows[0].id,
          `action-${i}`,
        ]);
      }
    });
  }

  const countRows = (url: string, id: string) =>
    withClient(url, async (c) => {
      const counts = {} as Counts;
      for (const table of TABLES) {
        const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [id]);
        counts[table] = rows[0].n as number;
      }
      return counts;
    });

  async function changeTier(id: string, tier: string): Promise<OperationSnapshot> {
    const res = await h.api('PATCH', `/v1/tenants/${id}`, { role: 'operator', body: { tier } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/operations/${res.body!.id as string}`);
    return h.waitForOperation(res.body!.id as string, 300_000);
  }

  const tenantOf = async (id: string) =>
    (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;

  it('moves every row into the new silo, routes the tenant there and leaves none in the pool', async () => {
    const id = uniqueTenantId('upgrade');
    expect((await h.onboard({ id, tier: 'basic' })).status).toBe('succeeded');
    await seed(id);
    const before = await countRows(poolUrl(), id);
    // The admin user from onboarding plus the two seeded.
    expect(before).toEqual({ app_users: 3, projects: 3, documents: 3, activity_log: 5 });
    const pooled = (await tenantOf(id)).resources.pool as { adminUserId: string };

    const op = await changeTier(id, 'premium');
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    // While its rows were copied the tenant showed as read-only and its own role could not write.
    expect(duringCopy.get(id)).toEqual({
      readOnly: { since: expect.any(String), operationId: op.id },
      writeError: expect.stringMatching(/permission denied/),
    });
    // The first copy's reply was lost after it committed; the second replaced its rows (counts below).
    expect(copyAttempts.get(id)).toBe(2);
    expect(op.steps.map((s) => [s.name, s.status])).toEqual([
      ['validate', 'succeeded'],
      ['provision-primary', 'succeeded'],
      ['freeze-writes', 'succeeded'],
      ['copy-data', 'succeeded'],
      ['verify-data', 'succeeded'],
      ['switch-routing', 'succeeded'],
      ['remove-pool-data', 'succeeded'],
      ['resume-writes', 'succeeded'],
    ]);
    expect(op.input).toMatchObject({ tier: 'premium', fromTier: 'basic' });
    expect(op.result).toEqual({
      copied: before,
      verified: Object.fromEntries(TABLES.map((t) => [t, { pool: before[t], silo: before[t] }])),
    });

    const tenant = await tenantOf(id);
    expect(tenant).toMatchObject({ tier: 'premium', deploymentModel: 'silo', status: 'active' });
    expect(tenant.readOnly).toBeUndefined();
    expect(tenant.resources.pool).toBeUndefined();
    expect(tenant.resources.silo).toMatchObject({
      adminUserId: pooled.adminUserId,
      stacks: { [region]: { provider: 'local', database: siloDatabaseName(id) } },
    });

    // Counts match in the silo; the pool keeps none of the tenant's rows, nor its role.
    expect(await countRows(siloUrl(id), id)).toEqual(before);
    expect(await countRows(poolUrl(), id)).toEqual({
      app_users: 0,
      projects: 0,
      documents: 0,
      activity_log: 0,
    });
    const role = await withClient(poolUrl(), (c) =>
      c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [tenantRoleName(id)]),
    );
    expect(role.rowCount).toBe(0);

    // The rows arrived intact, and the silo's identity sequence continues after the copied ids.
    await withClient(siloUrl(id), async (c) => {
      const docs = await c.query(
        `SELECT d.title, length(d.body) AS len, u.email FROM documents d JOIN app_users u ON u.id = d.author_id
         ORDER BY d.title`,
      );
      expect(docs.rows).toEqual([
        { title: 'Doc 0', len: 1000, email: 'ann@x.test' },
        { title: 'Doc 1', len: 2000, email: 'bo@x.test' },
        { title: 'Doc 2', len: 3000, email: 'ann@x.test' },
      ]);
      const next = await c.query(
        `INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'after-move') RETURNING id`,
        [id],
      );
      const { rows } = await c.query(
        `SELECT max(id)::int AS max FROM activity_log WHERE action <> 'after-move'`,
      );
      expect(Number(next.rows[0].id)).toBeGreaterThan(rows[0].max as number);
    });
    expect(listStacks(h)).toContain(`landlord-silo/${id}.${region}`);

    // Later operations know the tenant by its new tier: a drift check covers the new stack.
    rmSync(localSiloNames(id, join(h.config.dataDir, 'objects'), region).folder, { recursive: true });
    const check = await h.api('POST', `/v1/tenants/${id}/drift-check`, { role: 'operator' });
    expect(check.status, JSON.stringify(check.body)).toBe(202);
    const drift = await h.waitForOperation(check.body!.id as string, 120_000);
    expect(drift.result).toEqual({ drift: [expect.objectContaining({ name: `${id}-objects` })] });

    // Silo → pool is refused for now, as is the tier the tenant is already on.
    const back = await h.api('PATCH', `/v1/tenants/${id}`, { role: 'operator', body: { tier: 'basic' } });
    expect(back.status).toBe(422);
    expect(back.body).toMatchObject({ type: expect.stringMatching(/\/policy-violation$/) });
    expect(String(back.body!.detail)).toMatch(/back to the pool/);
    const same = await h.api('PATCH', `/v1/tenants/${id}`, { role: 'operator', body: { tier: 'premium' } });
    expect(same.status).toBe(409);

    // Suspend and resume now act on the silo's login role.
    const canLogin = () =>
      withClient(poolUrl(), async (c) => {
        const { rows } = await c.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [
          siloDatabaseName(id),
        ]);
        return rows[0]?.rolcanlogin as boolean | undefined;
      });
    for (const [action, login] of [
      ['suspend', false],
      ['resume', true],
    ] as const) {
      const res = await h.api('POST', `/v1/tenants/${id}/${action}`, { role: 'operator' });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const done = await h.waitForOperation(res.body!.id as string);
      expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
      expect(await canLogin()).toBe(login);
    }
  }, 300_000);

  it('undoes a move whose copy fails: the tenant stays on the pool, writable, with all rows', async () => {
    const id = uniqueTenantId(COPY_FAILS);
    expect((await h.onboard({ id, tier: 'standard' })).status).toBe('succeeded');
    await seed(id);
    const before = await countRows(poolUrl(), id);
    const op = await changeTier(id, 'premium');
    expect(op.status).toBe('failed');
    expect(op.error).toMatchObject({ type: 'InjectedFault', step: 'copy-data' });
    expect(op.steps.map((s) => [s.name, s.status])).toEqual([
      ['validate', 'succeeded'],
      ['provision-primary', 'compensated'],
      ['freeze-writes', 'compensated'],
      ['copy-data', 'failed'],
      ['verify-data', 'pending'],
      ['switch-routing', 'pending'],
      ['remove-pool-data', 'pending'],
      ['resume-writes', 'pending'],
    ]);

    const tenant = await tenantOf(id);
    expect(tenant).toMatchObject({ tier: 'standard', deploymentModel: 'pool', status: 'active' });
    expect(tenant.readOnly).toBeUndefined();
    expect(tenant.resources.pool).toBeDefined();
    expect(await countRows(poolUrl(), id)).toEqual(before);

    // Writable again through its own role; the silo and its stack are gone.
    await asTenant(id, (c) => c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'after')`, [id]));
    expect((await countRows(poolUrl(), id)).projects).toBe(before.projects + 1);
    const names = localSiloNames(id, join(h.config.dataDir, 'objects'), region);
    expect(await inspectLocalSilo(testStack().regionUrls[region]!, names)).toEqual({
      database: false,
      role: false,
      folder: false,
    });
    expect(listStacks(h)).not.toContain(`landlord-silo/${id}.${region}`);
  }, 300_000);

  it('holds a tenant read-only in the pool while frozen: it can read its rows but not write', async () => {
    const id = uniqueTenantId('frozen');
    expect((await h.onboard({ id })).status).toBe('succeeded');
    await seed(id);
    const { createTenantDatabaseActivities } = await import('../../activities/pool/index.js');
    const pool = createTenantDatabaseActivities({
      directory: h.directory,
      secret: testStack().secret,
      manifest: h.config.manifest,
    });
    // A session open before the freeze is ended by it.
    const open = new pg.Client({
      connectionString: h.directory.databaseUrl(region, {
        user: tenantRoleName(id),
        password: tenantRolePassword(testStack().secret, region, id),
      }),
    });
    open.on('error', () => undefined);
    await open.connect();
    await pool.setTenantWrites({ tenantId: id, region, writable: false });
    await expect(open.query('SELECT 1')).rejects.toThrow();
    await open.end().catch(() => undefined);

    await asTenant(id, async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM projects')).rows[0].n).toBe(3);
      await expect(c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'no')`, [id])).rejects.toThrow(
        /permission denied/,
      );
      await expect(c.query(`DELETE FROM activity_log`)).rejects.toThrow(/permission denied/);
    });
    await pool.setTenantWrites({ tenantId: id, region, writable: true });
    await asTenant(id, (c) => c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'yes')`, [id]));
    expect((await countRows(poolUrl(), id)).projects).toBe(4);
  });

  it('refuses what it cannot do before anything starts', async () => {
    const id = uniqueTenantId('refuse');
    expect((await h.onboard({ id })).status).toBe('succeeded');
    const patch = (body: unknown, role: 'operator' | 'sales' | 'viewer' = 'operator') =>
      h.api('PATCH', `/v1/tenants/${id}`, { role, body });
    expect((await patch({ tier: 'premium' }, 'sales')).status).toBe(403);
    expect((await patch({ tier: 'premium' }, 'viewer')).status).toBe(403);
    expect((await patch({ tier: 'platinum' })).status).toBe(422);
    expect((await patch({ tier: 'basic' })).status).toBe(409);
    expect((await patch({ tier: 'premium', region: 'local-b' })).status).toBe(400);
    expect((await patch({})).status).toBe(400);
    expect((await h.api('PATCH', '/v1/tenants/no-such-tenant', { body: { tier: 'premium' } })).status).toBe(
      404,
    );

    // Between pool tiers the record changes, and the role's connection limit to the new tier's.
    const limitOf = () =>
      withClient(poolUrl(), async (c) =>
        Number(
          (await c.query('SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', [tenantRoleName(id)]))
            .rows[0].rolconnlimit,
        ),
      );
    const tierLimit = (tier: string) =>
      h.config.catalog.tiers.find((t) => t.id === tier)!.database.connectionLimit;
    expect(await limitOf()).toBe(tierLimit('basic'));
    const op = await changeTier(id, 'standard');
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(op.steps.map((s) => s.name)).toEqual(['validate', 'switch-routing']);
    expect(await tenantOf(id)).toMatchObject({ tier: 'standard', deploymentModel: 'pool', status: 'active' });
    expect(await limitOf()).toBe(tierLimit('standard'));
  });
});
