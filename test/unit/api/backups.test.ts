import { describe, expect, it } from 'vitest';
import type { TenantBackup } from '../../../domain/index.js';
import { recordBackup } from '../../support/backups.js';
import { call, useApiHarness } from './api-harness.js';

const api = useApiHarness();

async function tenant(id: string): Promise<void> {
  const body = { id, name: id, tier: 'basic', region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

/** Records a backup of `tenantId` taken at `takenAt`, as the data worker would. */
const backupOf = (tenantId: string, takenAt: string): Promise<TenantBackup> =>
  recordBackup(api().store, tenantId, { takenAt });

describe('backups', () => {
  it('takes one as a tenant operation of kind backup, for operators and admins', async () => {
    await tenant('backed-up');
    for (const role of ['operator', 'admin'] as const) {
      const res = await call(api(), 'POST', '/v1/tenants/backed-up/backups', { role });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ kind: 'backup', tenantId: 'backed-up' });
      expect(res.headers.get('location')).toBe(`/v1/operations/${(res.body as { id: string }).id}`);
    }
    const asked = api().lifecycle.calls.filter((c) => c.kind === 'backup');
    expect(asked.map((c) => c.actor.role)).toEqual(['operator', 'admin']);
  });

  it('lists the catalog newest first, filtered by status and limited, and shows one backup', async () => {
    await tenant('catalogued');
    await tenant('neighbour');
    const older = await backupOf('catalogued', '2026-11-01T00:00:00.000Z');
    const newer = await backupOf('catalogued', '2026-11-02T00:00:00.000Z');
    await backupOf('neighbour', '2026-11-03T00:00:00.000Z');
    await api().store.backups.markExpired('catalogued', older.id, '2026-11-08T00:00:00.000Z');

    const all = await call(api(), 'GET', '/v1/tenants/catalogued/backups', { role: 'viewer' });
    expect(all.status).toBe(200);
    const ids = (all.body as { items: TenantBackup[] }).items.map((b) => [b.id, b.status]);
    expect(ids).toEqual([
      [newer.id, 'available'],
      [older.id, 'expired'],
    ]);
    const expired = await call(api(), 'GET', '/v1/tenants/catalogued/backups?status=expired');
    expect((expired.body as { items: TenantBackup[] }).items.map((b) => b.id)).toEqual([older.id]);
    const one = await call(api(), 'GET', '/v1/tenants/catalogued/backups?limit=1');
    expect((one.body as { items: TenantBackup[] }).items.map((b) => b.id)).toEqual([newer.id]);

    const shown = await call(api(), 'GET', `/v1/tenants/catalogued/backups/${newer.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({ ...newer });
    // Another tenant's backup is not found under this one.
    const crossed = await call(api(), 'GET', `/v1/tenants/neighbour/backups/${newer.id}`);
    expect(crossed.status).toBe(404);
    expect(await call(api(), 'GET', `/v1/tenants/catalogued/backups/backup_ffffffffffffffff`)).toMatchObject({
      status: 404,
    });
  });
});
