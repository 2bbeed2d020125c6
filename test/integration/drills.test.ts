/**
 * DR drills on the real stack, with the data worker in a process of its own: a drill restores the
 * tenant's latest backup into a drill copy on its DR partner's server, verifies it, records its
 * measured RTO and RPO, and drops the copy; the tenant's rows are untouched and no database or
 * role is left on any server, also when the data worker is SIGKILLed in the middle of the copy.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillTag } from '../../activities/backups/scratch-database.js';
import { withClient } from '../../dataplane/connection.js';
import type { OperationSnapshot } from '../../domain/index.js';
import { Harness, uniqueTenantId } from '../support/harness.js';

describe('drills', () => {
  let h: Harness;
  let worker: ChildProcess;
  beforeAll(async () => {
    h = await Harness.create({});
    worker = await h.spawnWorkerProcess('data');
  });
  afterAll(async () => {
    await h?.close();
  });

  const regions = ['local-a', 'local-b'];
  /** Every database and role on every region's server: what a drill must leave as it found. */
  const serverObjects = async () => {
    const out: Record<string, { databases: string[]; roles: string[] }> = {};
    for (const region of regions)
      out[region] = await withClient(h.directory.serverDatabaseUrl(region, 'postgres'), async (c) => ({
        databases: (await c.query<{ n: string }>('SELECT datname AS n FROM pg_database ORDER BY 1')).rows.map(
          (r) => r.n,
        ),
        roles: (await c.query<{ n: string }>('SELECT rolname AS n FROM pg_roles ORDER BY 1')).rows.map(
          (r) => r.n,
        ),
      }));
    return out;
  };
  const tenantRows = (id: string) =>
    withClient(h.directory.databaseUrl('local-a'), async (c) => {
      const { rows } = await c.query<{ n: string; s: string }>(
        `SELECT count(*) AS n, md5(string_agg(id::text || action, ',' ORDER BY id)) AS s
           FROM activity_log WHERE tenant_id = $1`,
        [id],
      );
      return rows[0];
    });

  /** A pool tenant with rows enough that restoring its backup takes a moment, backed up. */
  async function backedUpTenant(rows: number): Promise<string> {
    const id = uniqueTenantId('drill');
    expect((await h.onboard({ id })).status).toBe('succeeded');
    await withClient(h.directory.databaseUrl('local-a'), (c) =>
      c.query(
        `INSERT INTO activity_log (tenant_id, action) SELECT $1, 'act ' || i FROM generate_series(1, $2::int) AS i`,
        [id, rows],
      ),
    );
    const asked = await h.api('POST', `/v1/tenants/${id}/backups`, { role: 'operator' });
    const done = await h.waitForOperation(asked.body!.id as string, 120_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    return id;
  }

  it('drills a tenant into a copy in its DR partner region, measures it, and leaves nothing behind', async () => {
    const id = await backedUpTenant(2_000);
    const before = await serverObjects();
    const rowsBefore = await tenantRows(id);
    const asked = await h.api('POST', `/v1/tenants/${id}/drills`, { role: 'operator' });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const done = await h.waitForOperation(asked.body!.id as string, 180_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ['pick-backup', 'succeeded'],
      ['restore-copy', 'succeeded'],
      ['destroy-copy', 'succeeded'],
    ]);
    const result = done.result as {
      region: string;
      tables: { name: string; rows: number }[];
      measured: { rtoMs: number; rpoMs: number; rtoMet: boolean; rpoMet: boolean };
    };
    expect(result.region).toBe('local-b');
    expect(result.tables.find((t) => t.name === 'activity_log')?.rows).toBe(2_000);
    expect(result.measured.rtoMs).toBeGreaterThan(0);
    expect(result.measured.rpoMs).toBeGreaterThan(0);
    expect(result.measured).toMatchObject({ rtoMet: true, rpoMet: true });
    // Production untouched, and no copy, database or role left anywhere.
    expect(await tenantRows(id)).toEqual(rowsBefore);
    expect(await serverObjects()).toEqual(before);
    const dr = await h.api('GET', `/v1/tenants/${id}/dr`, { role: 'operator' });
    expect(dr.body).toMatchObject({ lastRecovery: { kind: 'drill', operationId: done.id } });
  });

  it('drops the copy a SIGKILLed data worker was making, and still finishes the drill', async () => {
    const id = await backedUpTenant(300_000);
    const before = await serverObjects();
    const rowsBefore = await tenantRows(id);
    const asked = await h.api('POST', `/v1/tenants/${id}/drills`, { role: 'operator' });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const opId = asked.body!.id as string;
    // Kill the worker as soon as the drill's copy exists on the partner's server.
    const tag = drillTag(opId);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const copies = await withClient(h.directory.serverDatabaseUrl('local-b', 'postgres'), async (c) =>
        (await c.query<{ n: string }>('SELECT datname AS n FROM pg_database')).rows.filter((r) =>
          r.n.endsWith(`_${tag}`),
        ),
      );
      if (copies.length > 0) break;
      const op = (await h.api('GET', `/v1/operations/${opId}`)).body as unknown as OperationSnapshot;
      if (op.status !== 'running') throw new Error(`the drill ended (${op.status}) before its copy was seen`);
      if (Date.now() > deadline) throw new Error('the drill made no copy within a minute');
      await new Promise((r) => setTimeout(r, 10));
    }
    await Harness.kill(worker);
    worker = await h.spawnWorkerProcess('data');
    const done = await h.waitForOperation(opId, 300_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.find((s) => s.name === 'restore-copy')?.attempts).toBeGreaterThanOrEqual(1);
    expect(done.result).toMatchObject({ measured: { rtoMet: true } });
    expect(await tenantRows(id)).toEqual(rowsBefore);
    expect(await serverObjects()).toEqual(before);
  }, 400_000);
});
