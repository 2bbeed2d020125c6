/**
 * What every Registry must do, whatever holds it: run against the in-memory registry as a unit
 * test (test/unit/registry.test.ts) and against Postgres (test/integration/registry.test.ts), so
 * the fake the API tests run on cannot drift from the real one.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry, OperationSnapshot, TenantRecord } from '../../domain/index.js';
import type { IdempotencySettings, Registry } from '../../registry/index.js';

/** A registry to test: fresh (empty), with the idempotency settings given. */
export type MakeRegistry = (idempotency: IdempotencySettings) => Promise<{
  registry: Registry;
  /** Changes a ledger record's count behind the registry's back, as someone with superuser rights could. */
  tamperLedger(seq: number, count: number): Promise<void>;
  close(): Promise<void>;
}>;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const suffix = () => randomBytes(3).toString('hex');

const tenant = (id: string, change: Partial<TenantRecord> = {}): TenantRecord => ({
  id,
  name: `Tenant ${id}`,
  tier: 'basic',
  region: 'local-a',
  deploymentModel: 'pool',
  status: 'active',
  adminEmail: 'a@b.test',
  features: {},
  labels: {},
  resources: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
  ...change,
});

const operation = (
  id: string,
  tenantId: string,
  change: Partial<OperationSnapshot> = {},
): OperationSnapshot => ({
  id,
  tenantId,
  kind: 'suspend',
  status: 'running',
  run: 1,
  steps: [
    { name: 'disable-role', status: 'running', attempts: 1 },
    { name: 'record-status', status: 'pending', attempts: 0 },
  ],
  actor: { principal: 'key_1', role: 'operator', requestId: 'r1' },
  input: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
  ...change,
});

