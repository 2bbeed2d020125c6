/**
 * Restore verification end to end on the real stack (Temporal, Postgres, the local silo program,
 * the data worker): a run over the tenants named restores each one's latest backup into a scratch
 * database and compares it with the catalog; a damaged file is a failed result naming it, a
 * `dr.verification.failed` webhook and the failing gauge; no scratch database is left behind.
 * And the Schedule that starts the recurring run.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBackupsRoot } from '../../activities/backups/index.js';
import { createScratchDatabase, dropScratchDatabase } from '../../activities/backups/scratch-database.js';
import type { BackupVerificationResult, VerifyBackupInput } from '../../activities/data/backup.js';
import { siloDatabaseName } from '../../activities/pool/index.js';
import { ensureVerificationSchedule } from '../../client/verification-schedule.js';
import { withClient, withDatabase } from '../../dataplane/connection.js';
import { VERIFICATION_SCHEDULE_ID, VERIFICATION_SCHEDULE_PRINCIPAL } from '../../domain/index.js';
import type { TenantBackup, VerificationRun, VerificationRunDetail } from '../../domain/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const WEBHOOK_SECRET = 'webhook-secret-for-restore-verification';

describe('restore verification', () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  const [poolA, poolB, silo] = [
    uniqueTenantId('rv-pool'),
    uniqueTenantId('rv-broken'),
    uniqueTenantId('rv-silo'),
  ];
  const backups = new Map<string, TenantBackup>();
  /** Wraps the data worker's verifyBackupRestore while set, to make things happen around it. */
  let aroundVerify:
    | ((
        input: VerifyBackupInput,
        verify: () => Promise<BackupVerificationResult>,
      ) => Promise<BackupVerificationResult>)
    | undefined;

  beforeAll(async () => {
    receiver = await new WebhookReceiver(WEBHOOK_SECRET).start();
    h = await Harness.create({
      provisioning: true,
      data: true,
      webhookUrls: [receiver.url],
      webhookSecret: WEBHOOK_SECRET,
      decorateDataActivities: (activities) => ({
        ...activities,
        verifyBackupRestore: (input) =>
          aroundVerify
            ? aroundVerify(input, () => activities.verifyBackupRestore(input))
            : activities.verifyBackupRestore(input),
      }),
    });
  });
  afterAll(async () => {
    await h?.client.schedule
      .getHandle(VERIFICATION_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    await h?.close();
    await receiver?.stop();
  });

  /** A user, a project, `n` documents and 2n activity rows of the tenant. */
  async function seed(url: string, tenantId: string, n: number): Promise<void> {
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
  }

  async function backUp(tenantId: string): Promise<TenantBackup> {
    const asked = await h.api('POST', `/v1/tenants/${tenantId}/backups`, { role: 'operator' });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const done = await h.waitForOperation(asked.body!.id as string, 120_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const { backupId } = done.result as { backupId: string };
    return (await h.api('GET', `/v1/tenants/${tenantId}/backups/${backupId}`))
      .body as unknown as TenantBackup;
  }

  async function runEnded(id: string, timeoutMs = 180_000): Promise<VerificationRunDetail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status, body } = await h.api('GET', `/v1/dr/verifications/${id}`, { role: 'operator' });
      expect(status).toBe(200);
      if (body!.status !== 'running') return body as unknown as VerificationRunDetail;
      if (Date.now() > deadline) throw new Error(`run ${id} still running: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const failedDeliveries = () => receiver.deliveries.filter((d) => d.event === 'dr.verification.failed');

  async function failingGauge(): Promise<number> {
    const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
    return Number(/^landlord_dr_verifications_failing (\d+)$/m.exec(text)?.[1]);
  }

  /** Where a backup's file is in the local backup store. */
  const fileOf = (backup: TenantBackup) =>
    join(localBackupsRoot(h.config.dataDir), ...backup.objectKey.split('/'));

  /** Asks for a run over the tenants named and waits for its end. */
  async function verifyNow(tenants: string[]): Promise<VerificationRunDetail> {
    const asked = await h.api('POST', '/v1/dr/verifications', { role: 'operator', body: { tenants } });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    return runEnded(asked.body!.id as string);
  }

  /** Scratch databases left on the region servers the tenants live on. */
  async function scratchDatabases(): Promise<string[]> {
    return withClient(withDatabase(h.directory.serverUrl('local-a'), 'postgres'), async (c) =>
      (
        await c.query<{ datname: string }>(
          `SELECT datname FROM pg_database WHERE datname LIKE 'landlord\\_scratch\\_%'`,
        )
      ).rows.map((r) => r.datname),
    );
  }

  it("restores the named tenants' latest backups, and reports the damaged one by its file, by webhook and by gauge", async () => {
    await h.onboard({ id: poolA });
    await h.onboard({ id: poolB });
    expect((await h.onboard({ id: silo, tier: 'premium' })).status).toBe('succeeded');
    await seed(h.directory.databaseUrl('local-a'), poolA, 40);
    await seed(h.directory.databaseUrl('local-a'), poolB, 25);
    await seed(h.directory.serverDatabaseUrl('local-a', siloDatabaseName(silo)), silo, 30);
    for (const id of [poolA, poolB, silo]) backups.set(id, await backUp(id));

    // One byte of poolB's sealed file flipped, as a failing disk would.
    const damaged = backups.get(poolB)!;
    const file = fileOf(damaged);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(file, bytes);
    expect(await failingGauge()).toBe(0);

    const asked = await h.api('POST', '/v1/dr/verifications', {
      role: 'operator',
      body: { tenants: [poolA, poolB, silo] },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const runId = asked.body!.id as string;
    expect(asked.headers.get('location')).toBe(`/v1/dr/verifications/${runId}`);

    const run = await runEnded(runId);
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'api', total: 3, verified: 2, failed: 1 });
    const byTenant = new Map(run.results.map((r) => [r.tenantId, r]));
    expect([...byTenant.keys()].sort()).toEqual([poolA, poolB, silo].sort());

    const broken = byTenant.get(poolB)!;
    expect(broken).toMatchObject({ ok: false, backupId: damaged.id });
    expect(broken.problems).toEqual([expect.stringContaining(damaged.objectKey)]);
    expect(
      (await h.api('GET', `/v1/tenants/${poolB}/backups/${damaged.id}`)).body!.verifiedAt,
    ).toBeUndefined();

    for (const id of [poolA, silo]) {
      const result = byTenant.get(id)!;
      const backup = backups.get(id)!;
      expect(result, id).toMatchObject({ ok: true, problems: [], backupId: backup.id });
      expect(result.restoreMs).toBeGreaterThan(0);
      expect(result.tables!.map((t) => [t.name, t.rows, t.sha256])).toEqual(
        backup.tables.map((t) => [t.name, t.rows, t.sha256]),
      );
      const catalogued = (await h.api('GET', `/v1/tenants/${id}/backups/${backup.id}`)).body!;
      expect(catalogued.verifiedAt).toBe(result.finishedAt);
    }

    // The webhook is sent before the run ends: exactly one, for the damaged backup, signed.
    expect(failedDeliveries()).toEqual([
      expect.objectContaining({
        event: 'dr.verification.failed',
        idempotencyKey: `dr.verification.failed:${runId}:${poolB}`,
        signatureValid: true,
        body: expect.objectContaining({
          type: 'dr.verification.failed',
          tenantId: poolB,
          operationId: runId,
          data: { runId, backupId: damaged.id, problems: broken.problems },
        }),
      }),
    ]);
    expect(await failingGauge()).toBe(1);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('drops, before it verifies, the scratch databases a crashed verification left, and no younger one', async () => {
    const server = h.directory.serverUrl('local-a');
    const stale = await createScratchDatabase(server, Date.now() - 7 * 3_600_000);
    const recent = await createScratchDatabase(server, Date.now() - 3_600_000);
    try {
      expect((await scratchDatabases()).sort()).toEqual([stale, recent].sort());
      expect(await verifyNow([poolA])).toMatchObject({ status: 'succeeded', verified: 1, failed: 0 });
      expect(await scratchDatabases()).toEqual([recent]);
    } finally {
      await dropScratchDatabase(server, recent);
      await dropScratchDatabase(server, stale);
    }
  });

  it('verifies the newer backup instead when the one it picked expires during the verification', async () => {
    const picked = (await h.store.backups.latest(poolA))!;
    let fresh: TenantBackup | undefined;
    // A backup of the tenant taken meanwhile, whose expiry takes the picked backup's file while
    // it is being restored, and marks it expired in the catalog after.
    aroundVerify = async (input, verify) => {
      if (input.backupId !== picked.id) return verify();
      fresh ??= await backUp(poolA);
      rmSync(fileOf(picked), { force: true });
      const found = await verify();
      await h.store.backups.markExpired(poolA, picked.id, new Date().toISOString());
      return found;
    };
    let run: VerificationRunDetail;
    try {
      run = await verifyNow([poolA]);
    } finally {
      aroundVerify = undefined;
    }
    expect(fresh).toBeDefined();
    expect(run).toMatchObject({ status: 'succeeded', verified: 1, failed: 0 });
    expect(run.results).toEqual([
      expect.objectContaining({ tenantId: poolA, ok: true, backupId: fresh!.id, problems: [] }),
    ]);
    expect((await h.api('GET', `/v1/tenants/${poolA}/backups/${fresh!.id}`)).body!.verifiedAt).toBe(
      run.results[0]!.finishedAt,
    );
    expect(failedDeliveries().map((d) => d.idempotencyKey)).toEqual([expect.stringContaining(`:${poolB}`)]);
  });

  // Last: the scheduled run samples every tenant of this file.
  it('has a Schedule, made once and then brought up to date, whose runs sample the fleet', async () => {
    const queues = h.config.taskQueues;
    expect(await ensureVerificationSchedule(h.client, { every: '24h', share: 0.1 }, queues)).toBe('created');
    // Every tenant sampled: none of this file's is on a DR tier, which would be in any sample.
    expect(await ensureVerificationSchedule(h.client, { every: '12h', share: 1 }, queues)).toBe('updated');
    const handle = h.client.schedule.getHandle(VERIFICATION_SCHEDULE_ID);
    const described = await handle.describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([12 * 3_600_000]);
    expect(described.action).toMatchObject({
      workflowType: 'restoreVerificationRun',
      taskQueue: queues.lifecycle,
      args: [{ share: 1, dataQueue: queues.data }],
    });

    await handle.trigger();
    const deadline = Date.now() + 60_000;
    let scheduled: VerificationRun | undefined;
    while (!scheduled) {
      if (Date.now() > deadline) throw new Error('the Schedule started no run');
      const { items } = (await h.api('GET', '/v1/dr/verifications', { role: 'admin' })).body as {
        items: VerificationRun[];
      };
      scheduled = items.find((r) => r.trigger === 'schedule');
      if (!scheduled) await new Promise((r) => setTimeout(r, 250));
    }
    expect(scheduled.requestedBy).toBe(VERIFICATION_SCHEDULE_PRINCIPAL);
    const run = await runEnded(scheduled.id);
    expect(run).toMatchObject({ status: 'succeeded', share: 1, total: 3, verified: 2, failed: 1 });
    expect(run.tenants).toBeUndefined();
    expect(run.results.find((r) => !r.ok)?.tenantId).toBe(poolB);
    expect(failedDeliveries().map((d) => d.idempotencyKey)).toEqual([
      expect.stringContaining(`:${poolB}`),
      `dr.verification.failed:${scheduled.id}:${poolB}`,
    ]);
    expect(await failingGauge()).toBe(1);
    expect(await scratchDatabases()).toEqual([]);
    await handle.delete();
  });
});
