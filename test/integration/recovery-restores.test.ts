/**
 * Tenants without a standby recovered in their home region's DR partner by a restore (`"region"`),
 * on the real stack: local-a's partner is local-b, the machine's own Postgres started apart.
 * - A pool tenant: its partition built in local-b's pool, the latest backup restored there, routing
 *   switched, its home role fenced; backed up there, brought home again by a restore the same way;
 *   offboarded, which deletes its rows in both pools (evidence for each) and drops both roles.
 * - A silo tenant without DR: a stack of its own in local-b, the backup restored into it, its home
 *   silo fenced; offboarding destroys both stacks and databases.
 * - A region failover asked to restore its tenants without DR: the pool tenant with a backup is
 *   served from local-b after it, the one without any backup fails, named, and the others finish.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataActivities } from '../../activities/data/index.js';
import { siloDatabaseName, tenantRoleName, tenantRolePassword } from '../../activities/pool/index.js';
import { withClient } from '../../dataplane/connection.js';
import type { LedgerRecord, OperationSnapshot, TenantRecord } from '../../domain/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { rowsOf } from '../support/tenant-rows.js';
import { listStacks } from '../support/pulumi-cli.js';
import { testStack } from '../support/stack.js';

describe('restores into the DR partner region', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const poolUrl = (region: string) => h.directory.databaseUrl(region);
  const siloUrl = (id: string, region: string) => h.directory.serverDatabaseUrl(region, siloDatabaseName(id));
  const tenantOf = async (id: string) =>
    (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;

  async function seed(url: string, tenantId: string, people = 3): Promise<void> {
    await withClient(url, async (c) => {
      const project = (
        await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'p') RETURNING id`, [tenantId])
      ).rows[0].id as string;
      for (let i = 0; i < people; i++) {
        const user = randomUUID();
        await c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, $3)`, [
          tenantId,
          user,
          `${user}@${tenantId}.test`,
        ]);
        await c.query(
          `INSERT INTO documents (tenant_id, project_id, author_id, title, body)
           SELECT $1, $2, $3, 'doc ' || i, 'body ' || i FROM generate_series(1, 5) AS i`,
          [tenantId, project, user],
        );
        await c.query(
          `INSERT INTO activity_log (tenant_id, actor_id, action) SELECT $1, $2, 'a' || i FROM generate_series(1, 4) AS i`,
          [tenantId, user],
        );
      }
    });
  }

  const countOf = async (url: string, tenantId: string) =>
    Object.values(await rowsOf(url, tenantId)).reduce((n, rows) => n + rows.length, 0);

  /** Whether the role may log in on the region's server. */
  const canLogIn = (region: string, role: string) =>
    withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
      const { rows } = await c.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [role]);
      return rows[0] ? (rows[0].rolcanlogin as boolean) : undefined;
    });
  /** The pool tenant's own role, logged in to the region's pool with its password. */
  const asPoolTenant = (region: string, id: string) => {
    const u = new URL(poolUrl(region));
    u.username = tenantRoleName(id);
    u.password = encodeURIComponent(tenantRolePassword(testStack().secret, region, id));
    return u.toString();
  };

  async function backUp(tenantId: string): Promise<string> {
    const asked = await h.api('POST', `/v1/tenants/${tenantId}/backups`, { role: 'operator' });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const done = await h.waitForOperation(asked.body!.id as string, 120_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    return (done.result as { backupId: string }).backupId;
  }

  async function waitForApproval(id: string): Promise<OperationSnapshot> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const op = (await h.api('GET', `/v1/operations/${id}`)).body as unknown as OperationSnapshot;
      if (op.steps.find((s) => s.name === 'approval')?.status === 'waiting-approval') return op;
      if (op.status !== 'running' || Date.now() > deadline)
        throw new Error(`not waiting: ${JSON.stringify(op)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Asks an operator's restore into `region` (the latest backup), approved by an admin; returns it ended. */
  async function restoreInto(tenantId: string, region: string): Promise<OperationSnapshot> {
    const asked = await h.api('POST', `/v1/tenants/${tenantId}/restore`, {
      role: 'operator',
      body: { region },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const id = asked.body!.id as string;
    const waiting = await waitForApproval(id);
    expect(waiting.steps.map((s) => s.name)).toEqual([
      'approval',
      'prepare-region',
      'freeze-writes',
      'stage-restore',
      'switch',
      'switch-routing',
      'thaw',
      'record-evidence',
    ]);
    const approved = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'admin',
      body: { comment: 'local-a is down' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    return h.waitForOperation(id, 300_000);
  }

  async function offboard(id: string): Promise<OperationSnapshot> {
    const asked = await h.api('POST', `/v1/tenants/${id}/offboard`, {
      role: 'admin',
      body: { reason: 'contract ended', graceDays: 0, export: false },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const done = await h.waitForOperation(asked.body!.id as string, 300_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    return done;
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

  it('recovers a pool tenant in local-b, brings it home again, and offboards both stores', async () => {
    const id = uniqueTenantId('rr-pool');
    const neighbour = uniqueTenantId('rr-next');
    expect((await h.onboard({ id, tier: 'basic' })).status).toBe('succeeded');
    expect((await h.onboard({ id: neighbour, tier: 'basic', region: 'local-b' })).status).toBe('succeeded');
    await seed(poolUrl('local-a'), id);
    await seed(poolUrl('local-b'), neighbour);
    const backupId = await backUp(id);
    const backedUp = await rowsOf(poolUrl('local-a'), id);
    const neighbourBefore = await rowsOf(poolUrl('local-b'), neighbour);

    const moved = await restoreInto(id, 'local-b');
    expect(moved.status, JSON.stringify(moved.error)).toBe('succeeded');
    expect(moved.input).toMatchObject({ backupId, region: 'local-b' });
    expect(moved.result).toMatchObject({
      backupId,
      region: { from: 'local-a', to: 'local-b' },
      measured: { rtoMet: true, rpoMet: true },
    });
    // The backup's rows in local-b's pool; the neighbour there is as it was.
    expect(await rowsOf(poolUrl('local-b'), id)).toEqual(backedUp);
    expect(await rowsOf(poolUrl('local-b'), neighbour)).toEqual(neighbourBefore);
    const tenant = await tenantOf(id);
    expect(tenant).toMatchObject({
      status: 'active',
      region: 'local-a',
      activeRegion: 'local-b',
      recoveryRegion: 'local-b',
      resources: { pool: { region: 'local-b' } },
    });
    expect(tenant.readOnly).toBeUndefined();
    // Home is fenced: its role may not log in there; in local-b it logs in and writes.
    expect(await canLogIn('local-a', tenantRoleName(id))).toBe(false);
    await expect(withClient(asPoolTenant('local-a', id), (c) => c.query('SELECT 1'))).rejects.toThrow(
      /not permitted to log in/,
    );
    await withClient(asPoolTenant('local-b', id), (c) =>
      c.query(`INSERT INTO activity_log (tenant_id, action) VALUES ($1, 'in local-b')`, [id]),
    );
    // A home server that was down at the fence kept its login: the sweep fences it once it answers.
    await withClient(h.directory.serverDatabaseUrl('local-a', 'postgres'), (c) =>
      c.query(`ALTER ROLE ${tenantRoleName(id)} LOGIN`),
    );
    const sweep = createDataActivities({
      directory: h.directory,
      manifest: h.config.manifest,
      store: h.store,
      secret: testStack().secret,
      retention: h.config.retention,
    });
    await new MockActivityEnvironment().run(sweep.measureReplications, { waitMs: 1_000 });
    expect(await canLogIn('local-a', tenantRoleName(id))).toBe(false);
    expect(await canLogIn('local-b', tenantRoleName(id))).toBe(true);

    // Operations now work on the local-b store: a backup there holds the new row.
    const second = await backUp(id);
    const backups = (await h.api('GET', `/v1/tenants/${id}/backups`, { role: 'operator' })).body!.items as {
      id: string;
      tables: { name: string; rows: number }[];
    }[];
    const activity = backups.find((b) => b.id === second)!.tables.find((t) => t.name === 'activity_log')!;
    expect(activity.rows).toBe(backedUp.activity_log!.length + 1);
    const inB = await rowsOf(poolUrl('local-b'), id);

    // Brought home by a restore into local-a: the row written in local-b comes with it.
    const home = await restoreInto(id, 'local-a');
    expect(home.status, JSON.stringify(home.error)).toBe('succeeded');
    expect(home.result).toMatchObject({ backupId: second, region: { from: 'local-b', to: 'local-a' } });
    expect(await rowsOf(poolUrl('local-a'), id)).toEqual(inB);
    const back = await tenantOf(id);
    expect(back.activeRegion).toBeUndefined();
    expect(back).toMatchObject({ recoveryRegion: 'local-b', resources: { pool: { region: 'local-a' } } });
    expect(await canLogIn('local-a', tenantRoleName(id))).toBe(true);
    expect(await canLogIn('local-b', tenantRoleName(id))).toBe(false);

    // Offboarding deletes the rows in both pools, with evidence for each, and drops both roles.
    const rowsHome = await countOf(poolUrl('local-a'), id);
    const rowsFormer = await countOf(poolUrl('local-b'), id);
    expect(rowsFormer).toBeGreaterThan(0);
    const done = await offboard(id);
    for (const region of ['local-a', 'local-b']) {
      expect(await countOf(poolUrl(region), id), region).toBe(0);
      expect(await canLogIn(region, tenantRoleName(id)), region).toBeUndefined();
    }
    const records = await ledgerOf(done.id);
    const deleted = (region: string) =>
      records.filter((r) => r.region === region).reduce((n, r) => n + r.count, 0);
    expect(deleted('local-a')).toBe(rowsHome);
    expect(deleted('local-b')).toBe(rowsFormer);
    expect(await rowsOf(poolUrl('local-b'), neighbour)).toEqual(neighbourBefore);
  }, 600_000);

  it('recovers a silo tenant without DR in a stack of its own in local-b; offboarding removes both', async () => {
    const id = uniqueTenantId('rr-silo');
    expect((await h.onboard({ id, tier: 'premium' })).status).toBe('succeeded');
    await seed(siloUrl(id, 'local-a'), id);
    await backUp(id);
    const backedUp = await rowsOf(siloUrl(id, 'local-a'), id);
    expect(listStacks(h)).not.toContain(`landlord-silo/${id}.local-b`);

    const moved = await restoreInto(id, 'local-b');
    expect(moved.status, JSON.stringify(moved.error)).toBe('succeeded');
    expect(listStacks(h)).toEqual(
      expect.arrayContaining([`landlord-silo/${id}.local-a`, `landlord-silo/${id}.local-b`]),
    );
    expect(await rowsOf(siloUrl(id, 'local-b'), id)).toEqual(backedUp);
    const tenant = await tenantOf(id);
    expect(tenant).toMatchObject({
      activeRegion: 'local-b',
      recoveryRegion: 'local-b',
      resources: { silo: { serving: 'local-b', stacks: { 'local-b': expect.any(Object) } } },
    });
    // One role name on two servers: off at home, on in local-b.
    expect(await canLogIn('local-a', siloDatabaseName(id))).toBe(false);
    expect(await canLogIn('local-b', siloDatabaseName(id))).toBe(true);

    await offboard(id);
    expect(listStacks(h)).not.toContain(`landlord-silo/${id}.local-a`);
    expect(listStacks(h)).not.toContain(`landlord-silo/${id}.local-b`);
    for (const region of ['local-a', 'local-b'])
      await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
        const found = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [siloDatabaseName(id)]);
        expect(found.rowCount, region).toBe(0);
      });
  }, 600_000);

  it('a restore into local-b that fails before its switch leaves the tenant at home; its retry finishes', async () => {
    const id = uniqueTenantId('rr-held');
    expect((await h.onboard({ id, tier: 'basic' })).status).toBe('succeeded');
    await seed(poolUrl('local-a'), id);
    await backUp(id);
    const before = await rowsOf(poolUrl('local-a'), id);
    const asked = await h.api('POST', `/v1/tenants/${id}/restore`, {
      role: 'operator',
      body: { region: 'local-b' },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const opId = asked.body!.id as string;
    await waitForApproval(opId);
    // A hold placed while the restore waited: the restore refuses at its stage, naming it.
    const hold = await h.api('POST', `/v1/tenants/${id}/legal-holds`, {
      role: 'legal',
      body: { reason: 'pending audit' },
    });
    expect(hold.status).toBe(201);
    await h.api('POST', `/v1/operations/${opId}/approve`, { role: 'admin', body: { comment: 'go' } });
    const failed = await h.waitForOperation(opId, 300_000);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toContain(hold.body!.id as string);
    expect(failed.steps.find((s) => s.name === 'freeze-writes')?.status).toBe('compensated');
    // As it was: served from home, which takes logins again; local-b's store is built, closed and empty.
    const tenant = await tenantOf(id);
    expect(tenant.activeRegion).toBeUndefined();
    expect(tenant.readOnly).toBeUndefined();
    expect(tenant).toMatchObject({ recoveryRegion: 'local-b', resources: { pool: { region: 'local-a' } } });
    expect(await canLogIn('local-a', tenantRoleName(id))).toBe(true);
    expect(await canLogIn('local-b', tenantRoleName(id))).toBe(false);
    expect(await rowsOf(poolUrl('local-a'), id)).toEqual(before);
    expect(await countOf(poolUrl('local-b'), id)).toBe(0);

    const released = await h.api('DELETE', `/v1/tenants/${id}/legal-holds/${hold.body!.id}`, {
      role: 'legal',
      body: { reason: 'audit done' },
    });
    expect(released.status).toBe(200);
    const retried = await h.api('POST', `/v1/operations/${opId}/retry`, { role: 'operator' });
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    const done = await h.waitForOperation(opId, 300_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    // The approval and the built store are kept: neither ran again.
    expect(done.steps.find((s) => s.name === 'approval')?.attempts).toBe(1);
    expect(await rowsOf(poolUrl('local-b'), id)).toEqual(before);
    expect(await tenantOf(id)).toMatchObject({ activeRegion: 'local-b' });
    expect(await canLogIn('local-a', tenantRoleName(id))).toBe(false);
  }, 600_000);

  it('a region failover with includeBackupRestores restores the tenants without DR in the partner', async () => {
    const backedUp = uniqueTenantId('rr-rf');
    const never = uniqueTenantId('rr-none');
    for (const id of [backedUp, never])
      expect((await h.onboard({ id, tier: 'basic' })).status).toBe('succeeded');
    await seed(poolUrl('local-a'), backedUp);
    await backUp(backedUp);
    const rows = await rowsOf(poolUrl('local-a'), backedUp);

    const asked = await h.api('POST', '/v1/regions/local-a/failover', {
      role: 'operator',
      body: { reason: 'local-a is down', waveSize: 2, includeBackupRestores: true },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const id = asked.body!.id as string;
    const waiting = await waitForApproval(id);
    expect(waiting.steps.map((s) => s.name)).toEqual([
      'plan',
      'approval',
      'fail-over',
      'restore-from-backup',
    ]);
    const withoutDr = (waiting.result as { withoutDr: { tenantId: string }[] }).withoutDr.map(
      (t) => t.tenantId,
    );
    expect(withoutDr).toEqual(expect.arrayContaining([backedUp, never]));
    const ok = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'admin',
      body: { comment: 'go' },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);

    const done = await h.waitForOperation(id, 300_000);
    expect(done.status).toBe('failed');
    expect(done.error?.type).toBe('RegionFailoverIncomplete');
    const result = done.result as {
      failed: string[];
      restores: { tenantId: string; status: string; operationId?: string; reason?: string }[];
    };
    expect(result.failed).toEqual([never]);
    const restored = result.restores.find((p) => p.tenantId === backedUp)!;
    expect(restored.status).toBe('succeeded');
    const own = (await h.api('GET', `/v1/operations/${restored.operationId}`))
      .body as unknown as OperationSnapshot;
    // Its own restore took the region's approval as its own.
    expect(own).toMatchObject({ kind: 'restore', input: { region: 'local-b', approvedBy: id } });
    expect(await rowsOf(poolUrl('local-b'), backedUp)).toEqual(rows);
    expect(await tenantOf(backedUp)).toMatchObject({ activeRegion: 'local-b' });
    expect(result.restores.find((p) => p.tenantId === never)).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('no available backup'),
    });
    expect((await tenantOf(never)).activeRegion).toBeUndefined();
  }, 600_000);
});