export function registryContract(name: string, make: MakeRegistry): void {
  describe(`${name}: the Registry contract`, () => {
    let registry: Registry;
    let close: () => Promise<void>;
    let tamperLedger: (seq: number, count: number) => Promise<void>;
    beforeAll(async () => {
      ({ registry, close, tamperLedger } = await make({ ttlMs: 300, inFlightStaleMs: 150 }));
    }, 60_000);
    afterAll(async () => {
      await close?.();
    });

    it('keeps the newest version of a tenant, and its first creation time', async () => {
      const id = `ten-${suffix()}`;
      await registry.tenants.upsert(tenant(id, { version: 2, status: 'suspended' }));
      await registry.tenants.upsert(tenant(id, { version: 1, status: 'active' }));
      expect((await registry.tenants.get(id))?.status).toBe('suspended');
      await registry.tenants.upsert(
        tenant(id, { version: 3, tier: 'premium', createdAt: '2030-01-01T00:00:00.000Z' }),
      );
      expect(await registry.tenants.get(id)).toMatchObject({
        tier: 'premium',
        version: 3,
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      expect(await registry.tenants.get(`absent-${suffix()}`)).toBeUndefined();
      // What a caller does to a record it got changes nothing stored.
      const got = (await registry.tenants.get(id))!;
      got.labels.x = 'y';
      expect((await registry.tenants.get(id))!.labels).toEqual({});
    });

    it('pages through tenants in creation order, filtered, each exactly once', async () => {
      const region = `region-${suffix()}`;
      const ids = Array.from({ length: 7 }, (_, i) => `page-${i}-${suffix()}`);
      // Two share a creation time: the id orders them.
      const times = ['01', '02', '02', '03', '04', '05', '06'];
      for (const [i, id] of ids.entries())
        await registry.tenants.upsert(
          tenant(id, {
            region,
            createdAt: `2026-02-${times[i]}T00:00:00.123Z`,
            status: i === 3 ? 'suspended' : 'active',
          }),
        );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await registry.tenants.list({ region, limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((t) => t.id));
        cursor = page.nextCursor;
      } while (cursor);
      const expected = [ids[0], ...[ids[1], ids[2]].sort(), ...ids.slice(3)];
      expect(seen).toEqual(expected);
      const suspended = await registry.tenants.list({ region, status: 'suspended', limit: 10 });
      expect(suspended.items.map((t) => t.id)).toEqual([ids[3]]);
      expect(suspended.nextCursor).toBeUndefined();
      expect((await registry.tenants.list({ region, tier: 'premium', limit: 10 })).items).toEqual([]);
    });

    it('lists operations across tenants by status, waiting for approval among them, most recently changed first', async () => {
      const tenantId = `listed-${suffix()}`;
      const approval = {
        required: 1,
        timeoutAt: '2099-01-01T00:00:00.000Z',
        decisions: [
          {
            decision: 'approved' as const,
            principal: 'key_2',
            role: 'admin',
            requestId: 'r2',
            comment: 'looks right',
            at: '2099-01-01T00:00:00.000Z',
          },
        ],
      };
      const waiting = operation(`op-${suffix()}`, tenantId, {
        kind: 'backup',
        updatedAt: '2099-01-02T00:00:00.000Z',
        steps: [{ name: 'approval', status: 'waiting-approval', attempts: 1 }],
        approval: { ...approval, decisions: [] },
      });
      const later = operation(`op-${suffix()}`, tenantId, {
        kind: 'backup',
        updatedAt: '2099-01-03T00:00:00.000Z',
        steps: [{ name: 'approval', status: 'waiting-approval', attempts: 1 }],
        approval,
      });
      const done = operation(`op-${suffix()}`, tenantId, {
        status: 'failed',
        updatedAt: '2099-01-04T00:00:00.000Z',
        steps: [{ name: 'approval', status: 'failed', attempts: 1 }],
      });
      for (const op of [waiting, later, done]) await registry.operations.upsert(op);
      const mine = (ops: OperationSnapshot[]) => ops.filter((o) => o.tenantId === tenantId).map((o) => o.id);
      expect(mine(await registry.operations.list({ status: 'waiting-approval', limit: 1000 }))).toEqual([
        later.id,
        waiting.id,
      ]);
      expect(await registry.operations.list({ status: 'waiting-approval', tenantId, limit: 1 })).toEqual([
        later,
      ]);
      expect(mine(await registry.operations.list({ status: 'failed', tenantId, limit: 10 }))).toEqual([
        done.id,
      ]);
      expect(mine(await registry.operations.list({ tenantId, limit: 10 }))).toEqual([
        done.id,
        later.id,
        waiting.id,
      ]);
      expect(await registry.operations.list({ tenantId, kind: 'suspend', limit: 10 })).toEqual([done]);
      // Decided: no longer waiting.
      await registry.operations.upsert({
        ...later,
        version: 2,
        steps: [{ name: 'approval', status: 'succeeded', attempts: 1 }],
      });
      expect(
        mine(await registry.operations.list({ status: 'waiting-approval', tenantId, limit: 10 })),
      ).toEqual([waiting.id]);
    });

    it('keeps the newest operation snapshot, never changes what was asked, and shows live attempts and progress', async () => {
      const tenantId = `ops-${suffix()}`;
      const id = `op-${suffix()}`;
      await registry.operations.upsert(operation(id, tenantId, { input: { reason: 'first' } }));
      await registry.operations.upsert(
        operation(id, tenantId, { version: 2, input: { reason: 'changed' }, kind: 'resume' }),
      );
      await registry.operations.upsert(operation(id, tenantId, { version: 1, status: 'failed' }));
      expect(await registry.operations.get(id)).toMatchObject({
        version: 2,
        status: 'running',
        kind: 'suspend',
        input: { reason: 'first' },
      });
      const error = { type: 'Transient', message: 'server closed the connection' };
      await registry.operations.recordStepFailure(id, 1, 'disable-role', 1, error);
      await registry.operations.recordStepFailure(id, 1, 'disable-role', 1, error);
      await registry.operations.recordStepProgress(id, 1, 'disable-role', {
        done: 1,
        total: 3,
        current: 'x',
      });
      // A pending step shows neither.
      await registry.operations.recordStepProgress(id, 1, 'record-status', { done: 9, total: 9 });
      const live = (await registry.operations.get(id))!;
      expect(live.steps[0]).toMatchObject({
        attempts: 2,
        error,
        progress: { done: 1, total: 3, current: 'x' },
      });
      expect(live.steps[1]).toEqual({ name: 'record-status', status: 'pending', attempts: 0 });
      await registry.operations.upsert(
        operation(id, tenantId, {
          version: 3,
          status: 'succeeded',
          steps: [{ name: 'disable-role', status: 'succeeded', attempts: 2 }],
          createdAt: '2026-01-02T00:00:00.000Z',
        }),
      );
      expect((await registry.operations.get(id))!.steps).toEqual([
        { name: 'disable-role', status: 'succeeded', attempts: 2 },
      ]);
      const later = `op-${suffix()}`;
      await registry.operations.upsert(operation(later, tenantId, { createdAt: '2026-03-01T00:00:00.000Z' }));
      expect((await registry.operations.listForTenant(tenantId)).map((o) => o.id)).toEqual([id, later]);
      expect(await registry.operations.get(`op-absent-${suffix()}`)).toBeUndefined();
    });

    it('appends each audit event once and finds it by tenant, by none, by action, actor, outcome and time', async () => {
      const t = `aud-${suffix()}`;
      const actor = `key_${suffix()}`;
      const base = { actor, outcome: 'succeeded' };
      await registry.audit.append({ ...base, eventKey: `${t}:1`, tenantId: t, action: 'tenant.suspend' });
      await registry.audit.append({ ...base, eventKey: `${t}:1`, tenantId: t, action: 'tenant.suspend' });
      await registry.audit.append({
        ...base,
        eventKey: `${t}:2`,
        action: 'api-key.create',
        detail: { k: 1 },
      });
      await registry.audit.append({
        ...base,
        eventKey: `${t}:3`,
        tenantId: t,
        action: 'tenant.resume',
        outcome: 'failed',
      });
      const mine = await registry.audit.list({ actor, limit: 10 });
      expect(mine.map((e) => e.action)).toEqual(['tenant.suspend', 'api-key.create', 'tenant.resume']);
      expect(mine[0]!.seq).toBeLessThan(mine[1]!.seq);
      expect(mine[1]).toMatchObject({ detail: { k: 1 } });
      expect(mine[1]!.tenantId).toBeUndefined();
      expect(mine[0]!.detail).toEqual({});
      expect((await registry.audit.list({ actor, tenantId: t, limit: 10 })).map((e) => e.action)).toEqual([
        'tenant.suspend',
        'tenant.resume',
      ]);
      expect((await registry.audit.list({ actor, tenantId: null, limit: 10 })).map((e) => e.action)).toEqual([
        'api-key.create',
      ]);
      expect((await registry.audit.list({ actor, action: 'tenant.resume', limit: 10 })).length).toBe(1);
      expect((await registry.audit.list({ actor, outcome: 'failed', limit: 10 })).length).toBe(1);
      const paged = await registry.audit.list({ actor, afterSeq: mine[0]!.seq, limit: 1 });
      expect(paged.map((e) => e.seq)).toEqual([mine[1]!.seq]);
      const at = mine[0]!.at;
      expect((await registry.audit.list({ actor, since: at, limit: 10 })).length).toBe(3);
      expect((await registry.audit.list({ actor, until: at, limit: 10 })).length).toBe(0);
      expect(
        (await registry.audit.list({ actor, since: '2999-01-01T00:00:00.000Z', limit: 10 })).length,
      ).toBe(0);
    });

    it('authenticates by secret only while a key is active, and revokes once', async () => {
      const { key, secret } = await registry.apiKeys.create({
        name: 'ci',
        role: 'operator',
        createdBy: 'test',
      });
      expect(key).toMatchObject({ name: 'ci', role: 'operator', createdBy: 'test' });
      expect(JSON.stringify(key)).not.toContain(secret);
      expect((await registry.apiKeys.authenticate(secret))?.id).toBe(key.id);
      expect(await registry.apiKeys.authenticate(`${secret}x`)).toBeUndefined();
      expect((await registry.apiKeys.list()).find((k) => k.id === key.id)?.lastUsedAt).toBeDefined();
      expect(JSON.stringify(await registry.apiKeys.list())).not.toContain(secret);
      expect(await registry.apiKeys.revoke(key.id)).toBe('revoked');
      expect(await registry.apiKeys.revoke(key.id)).toBe('already');
      expect(await registry.apiKeys.revoke(`key_absent${suffix()}`)).toBe('unknown');
      expect(await registry.apiKeys.authenticate(secret)).toBeUndefined();
      const adminId = `key_admin_${suffix()}`;
      await registry.apiKeys.ensureAdmin(adminId, 'first-secret-of-the-admin-key');
      await registry.apiKeys.revoke(adminId);
      await registry.apiKeys.ensureAdmin(adminId, 'second-secret-of-the-admin-key');
      expect(await registry.apiKeys.authenticate('first-secret-of-the-admin-key')).toBeUndefined();
      expect((await registry.apiKeys.authenticate('second-secret-of-the-admin-key'))?.role).toBe('admin');
      expect(await registry.apiKeys.hasActiveAdmin()).toBe(true);
    });

    it('answers an Idempotency-Key with its first response, and forgets lost and expired claims', async () => {
      const who = `key_${suffix()}`;
      expect(await registry.idempotency.begin(who, 'k1', 'hash-a')).toEqual({ state: 'new' });
      expect(await registry.idempotency.begin(who, 'k1', 'hash-a')).toEqual({ state: 'in-flight' });
      expect(await registry.idempotency.begin(who, 'k1', 'hash-b')).toEqual({ state: 'mismatch' });
      await registry.idempotency.complete(who, 'k1', 202, { location: '/x' }, { id: 'op-1' });
      expect(await registry.idempotency.begin(who, 'k1', 'hash-a')).toEqual({
        state: 'replay',
        status: 202,
        headers: { location: '/x' },
        body: { id: 'op-1' },
      });
      // Another principal's key of the same name is its own.
      expect(await registry.idempotency.begin(`${who}-other`, 'k1', 'hash-b')).toEqual({ state: 'new' });

      // Abandoned: the client may try again.
      expect(await registry.idempotency.begin(who, 'k2', 'hash-a')).toEqual({ state: 'new' });
      await registry.idempotency.abandon(who, 'k2');
      expect(await registry.idempotency.begin(who, 'k2', 'hash-b')).toEqual({ state: 'new' });

      // Left in flight past inFlightStaleMs: the same request may claim it again, another may not.
      expect(await registry.idempotency.begin(who, 'k3', 'hash-a')).toEqual({ state: 'new' });
      await pause(200);
      expect(await registry.idempotency.begin(who, 'k3', 'hash-b')).toEqual({ state: 'mismatch' });
      expect(await registry.idempotency.begin(who, 'k3', 'hash-a')).toEqual({ state: 'new' });

      // Completed more than ttlMs ago: forgotten, whatever the request; then purged.
      await pause(350);
      expect(await registry.idempotency.begin(who, 'k1', 'hash-c')).toEqual({ state: 'new' });
      await registry.idempotency.complete(who, 'k1', 201, {}, {});
      await registry.idempotency.complete(who, 'k3', 202, {}, {});
      await pause(350);
      expect(await registry.idempotency.purgeExpired(1)).toBe(1);
      expect(await registry.idempotency.purgeExpired()).toBe(1);
      expect(await registry.idempotency.purgeExpired()).toBe(0);
      expect(await registry.idempotency.begin(who, 'k3', 'hash-z')).toEqual({ state: 'new' });
    });

    it('wakes a wait for an operation as soon as it ends, and ends a wait that is aborted or on nothing', async () => {
      const id = `op-wait-${suffix()}`;
      await registry.operations.upsert(operation(id, 'wait-co'));
      // Were the end not noticed, the 60 s wait would outlast the test's 15 s.
      const waited = registry.operations.waitUntilEnded(id, 60_000);
      await pause(100);
      await registry.operations.upsert(operation(id, 'wait-co', { version: 2, status: 'succeeded' }));
      await waited;
      await registry.operations.waitUntilEnded(`op-absent-${suffix()}`, 60_000);
      const running = `op-wait-${suffix()}`;
      await registry.operations.upsert(operation(running, 'wait-co'));
      const abort = new AbortController();
      const aborted = registry.operations.waitUntilEnded(running, 60_000, abort.signal);
      abort.abort();
      await aborted;
      await registry.operations.waitUntilEnded(running, 50);
      expect((await registry.operations.get(running))?.status).toBe('running');
    }, 15_000);

    it('chains ledger records, records a retried append once, and shows where a changed record breaks the chain', async () => {
      const entry = (n: number, change: Partial<LedgerEntry> = {}): LedgerEntry => ({
        kind: 'retention.delete',
        tenantId: n % 2 ? 'odd-co' : 'even-co',
        region: 'local-a',
        database: 'landlord_pool',
        target: 'activity_log',
        dataClass: 'telemetry',
        count: n,
        unit: 'rows',
        policy: { days: 30, source: 'tier' },
        runId: 'run-1',
        requestedBy: 'schedule:landlord-retention',
        recordKey: `run-1:${n}`,
        ...change,
      });
      expect(await registry.ledger.verify()).toEqual({ ok: true, records: 0, head: '0'.repeat(64) });
      const first = await registry.ledger.append(entry(1));
      expect(first).toMatchObject({ seq: 1, prevHash: '0'.repeat(64), count: 1 });
      expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
      // Appended at once from many callers: still one chain, each link once.
      await Promise.all(Array.from({ length: 20 }, (_, i) => registry.ledger.append(entry(i + 2)))); // A retried append of the same record is a no-op; the same key for another record is refused.
      expect((await registry.ledger.append(entry(5))).seq).toBeGreaterThan(1);
      await expect(registry.ledger.append(entry(5, { count: 999 }))).rejects.toThrow(
        /already holds a different record/,
      );
      // What a caller's object carries besides a record's fields is neither stored nor hashed.
      await registry.ledger.append({ ...entry(22), firstKey: '1', detail: { x: 1 } } as never);
      const all = await registry.ledger.list({ limit: 100 });
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
      expect(all.at(-1)).not.toHaveProperty('firstKey');
      for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
      expect(await registry.ledger.verify()).toEqual({ ok: true, records: 22, head: all.at(-1)!.hash });
      await expect(registry.ledger.append(entry(23, { target: 'bad\u0000name' }))).rejects.toThrow(/NUL/);

      expect(
        (await registry.ledger.list({ tenantId: 'odd-co', limit: 100 })).every((r) => r.count % 2 === 1),
      ).toBe(true);
      expect(await registry.ledger.list({ kind: 'erasure.delete', limit: 100 })).toEqual([]);
      expect((await registry.ledger.list({ afterSeq: 19, limit: 100 })).map((r) => r.seq)).toEqual([
        20, 21, 22,
      ]);
      expect(await registry.ledger.list({ to: first.at, limit: 100 })).toEqual([]);
      expect((await registry.ledger.list({ from: first.at, limit: 2 })).map((r) => r.seq)).toEqual([1, 2]);

      await tamperLedger(7, 7000);
      expect(await registry.ledger.verify()).toEqual({
        ok: false,
        records: 6,
        brokenAt: 7,
        reason: 'its content does not match its hash',
      });
    });

    it('keeps legal holds: placed, listed per tenant, released once, never forgotten', async () => {
      const tenantId = `held-${suffix()}`;
      const whole = await registry.legalHolds.place({
        tenantId,
        reason: 'litigation 42',
        createdBy: 'key_legal',
      });
      expect(whole).toMatchObject({ tenantId, reason: 'litigation 42', createdBy: 'key_legal' });
      expect(whole.id).toMatch(/^hold_[0-9a-f]{16}$/);
      expect(whole).not.toHaveProperty('dataClasses');
      const narrow = await registry.legalHolds.place({
        tenantId,
        reason: 'subject access dispute',
        dataClasses: ['telemetry'],
        subjects: ['user-7'],
        until: '2030-01-01T00:00:00.000Z',
        createdBy: 'key_admin',
      });
      expect(narrow).toMatchObject({
        dataClasses: ['telemetry'],
        subjects: ['user-7'],
        until: '2030-01-01T00:00:00.000Z',
      });
      await registry.legalHolds.place({ tenantId: `other-${suffix()}`, reason: 'x', createdBy: 'k' });
      expect((await registry.legalHolds.list(tenantId)).map((h) => h.id)).toEqual([whole.id, narrow.id]);
      expect(await registry.legalHolds.get(`other-${suffix()}`, whole.id)).toBeUndefined();

      const released = await registry.legalHolds.release(tenantId, whole.id, {
        releasedBy: 'key_legal',
        reason: 'settled',
      });
      expect(released).toMatchObject({
        outcome: 'released',
        hold: { releasedBy: 'key_legal', releaseReason: 'settled' },
      });
      const again = await registry.legalHolds.release(tenantId, whole.id, {
        releasedBy: 'key_x',
        reason: 'again',
      });
      expect(again).toMatchObject({
        outcome: 'already',
        hold: { releasedBy: 'key_legal', releaseReason: 'settled' },
      });
      expect(
        await registry.legalHolds.release(tenantId, 'hold_0000000000000000', {
          releasedBy: 'k',
          reason: 'r',
        }),
      ).toEqual({
        outcome: 'unknown',
      });
      expect(
        await registry.legalHolds.release(`other-${suffix()}`, narrow.id, { releasedBy: 'k', reason: 'r' }),
      ).toEqual({
        outcome: 'unknown',
      });
      expect((await registry.legalHolds.list(tenantId)).map((h) => Boolean(h.releasedAt))).toEqual([
        true,
        false,
      ]);
    });

    it('keeps an erasure request, its subject until erased, and the erasure list', async () => {
      const tenantId = `erasures-${suffix()}`;
      const asked = {
        tenantId,
        subject: 'subject-1',
        reason: 'Art. 17 request',
        receivedAt: '2026-01-01T00:00:00.000Z',
        dueBy: '2026-01-31T00:00:00.000Z',
        requestedBy: 'key_legal',
      };
      const first = await registry.erasures.create(asked);
      expect(first).toMatchObject({ tenantId, status: 'queued', dueBy: asked.dueBy, counts: [] });
      expect(first).not.toHaveProperty('subject');
      const refused = await registry.erasures.create({ ...asked, subject: 'subject-2' });
      await registry.erasures.discard(tenantId, refused.id);
      expect(await registry.erasures.get(tenantId, refused.id)).toBeUndefined();

      const opId = `op-erase-${suffix()}`;
      await registry.operations.upsert(
        operation(opId, tenantId, { kind: 'erase-subject', steps: [], input: { erasureId: first.id } }),
      );
      await registry.erasures.attach(tenantId, first.id, opId);
      // An attached request is never discarded.
      await registry.erasures.discard(tenantId, first.id);
      expect(await registry.erasures.subjectOf(tenantId, first.id)).toBe('subject-1');
      expect(await registry.erasures.subjectOf(`other-${suffix()}`, first.id)).toBeUndefined();

      await registry.erasures.progress(tenantId, first.id, {
        status: 'blocked-by-hold',
        blockedBy: ['hold_1'],
      });
      expect(await registry.erasures.get(tenantId, first.id)).toMatchObject({
        status: 'blocked-by-hold',
        blockedBy: ['hold_1'],
        operationId: opId,
      });
      const counts = [
        {
          store: 'primary' as const,
          region: 'local-a',
          database: 'landlord_pool',
          target: 'app_users',
          mode: 'delete' as const,
          unit: 'rows' as const,
          count: 1,
        },
      ];
      await registry.erasures.progress(tenantId, first.id, {
        status: 'erasing',
        subjectHmac: 'a'.repeat(64),
        counts,
      });
      const erasing = await registry.erasures.get(tenantId, first.id);
      expect(erasing).toMatchObject({ status: 'erasing', subjectHmac: 'a'.repeat(64), counts });
      expect(erasing).not.toHaveProperty('blockedBy');

      const entry = await registry.erasures.complete(tenantId, first.id, {
        subjectHmac: 'a'.repeat(64),
        counts,
      });
      expect(entry).toMatchObject({ tenantId, erasureId: first.id, subjectHmac: 'a'.repeat(64) });
      expect(
        await registry.erasures.complete(tenantId, first.id, { subjectHmac: 'a'.repeat(64), counts }),
      ).toEqual(entry);
      expect(await registry.erasures.subjectOf(tenantId, first.id)).toBeUndefined();
      expect(await registry.erasures.erasureList(tenantId)).toEqual([entry]);
      expect(await registry.erasures.erasureList(tenantId, { since: '2999-01-01T00:00:00.000Z' })).toEqual(
        [],
      );
      // Overdue: erased late is no longer owed; a later one still open is.
      const second = await registry.erasures.create({ ...asked, subject: 'subject-3' });
      const late = await registry.erasures.get(tenantId, second.id);
      expect(late).toMatchObject({ status: 'queued', overdue: true });
      expect(await registry.erasures.countOverdue('2026-02-01T00:00:00.000Z')).toBeGreaterThanOrEqual(1);
      const list = await registry.erasures.list(tenantId, { limit: 1 });
      expect(list.map((r) => r.id)).toEqual([second.id]);
      expect(
        (await registry.erasures.list(tenantId, { limit: 5, before: second.id })).map((r) => r.id),
      ).toEqual([first.id]);
      expect(await registry.erasures.get(tenantId, first.id)).toMatchObject({
        status: 'erased',
        overdue: false,
      });

      // A failed operation ends its request so, with its error.
      const failedOp = `op-erase-${suffix()}`;
      await registry.operations.upsert(
        operation(failedOp, tenantId, {
          kind: 'erase-subject',
          status: 'failed',
          steps: [],
          error: { type: 'InternalError', message: 'boom' },
          finishedAt: '2026-01-01T00:00:01.000Z',
        }),
      );
      await registry.erasures.attach(tenantId, second.id, failedOp);
      expect(await registry.erasures.get(tenantId, second.id)).toMatchObject({
        status: 'failed',
        error: { type: 'InternalError', message: 'boom' },
      });
    });

    it('keeps one data key per tenant, even for racing writers, and destroys it for good', async () => {
      const tenantId = `keyed-${suffix()}`;
      const first = { tenantId, keyId: `tkey_${suffix()}`, kekId: 'local:0123456789abcdef', wrapped: 'AQID' };
      const raced = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          registry.tenantKeys.create(
            i === 0 ? first : { ...first, keyId: `tkey_${suffix()}`, wrapped: `w${i}` },
          ),
        ),
      );
      const winner = raced[0]!.keyId;
      expect(raced.map((k) => k.keyId)).toEqual(Array(6).fill(winner));
      expect(raced[0]).toEqual({
        tenantId,
        keyId: winner,
        kekId: 'local:0123456789abcdef',
        createdAt: expect.any(String),
      });
      // What is returned never carries the wrapped key; only get does, for the keyring to unwrap.
      expect(raced[0]).not.toHaveProperty('wrapped');
      const stored = await registry.tenantKeys.get(tenantId);
      expect(stored).toMatchObject({ tenantId, keyId: winner });
      expect(typeof stored!.wrapped).toBe('string');
      expect(await registry.tenantKeys.get(`nobody-${suffix()}`)).toBeUndefined();

      expect(await registry.tenantKeys.destroy(tenantId, 'key_admin')).toBe('destroyed');
      expect(await registry.tenantKeys.destroy(tenantId, 'key_other')).toBe('already');
      expect(await registry.tenantKeys.destroy(`nobody-${suffix()}`, 'key_admin')).toBe('unknown');
      const destroyed = await registry.tenantKeys.get(tenantId);
      expect(destroyed).toMatchObject({ keyId: winner, destroyedBy: 'key_admin' });
      expect(destroyed!.destroyedAt! >= destroyed!.createdAt).toBe(true);
      expect(destroyed).not.toHaveProperty('wrapped');
      // No second key once destroyed: creating answers with the destroyed one.
      expect(await registry.tenantKeys.create({ ...first, keyId: `tkey_${suffix()}` })).toMatchObject({
        keyId: winner,
        destroyedBy: 'key_admin',
      });
      expect(await registry.tenantKeys.get(tenantId)).not.toHaveProperty('wrapped');
    });

    it('records each export once, lists a tenant’s newest first, and notes its first verification', async () => {
      const [tenantId, other] = [`exported-${suffix()}`, `exported-${suffix()}`];
      const exportOf = (id: string, createdAt: string, of = tenantId) => ({
        id,
        tenantId: of,
        operationId: `offboard-${of}-1`,
        createdAt,
        keyId: 'tkey_0a1b2c3d4e5f60718293',
        format: 'tar+jsonl' as const,
        bytes: 4096,
        sha256: 'ab'.repeat(32),
        schemaVersion: '002_subject_indexes',
        tables: [
          { name: 'app_users', rows: 3, sha256: 'cd'.repeat(32) },
          { name: 'projects', rows: 0, sha256: 'ef'.repeat(32) },
        ],
      });
      const older = exportOf(`export_${randomBytes(8).toString('hex')}`, '2026-03-01T10:00:00.000Z');
      const newer = exportOf(`export_${randomBytes(8).toString('hex')}`, '2026-03-02T10:00:00.000Z');
      expect(await registry.exports.record(older)).toEqual(older);
      expect(await registry.exports.record(newer)).toEqual(newer);
      // A retried step records the same id again: the first record stands, whatever the second says.
      expect(await registry.exports.record({ ...older, bytes: 1, sha256: '00'.repeat(32) })).toEqual(older);
      await registry.exports.record(
        exportOf(`export_${randomBytes(8).toString('hex')}`, older.createdAt, other),
      );
      expect(await registry.exports.list(tenantId)).toEqual([newer, older]);
      expect(await registry.exports.get(tenantId, older.id)).toEqual(older);
      expect(await registry.exports.get(other, older.id)).toBeUndefined();
      expect(await registry.exports.list(`nobody-${suffix()}`)).toEqual([]);

      const verified = await registry.exports.markVerified(tenantId, older.id, '2026-03-01T11:00:00.000Z');
      expect(verified).toEqual({ ...older, verifiedAt: '2026-03-01T11:00:00.000Z' });
      // Verified again (a retried check): the first time stands.
      expect(await registry.exports.markVerified(tenantId, older.id, '2026-03-05T00:00:00.000Z')).toEqual(
        verified,
      );
      expect(await registry.exports.get(tenantId, older.id)).toEqual(verified);
      expect(
        await registry.exports.markVerified(other, newer.id, '2026-03-05T00:00:00.000Z'),
      ).toBeUndefined();
      expect(await registry.exports.get(tenantId, newer.id)).toEqual(newer);
    });

    it('keeps a backup catalog: recorded once, newest first, latest as of a time, expiring, verified forward, expired once', async () => {
      const [tenantId, other] = [`backed-up-${suffix()}`, `backed-up-${suffix()}`];
      const backupOf = (takenAt: string, expiresAt: string, of = tenantId) => {
        const id = `backup_${randomBytes(8).toString('hex')}`;
        return {
          id,
          tenantId: of,
          operationId: `backup-${of}-${id}`,
          takenAt,
          region: 'local-a',
          deploymentModel: 'pool' as const,
          keyId: 'tkey_0a1b2c3d4e5f60718293',
          format: 'tar+pgcopy' as const,
          location: 'local',
          objectKey: `${of}/${id}.backup`,
          bytes: 8192,
          sha256: 'ab'.repeat(32),
          schemaVersion: '002_subject_indexes',
          tables: [{ name: 'app_users', columns: ['id', 'tenant_id'], rows: 3, sha256: 'cd'.repeat(32) }],
          expiresAt,
        };
      };
      const older = backupOf('2026-03-01T10:00:00.000Z', '2026-03-08T10:00:00.000Z');
      const newer = backupOf('2026-03-02T10:00:00.000Z', '2026-03-09T10:00:00.000Z');
      const available = { status: 'available' };
      expect(await registry.backups.record(older)).toEqual({ ...older, ...available });
      expect(await registry.backups.record(newer)).toEqual({ ...newer, ...available });
      // A retried step records the same id again: the first record stands.
      expect(await registry.backups.record({ ...older, bytes: 1 })).toEqual({ ...older, ...available });
      const others = backupOf('2026-03-03T10:00:00.000Z', '2026-03-04T10:00:00.000Z', other);
      await registry.backups.record(others);
      expect((await registry.backups.list(tenantId)).map((b) => b.id)).toEqual([newer.id, older.id]);
      expect(await registry.backups.get(other, older.id)).toBeUndefined();
      expect((await registry.backups.latest(tenantId))?.id).toBe(newer.id);
      expect((await registry.backups.latest(tenantId, '2026-03-01T23:00:00.000Z'))?.id).toBe(older.id);
      expect(await registry.backups.latest(tenantId, '2026-03-01T09:59:59.999Z')).toBeUndefined();
      expect(
        (await registry.backups.expiring(tenantId, '2026-03-08T10:00:00.000Z')).map((b) => b.id),
      ).toEqual([older.id]);
      expect(await registry.backups.expiring(tenantId, '2026-03-08T09:00:00.000Z')).toEqual([]);
      const last = await registry.backups.lastTakenAt([tenantId, other, `nobody-${suffix()}`]);
      expect([...last.entries()].sort()).toEqual(
        [
          [tenantId, newer.takenAt],
          [other, others.takenAt],
        ].sort(),
      );

      // Verification moves forward only.
      const verifiedAt = '2026-03-02T11:00:00.000Z';
      expect((await registry.backups.markVerified(tenantId, newer.id, verifiedAt))?.verifiedAt).toBe(
        verifiedAt,
      );
      expect(
        (await registry.backups.markVerified(tenantId, newer.id, '2026-03-02T10:30:00.000Z'))?.verifiedAt,
      ).toBe(verifiedAt);
      expect(await registry.backups.markVerified(other, newer.id, verifiedAt)).toBeUndefined();

      // Expiry happens once; an expired backup is no longer the latest or expiring, but stays listed.
      const expired = await registry.backups.markExpired(tenantId, older.id, '2026-03-08T10:05:00.000Z');
      expect(expired).toMatchObject({ status: 'expired', expiredAt: '2026-03-08T10:05:00.000Z' });
      expect(
        (await registry.backups.markExpired(tenantId, older.id, '2026-03-09T00:00:00.000Z'))?.expiredAt,
      ).toBe('2026-03-08T10:05:00.000Z');
      expect(await registry.backups.latest(tenantId, '2026-03-01T23:00:00.000Z')).toBeUndefined();
      expect(await registry.backups.expiring(tenantId, '2026-04-01T00:00:00.000Z')).toEqual([
        { ...newer, ...available, verifiedAt },
      ]);
      expect((await registry.backups.list(tenantId)).map((b) => b.status)).toEqual(['available', 'expired']);
    });

    it('keeps restore verification runs: started once, results once per tenant, counted, newest first, failing tenants by their latest result', async () => {
      const [kept, broken, gone] = ['a', 'b', 'c'].map((p) => `${p}-verified-${suffix()}`) as [
        string,
        string,
        string,
      ];
      await registry.tenants.upsert(tenant(kept));
      await registry.tenants.upsert(tenant(broken, { status: 'suspended' }));
      await registry.tenants.upsert(tenant(gone, { status: 'deleted' }));
      const failingBefore = await registry.verifications.countFailingTenants();

      const first = { id: `drv-${suffix()}`, trigger: 'api' as const, requestedBy: 'key_1', share: 0.25 };
      const named = { ...first, tenants: [kept, broken, gone] };
      const started = await registry.verifications.start(named);
      expect(started).toMatchObject({ ...named, status: 'running', total: 0, verified: 0, failed: 0 });
      expect(started.finishedAt).toBeUndefined();
      // Started again (a retried activity): the run as it was.
      expect(await registry.verifications.start({ ...named, share: 0.9 })).toEqual(started);
      await registry.verifications.setTotal(first.id, 3);

      const result = (tenantId: string, ok: boolean, runId = first.id) => ({
        runId,
        tenantId,
        backupId: `backup_${randomBytes(8).toString('hex')}`,
        ok,
        problems: ok ? [] : ['local/x.backup does not read back: sealed file: chunk 1 failed'],
        restoreMs: ok ? 42 : 0,
        tables: [
          {
            name: 'app_users',
            rows: 2,
            expectedRows: 2,
            sha256: 'ab'.repeat(32),
            expectedSha256: 'ab'.repeat(32),
          },
        ],
        startedAt: '2026-03-02T10:00:00.000Z',
        finishedAt: '2026-03-02T10:00:01.500Z',
      });
      const keptOk = result(kept, true);
      const brokenFailed = result(broken, false);
      const noBackup = {
        runId: first.id,
        tenantId: gone,
        ok: false,
        problems: ['no backup to verify'],
        startedAt: '2026-03-02T10:00:02.000Z',
        finishedAt: '2026-03-02T10:00:02.000Z',
      };
      expect(await registry.verifications.recordResult(keptOk)).toEqual(keptOk);
      expect(await registry.verifications.recordResult(brokenFailed)).toEqual(brokenFailed);
      expect(await registry.verifications.recordResult(noBackup)).toEqual(noBackup);
      // Recorded again, differently: the first result stands.
      expect(await registry.verifications.recordResult({ ...brokenFailed, ok: true, problems: [] })).toEqual(
        brokenFailed,
      );
      expect(
        await registry.verifications.recordResult(result(kept, true, 'drv-no-such-run')),
      ).toBeUndefined();

      const shown = await registry.verifications.get(first.id);
      expect(shown).toMatchObject({ id: first.id, total: 3, verified: 1, failed: 2, status: 'running' });
      expect(shown!.results).toEqual([keptOk, brokenFailed, noBackup]);
      expect(await registry.verifications.get('drv-no-such-run')).toBeUndefined();
      // A deleted tenant's failure is nobody's to fix; the suspended one's is.
      expect(await registry.verifications.countFailingTenants()).toBe(failingBefore + 1);

      await registry.verifications.finish(first.id, 'succeeded');
      await registry.verifications.finish(first.id, 'failed', { type: 'InternalError', message: 'late' });
      const finished = await registry.verifications.get(first.id);
      expect(finished).toMatchObject({ status: 'succeeded', verified: 1, failed: 2 });
      expect(finished!.error).toBeUndefined();
      expect(Date.parse(finished!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(finished!.startedAt));

      // A later run: each tenant's latest result is what counts.
      const second = {
        id: `drv-${suffix()}`,
        trigger: 'schedule' as const,
        requestedBy: 'schedule:x',
        share: 1,
      };
      expect((await registry.verifications.start(second)).tenants).toBeUndefined();
      await registry.verifications.recordResult(result(broken, true, second.id));
      await registry.verifications.recordResult(result(kept, false, second.id));
      await registry.verifications.recordResult(result(gone, true, second.id));
      expect(await registry.verifications.countFailingTenants()).toBe(failingBefore + 1);
      await registry.verifications.finish(second.id, 'failed', { type: 'InternalError', message: 'broke' });
      expect(await registry.verifications.get(second.id)).toMatchObject({
        status: 'failed',
        error: { type: 'InternalError', message: 'broke' },
        verified: 2,
        failed: 1,
      });

      const ours = (runs: { id: string }[]) =>
        runs.map((r) => r.id).filter((id) => [first.id, second.id].includes(id));
      expect(ours(await registry.verifications.list({ limit: 100 }))).toEqual([second.id, first.id]);
      expect(ours(await registry.verifications.list({ limit: 100, before: second.id }))).toEqual([first.id]);
      expect(await registry.verifications.list({ limit: 1 })).toHaveLength(1);
    });

    it("keeps each tenant's latest replication measurement, never an older one, in tenant order, until deleted", async () => {
      const tag = suffix();
      const [first, second] = [`a-replicated-${tag}`, `b-replicated-${tag}`];
      const streaming = {
        tenantId: second,
        source: 'local-a',
        target: 'local-b',
        state: 'streaming' as const,
        lagMs: 850,
        lagBytes: 16_384,
        newestDataAt: '2026-03-02T09:59:59.150Z',
        measuredAt: '2026-03-02T10:00:00.000Z',
      };
      expect(await registry.replication.get(second)).toBeUndefined();
      await registry.replication.put(streaming);
      expect(await registry.replication.get(second)).toEqual(streaming);

      // A newer measurement replaces the whole row: what it does not say is gone.
      const broken = {
        tenantId: second,
        source: 'local-a',
        target: 'local-b',
        state: 'broken' as const,
        measuredAt: '2026-03-02T10:05:00.000Z',
        reason: 'the subscription on local-b is disabled: its worker exited',
      };
      await registry.replication.put(broken);
      expect(await registry.replication.get(second)).toEqual(broken);
      // A late write of an older measurement changes nothing; one of the same time replaces it.
      await registry.replication.put({ ...streaming, measuredAt: '2026-03-02T10:04:59.999Z' });
      expect(await registry.replication.get(second)).toEqual(broken);
      const again = { ...broken, state: 'stopped' as const, reason: 'stopped for a failover' };
      await registry.replication.put(again);
      expect(await registry.replication.get(second)).toEqual(again);

      const seeding = {
        tenantId: first,
        source: 'local-b',
        target: 'local-a',
        state: 'seeding' as const,
        lagBytes: 0,
        measuredAt: '2026-03-01T00:00:00.000Z',
      };
      await registry.replication.put(seeding);
      const ours = (await registry.replication.list()).filter((s) => s.tenantId.endsWith(tag));
      expect(ours).toEqual([seeding, again]);

      // What a caller does to a status it got changes nothing stored.
      (await registry.replication.get(first))!.state = 'broken';
      expect(await registry.replication.get(first)).toEqual(seeding);

      await registry.replication.delete(second);
      await registry.replication.delete(`nobody-${suffix()}`);
      expect(await registry.replication.get(second)).toBeUndefined();
      expect((await registry.replication.list()).filter((s) => s.tenantId.endsWith(tag))).toEqual([seeding]);
      // Deleted, it takes any measurement again, however old.
      await registry.replication.put(streaming);
      expect(await registry.replication.get(second)).toEqual(streaming);
    });

    it('answers a ping', async () => {
      await expect(registry.ping()).resolves.toBeUndefined();
    });
  });
}
