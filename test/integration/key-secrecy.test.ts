/**
 * A tenant's data key in plaintext exists only in the memory of the process using it. Through a
 * tenant's whole life (onboarding, an erasure, an export and its download, offboarding with the key
 * destroyed), run by worker processes logging at debug level, the key is searched for, as hex and
 * base64, in all four places it must never reach: the registry, the API's answers, the processes'
 * log lines, and the workflow histories.
 */
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantKeyringFrom } from '../../activities/keys/index.js';
import { withClient } from '../../dataplane/connection.js';
import type { OperationSnapshot } from '../../domain/index.js';
import { tenantWorkflowId } from '../../workflows/definitions.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { testStack } from '../support/stack.js';

/** Every string in a value, and each byte array as UTF-8 and as base64 (history payloads are bytes). */
function strings(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 64 || value === null || value === undefined) return out;
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value);
    out.push(bytes.toString('utf8'), bytes.toString('base64'));
  } else if (Array.isArray(value)) for (const v of value) strings(v, out, depth + 1);
  else if (typeof value === 'object') for (const v of Object.values(value)) strings(v, out, depth + 1);
  return out;
}

describe("a tenant's data key", () => {
  let h: Harness;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    h = await Harness.create({ noWorker: true });
    const env = { LANDLORD_LOG_LEVEL: 'debug' };
    workers.push(await h.spawnWorkerProcess('lifecycle', env), await h.spawnWorkerProcess('data', env));
  });
  afterAll(async () => {
    for (const w of workers) await Harness.kill(w);
    await h?.close();
  });

  it('never reaches the registry, an API answer, a log line or a workflow history in plaintext', async () => {
    const answers: string[] = [];
    const api = async (...args: Parameters<Harness['api']>) => {
      const res = await h.api(...args);
      answers.push(JSON.stringify(res.body ?? null), JSON.stringify([...res.headers]));
      return res;
    };
    const waitFor = async (opId: string) => {
      const op = await h.waitForOperation(opId, 120_000);
      answers.push(JSON.stringify(op));
      return op;
    };
    const id = uniqueTenantId('key-secret');
    const onboarded = await api('POST', '/v1/tenants', {
      role: 'sales',
      body: { id, name: `Tenant ${id}`, tier: 'basic', region: 'local-a', adminEmail: `a@${id}.test` },
    });
    expect((await waitFor(onboarded.body!.id as string)).status).toBe('succeeded');
    const keyring = await tenantKeyringFrom({ store: h.store.tenantKeys, secret: testStack().secret });
    const { key } = await keyring.open(id);
    const forms = [key.toString('hex'), key.toString('base64'), key.toString('base64url')];
    const holds = (text: string) => forms.some((f) => text.includes(f));
    // The search finds the key where it is.
    expect(holds(JSON.stringify({ data: Buffer.from(key).toString('base64') }))).toBe(true);
    expect(holds(strings({ payload: new Uint8Array(key) }).join('\n'))).toBe(true);

    const subject = randomUUID();
    await withClient(h.directory.databaseUrl('local-a'), (c) =>
      c.query(`INSERT INTO app_users (tenant_id, id, email) VALUES ($1, $2, 'p@x.test')`, [id, subject]),
    );
    const erasure = await api('POST', `/v1/tenants/${id}/erasures`, {
      role: 'legal',
      body: { subject, reason: 'Art. 17' },
    });
    expect((await waitFor(erasure.body!.id as string)).status).toBe('succeeded');
    await api('GET', `/v1/tenants/${id}/erasures`);

    // Offboarded behind a hold, so that the export can be downloaded before the key goes.
    const hold = await api('POST', `/v1/tenants/${id}/legal-holds`, {
      role: 'legal',
      body: { reason: 'audit' },
    });
    const offboard = await api('POST', `/v1/tenants/${id}/offboard`, {
      role: 'admin',
      body: { reason: 'ended', graceDays: 0 },
    });
    const opId = offboard.body!.id as string;
    for (let look = 0; ; look++) {
      const op = (await api('GET', `/v1/operations/${opId}`)).body as unknown as OperationSnapshot;
      if (op.steps.find((s) => s.name === 'check-holds')?.status === 'blocked-by-hold') break;
      if (look > 1200) throw new Error(`not waiting for the hold: ${JSON.stringify(op)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const exports = await api('GET', `/v1/tenants/${id}/exports`);
    const exportId = (exports.body!.items as { id: string }[])[0]!.id;
    const download = await fetch(`${h.baseUrl}/v1/tenants/${id}/exports/${exportId}`, {
      headers: { authorization: `Bearer ${h.keys.get('admin')}` },
    });
    expect(download.status).toBe(200);
    const archive = Buffer.from(await download.arrayBuffer());
    answers.push(archive.toString('utf8'), archive.toString('base64'));
    await api('DELETE', `/v1/tenants/${id}/legal-holds/${hold.body!.id}`, {
      role: 'legal',
      body: { reason: 'done' },
    });
    expect((await waitFor(opId)).status).toBe('succeeded');
    await api('GET', `/v1/tenants/${id}`);
    await api('GET', `/v1/evidence?tenant=${id}`);

    // 1. The registry: every row of every table, as text.
    const { rows: tables } = await h.store.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'registry_migrations'`,
    );
    let registry = '';
    for (const { name } of tables) {
      const { rows } = await h.store.pool
        .query(`SELECT t::text AS row FROM "${name}" t`)
        .catch(() => ({ rows: [] }));
      registry += rows.map((r: { row: string }) => r.row).join('\n');
    }
    expect(tables.map((t) => t.name)).toContain('tenant_keys');
    expect(registry).toContain(id);
    expect(holds(registry), 'the registry').toBe(false);

    // 2. The API's answers.
    expect(answers.join('\n')).toContain(exportId);
    expect(holds(answers.join('\n')), 'an API answer').toBe(false);

    // 3. The worker processes' log lines (debug level).
    const logs = workers.map((w) => h.outputOf(w)).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(holds(logs), 'a log line').toBe(false);

    // 4. The workflow histories: the tenant's workflow and every operation's.
    const ids = [tenantWorkflowId(id), ...(await h.store.operations.listForTenant(id)).map((o) => o.id)];
    let histories = '';
    for (const workflowId of ids)
      histories += strings(await h.client.workflow.getHandle(workflowId).fetchHistory()).join('\n');
    expect(histories).toContain(exportId);
    expect(holds(histories), 'a workflow history').toBe(false);
  }, 300_000);
});
