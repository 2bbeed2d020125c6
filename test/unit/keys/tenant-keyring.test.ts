import { describe, expect, it } from 'vitest';
import { createKeyActivities, localKek, TenantKeyring } from '../../../activities/keys/index.js';
import type { KeyEncryptionKey } from '../../../activities/keys/index.js';
import { LandlordError } from '../../../domain/index.js';
import { MemoryRegistry } from '../../../registry/index.js';

const SECRET = 'a-master-secret-of-at-least-32-characters';

/** A keyring over a fresh in-memory registry, and the KEK's wrap calls counted. */
function keyring() {
  const registry = new MemoryRegistry();
  const kek = localKek(SECRET);
  let wraps = 0;
  const counted: KeyEncryptionKey = {
    id: kek.id,
    wrap: (dek, context) => {
      wraps++;
      return kek.wrap(dek, context);
    },
    unwrap: (wrapped, context) => kek.unwrap(wrapped, context),
  };
  return {
    registry,
    ring: new TenantKeyring({ store: registry.tenantKeys, kek: counted }),
    wraps: () => wraps,
  };
}

describe("a tenant's data key", () => {
  it('is made once, however many callers ask at once', async () => {
    const { registry, ring, wraps } = keyring();
    const infos = await Promise.all(Array.from({ length: 8 }, () => ring.ensure('acme')));
    expect(new Set(infos.map((i) => i.keyId)).size).toBe(1);
    expect(infos[0]).toEqual({
      tenantId: 'acme',
      keyId: expect.stringMatching(/^tkey_[0-9a-f]{20}$/),
      kekId: localKek(SECRET).id,
      createdAt: expect.any(String),
    });
    expect(wraps()).toBeGreaterThanOrEqual(1);
    // Later calls find it without making another.
    const before = wraps();
    expect(await ring.ensure('acme')).toEqual(infos[0]);
    expect(wraps()).toBe(before);
    expect(registry.tenantKeys.rows.size).toBe(1);
    const opened = await ring.open('acme');
    expect(opened.keyId).toBe(infos[0]!.keyId);
    expect(opened.key).toHaveLength(32);
    expect((await ring.open('acme')).key).toEqual(opened.key);
    expect((await ring.ensure('globex')).keyId).not.toBe(infos[0]!.keyId);
  });

  it('is kept by the registry only wrapped: neither its hex nor its base64 is in what the store holds', async () => {
    const { registry, ring } = keyring();
    await ring.ensure('acme');
    const { key } = await ring.open('acme');
    const held = JSON.stringify([...registry.tenantKeys.rows.values()]);
    expect(held).toContain('"wrapped"');
    for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url')])
      expect(held).not.toContain(form);
    expect(Buffer.from(registry.tenantKeys.rows.get('acme')!.wrapped!, 'base64').includes(key)).toBe(false);
  });

  it('is not made by open, and once destroyed is refused as TenantKeyDestroyed for good', async () => {
    const { registry, ring } = keyring();
    await expect(ring.open('acme')).rejects.toThrow(/tenant acme has no data key/);
    expect(await ring.info('acme')).toBeUndefined();
    await ring.ensure('acme');
    expect(await ring.destroy('acme', 'key_admin')).toBe('destroyed');
    expect(await ring.destroy('acme', 'key_other')).toBe('already');
    expect(await ring.destroy('nobody', 'key_admin')).toBe('unknown');

    const opened = ring.open('acme');
    await expect(opened).rejects.toBeInstanceOf(LandlordError);
    await expect(opened).rejects.toMatchObject({ kind: 'TenantKeyDestroyed' });
    await expect(ring.subjectHmac('acme', 'user-7')).rejects.toMatchObject({ kind: 'TenantKeyDestroyed' });
    // No second key: ensure answers with the destroyed one, and the wrapped key is gone from the store.
    const info = await ring.ensure('acme');
    expect(info).toMatchObject({ destroyedBy: 'key_admin', destroyedAt: expect.any(String) });
    expect(registry.tenantKeys.rows.get('acme')).not.toHaveProperty('wrapped');
    await expect(ring.open('acme')).rejects.toMatchObject({ kind: 'TenantKeyDestroyed' });
  });

  it('keys subject HMACs: stable per tenant, different across tenants, made on first use', async () => {
    const { ring } = keyring();
    const first = await ring.subjectHmac('pool-tenant', 'user-7');
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await ring.info('pool-tenant')).toBeDefined();
    expect(await ring.subjectHmac('pool-tenant', 'user-7')).toBe(first);
    expect(await ring.subjectHmac('pool-tenant', 'user-8')).not.toBe(first);
    expect(await ring.subjectHmac('other-tenant', 'user-7')).not.toBe(first);
    expect(first).not.toContain(Buffer.from('user-7').toString('hex'));
  });

  it('is shown by its activities as ids and times only, never key material', async () => {
    const { registry, ring } = keyring();
    const activities = createKeyActivities({ keyring: ring });
    const info = await activities.ensureTenantKey({ tenantId: 'acme' });
    expect(Object.keys(info).sort()).toEqual(['createdAt', 'kekId', 'keyId', 'tenantId']);
    const wrapped = registry.tenantKeys.rows.get('acme')!.wrapped!;
    expect(JSON.stringify(info)).not.toContain(wrapped);
    expect(await activities.destroyTenantKey({ tenantId: 'acme', destroyedBy: 'key_admin' })).toBe(
      'destroyed',
    );
    expect(await activities.destroyTenantKey({ tenantId: 'acme', destroyedBy: 'key_admin' })).toBe('already');
  });

  it("will not read a sealed file's key for another key id of the tenant", async () => {
    const { ring } = keyring();
    const { keyId } = await ring.ensure('acme');
    expect(await ring.keyFor({ tenantId: 'acme', keyId })).toHaveLength(32);
    await expect(ring.keyFor({ tenantId: 'acme', keyId: 'tkey_someone_else' })).rejects.toMatchObject({
      kind: 'SealedFileInvalid',
    });
  });
});
