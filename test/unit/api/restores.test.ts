import { describe, expect, it } from 'vitest';
import type { OperationSnapshot, TenantBackup } from '../../../domain/index.js';
import { recordBackup } from '../../support/backups.js';
import { call, operationCount, useApiHarness } from './api-harness.js';

const api = useApiHarness();
const DAY = 86_400_000;

async function tenant(id: string, tier = 'basic'): Promise<void> {
  const body = { id, name: id, tier, region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

const backupOf = (tenantId: string, takenAt: string): Promise<TenantBackup> =>
  recordBackup(api().store, tenantId, { takenAt });

const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const restores = () => api().lifecycle.calls.filter((c) => c.method === 'restoreTenant').length;

describe('restores and their approval', () => {
  it("restores a tenant without DR into its home region's DR partner, or home again, from its latest backup", async () => {
    await tenant('moved');
    const [, newer] = [await backupOf('moved', ago(3)), await backupOf('moved', ago(1))];
    const asked = await call(api(), 'POST', '/v1/tenants/moved/restore', {
      role: 'operator',
      body: { region: 'local-b' },
    });
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({
      kind: 'restore',
      input: { backupId: newer.id, region: 'local-b' },
      steps: [
        { name: 'approval', status: 'waiting-approval' },
        { name: 'prepare-region' },
        { name: 'freeze-writes' },
        { name: 'stage-restore' },
        { name: 'switch' },
        { name: 'switch-routing' },
        { name: 'thaw' },
        { name: 'record-evidence' },
      ],
    });
    // Into the region it is served from: an ordinary restore, without the region.
    const inPlace = await call(api(), 'POST', '/v1/tenants/moved/restore', {
      role: 'operator',
      body: { region: 'local-a', backupId: newer.id },
    });
    expect(inPlace.status).toBe(202);
    expect((inPlace.body as OperationSnapshot).input).not.toHaveProperty('region');
    expect((inPlace.body as OperationSnapshot).steps).toHaveLength(6);
    // Served from local-b, home is the other region.
    const record = (await api().store.tenants.get('moved'))!;
    await api().store.tenants.upsert({ ...record, activeRegion: 'local-b', version: record.version + 1 });
    const home = await call(api(), 'POST', '/v1/tenants/moved/restore', {
      role: 'operator',
      body: { region: 'local-a' },
    });
    expect((home.body as OperationSnapshot).input).toMatchObject({ region: 'local-a' });
  });

  it('refuses a restore into a region it cannot go to, starting nothing', async () => {
    await tenant('stays');
    await tenant('has-standby', 'enterprise');
    await backupOf('stays', ago(1));
    await recordBackup(api().store, 'has-standby', { daysAgo: 1, deploymentModel: 'silo' });
    await tenant('never-backed-up');
    const before = [restores(), await operationCount(api().store)];
    const ask = (id: string, body: object) =>
      call(api(), 'POST', `/v1/tenants/${id}/restore`, { role: 'operator', body });

    expect(await ask('stays', { region: 'mars-north-1' })).toMatchObject({
      status: 422,
      body: { detail: expect.stringContaining('unknown region "mars-north-1"') },
    });
    // Only its home region or the home region's partner.
    expect(await ask('stays', { region: 'aws-us-east-1' })).toMatchObject({
      status: 422,
      body: { detail: expect.stringContaining('local-a or its DR partner local-b') },
    });
    // A tenant with a standby fails over instead.
    expect(await ask('has-standby', { region: 'local-b' })).toMatchObject({
      status: 409,
      body: { detail: expect.stringContaining('/v1/tenants/has-standby/failover') },
    });
    expect(await ask('never-backed-up', { region: 'local-b' })).toMatchObject({
      status: 404,
      body: { detail: expect.stringContaining('none available') },
    });
    expect([restores(), await operationCount(api().store)]).toEqual(before);
  });

  it('asks for a restore of a backup, by id or as of a time, which waits for approval', async () => {
    await tenant('restored');
    const [older, newer] = [await backupOf('restored', ago(3)), await backupOf('restored', ago(1))];
    const byId = await call(api(), 'POST', '/v1/tenants/restored/restore', {
      role: 'operator',
      body: { backupId: older.id },
    });
    expect(byId.status).toBe(202);
    expect(byId.body).toMatchObject({
      kind: 'restore',
      input: { backupId: older.id },
      steps: [{ name: 'approval', status: 'waiting-approval' }, ...Array(5).fill(expect.anything())],
    });
    const asOf = await call(api(), 'POST', '/v1/tenants/restored/restore', {
      role: 'operator',
      body: { pointInTime: ago(2) },
    });
    expect((asOf.body as OperationSnapshot).input).toMatchObject({ backupId: older.id });
    const latest = await call(api(), 'POST', '/v1/tenants/restored/restore', {
      role: 'admin',
      body: { pointInTime: new Date().toISOString() },
    });
    expect((latest.body as OperationSnapshot).input).toMatchObject({ backupId: newer.id });

    const waiting = await call(api(), 'GET', '/v1/operations?status=waiting-approval&tenant=restored', {
      role: 'viewer',
    });
    expect((waiting.body as { items: OperationSnapshot[] }).items.map((o) => o.id).sort()).toEqual(
      [byId, asOf, latest].map((r) => (r.body as OperationSnapshot).id).sort(),
    );
  });

  it('refuses a restore it cannot do, starting nothing: unknown, expired or too old a backup, a hold', async () => {
    await tenant('unrestorable');
    const backup = await backupOf('unrestorable', ago(5));
    const gone = await backupOf('unrestorable', ago(4));
    await api().store.backups.markExpired('unrestorable', gone.id, ago(1));
    const before = [restores(), await operationCount(api().store)];
    const ask = (body: object) =>
      call(api(), 'POST', '/v1/tenants/unrestorable/restore', { role: 'operator', body });

    const unknown = await ask({ backupId: 'backup_ffffffffffffffff' });
    expect(unknown).toMatchObject({ status: 404, body: { detail: expect.stringContaining('no backup') } });
    const expired = await ask({ backupId: gone.id });
    expect(expired).toMatchObject({ status: 404, body: { detail: expect.stringContaining('expired') } });
    const tooOld = await ask({ pointInTime: ago(30) });
    expect(tooOld).toMatchObject({ status: 404, body: { detail: expect.stringContaining(backup.takenAt) } });

    // Taken when it lived in a silo (before a tier move, say): the wrong model to restore now.
    const siloBackup = await recordBackup(api().store, 'unrestorable', {
      daysAgo: 2,
      deploymentModel: 'silo',
    });
    const moved = await ask({ backupId: siloBackup.id });
    expect(moved).toMatchObject({ status: 422, body: { detail: expect.stringContaining('silo tenant') } });

    const hold = await call(api(), 'POST', '/v1/tenants/unrestorable/legal-holds', {
      role: 'legal',
      body: { reason: 'litigation', subjects: ['someone@example.com'] },
    });
    const held = await ask({ backupId: backup.id });
    expect(held.status).toBe(422);
    expect(String((held.body as { detail: string }).detail)).toContain((hold.body as { id: string }).id);
    expect([restores(), await operationCount(api().store)]).toEqual(before);
  });

  it('takes an approval from another principal only, once each, with a comment in the audit trail', async () => {
    await tenant('approved');
    const backup = await backupOf('approved', ago(1));
    const asked = await call(api(), 'POST', '/v1/tenants/approved/restore', {
      role: 'operator',
      body: { backupId: backup.id },
    });
    const id = (asked.body as OperationSnapshot).id;
    const decide = (verb: 'approve' | 'reject', role: 'operator' | 'admin', comment = 'checked the backup') =>
      call(api(), 'POST', `/v1/operations/${id}/${verb}`, { role, body: { comment } });

    // Four eyes: the requester can neither approve nor reject.
    for (const verb of ['approve', 'reject'] as const) {
      const own = await decide(verb, 'operator');
      expect(own.status).toBe(403);
      expect(own.body).toMatchObject({ type: 'https://landlord.dev/problems/self-approval' });
    }
    expect((await api().store.operations.get(id))?.approval?.decisions).toEqual([]);

    const approved = await decide('approve', 'admin', 'backup verified yesterday');
    expect(approved.status).toBe(200);
    expect((approved.body as OperationSnapshot).approval?.decisions).toEqual([
      expect.objectContaining({ decision: 'approved', role: 'admin', comment: 'backup verified yesterday' }),
    ]);
    const again = await decide('approve', 'admin');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: 'https://landlord.dev/problems/not-awaiting-approval' });
    const audit = await api().store.audit.list({
      tenantId: 'approved',
      action: 'operation.approve',
      limit: 10,
    });
    expect(audit.filter((e) => e.operationId === id)).toEqual([
      expect.objectContaining({
        outcome: 'succeeded',
        detail: expect.objectContaining({ comment: 'backup verified yesterday' }),
      }),
    ]);
  });

  it('fails an operation that is rejected, changing nothing, and lists it no longer as waiting', async () => {
    await tenant('rejected');
    const backup = await backupOf('rejected', ago(1));
    const asked = await call(api(), 'POST', '/v1/tenants/rejected/restore', {
      role: 'admin',
      body: { backupId: backup.id },
    });
    const id = (asked.body as OperationSnapshot).id;
    const rejected = await call(api(), 'POST', `/v1/operations/${id}/reject`, {
      role: 'operator',
      body: { comment: 'wrong backup' },
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'failed', error: { type: 'ApprovalRejected' } });
    const waiting = await call(api(), 'GET', '/v1/operations?status=waiting-approval&tenant=rejected');
    expect((waiting.body as { items: unknown[] }).items).toEqual([]);
    const late = await call(api(), 'POST', `/v1/operations/${id}/approve`, {
      role: 'operator',
      body: { comment: 'too late' },
    });
    expect(late.status).toBe(409);
  });
});
