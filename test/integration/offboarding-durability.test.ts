/**
 * An offboarding whose data worker is SIGKILLed during the export and again during the final
 * deletion: the operation completes on the worker started after it, one export exists and no
 * partial file is left, every row is deleted once, and each batch is in the ledger once.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../dataplane/connection.js';
import type { LedgerRecord, OperationSnapshot } from '../../domain/index.js';
import { PROJECT_ROOT } from '../../config/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

const ROWS = 60_000;

describe('an offboarding whose data worker is killed', () => {
  let h: Harness;
  let configDir: string;
  beforeAll(async () => {
    // Tiny batches (a 5 ms lock budget), so the deletion is still going when the worker dies.
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

  const step = async (opId: string, name: string) => {
    const op = (await h.api('GET', `/v1/operations/${opId}`)).body as unknown as OperationSnapshot;
    return { op, step: op.steps.find((s) => s.name === name)! };
  };

  it('completes, exports once, deletes every row once and records each batch once', async () => {
    const id = uniqueTenantId('off-kill');
    expect((await h.onboard({ id, tier: 'basic' })).status).toBe('succeeded');
    const pool = h.directory.databaseUrl('local-a');
    const count = () =>
      withClient(pool, async (c) => {
        const { rows } = await c.query('SELECT count(*)::int AS n FROM activity_log WHERE tenant_id = $1', [
          id,
        ]);
        return rows[0].n as number;
      });
    await withClient(pool, async (c) => {
      await c.query(
        `INSERT INTO activity_log (tenant_id, action) SELECT $1, repeat('x', 200) FROM generate_series(1, $2)`,
        [id, ROWS],
      );
    });
    const adminUsers = await withClient(
      pool,
      async (c) =>
        (await c.query('SELECT count(*)::int AS n FROM app_users WHERE tenant_id = $1', [id])).rows[0].n,
    );
    const env = { LANDLORD_CONFIG_DIR: configDir };
    let worker = await h.spawnWorkerProcess('data', env);
    const asked = await h.api('POST', `/v1/tenants/${id}/offboard`, {
      role: 'admin',
      body: { reason: 'contract ended', graceDays: 0 },
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const opId = asked.body!.id as string;
    const exportsDir = join(h.config.dataDir, 'exports', id);

    // Killed while the export is being written.
    let deadline = Date.now() + 60_000;
    for (;;) {
      const { step: exporting } = await step(opId, 'export');
      if (exporting.status === 'running' && existsSync(exportsDir) && readdirSync(exportsDir).length > 0)
        break;
      if (exporting.status === 'succeeded')
        throw new Error('the export finished before the worker could be killed');
      if (Date.now() > deadline) throw new Error('the export did not start within 60 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    await Harness.kill(worker);
    worker = await h.spawnWorkerProcess('data', env);

    // Killed again once the deletion has committed some batches.
    deadline = Date.now() + 120_000;
    for (;;) {
      const left = await count();
      if (left < ROWS - 1_000 && left > 0) break;
      if (left === 0) throw new Error('the deletion finished before the worker could be killed');
      if (Date.now() > deadline) throw new Error('the deletion did not start within 120 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    await Harness.kill(worker);
    const leftWhenKilled = await count();
    worker = await h.spawnWorkerProcess('data', env);

    const done = await h.waitForOperation(opId, 240_000);
    await Harness.kill(worker);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(leftWhenKilled).toBeGreaterThan(0);
    expect(await count()).toBe(0);

    // One export, verified, and no partial file beside it.
    const exports = (await h.api('GET', `/v1/tenants/${id}/exports`)).body!.items as { id: string }[];
    expect(exports).toHaveLength(1);
    expect(readdirSync(exportsDir).filter((f) => !f.startsWith(exports[0]!.id))).toEqual([]);

    // The ledger: each batch once, and together exactly the rows there were.
    const records: LedgerRecord[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = (await h.api('GET', `/v1/evidence?kind=offboard.delete&limit=500&afterSeq=${afterSeq}`))
        .body!;
      records.push(...(page.items as LedgerRecord[]).filter((r) => r.operationId === opId));
      if (!page.nextAfterSeq) break;
      afterSeq = page.nextAfterSeq as number;
    }
    expect(new Set(records.map((r) => r.recordKey)).size).toBe(records.length);
    const byTable = (t: string) => records.filter((r) => r.target === t).reduce((n, r) => n + r.count, 0);
    expect(byTable('activity_log')).toBe(ROWS);
    expect(byTable('app_users')).toBe(adminUsers);
    expect((await h.api('GET', '/v1/evidence/verify')).body).toMatchObject({ ok: true });
  }, 420_000);
});
