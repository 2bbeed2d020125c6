import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { keyEncryptionKeyFrom, localKek } from '../../../activities/keys/index.js';
import { localKekFromKey, tenantKekFromSecret } from '../../../activities/keys/local-kek.js';
import { LandlordError } from '../../../domain/index.js';

const SECRET = 'a-master-secret-of-at-least-32-characters';

describe('the key-encryption key derived from the master secret', () => {
  it('unwraps what it wrapped, for the same tenant, under the same master secret only', async () => {
    const kek = localKek(SECRET);
    const dek = randomBytes(32);
    const wrapped = await kek.wrap(dek, { tenantId: 'acme' });
    expect(Buffer.from(wrapped, 'base64').includes(dek)).toBe(false);
    expect(await kek.unwrap(wrapped, { tenantId: 'acme' })).toEqual(dek);
    // The same master secret in another process derives the same KEK.
    expect(await localKek(SECRET).unwrap(wrapped, { tenantId: 'acme' })).toEqual(dek);
    // A process given only the derived KEK (the API) opens it too, and has the same id.
    const alone = localKekFromKey(tenantKekFromSecret(SECRET));
    expect(await alone.unwrap(wrapped, { tenantId: 'acme' })).toEqual(dek);
    expect(alone.id).toBe(kek.id);
    expect(tenantKekFromSecret(SECRET)).not.toContain(SECRET);
    expect(() => localKekFromKey('short')).toThrow(/32 bytes/);
    // Each wrap has its own IV.
    expect(await kek.wrap(dek, { tenantId: 'acme' })).not.toBe(wrapped);

    // A wrapped key copied into another tenant's row does not unwrap there.
    const copied = kek.unwrap(wrapped, { tenantId: 'globex' });
    await expect(copied).rejects.toThrow(LandlordError);
    await expect(copied).rejects.toThrow(/does not unwrap with local:[0-9a-f]{16}/);
    await expect(localKek(`${SECRET}-other`).unwrap(wrapped, { tenantId: 'acme' })).rejects.toThrow(
      /does not unwrap/,
    );
    // A flipped byte anywhere fails too.
    const bytes = Buffer.from(wrapped, 'base64');
    bytes[20] ^= 1;
    await expect(kek.unwrap(bytes.toString('base64'), { tenantId: 'acme' })).rejects.toThrow(
      /does not unwrap/,
    );
    await expect(kek.unwrap('bm90IGEga2V5', { tenantId: 'acme' })).rejects.toThrow(/is not one local:/);
  });

  it('is named by a fingerprint that tells master secrets apart and shows nothing of the key', () => {
    const kek = localKek(SECRET);
    expect(kek.id).toMatch(/^local:[0-9a-f]{16}$/);
    expect(localKek(SECRET).id).toBe(kek.id);
    expect(localKek(`${SECRET}-other`).id).not.toBe(kek.id);
  });

  it('is the default, and loads no cloud SDK at start-up (only once a KMS key is configured)', async () => {
    expect((await keyEncryptionKeyFrom({ secret: SECRET })).id).toBe(localKek(SECRET).id);
    const index = fileURLToPath(new URL('../../../activities/keys/index.ts', import.meta.url));
    // A process of its own: what it has loaded is then what the keys module loaded.
    const probe = `
      import { createRequire } from 'node:module';
      const { keyEncryptionKeyFrom } = await import(${JSON.stringify(index)});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache)
        .filter((k) => /@aws-sdk[\\/]client-kms|@google-cloud[\\/]kms/.test(k)).length > 0;
      await keyEncryptionKeyFrom({ secret: ${JSON.stringify(SECRET)} });
      const local = loaded();
      await keyEncryptionKeyFrom({ secret: ${JSON.stringify(SECRET)}, kmsKey: 'awskms://alias/landlord?region=eu-west-1' });
      console.log(JSON.stringify({ local, aws: loaded() }));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ local: false, aws: true });
  });
});
