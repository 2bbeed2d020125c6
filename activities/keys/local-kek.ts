/**
 * The embedded default KEK: AES-256-GCM under a key derived from the master secret by HKDF-SHA256.
 * Each wrap is bound (as associated data) to its tenant, so a wrapped key copied into another
 * tenant's row does not unwrap there.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { LandlordError } from '../../domain/index.js';
import type { KeyEncryptionKey, WrapContext } from './key-encryption-key.js';

/** The first byte of a wrapped key: which layout follows (IV, ciphertext, tag). */
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const associatedData = ({ tenantId }: WrapContext) =>
  Buffer.from(`landlord tenant data key\0${tenantId}`, 'utf8');

/**
 * The key-encryption key derived from the master secret (base64url). A process that must open
 * tenants' data keys and nothing else (the API serving export downloads) is given this instead of
 * the master secret, from which database passwords are derived too.
 */
export function tenantKekFromSecret(secret: string): string {
  return Buffer.from(
    hkdfSync('sha256', secret, 'landlord tenant keys', 'key-encryption key v1', 32),
  ).toString('base64url');
}

/** The KEK derived from the master secret; its id names a fingerprint of it, never the key. */
export function localKek(secret: string): KeyEncryptionKey {
  return localKekFromKey(tenantKekFromSecret(secret));
}

/** The KEK from its own value (tenantKekFromSecret's), as a process without the master secret has it. */
export function localKekFromKey(material: string): KeyEncryptionKey {
  const kek = Buffer.from(material, 'base64url');
  if (kek.length !== 32)
    throw new LandlordError('Misconfigured', 'LANDLORD_TENANT_KEK must be 32 bytes, base64url-encoded');
  const fingerprint = createHmac('sha256', kek).update('landlord kek fingerprint').digest('hex').slice(0, 16);
  const id = `local:${fingerprint}`;
  return {
    id,
    async wrap(dek, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(context));
      const sealed = Buffer.concat([cipher.update(dek), cipher.final()]);
      return Buffer.concat([Buffer.from([FORMAT]), iv, sealed, cipher.getAuthTag()]).toString('base64');
    },
    async unwrap(wrapped, context) {
      const bytes = Buffer.from(wrapped, 'base64');
      if (bytes.length <= 1 + IV_BYTES + TAG_BYTES || bytes[0] !== FORMAT)
        throw new LandlordError(
          'Misconfigured',
          `the data key of tenant ${context.tenantId} is not one ${id} wrapped`,
        );
      const iv = bytes.subarray(1, 1 + IV_BYTES);
      const tag = bytes.subarray(bytes.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(context));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES, -TAG_BYTES)), decipher.final()]);
      } catch {
        throw new LandlordError(
          'Misconfigured',
          `the data key of tenant ${context.tenantId} does not unwrap with ${id}: ` +
            'another master secret wrapped it, or it was wrapped for another tenant',
        );
      }
    },
  };
}
