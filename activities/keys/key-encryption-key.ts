/**
 * The key-encryption key (KEK) that wraps tenants' data keys: derived from the master secret by
 * default, an AWS or GCP KMS key when LANDLORD_KMS_KEY names one. The cloud SDKs are loaded only
 * for a KMS key, so the default path starts without them.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { LandlordError, parseKmsKeyUri } from '../../domain/index.js';
import type { GcpKmsClient } from './gcp-kms-kek.js';
import { localKek } from './local-kek.js';

/** What a wrap is bound to: a wrapped key unwraps only for the tenant it was wrapped for. */
export interface WrapContext {
  tenantId: string;
}

/** Wraps and unwraps data keys; `wrapped` is opaque text, safe to store, useless without the KEK. */
export interface KeyEncryptionKey {
  /** `local:<fingerprint>`, or the KMS key's URI: recorded with every key it wraps. */
  readonly id: string;
  wrap(dek: Buffer, context: WrapContext): Promise<string>;
  unwrap(wrapped: string, context: WrapContext): Promise<Buffer>;
}

/** The KEK configured: the KMS key `kmsKey` names (a URI), else the one derived from `secret`. */
export async function keyEncryptionKeyFrom({
  kmsKey,
  secret,
  clients = {},
}: {
  kmsKey?: string;
  secret: string;
  /** KMS clients to use instead of new ones (tests, or a client configured by the caller). */
  clients?: { aws?: Pick<KMSClient, 'send'>; gcp?: GcpKmsClient };
}): Promise<KeyEncryptionKey> {
  if (kmsKey === undefined) return localKek(secret);
  const ref = parseKmsKeyUri(kmsKey);
  if ('problem' in ref) throw new LandlordError('Misconfigured', `LANDLORD_KMS_KEY: ${ref.problem}`);
  if (ref.provider === 'aws') {
    const { AwsKmsKek } = await import('./aws-kms-kek.js');
    return AwsKmsKek.create(ref, clients.aws);
  }
  const { GcpKmsKek } = await import('./gcp-kms-kek.js');
  return GcpKmsKek.create(ref, clients.gcp);
}
