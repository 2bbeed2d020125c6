/**
 * Retention runs end to end on the real stack (Temporal, Postgres, Pulumi's local silo program):
 * expired rows go and younger ones stay, per data class, in pool and silo tenants; a tenant's own
 * policy beats its tier's; a dry run reports exactly what the real run deletes; holds, the guard
 * and `force` do what they say; every deletion is in the ledger once, and the ledger verifies.
 */
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siloDatabaseName } from '../../activities/pool/index.js';
import { withClient } from '../../dataplane/connection.js';
import { localObjectsRoot } from '../../dataplane/silo.js';
import type { LedgerRecord, RetentionTableReport, RetentionTenantPart } from '../../domain/index.js';
import { ensureRetentionSchedule } from '../../client/retention-schedule.js';
import { localSiloFolder, RETENTION_SCHEDULE_ID } from '../../domain/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

interface RunDetail {
  id: string;
  status: string;
  dryRun: boolean;
  progress: { done: number; total?: number };
  totals: Record<string, number>;
  parts: RetentionTenantPart[];
}

const region = 'local-a';

describe('retention runs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.client.schedule
      .getHandle(RETENTION_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    await h?.close();
  });

  const poolUrl = () => h.directory.databaseUrl(region);
  const siloUrl = (id: string) => h.directory.serverDatabaseUrl(region, siloDatabaseName(id));
  const urlOf = (id: string, silo = false) => (silo ? siloUrl(id) : poolUrl());

  /** Rows of the tenant, written past Landlord as the application would (ages in days). */
  async function seed(
    url: string,
    id: string,
    work: (s: {
      c: pg.Client;
      user(ageDays: number): Promise<string>;
      documents(n: number, ageDays: number, author?: string): Promise<void>;
      activity(n: number, ageDays: number, actor?: string): Promise<void>;
    }) => Promise<void>,
  ): Promise<void> {
    await withClient(url, async (c) => {
      const project = (
        await c.query(`INSERT INTO projects (tenant_id, name) VALUES ($1, 'p') RETURNING id`, [id])
      ).rows[0].id as string;
      let users = 0;
      await work({
        c,
        user: async (age) =>
          (
            await c.query(
              `INSERT INTO app_users (tenant_id, email, created_at) VALUES ($1, $2, now() - $3 * interval '1 day') RETURNING id`,
              [id, `u${++users}@${id}.test`, age],
            )
          ).rows[0].id as string,
        documents: async (n, age, author) => {
          await c.query(
            `INSERT INTO documents (tenant_id, project_id, author_id, title, updated_at)
             SELECT $1, $2, $3, 'd', now() - $4 * interval '1 day' FROM generate_series(1, $5)`,
            [id, project, author ?? null, age, n],
          );
        },
        activity: async (n, age, actor) => {
          await c.query(
            `INSERT INTO activity_log (tenant_id, actor_id, action, occurred_at)
             SELECT $1, $2, 'a', now() - $3 * interval '1 day' FROM generate_series(1, $4)`,
            [id, actor ?? null, age, n],
          );
        },
      });
    });
  }

  const count = (url: string, id: string, table: string, where = 'true') =>
    withClient(url, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1 AND ${where}`,
        [id],
      );
      return rows[0].n as number;
    });

  async function run(body: Record<string, unknown>): Promise<RunDetail> {
    const res = await h.api('POST', '/v1/retention/runs', { role: 'operator', body });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body!.id as string;
    expect(res.headers.get('location')).toBe(`/v1/retention/runs/${id}`);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const got = await h.api('GET', `/v1/retention/runs/${id}`);
      expect(got.status).toBe(200);
      if (got.body!.status !== 'running') return got.body as unknown as RunDetail;
      if (Date.now() > deadline) throw new Error(`run ${id} still running: ${JSON.stringify(got.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const table = (detail: RunDetail, tenantId: string, name: string): RetentionTableReport => {
    const part = detail.parts.find((p) => p.tenantId === tenantId);
    expect(part?.status, JSON.stringify(part)).toBe('succeeded');
    return part!.tables.find((t) => t.table === name)!;
  };

  const ledgerOf = async (runId: string, kind = 'retention.delete'): Promise<LedgerRecord[]> => {
    const records: LedgerRecord[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = await h.api('GET', `/v1/evidence?kind=${kind}&limit=500&afterSeq=${afterSeq}`, {
        role: 'viewer',
      });
      const items = page.body!.items as LedgerRecord[];
      records.push(...items.filter((r) => r.runId === runId));
      if (!page.body!.nextAfterSeq) return records;
      afterSeq = page.body!.nextAfterSeq as number;
    }
  };
  const ledgerRows = (records: LedgerRecord[], tenantId: string, target: string) =>
    records.filter((r) => r.tenantId === tenantId && r.target === target).reduce((n, r) => n + r.count, 0);

  it('deletes what expired by each class, in pool and silo tenants, a tenant policy first; a dry run said so before', async () => {
    const [a, b, s] = [uniqueTenantId('ret-a'), uniqueTenantId('ret-b'), uniqueTenantId('ret-s')];
    const onboarded = await Promise.all([
      h.onboard({ id: a, tier: 'basic' }),
      h.onboard({ id: b, tier: 'basic' }),
      h.onboard({ id: s, tier: 'premium' }),
    ]);
    for (const op of onboarded) expect(op.status, JSON.stringify(op.error)).toBe('succeeded');

    // a (basic: telemetry 30 days, content 730, personal 1095, business forever).
    await seed(urlOf(a), a, async ({ user, documents, activity }) => {
      await user(1200);
      await user(1200);
      const referenced = await user(1200);
      await documents(4, 800);
      await documents(1, 10, referenced);
      await documents(5, 10);
      await activity(10, 40);
      await activity(10, 20);
    });
    // b chooses 10 days of telemetry: rows of 20 days expire for it, not for its tier.
    const put = await h.api('PUT', `/v1/tenants/${b}/retention`, {
      role: 'operator',
      body: { dataClasses: { telemetry: { days: 10 } } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(202);
    expect((await h.waitForOperation(put.body!.id as string)).status).toBe('succeeded');
    const effective = await h.api('GET', `/v1/tenants/${b}/retention`, { role: 'viewer' });
    expect(effective.body!.dataClasses).toContainEqual(
      expect.objectContaining({ dataClass: 'telemetry', days: 10, source: 'tenant' }),
    );
    await seed(urlOf(b), b, async ({ activity }) => {
      await activity(5, 20);
      await activity(10, 5);
    });
    // s (premium, a silo: telemetry 90 days).
    await seed(urlOf(s, true), s, async ({ activity }) => {
      await activity(6, 100);
      await activity(10, 50);
    });

    const dry = await run({ tenants: [a, b, s], dryRun: true });
    expect(dry).toMatchObject({ status: 'succeeded', dryRun: true, progress: { done: 3, total: 3 } });
    // Nothing went.
    expect(await count(urlOf(a), a, 'activity_log')).toBe(20);
    expect(await count(urlOf(a), a, 'documents')).toBe(10);
    expect(await count(urlOf(b), b, 'activity_log')).toBe(15);
    expect(await count(urlOf(s, true), s, 'activity_log')).toBe(16);
    expect(await ledgerOf(dry.id)).toEqual([]);

    const real = await run({ tenants: [a, b, s] });
    expect(real).toMatchObject({ status: 'succeeded', dryRun: false, progress: { done: 3, total: 3 } });
    const expected: [string, string, number][] = [
      [a, 'activity_log', 10],
      [a, 'documents', 4],
      [a, 'projects', 0],
      [a, 'app_users', 2],
      [b, 'activity_log', 5],
      [s, 'activity_log', 6],
    ];
    const records = await ledgerOf(real.id);
    for (const [tenant, name, deleted] of expected) {
      expect(table(dry, tenant, name).deleted, `${tenant} ${name} (dry run)`).toBe(deleted);
      expect(table(real, tenant, name).deleted, `${tenant} ${name}`).toBe(deleted);
      expect(ledgerRows(records, tenant, name), `${tenant} ${name} in the ledger`).toBe(deleted);
    }
    expect(table(real, a, 'app_users')).toMatchObject({ expired: 3, keptReferenced: 1, days: 1095 });
    expect(table(real, a, 'projects')).toMatchObject({ expired: 0, source: 'default' });
    expect(table(real, a, 'projects').days).toBeUndefined();
    expect(table(real, b, 'activity_log')).toMatchObject({ days: 10, source: 'tenant' });
    expect(table(real, a, 'activity_log')).toMatchObject({ days: 30, source: 'tier' });
    expect(table(real, s, 'activity_log')).toMatchObject({ days: 90, source: 'default' });
    expect(records.find((r) => r.tenantId === s)).toMatchObject({
      database: siloDatabaseName(s),
      dataClass: 'telemetry',
      requestedBy: expect.stringMatching(/^key_/),
      policy: { days: 90, source: 'default' },
    });
    // Younger rows stayed, older ones went.
    expect(await count(urlOf(a), a, 'activity_log')).toBe(10);
    expect(await count(urlOf(a), a, 'activity_log', `occurred_at < now() - interval '30 days'`)).toBe(0);
    expect(await count(urlOf(a), a, 'documents')).toBe(6);
    expect(await count(urlOf(a), a, 'app_users')).toBe(2);
    expect(await count(urlOf(b), b, 'activity_log')).toBe(10);
    expect(await count(urlOf(s, true), s, 'activity_log')).toBe(10);
    expect((await h.api('GET', '/v1/evidence/verify', { role: 'viewer' })).body).toMatchObject({ ok: true });

    // a shortens its telemetry: the next run says so, and deletes what is now expired (all of the
    // table, so only when forced past the guard).
    const shorter = await h.api('PUT', `/v1/tenants/${a}/retention`, {
      role: 'operator',
      body: { dataClasses: { telemetry: { days: 7 } } },
    });
    expect((await h.waitForOperation(shorter.body!.id as string)).status).toBe('succeeded');
    const next = await run({ tenants: [a], dataClasses: ['telemetry'], force: true });
    const part = next.parts.find((p) => p.tenantId === a)!;
    expect(part.policyShortened).toEqual([{ dataClass: 'telemetry', from: 30, to: 7 }]);
    expect(part.tables.map((t) => t.table)).toEqual(['activity_log']);
    expect(table(next, a, 'activity_log').deleted).toBe(10);
    expect(await count(urlOf(a), a, 'activity_log')).toBe(0);
  });

  it('keeps what a hold covers, deletes it once the hold is released, and both runs are in the ledger', async () => {
    const c = uniqueTenantId('ret-hold');
    expect((await h.onboard({ id: c, tier: 'basic' })).status).toBe('succeeded');
    let held = '';
    await seed(urlOf(c), c, async ({ user, documents, activity }) => {
      held = await user(1);
      await documents(4, 800);
      await documents(4, 10);
      await activity(3, 40, held);
      await activity(3, 40);
      await activity(8, 5);
    });
    const placed = await h.api('POST', `/v1/tenants/${c}/legal-holds`, {
      role: 'legal',
      body: { reason: 'case 42', dataClasses: ['content'], subjects: [held] },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);

    const first = await run({ tenants: [c] });
    expect(table(first, c, 'documents')).toMatchObject({ expired: 4, deleted: 0, skippedUnderHold: 4 });
    expect(table(first, c, 'activity_log')).toMatchObject({ expired: 6, deleted: 3, skippedUnderHold: 3 });
    expect(first.totals).toMatchObject({ deleted: 3, skippedUnderHold: 7 });
    expect(await count(urlOf(c), c, 'activity_log', `actor_id = '${held}'`)).toBe(3);
    expect(await count(urlOf(c), c, 'documents')).toBe(8);

    const released = await h.api('DELETE', `/v1/tenants/${c}/legal-holds/${placed.body!.id as string}`, {
      role: 'legal',
      body: { reason: 'case closed' },
    });
    expect(released.status).toBe(200);
    const second = await run({ tenants: [c] });
    expect(table(second, c, 'documents')).toMatchObject({ deleted: 4, skippedUnderHold: 0 });
    expect(table(second, c, 'activity_log')).toMatchObject({ deleted: 3, skippedUnderHold: 0 });
    expect(await count(urlOf(c), c, 'activity_log')).toBe(8);
    expect(await count(urlOf(c), c, 'documents')).toBe(4);
    const [before, after] = [await ledgerOf(first.id), await ledgerOf(second.id)];
    expect(ledgerRows(before, c, 'activity_log')).toBe(3);
    expect(ledgerRows(before, c, 'documents')).toBe(0);
    expect(ledgerRows(after, c, 'activity_log')).toBe(3);
    expect(ledgerRows(after, c, 'documents')).toBe(4);
  });

  it("sweeps a silo's storage folder by prefix: expired files go, a hold keeps them, and the ledger counts them", async () => {
    const f = uniqueTenantId('ret-files');
    expect((await h.onboard({ id: f, tier: 'premium' })).status).toBe('succeeded');
    const folder = localSiloFolder(localObjectsRoot(h.config.dataDir), region, f);
    /** A file the application wrote `ageDays` ago. */
    const put = (key: string, ageDays: number) => {
      const path = join(folder, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, key);
      const at = new Date(Date.now() - ageDays * 86_400_000);
      utimesSync(path, at, at);
    };
    const present = (key: string) => existsSync(join(folder, key));
    // Premium: content 730 days, telemetry 90, personal 1095; nothing outside a prefix expires.
    for (const key of ['attachments/2023/a.pdf', 'attachments/b.pdf', 'logs/old.log', 'unfiled/ancient.bin'])
      put(key, 800);
    for (const key of ['attachments/c.pdf', 'attachments/2026/d.pdf', 'logs/new.log', 'exports/x.csv'])
      put(key, 10);

    const dry = await run({ tenants: [f], dryRun: true });
    expect(table(dry, f, 'attachments/')).toMatchObject({ unit: 'objects', rows: 4, expired: 2, deleted: 2 });
    expect(present('attachments/b.pdf')).toBe(true);

    // A hold on one subject keeps every file: no file says whom it is about.
    const placed = await h.api('POST', `/v1/tenants/${f}/legal-holds`, {
      role: 'legal',
      body: { reason: 'case 7', subjects: ['someone'] },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const held = await run({ tenants: [f] });
    expect(table(held, f, 'attachments/')).toMatchObject({ expired: 2, deleted: 0, skippedUnderHold: 2 });
    expect(table(held, f, 'logs/')).toMatchObject({ expired: 1, deleted: 0, skippedUnderHold: 1 });
    expect(present('attachments/b.pdf') && present('logs/old.log')).toBe(true);
    expect(await ledgerOf(held.id, 'retention.objects')).toEqual([]);

    await h.api('DELETE', `/v1/tenants/${f}/legal-holds/${placed.body!.id as string}`, {
      role: 'legal',
      body: { reason: 'case closed' },
    });
    const real = await run({ tenants: [f] });
    expect(table(real, f, 'attachments/')).toMatchObject({
      unit: 'objects',
      dataClass: 'content',
      days: 730,
      rows: 4,
      expired: 2,
      deleted: 2,
      skippedUnderHold: 0,
      batches: 1,
    });
    expect(table(real, f, 'logs/')).toMatchObject({ dataClass: 'telemetry', days: 90, deleted: 1 });
    expect(table(real, f, 'exports/')).toMatchObject({ expired: 0, deleted: 0 });
    for (const key of ['attachments/2023/a.pdf', 'attachments/b.pdf', 'logs/old.log'])
      expect(present(key), key).toBe(false);
    for (const key of [
      'attachments/c.pdf',
      'attachments/2026/d.pdf',
      'logs/new.log',
      'exports/x.csv',
      'unfiled/ancient.bin',
    ])
      expect(present(key), key).toBe(true);
    const records = await ledgerOf(real.id, 'retention.objects');
    expect(records.map((r) => [r.target, r.count, r.unit]).sort()).toEqual([
      ['attachments/', 2, 'objects'],
      ['logs/', 1, 'objects'],
    ]);
    expect(records[0]).toMatchObject({ tenantId: f, region, requestedBy: expect.stringMatching(/^key_/) });
    expect(JSON.stringify(records)).not.toMatch(/\.pdf|\.log/);
    expect((await h.api('GET', '/v1/evidence/verify', { role: 'viewer' })).body).toMatchObject({ ok: true });
  });

  it('stops a table that would lose more than the guard allows, and deletes it when forced', async () => {
    const d = uniqueTenantId('ret-guard');
    expect((await h.onboard({ id: d, tier: 'basic' })).status).toBe('succeeded');
    await seed(urlOf(d), d, async ({ activity }) => {
      await activity(30, 40);
      await activity(10, 5);
    });
    const dry = await run({ tenants: [d], dryRun: true });
    expect(table(dry, d, 'activity_log')).toMatchObject({ expired: 30, deleted: 0, guard: 'tripped' });
    const guarded = await run({ tenants: [d] });
    expect(table(guarded, d, 'activity_log')).toMatchObject({ expired: 30, deleted: 0, guard: 'tripped' });
    expect(guarded.totals.guardTripped).toBe(1);
    expect(await count(urlOf(d), d, 'activity_log')).toBe(40);
    const forced = await run({ tenants: [d], force: true });
    expect(table(forced, d, 'activity_log')).toMatchObject({ expired: 30, deleted: 30, guard: 'forced' });
    expect(await count(urlOf(d), d, 'activity_log')).toBe(10);
  });

  it('runs a retention part and a tier move of the same tenant one after the other, both correct', async () => {
    const e = uniqueTenantId('ret-move');
    expect((await h.onboard({ id: e, tier: 'basic' })).status).toBe('succeeded');
    await seed(urlOf(e), e, async ({ activity }) => {
      await activity(5, 40);
      await activity(10, 5);
    });
    // Asked for together: each is an operation of the tenant's workflow, so one waits for the other.
    const [moved, swept] = await Promise.all([
      h.api('PATCH', `/v1/tenants/${e}`, { role: 'operator', body: { tier: 'premium' } }),
      run({ tenants: [e] }),
    ]);
    expect(moved.status, JSON.stringify(moved.body)).toBe(202);
    const move = await h.waitForOperation(moved.body!.id as string, 300_000);
    expect(move.status, JSON.stringify(move.error)).toBe('succeeded');
    const part = swept.parts.find((p) => p.tenantId === e)!;
    expect(part.status, part.reason).toBe('succeeded');
    const retention = (await h.api('GET', `/v1/operations/${part.operationId!}`)).body!;
    const span = (op: { steps: { startedAt?: string; finishedAt?: string }[] }) => [
      op.steps
        .map((s) => s.startedAt)
        .filter(Boolean)
        .sort()[0]!,
      op.steps
        .map((s) => s.finishedAt)
        .filter(Boolean)
        .sort()
        .at(-1)!,
    ];
    const [moveStart, moveEnd] = span(move);
    const [sweepStart, sweepEnd] = span(retention as never);
    const sweptFirst = sweepEnd <= moveStart;
    expect(
      sweptFirst || moveEnd <= sweepStart,
      `${sweepStart}–${sweepEnd} against ${moveStart}–${moveEnd}`,
    ).toBe(true);
    // In the pool (basic) 40 days of telemetry is expired; in the silo (premium: 90 days) it is not.
    const log = table(swept, e, 'activity_log');
    expect(log).toMatchObject(sweptFirst ? { days: 30, deleted: 5 } : { days: 90, deleted: 0 });
    expect(await count(urlOf(e, true), e, 'activity_log')).toBe(15 - log.deleted);
    expect(await count(urlOf(e), e, 'activity_log')).toBe(0);
  });

  // Last: the Schedule's runs go over every tenant of this file.
  it('has a Schedule once the worker made it, which fires, and pausing it stops runs', async () => {
    const { retention, taskQueues } = h.config;
    expect(await ensureRetentionSchedule(h.client, retention, taskQueues.lifecycle)).toBe('created');
    // A second worker starting changes nothing but brings it up to date.
    expect(await ensureRetentionSchedule(h.client, retention, taskQueues.lifecycle)).toBe('updated');
    const shown = await h.api('GET', '/v1/retention/schedule', { role: 'viewer' });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: 'landlord-retention',
      paused: false,
      spec: { cron: '0 2 * * *' },
      catchupWindow: '21600s',
    });
    const next = (shown.body!.nextActionTimes as string[])[0]!;
    expect(next).toMatch(/T02:00:00(\.000)?Z$/);

    const scheduledRuns = async () =>
      ((await h.api('GET', '/v1/retention/runs?limit=100')).body!.items as { id: string; trigger: string }[])
        .filter((r) => r.trigger === 'schedule')
        .map((r) => r.id);
    const waitForRuns = async (n: number) => {
      const deadline = Date.now() + 60_000;
      while ((await scheduledRuns()).length < n) {
        if (Date.now() > deadline) throw new Error(`fewer than ${n} scheduled runs after 60 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    // Fired by hand, as the operator's route does it: a run over every tenant, by the schedule.
    const fired = await h.api('POST', '/v1/retention/schedule/trigger', { role: 'operator', body: {} });
    expect(fired.status).toBe(200);
    await waitForRuns(1);
    const [first] = await scheduledRuns();
    expect(first).toMatch(/^landlord-retention-run-/);

    // Fired by its own spec: every 2 s (shorter than the config allows, for the test).
    await ensureRetentionSchedule(
      h.client,
      { ...retention, schedule: { every: '2s' } as never },
      taskQueues.lifecycle,
    );
    await waitForRuns(2);
    const paused = await h.api('POST', '/v1/retention/schedule/pause', {
      role: 'operator',
      body: { note: 'paused by the test' },
    });
    expect(paused.body).toMatchObject({ paused: true, note: 'paused by the test' });
    // A firing already under way may still land; after that, none.
    await new Promise((r) => setTimeout(r, 2_500));
    const settled = (await scheduledRuns()).length;
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await scheduledRuns()).length).toBe(settled);
    const runs = (await h.api('GET', '/v1/retention/runs?limit=100')).body!.items as { status: string }[];
    expect(runs.every((r) => r.status !== 'failed')).toBe(true);
  });
});
