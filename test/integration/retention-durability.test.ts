/**
 * A data worker SIGKILLed in the middle of a retention part: the run completes on another worker,
 * every expired row is gone exactly once, and the ledger holds each batch once, with the counts
 * adding up and the chain verifying.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../dataplane/connection.js';
import type { LedgerRecord } from '../../domain/index.js';
import { PROJECT_ROOT } from '../../config/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

describe('a retention run whose data worker is killed', () => {
  let h: Harness;
  let configDir: string;
  beforeAll(async () => {
    // Tiny batches (a 5 ms lock budget), so the part is still deleting when the worker dies.
    configDir = mkdtempSync(join(tmpdir(), 'landlord-config-'));
    cpSync(join(PROJECT_ROOT, 'config'), configDir, { recursive: true });
    const file = join(configDir, 'retention.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), lockBudgetMs: 5 }));
    h = await Harness.create({});
  });
  afterAll(async () => {
    await h?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('completes, deletes every expired row once, and records each batch once', async () => {
    const id = uniqueTenantId('ret-kill');
    expect((await h.onboard({ id, tier: 'basic' })).status).toBe('succeeded');
    const pool = h.directory.databaseUrl('local-a');
    const count = (where: string) =>
      withClient(pool, async (c) => {
        const { rows } = await c.query(
          `SELECT count(*)::int AS n FROM activity_log WHERE tenant_id = $1 AND ${where}`,
          [id],
        );
        return rows[0].n as number;
      });
    await withClient(pool, async (c) => {
      await c.query(
        `INSERT INTO activity_log (tenant_id, action, occurred_at)
         SELECT $1, 'old', now() - interval '40 days' FROM generate_series(1, 20000)`,
        [id],
      );
      await c.query(
        `INSERT INTO activity_log (tenant_id, action, occurred_at)
         SELECT $1, 'young', now() - interval '1 day' FROM generate_series(1, 20001)`,
        [id],
      );
    });
    const env = { LANDLORD_CONFIG_DIR: configDir };
    let worker = await h.spawnWorkerProcess('data', env);
    const started = await h.api('POST', '/v1/retention/runs', { role: 'operator', body: { tenants: [id] } });
    expect(started.status).toBe(202);
    const runId = started.body!.id as string;
    // Killed once some batches have committed and many remain.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const old = await count(`action = 'old'`);
      if (old < 19_000) {
        expect(old).toBeGreaterThan(1_000);
        break;
      }
      if (Date.now() > deadline) throw new Error('the part deleted nothing within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    await Harness.kill(worker);
    const leftWhenKilled = await count(`action = 'old'`);
    worker = await h.spawnWorkerProcess('data', env);

    const end = Date.now() + 240_000;
    let run: Record<string, unknown>;
    for (;;) {
      run = (await h.api('GET', `/v1/retention/runs/${runId}`)).body!;
      if (run.status !== 'running') break;
      if (Date.now() > end) throw new Error(`the run did not end: ${JSON.stringify(run)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await Harness.kill(worker);
    expect(run.status).toBe('succeeded');
    const parts = run.parts as {
      status: string;
      tables: { table: string; deleted: number; batches: number }[];
    }[];
    expect(parts[0]!.status).toBe('succeeded');
    const log = parts[0]!.tables.find((t) => t.table === 'activity_log')!;
    expect(await count(`action = 'old'`)).toBe(0);
    expect(await count(`action = 'young'`)).toBe(20_001);
    expect(leftWhenKilled).toBeGreaterThan(0);

    // The ledger: each batch once (no record key twice), and together exactly the rows deleted.
    const records: LedgerRecord[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = (await h.api('GET', `/v1/evidence?tenant=${id}&limit=500&afterSeq=${afterSeq}`)).body!;
      records.push(...(page.items as LedgerRecord[]));
      if (!page.nextAfterSeq) break;
      afterSeq = page.nextAfterSeq as number;
    }
    const mine = records.filter((r) => r.runId === runId && r.target === 'activity_log');
    expect(new Set(mine.map((r) => r.recordKey)).size).toBe(mine.length);
    expect(mine.reduce((n, r) => n + r.count, 0)).toBe(20_000);
    // The part's report counts from the batches' evidence, so the interruption does not skew it.
    expect(log).toMatchObject({ expired: 20_000, deleted: 20_000, batches: mine.length });
    expect((await h.api('GET', '/v1/evidence/verify')).body).toMatchObject({ ok: true });
  }, 360_000);
});
