import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { localKek, TenantKeyring } from '../../activities/keys/index.js';
import { connectRegistry } from '../../registry/index.js';
import type { PostgresRegistry } from '../../registry/index.js';
import { registryContract } from '../support/registry-contract.js';
import { testStack } from '../support/stack.js';

registryContract('PostgresRegistry', async (idempotency) => {
  const { registry, url } = await freshRegistry('registry_contract', 4, { idempotency });
  return {
    registry,
    // A superuser can switch the triggers off for its session; nothing else changes the table.
    async tamperLedger(seq, count) {
      await withClient(url, async (c) => {
        await c.query(`SET session_replication_role = replica`);
        await c.query('UPDATE ledger_records SET count = $2 WHERE seq = $1', [seq, count]);
      });
    },
    close: () => registry.close(),
  };
});

/** A migrated registry in a database of its own on the test server (`prefix` names it). */
async function freshRegistry(prefix: string, max = 2, options: Parameters<typeof connectRegistry>[2] = {}) {
  const { registryServerUrl } = testStack();
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(registryServerUrl, database);
  const registry = connectRegistry(withDatabase(registryServerUrl, database), max, options);
  await registry.migrate();
  return { registry, url: withDatabase(registryServerUrl, database) };
}

/**
 * Runs `work` on a fresh registry, closed afterwards, with a pool on it as the role that owns its
 * tables (the URL Landlord is configured with; here a superuser).
 */
async function withFreshRegistry(
  prefix: string,
  work: (registry: PostgresRegistry, owner: pg.Pool) => Promise<void>,
) {
  const { registry, url } = await freshRegistry(prefix);
  const owner = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await work(registry, owner);
  } finally {
    await Promise.allSettled([registry.close(), owner.end()]);
  }
}

/** What the role Landlord runs as may not do to a table whose rows it may only add. */
const REFUSED_TO_THE_RUNTIME_ROLE = (table: string) => [
  `UPDATE ${table} SET tenant_id = 'x'`,
  `DELETE FROM ${table}`,
  `TRUNCATE ${table}`,
  `ALTER TABLE ${table} DISABLE TRIGGER USER`,
  `DROP TABLE ${table}`,
  `SET session_replication_role = replica`,
];

