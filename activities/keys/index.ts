/**
 * Tenant data keys as activities: made at onboarding (or on first use), destroyed to crypto-shred
 * a tenant. What they return is what may be shown of a key, never the key: a workflow's history
 * holds no key material, wrapped or not.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { LandlordError } from '../../domain/index.js';
import type { TenantKeyDestruction, TenantKeyInfo } from '../../domain/index.js';
import type { TenantKeyStore } from '../../registry/index.js';
import type { StepRef } from '../step-ref.js';
import type { GcpKmsClient } from './gcp-kms-kek.js';
import { keyEncryptionKeyFrom } from './key-encryption-key.js';
import { localKek, localKekFromKey } from './local-kek.js';
import { TenantKeyring } from './tenant-keyring.js';

export { keyEncryptionKeyFrom } from './key-encryption-key.js';
export type { KeyEncryptionKey, WrapContext } from './key-encryption-key.js';
export { localKek } from './local-kek.js';
export { TenantKeyring } from './tenant-keyring.js';
export type { OpenedTenantKey } from './tenant-keyring.js';
export { openStream, readSealedHeader, sealStream, SEALED_CHUNK_BYTES, SEALED_MAGIC } from './sealed-file.js';
export type { SealedHeader } from './sealed-file.js';

/**
 * The keyring as configured: keys wrapped by the KMS key `kmsKey` names, else by the KEK derived
 * from `secret`. With a KMS key, the derived KEK still unwraps the keys it wrapped before.
 */
export async function tenantKeyringFrom({
  store,
  kmsKey,
  secret,
  tenantKek,
  clients,
}: {
  store: TenantKeyStore;
  kmsKey?: string;
  /** The master secret, or (tenantKek) only the local KEK derived from it. */
  secret?: string;
  tenantKek?: string;
  clients?: { aws?: Pick<KMSClient, 'send'>; gcp?: GcpKmsClient };
}): Promise<TenantKeyring> {
  if (!secret && !tenantKek)
    throw new LandlordError(
      'Misconfigured',
      'tenant data keys need the master secret or LANDLORD_TENANT_KEK',
    );
  const local = secret ? localKek(secret) : localKekFromKey(tenantKek!);
  const kek = kmsKey
    ? await keyEncryptionKeyFrom({ secret: secret ?? '', kmsKey, ...(clients ? { clients } : {}) })
    : local;
  return new TenantKeyring({ store, kek, previous: kmsKey ? [local] : [] });
}

interface TenantKeyInput {
  stepRef?: StepRef;
  tenantId: string;
}

/** Activities over tenants' data keys. */
export function createKeyActivities({ keyring }: { keyring: TenantKeyring }) {
  return {
    /** Makes the tenant's data key unless it has one; returns what may be shown of it, never the key. */
    async ensureTenantKey({ tenantId }: TenantKeyInput): Promise<TenantKeyInfo> {
      return keyring.ensure(tenantId);
    },
    /** Destroys the tenant's data key for good (crypto-shredding): what it sealed stays unreadable. */
    async destroyTenantKey({
      tenantId,
      destroyedBy,
    }: TenantKeyInput & { destroyedBy: string }): Promise<TenantKeyDestruction> {
      return keyring.destroy(tenantId, destroyedBy);
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
