/**
 * Regional failover and failback of an enterprise tenant on the real stack (Temporal, the local
 * silo program, Postgres logical replication between local-a and local-b): once another principal
 * approves, a row written just before is on the standby, the home silo is fenced, routing points
 * at the DR region; failing back re-seeds home with what was written in DR, switches back and
 * replicates to the standby again. A tenant without a standby is refused, naming the restore route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siloDatabaseName } from '../../activities/pool/index.js';
import { withClient } from '../../dataplane/connection.js';
import { siloNames } from '../../domain/index.js';
import type { LedgerRecord, OperationSnapshot, TenantRecord } from '../../domain/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { standbyCaughtUp } from '../support/replication.js';

describe('failover and failback', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const siloUrl = (region: string, id: string) => h.directory.serverDatabaseUrl(region, siloDatabaseName(id));
  const projects = (region: string, id: string) =>
    withClient(siloUrl(region, id), async (c) => {
      const { rows } = await c.query<{ name: string }>(
        'SELECT name FROM projects WHERE tenant_id = $1 ORDER BY name',
        [id],
      );
      return rows.map((r) => r.name);
    });
  const addProject = (region: string, id: string, name: string) =>
    withClient(siloUrl(region, id), (c) =>
      c.query('INSERT INTO projects (tenant_id, name) VALUES ($1, $2)', [id, name]),
    );
  const canLogIn = (region: string, id: string) =>
    withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => {
      const { rows } = await c.query<{ rolcanlogin: boolean }>(
        'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1',
        [siloDatabaseName(id)],
      );
      return rows[0]?.rolcanlogin;
    });
  const tenantOf = async (id: string) =>
    (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;

  async function waitForApproval(id: string): Promise<OperationSnapshot> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const op = (await h.api('GET', `/v1/operations/${id}`)).body as unknown as OperationSnapshot;
      if (op.steps.some((s) => s.status === 'waiting-approval')) return op;
      if (op.status !== 'running' || Date.now() > deadline)
        throw new Error(`operation ${id} is ${op.status}, not waiting for approval`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Asks as an operator, is refused the operator's own approval, has an admin approve. */
  async function approved(tenantId: string, verb: 'failover' | 'failback'): Promise<OperationSnapshot> {
    const asked = await h.api('POST', `/v1/tenants/${tenantId}/${verb}`, {
      role: 'operator',
      body: { reason: 'region drill, ticket 7' },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const id = asked.body!.id as string;
    await waitForApproval(id);
    const own = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'operator',
      body: { comment: 'mine' },
    });
    expect(own.status).toBe(403);
    const ok = await h.api('POST', `/v1/operations/${id}/approve`, {
      role: 'admin',
      body: { comment: 'go' },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    return h.waitForOperation(id, 300_000);
  }

  it('fails an enterprise tenant over to its standby and back, losing nothing', async () => {
    const id = uniqueTenantId('fo');
    const onboarded = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body: {
        name: `Failover ${id}`,
        tier: 'enterprise',
        region: 'local-a',
        adminEmail: `owner@${id}.test`,
        id,
      },
    });
    expect(onboarded.status, JSON.stringify(onboarded.body)).toBe(202);
    const ready = await h.waitForOperation(onboarded.body!.id as string, 300_000);
    expect(ready.status, JSON.stringify(ready.error)).toBe('succeeded');
    // Failing back a tenant served from home is refused before anything starts.
    const early = await h.api('POST', `/v1/tenants/${id}/failback`, { role: 'operator', body: {} });
    expect(early.status).toBe(409);

    await addProject('local-a', id, 'written just before');
    const over = await approved(id, 'failover');
    expect(over.status, JSON.stringify(over.error)).toBe('succeeded');
    expect(over.steps.map((s) => [s.name, s.status])).toEqual([
      ['approval', 'succeeded'],
      ['fence-primary', 'succeeded'],
      ['promote-standby', 'succeeded'],
      ['switch-routing', 'succeeded'],
      ['verify', 'succeeded'],
    ]);
    const result = over.result as {
      from: string;
      to: string;
      fenced: boolean;
      caughtUp: boolean;
      measured: { rtoMs: number; rpoMs: number; rtoMet: boolean; rpoMet: boolean };
    };
    expect(result).toMatchObject({ from: 'local-a', to: 'local-b', fenced: true, caughtUp: true });
    expect(result.measured).toMatchObject({ rpoMs: 0, rtoMet: true, rpoMet: true });
    expect(result.measured.rtoMs).toBeGreaterThan(0);
    // The row written just before is on the standby; home is fenced; routing points at DR.
    expect(await projects('local-b', id)).toEqual(['written just before']);
    expect(await canLogIn('local-a', id)).toBe(false);
    expect(await canLogIn('local-b', id)).toBe(true);
    const failedOver = await tenantOf(id);
    expect(failedOver.activeRegion).toBe('local-b');
    expect(failedOver.resources.silo).toMatchObject({ serving: 'local-b' });
    const again = await h.api('POST', `/v1/tenants/${id}/failover`, { role: 'operator', body: {} });
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).toContain('/failback');

    // Writes go on in DR; failing back brings them home and replicates to the standby again.
    await addProject('local-b', id, 'written in DR');
    const backHome = await approved(id, 'failback');
    expect(backHome.status, JSON.stringify(backHome.error)).toBe('succeeded');
    expect(backHome.steps.every((s) => s.status === 'succeeded')).toBe(true);
    expect(backHome.result).toMatchObject({ from: 'local-b', to: 'local-a', caughtUp: true });
    expect(await projects('local-a', id)).toEqual(['written in DR', 'written just before']);
    expect(await canLogIn('local-a', id)).toBe(true);
    expect(await canLogIn('local-b', id)).toBe(false);
    const home = await tenantOf(id);
    expect(home.activeRegion).toBeUndefined();
    expect(home.resources.silo).toMatchObject({ serving: 'local-a' });
    expect(await h.store.replication.get(id)).toMatchObject({
      source: 'local-a',
      target: 'local-b',
      state: 'streaming',
    });
    await addProject('local-a', id, 'after failback');
    const dr = await h.api('GET', `/v1/tenants/${id}/dr`, { role: 'operator' });
    expect(dr.status).toBe(200);
    expect(dr.body).toMatchObject({
      replication: { state: 'streaming' },
      lastRecovery: { kind: 'failback' },
    });
  });

  it('recovers a standby whose replication broke: copied afresh from a fenced home, else backfilled from the backup', async () => {
    const [reseed, behind, held] = [
      uniqueTenantId('fo-rs'),
      uniqueTenantId('fo-bf'),
      uniqueTenantId('fo-bh'),
    ];
    const onboarded = await Promise.all(
      [reseed, behind, held].map((id) => h.onboard({ id, tier: 'enterprise' })),
    );
    for (const op of onboarded) expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    const hold = await h.api('POST', `/v1/tenants/${held}/legal-holds`, {
      role: 'legal',
      body: { reason: 'litigation' },
    });
    expect(hold.status).toBe(201);
    for (const id of [reseed, behind, held]) {
      await addProject('local-a', id, 'before the break');
      await standbyCaughtUp(h, id);
      // Replication breaks: the standby's subscription is gone (and with it home's slot).
      await withClient(siloUrl('local-b', id), async (c) => {
        const { rows } = await c.query<{ subname: string }>(
          `SELECT subname FROM pg_subscription
            WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        expect(rows).toHaveLength(1);
        await c.query(`DROP SUBSCRIPTION ${rows[0]!.subname}`);
      });
      await addProject('local-a', id, 'after the break');
      const asked = await h.api('POST', `/v1/tenants/${id}/backups`, { role: 'operator' });
      const backup = await h.waitForOperation(asked.body!.id as string, 120_000);
      expect(backup.status, JSON.stringify(backup.error)).toBe('succeeded');
      expect(await projects('local-b', id)).toEqual(['before the break']);
    }

    // Home answers: the standby is copied afresh from it after the fence, losing nothing.
    await addProject('local-a', reseed, 'after the backup');
    const copied = await approved(reseed, 'failover');
    expect(copied.status, JSON.stringify(copied.error)).toBe('succeeded');
    expect(copied.result).toMatchObject({ caughtUp: true, reseededFromHome: true, measured: { rpoMs: 0 } });
    expect(copied.result).not.toHaveProperty('backfilledFrom');
    expect(await projects('local-b', reseed)).toEqual([
      'after the backup',
      'after the break',
      'before the break',
    ]);

    // Home's silo does not take its owner's logins (it is failing): the latest backup's rows serve.
    for (const id of [behind, held])
      await withClient(h.directory.serverDatabaseUrl('local-a', 'postgres'), (c) =>
        c.query(`ALTER ROLE ${siloNames(id).owner} NOLOGIN`),
      );
    const over = await approved(behind, 'failover');
    expect(over.status, JSON.stringify(over.error)).toBe('succeeded');
    const result = over.result as {
      caughtUp: boolean;
      backfilledFrom?: { backupId: string; takenAt: string };
      reseedFailed?: string;
      measured: { rpoMs: number; rtoMs: number };
    };
    expect(result.caughtUp).toBe(false);
    expect(result.reseedFailed).toMatch(/not permitted to log in/);
    const latest = (await h.api('GET', `/v1/tenants/${behind}/backups`, { role: 'operator' })).body!
      .items as { id: string; takenAt: string }[];
    expect(result.backfilledFrom).toMatchObject({ backupId: latest[0]!.id, takenAt: latest[0]!.takenAt });
    // Measured from the backup's data (taken before the failover was asked for), not the standby's.
    const asked = Date.parse(over.createdAt);
    expect(result.measured.rpoMs).toBeGreaterThanOrEqual(asked - Date.parse(latest[0]!.takenAt));
    expect(result.measured.rpoMs).toBeLessThanOrEqual(Date.now() - Date.parse(latest[0]!.takenAt));
    expect(await projects('local-b', behind)).toEqual(['after the break', 'before the break']);
    expect(await canLogIn('local-b', behind)).toBe(true);
    expect((await tenantOf(behind)).activeRegion).toBe('local-b');
    // The standby's rows it replaced are in the ledger under the failover.
    const replaced = (await h.api('GET', `/v1/evidence?tenant=${behind}&kind=restore.replace&limit=50`)).body!
      .items as LedgerRecord[];
    expect(
      replaced.filter((r) => r.operationId === over.id && r.region === 'local-b').length,
    ).toBeGreaterThan(0);

    // Under a hold the backup would overwrite held rows: the standby's own serve, and it says why.
    const kept = await approved(held, 'failover');
    expect(kept.status, JSON.stringify(kept.error)).toBe('succeeded');
    expect(kept.result).not.toHaveProperty('backfilledFrom');
    expect((kept.result as { backfillSkipped: string }).backfillSkipped).toContain(hold.body!.id as string);
    expect(await projects('local-b', held)).toEqual(['before the break']);
    expect(await canLogIn('local-b', held)).toBe(true);
  }, 600_000);

  it('restores an enterprise tenant and re-seeds its standby from the restored rows', async () => {
    const id = uniqueTenantId('fo-rs');
    const onboarded = await h.onboard({ id, tier: 'enterprise' });
    expect(onboarded.status, JSON.stringify(onboarded.error)).toBe('succeeded');
    await addProject('local-a', id, 'in the backup');
    const backup = await h.api('POST', `/v1/tenants/${id}/backups`, { role: 'operator' });
    const taken = await h.waitForOperation(backup.body!.id as string, 120_000);
    expect(taken.status, JSON.stringify(taken.error)).toBe('succeeded');
    await addProject('local-a', id, 'after the backup');
    await standbyCaughtUp(h, id);
    expect(await projects('local-b', id)).toEqual(['after the backup', 'in the backup']);

    const asked = await h.api('POST', `/v1/tenants/${id}/restore`, {
      role: 'operator',
      body: { backupId: (taken.result as { backupId: string }).backupId },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const opId = asked.body!.id as string;
    await waitForApproval(opId);
    await h.api('POST', `/v1/operations/${opId}/approve`, { role: 'admin', body: { comment: 'go' } });
    const restored = await h.waitForOperation(opId, 300_000);
    expect(restored.status, JSON.stringify(restored.error)).toBe('succeeded');
    expect(await projects('local-a', id)).toEqual(['in the backup']);
    // Replication ended for the switch and started again from the restored database.
    await standbyCaughtUp(h, id);
    expect(await projects('local-b', id)).toEqual(['in the backup']);
    await addProject('local-a', id, 'after the restore');
    await standbyCaughtUp(h, id);
    expect(await projects('local-b', id)).toEqual(['after the restore', 'in the backup']);
  });

  it('refuses to fail over a tenant without a standby, naming the restore route', async () => {
    const id = uniqueTenantId('fo-pool');
    await h.onboard({ id });
    const refused = await h.api('POST', `/v1/tenants/${id}/failover`, { role: 'operator', body: {} });
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain('/restore');
    const ops = await h.api('GET', `/v1/operations?tenantId=${id}`, { role: 'operator' });
    expect(JSON.stringify(ops.body)).not.toContain('failover');
  });
});