describe('the role Landlord runs the registry as', () => {
  it('is neither a superuser nor an owner of the registry, and may only add to the ledger and the audit trail', async () => {
    await withFreshRegistry('registry_runtime', async (registry, owner) => {
      const { rows } = await registry.pool.query(
        `SELECT current_user = current_database() || '_app' AS named_for_its_database, rolsuper, rolcreaterole,
                rolcreatedb, rolbypassrls, (SELECT count(*)::int FROM pg_auth_members WHERE member = r.oid) AS member_of
           FROM pg_roles r WHERE rolname = current_user`,
      );
      expect(rows[0]).toEqual({
        named_for_its_database: true,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
        member_of: 0,
      });
      // Its password is stored as a SCRAM verifier, given as one: no statement carried the password.
      const stored = await owner.query(
        `SELECT rolpassword FROM pg_authid WHERE rolname = current_database() || '_app'`,
      );
      expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
      const owned = await registry.pool.query(
        `SELECT relname FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
      );
      expect(owned.rows).toEqual([]);
      await registry.audit.append({
        eventKey: 'e-1',
        actor: 'key_admin',
        actorRole: 'admin',
        requestId: 'r-1',
        action: 'tenant.onboard',
        outcome: 'accepted',
        tenantId: 'acme',
        detail: {},
      });
      for (const table of ['ledger_records', 'audit_events', 'legal_holds', 'tenant_keys', 'tenant_exports'])
        for (const sql of REFUSED_TO_THE_RUNTIME_ROLE(table))
          await expect(registry.pool.query(sql), sql).rejects.toThrow(
            /permission denied|must be (the )?owner/,
          );
      await expect(registry.pool.query(`UPDATE legal_holds SET reason = 'x'`)).rejects.toThrow(
        /permission denied/,
      );
      await expect(registry.pool.query(`UPDATE tenant_keys SET kek_id = 'x'`)).rejects.toThrow(
        /permission denied/,
      );
      // Migrating again (every process does at start) changes none of that.
      await registry.migrate();
      await expect(registry.pool.query('DELETE FROM ledger_records')).rejects.toThrow(/permission denied/);
      expect((await owner.query('SELECT count(*)::int AS n FROM audit_events')).rows).toEqual([{ n: 1 }]);
    });
  });

  it('is made and checked again by an owner that is no superuser, start after start', async () => {
    const { registryServerUrl } = testStack();
    const suffix = randomBytes(4).toString('hex');
    const [owner, database] = [`registry_owner_${suffix}`, `registry_plain_${suffix}`];
    await withClient(registryServerUrl, async (c) => {
      await c.query(`CREATE ROLE ${owner} LOGIN CREATEROLE PASSWORD 'owner-pw-${suffix}'`);
      await c.query(`CREATE DATABASE ${database} OWNER ${owner}`);
    });
    const url = new URL(withDatabase(registryServerUrl, database));
    url.username = owner;
    url.password = `owner-pw-${suffix}`;
    try {
      for (let start = 1; start <= 2; start++) {
        const registry = connectRegistry(url.toString(), 1);
        try {
          await registry.migrate();
          await registry.tenants.list({ limit: 1 });
          const { rows } = await registry.pool.query('SELECT current_user AS name');
          expect(rows[0].name, `start ${start}`).toBe(`${database}_app`);
        } finally {
          await registry.close();
        }
      }
    } finally {
      await withClient(registryServerUrl, async (c) => {
        await c.query(`DROP DATABASE ${database} WITH (FORCE)`);
        await c.query(`DROP ROLE ${database}_app`);
        await c.query(`DROP ROLE ${owner}`);
      });
    }
  });

  it('is not taken over when a role of its name exists that Landlord did not make', async () => {
    const { registryServerUrl } = testStack();
    const database = `registry_squatted_${randomBytes(4).toString('hex')}`;
    await ensureDatabase(registryServerUrl, database);
    await withClient(registryServerUrl, (c) => c.query(`CREATE ROLE ${database}_app LOGIN`));
    const registry = connectRegistry(withDatabase(registryServerUrl, database), 1);
    try {
      await expect(registry.migrate()).rejects.toThrow(/exists that Landlord did not make/);
    } finally {
      await registry.close();
      await withClient(registryServerUrl, (c) => c.query(`DROP ROLE ${database}_app`));
    }
  });
});

describe('the ledger in Postgres', () => {
  it('refuses to change, delete or fork its records whatever role asks (only a superuser switching triggers off could)', async () => {
    await withFreshRegistry('registry_ledger', async (registry, owner) => {
      const record = await registry.ledger.append({
        kind: 'retention.delete',
        tenantId: 'acme',
        region: 'local-a',
        target: 'activity_log',
        count: 3,
        unit: 'rows',
        requestedBy: 'schedule:landlord-retention',
        recordKey: 'run-1:acme:activity_log:1',
      });
      // Even the tables' owner (here a superuser, as the embedded default's is) is refused.
      const pool = owner;
      await expect(pool.query('UPDATE ledger_records SET count = 0')).rejects.toThrow(/append-only/);
      await expect(pool.query('DELETE FROM ledger_records')).rejects.toThrow(/append-only/);
      await expect(pool.query('TRUNCATE ledger_records')).rejects.toThrow(/append-only/);
      // A record that does not link to the last one (a forged or forked chain) is refused.
      const forged = (seq: number, prev: string) =>
        pool.query(
          `INSERT INTO ledger_records (seq, at, kind, tenant_id, region, target, count, unit, requested_by, record_key, prev_hash, hash)
           VALUES ($1, now(), 'retention.delete', 'acme', 'local-a', 'x', 1, 'rows', 'me', $3, $2, $3)`,
          [seq, prev, `forged-${seq}`],
        );
      await expect(forged(2, '0'.repeat(64))).rejects.toThrow(/does not link/);
      await expect(forged(3, record.hash)).rejects.toThrow(/does not link/);
      expect(await registry.ledger.verify()).toEqual({ ok: true, records: 1, head: record.hash });
    });
  });
});

describe('legal holds in Postgres', () => {
  it('are released, never deleted or rewritten, whatever role asks', async () => {
    await withFreshRegistry('registry_holds', async (registry, owner) => {
      const hold = await registry.legalHolds.place({
        tenantId: 'acme',
        reason: 'case 1',
        createdBy: 'key_legal',
      });
      const pool = owner;
      await expect(pool.query('DELETE FROM legal_holds')).rejects.toThrow(/never deleted/);
      await expect(pool.query('TRUNCATE legal_holds')).rejects.toThrow(/never deleted/);
      await expect(pool.query(`UPDATE legal_holds SET data_classes = '{telemetry}'`)).rejects.toThrow(
        /only by its release/,
      );
      // Released entirely or not at all, and never backdated.
      const other = await registry.legalHolds.place({
        tenantId: 'acme',
        reason: 'case 2',
        createdBy: 'key_legal',
      });
      await expect(
        pool.query(`UPDATE legal_holds SET released_by = 'x' WHERE id = $1`, [other.id]),
      ).rejects.toThrow(/check constraint/);
      await pool.query(
        `UPDATE legal_holds SET released_at = '2000-01-01', released_by = 'x', release_reason = 'y' WHERE id = $1`,
        [other.id],
      );
      expect((await registry.legalHolds.get('acme', other.id))!.releasedAt! > '2026-01-01').toBe(true);
      await registry.legalHolds.release('acme', hold.id, { releasedBy: 'key_legal', reason: 'done' });
      await expect(pool.query('UPDATE legal_holds SET released_at = NULL')).rejects.toThrow(
        /only by its release/,
      );
      // An api key of the new legal role can be stored.
      await expect(
        registry.apiKeys.create({ name: 'counsel', role: 'legal', createdBy: 'admin' }),
      ).resolves.toBeTruthy();
    });
  });
});

describe('tenant keys in Postgres', () => {
  it('are destroyed, never deleted, rewritten or brought back, whatever role asks; and hold no plaintext key', async () => {
    await withFreshRegistry('registry_keys', async (registry, owner) => {
      const keyring = new TenantKeyring({ store: registry.tenantKeys, kek: localKek('s'.repeat(32)) });
      const created = await keyring.ensure('acme');
      const { key } = await keyring.open('acme');
      const { rows } = await owner.query('SELECT * FROM tenant_keys');
      const held = JSON.stringify(rows);
      for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url')])
        expect(held).not.toContain(form);
      expect(rows).toEqual([
        expect.objectContaining({ tenant_id: 'acme', key_id: created.keyId, destroyed_at: null }),
      ]);

      // Even the tables' owner (here a superuser) is refused.
      const pool = owner;
      await expect(pool.query('DELETE FROM tenant_keys')).rejects.toThrow(/never deleted/);
      await expect(pool.query('TRUNCATE tenant_keys')).rejects.toThrow(/never deleted/);
      await expect(pool.query(`UPDATE tenant_keys SET wrapped_key = 'AAAA'`)).rejects.toThrow(
        /only by its destruction/,
      );
      await expect(
        pool.query(`UPDATE tenant_keys SET key_id = 'tkey_x', wrapped_key = NULL`),
      ).rejects.toThrow(/only by its destruction/);
      // Destroyed entirely or not at all, and never backdated.
      await expect(pool.query(`UPDATE tenant_keys SET wrapped_key = NULL`)).rejects.toThrow(
        /check constraint/,
      );
      await pool.query(
        `UPDATE tenant_keys SET wrapped_key = NULL, destroyed_at = '2000-01-01', destroyed_by = 'dba'`,
      );
      expect((await keyring.info('acme'))!.destroyedAt! > '2026-01-01').toBe(true);
      await expect(keyring.open('acme')).rejects.toMatchObject({ kind: 'TenantKeyDestroyed' });
      // A destroyed key is not brought back, from a copy of its wrapped form or otherwise.
      await expect(
        pool.query(`UPDATE tenant_keys SET wrapped_key = 'AAAA', destroyed_at = NULL, destroyed_by = NULL`),
      ).rejects.toThrow(/only by its destruction/);
      expect(await keyring.destroy('acme', 'key_admin')).toBe('already');
    });
  });
});

describe('tenant exports in Postgres', () => {
  it('change only by their first verification, whatever role asks', async () => {
    await withFreshRegistry('registry_exports', async (registry, owner) => {
      const exported = await registry.exports.record({
        id: 'export_0a1b2c3d4e5f6071',
        tenantId: 'acme',
        operationId: 'offboard-acme-1',
        createdAt: '2026-03-01T10:00:00.000Z',
        keyId: 'tkey_0a1b2c3d4e5f60718293',
        format: 'tar+jsonl',
        bytes: 4096,
        sha256: 'ab'.repeat(32),
        schemaVersion: '002_subject_indexes',
        tables: [{ name: 'app_users', rows: 3, sha256: 'cd'.repeat(32) }],
      });
      // The runtime role sets the verification alone; the owner (a superuser here) no more than that.
      await expect(
        registry.pool.query(`UPDATE tenant_exports SET sha256 = $1`, ['00'.repeat(32)]),
      ).rejects.toThrow(/permission denied/);
      await expect(owner.query(`UPDATE tenant_exports SET bytes = 1`)).rejects.toThrow(/first verification/);
      await registry.exports.markVerified('acme', exported.id, '2026-03-01T11:00:00.000Z');
      await expect(owner.query(`UPDATE tenant_exports SET verified_at = '2030-01-01'`)).rejects.toThrow(
        /first verification/,
      );
      expect(await registry.exports.get('acme', exported.id)).toEqual({
        ...exported,
        verifiedAt: '2026-03-01T11:00:00.000Z',
      });
    });
  });
});

describe('tenant backups in Postgres', () => {
  it('change only by their verification moving forward and their expiry once, whatever role asks', async () => {
    await withFreshRegistry('registry_backups', async (registry, owner) => {
      const backup = await registry.backups.record({
        id: 'backup_0a1b2c3d4e5f6071',
        tenantId: 'acme',
        operationId: 'backup-acme-1',
        takenAt: '2026-03-01T10:00:00.000Z',
        region: 'local-a',
        deploymentModel: 'silo',
        keyId: 'tkey_0a1b2c3d4e5f60718293',
        format: 'tar+pgcopy',
        location: 'local',
        objectKey: 'acme/backup_0a1b2c3d4e5f6071.backup',
        bytes: 4096,
        sha256: 'ab'.repeat(32),
        schemaVersion: '002_subject_indexes',
        tables: [{ name: 'app_users', columns: ['id'], rows: 3, sha256: 'cd'.repeat(32) }],
        expiresAt: '2026-06-01T10:00:00.000Z',
      });
      // The runtime role sets verification and expiry alone; the owner (a superuser) no more than that.
      await expect(
        registry.pool.query(`UPDATE tenant_backups SET expires_at = '2099-01-01'`),
      ).rejects.toThrow(/permission denied/);
      await expect(registry.pool.query(`DELETE FROM tenant_backups`)).rejects.toThrow(/permission denied/);
      await expect(owner.query(`UPDATE tenant_backups SET expires_at = '2099-01-01'`)).rejects.toThrow(
        /verification and its expiry/,
      );
      await registry.backups.markVerified('acme', backup.id, '2026-03-02T00:00:00.000Z');
      await expect(
        owner.query(`UPDATE tenant_backups SET verified_at = '2026-03-01T12:00:00Z'`),
      ).rejects.toThrow(/verification and its expiry/);
      await registry.backups.markExpired('acme', backup.id, '2026-06-01T11:00:00.000Z');
      await expect(owner.query(`UPDATE tenant_backups SET expired_at = NULL`)).rejects.toThrow(
        /verification and its expiry/,
      );
      expect(await registry.backups.get('acme', backup.id)).toEqual({
        ...backup,
        status: 'expired',
        expiredAt: '2026-06-01T11:00:00.000Z',
        verifiedAt: '2026-03-02T00:00:00.000Z',
      });
    });
  });
});
