/**
 * Backups end to end on the real stack (Temporal, Postgres, the local silo program): a `backup`
 * operation of a pool tenant and of a silo tenant puts a sealed file in the data folder and a
 * catalog entry with the tenant's own counts; expiry waits for a legal hold and then deletes with a
 * ledger record; and the Schedule's sweep asks for a backup of the tenants that are due and of no
 * other. (What a backup holds, and restoring it, is in backup-data.test.ts.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackupObjectStore, localBackupsRoot } from '../../activities/backups/index.js';
import { siloDatabaseName } from '../../activities/pool/index.js';
import { ensureBackupSchedule } from '../../client/backup-schedule.js';
import { withClient } from '../../dataplane/connection.js';
import { BACKUP_SCHEDULE_ID, BACKUP_SCHEDULE_PRINCIPAL, backupObjectKey } from '../../domain/index.js';
import type { LedgerRecord, OperationSnapshot, TenantBackup } from '../../domain/index.js';
import { recordBackup } from '../support/backups.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

const TABLES = ['app_users', 'projects', 'documents', 'activity_log'] as const;

describe('backups', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.client.schedule
      .getHandle(BACKUP_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    await h?.close();
  });

  const poolUrl = () => h.directory.databaseUrl('local-a');
  const siloUrl = (id: string) => h.directory.serverDatabaseUrl('local-a', siloDatabaseName(id));
  const backupsFolder = () => localBackupsRoot(h.config.dataDir);

  /** Rows of the tenant: `documents` and `activity_log` scaled by `n`. */
  async function seed(url: string, tenantId: string, n: number): Promise<Record<string, number>> {
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
         SELECT $1, $2, $3, 'doc ' || i, 'body ' || i FROM generate_series(1, $4::int) AS i`,
        [tenantId, project, user, n],
      );
      await c.query(
        `INSERT INTO activity_log (tenant_id, actor_id, action)
         SELECT $1, $2, 'a' || i FROM generate_series(1, $3::int) AS i`,
        [tenantId, user, 2 * n],
      );
    });
    return withClient(url, async (c) => {
      const counts: Record<string, number> = {};
      for (const table of TABLES)
        counts[table] = (
          await c.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenantId])
        ).rows[0].n as number;
      return counts;
    });
  }

  async function backUp(
    tenantId: string,
    role: 'operator' | 'admin' = 'operator',
  ): Promise<OperationSnapshot> {
    const asked = await h.api('POST', `/v1/tenants/${tenantId}/backups`, { role });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const done = await h.waitForOperation(asked.body!.id as string, 120_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ['snapshot', 'succeeded'],
      ['expire-backups', 'succeeded'],
    ]);
    return done;
  }

  const catalog = async (tenantId: string) =>
    (await h.api('GET', `/v1/tenants/${tenantId}/backups`, { role: 'viewer' })).body!.items as TenantBackup[];

  const countsOf = (backup: TenantBackup) => Object.fromEntries(backup.tables.map((t) => [t.name, t.rows]));

  it("backs up a pool tenant's own rows and a silo tenant's, each a sealed file and a catalog entry", async () => {
    const [pool, neighbour, silo] = [
      uniqueTenantId('bk-pool'),
      uniqueTenantId('bk-next'),
      uniqueTenantId('bk-silo'),
    ];
    await h.onboard({ id: pool });
    await h.onboard({ id: neighbour });
    expect((await h.onboard({ id: silo, tier: 'premium' })).status).toBe('succeeded');
    const poolRows = await seed(poolUrl(), pool, 30);
    await seed(poolUrl(), neighbour, 70);
    const siloRows = await seed(siloUrl(silo), silo, 12);

    for (const [tenantId, rows, model] of [
      [pool, poolRows, 'pool'],
      [silo, siloRows, 'silo'],
    ] as const) {
      const op = await backUp(tenantId);
      const [backup] = await catalog(tenantId);
      expect(op.result).toMatchObject({ backupId: backup!.id, expired: [] });
      expect(backup).toMatchObject({
        tenantId,
        operationId: op.id,
        deploymentModel: model,
        location: 'local',
        status: 'available',
        objectKey: backupObjectKey(tenantId, backup!.id),
      });
      // Only the tenant's own rows: the neighbour's 70 documents are not counted in the pool's.
      expect(countsOf(backup!)).toEqual(rows);
      const days = tenantId === pool ? 7 : 35;
      expect(Date.parse(backup!.expiresAt) - Date.parse(backup!.takenAt)).toBe(days * 86_400_000);
      expect(existsSync(join(backupsFolder(), ...backup!.objectKey.split('/')))).toBe(true);
      const shown = await h.api('GET', `/v1/tenants/${tenantId}/backups/${backup!.id}`, { role: 'viewer' });
      expect(shown.body).toEqual(backup);
    }
    // Asked twice at once: the second waits its turn behind the first; each makes a backup of its own.
    const asked = await Promise.all(
      [1, 2].map(() => h.api('POST', `/v1/tenants/${pool}/backups`, { role: 'operator' })),
    );
    expect(asked.map((a) => a.status)).toEqual([202, 202]);
    const ops = await Promise.all(asked.map((a) => h.waitForOperation(a.body!.id as string, 120_000)));
    expect(ops.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
    const ids = ops.map((o) => (o.result as { backupId: string }).backupId);
    expect(new Set(ids).size).toBe(2);
    expect((await catalog(pool)).map((b) => b.id)).toEqual(expect.arrayContaining(ids));
  });

  it('expires backups past their time only once no legal hold of the tenant is in force, with a ledger record', async () => {
    const id = uniqueTenantId('bk-exp');
    await h.onboard({ id });
    await seed(poolUrl(), id, 5);
    // A backup from 40 days ago (kept 7), as an earlier backup would have left it.
    const objects = new LocalBackupObjectStore(backupsFolder());
    const oldId = `backup_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const objectKey = backupObjectKey(id, oldId);
    const { bytes } = await objects.put(objectKey, Readable.from([Buffer.from('an old sealed backup')]));
    await recordBackup(h.store, id, { id: oldId, daysAgo: 40, objectKey, bytes });

    const hold = await h.api('POST', `/v1/tenants/${id}/legal-holds`, {
      role: 'legal',
      body: { reason: 'litigation', dataClasses: ['telemetry'] },
    });
    expect(hold.status).toBe(201);
    const held = await backUp(id);
    expect(held.result).toMatchObject({ expired: [], expiryHeldBy: [hold.body!.id] });
    expect(await objects.head(objectKey)).toBeDefined();

    const released = await h.api('DELETE', `/v1/tenants/${id}/legal-holds/${hold.body!.id}`, {
      role: 'legal',
      body: { reason: 'settled' },
    });
    expect(released.status).toBe(200);
    const expired = await backUp(id, 'admin');
    expect(expired.result).toMatchObject({ expired: [oldId] });
    expect(await objects.head(objectKey)).toBeUndefined();
    expect((await catalog(id)).map((b) => [b.id === oldId, b.status])).toEqual([
      [false, 'available'],
      [false, 'available'],
      [true, 'expired'],
    ]);
    const evidence = (await h.api('GET', `/v1/evidence?kind=backup.expire&tenant=${id}&limit=100`)).body!
      .items as LedgerRecord[];
    expect(evidence).toEqual([
      expect.objectContaining({
        kind: 'backup.expire',
        target: `local/${objectKey}`,
        count: 1,
        unit: 'objects',
      }),
    ]);
  });

  // Last: the sweep goes over every tenant of this file.
  it("has a Schedule whose sweeps ask for a backup of the tenants due on their tier's cadence, and of no other", async () => {
    const fresh = uniqueTenantId('bk-due');
    await h.onboard({ id: fresh });
    const recent = uniqueTenantId('bk-recent');
    await h.onboard({ id: recent });
    await backUp(recent);
    const { lifecycle } = h.config.taskQueues;
    expect(await ensureBackupSchedule(h.client, '1m', lifecycle)).toBe('created');
    expect(await ensureBackupSchedule(h.client, '1m', lifecycle)).toBe('updated');
    await h.client.schedule.getHandle(BACKUP_SCHEDULE_ID).trigger();

    const byTheSchedule = async (tenantId: string) =>
      (await h.store.operations.listForTenant(tenantId)).filter(
        (o) => o.kind === 'backup' && o.actor.principal === BACKUP_SCHEDULE_PRINCIPAL,
      );
    const deadline = Date.now() + 60_000;
    while ((await byTheSchedule(fresh)).length === 0) {
      if (Date.now() > deadline) throw new Error('the sweep asked for no backup of a tenant never backed up');
      await new Promise((r) => setTimeout(r, 250));
    }
    const [scheduled] = await byTheSchedule(fresh);
    const done = await h.waitForOperation(scheduled!.id, 120_000);
    expect(done.status).toBe('succeeded');
    expect(await catalog(fresh)).toHaveLength(1);
    // Backed up minutes ago on a 24-hour cadence: not due.
    expect(await byTheSchedule(recent)).toEqual([]);
    await h.client.schedule.getHandle(BACKUP_SCHEDULE_ID).delete();
  });
});
