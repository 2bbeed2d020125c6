/**
 * A KEK in Cloud KMS (`gcpkms://projects/…/cryptoKeys/…`): each data key is encrypted by KMS under
 * the key's primary version with the tenant as additional authenticated data. Every request and
 * answer carries the CRC32C checksums Cloud KMS offers, checked both ways, so that corruption in
 * transit is caught rather than stored. Loaded only when LANDLORD_KMS_KEY names a GCP key.
 */
import type { protos } from '@google-cloud/kms';
import { LandlordError } from '../../domain/index.js';
import type { KmsKeyRef } from '../../domain/index.js';
import { crc32c } from './crc32c.js';
import type { KeyEncryptionKey, WrapContext } from './key-encryption-key.js';

type GcpKeyRef = Extract<KmsKeyRef, { provider: 'gcp' }>;

/** The calls of `KeyManagementServiceClient` this KEK makes (a stub in tests). */
export interface GcpKmsClient {
  encrypt(
    request: protos.google.cloud.kms.v1.IEncryptRequest,
  ): Promise<[protos.google.cloud.kms.v1.IEncryptResponse, ...unknown[]]>;
  decrypt(
    request: protos.google.cloud.kms.v1.IDecryptRequest,
  ): Promise<[protos.google.cloud.kms.v1.IDecryptResponse, ...unknown[]]>;
}

/** gRPC's INVALID_ARGUMENT: Cloud KMS's answer to a ciphertext it cannot decrypt with this key and AAD. */
const INVALID_ARGUMENT = 3;

const bytesOf = (value: Uint8Array | string | null | undefined): Buffer | undefined =>
  value === null || value === undefined
    ? undefined
    : typeof value === 'string'
      ? Buffer.from(value, 'base64')
      : Buffer.from(value);

/** An Int64Value's number (protobuf may hand it over as a Long or a string). */
const int64 = (value: protos.google.protobuf.IInt64Value | null | undefined): number | undefined =>
  value?.value === null || value?.value === undefined ? undefined : Number(String(value.value));

const aad = ({ tenantId }: WrapContext) => Buffer.from(`landlord tenant data key\0${tenantId}`, 'utf8');

/** Wraps and unwraps data keys with a Cloud KMS symmetric key. */
export class GcpKmsKek implements KeyEncryptionKey {
  readonly id: string;

  private constructor(
    private readonly ref: GcpKeyRef,
    private readonly client: GcpKmsClient,
  ) {
    this.id = ref.uri;
  }

  /** The KEK `ref` names, over `client` or a new client with Google's default credentials. */
  static async create(ref: GcpKeyRef, client?: GcpKmsClient): Promise<GcpKmsKek> {
    if (client) return new GcpKmsKek(ref, client);
    const { KeyManagementServiceClient } = await import('@google-cloud/kms');
    return new GcpKmsKek(ref, new KeyManagementServiceClient());
  }

  private corrupted(what: string): Error {
    // Retryable: corruption in transit is what a second attempt gets past.
    return new Error(`Cloud KMS ${what} for ${this.id} failed its CRC32C check (corrupted in transit)`);
  }

  async wrap(dek: Buffer, context: WrapContext): Promise<string> {
    const data = aad(context);
    const [response] = await this.client.encrypt({
      name: this.ref.name,
      plaintext: dek,
      additionalAuthenticatedData: data,
      plaintextCrc32c: { value: crc32c(dek) },
      additionalAuthenticatedDataCrc32c: { value: crc32c(data) },
    });
    const ciphertext = bytesOf(response.ciphertext);
    if (!ciphertext?.length) throw new Error(`Cloud KMS returned no ciphertext for ${this.id}`);
    if (!response.verifiedPlaintextCrc32c || !response.verifiedAdditionalAuthenticatedDataCrc32c)
      throw this.corrupted('encryption request');
    if (int64(response.ciphertextCrc32c) !== crc32c(ciphertext)) throw this.corrupted('encryption answer');
    return ciphertext.toString('base64');
  }

  async unwrap(wrapped: string, context: WrapContext): Promise<Buffer> {
    const ciphertext = Buffer.from(wrapped, 'base64');
    const data = aad(context);
    let response: protos.google.cloud.kms.v1.IDecryptResponse;
    try {
      [response] = await this.client.decrypt({
        name: this.ref.name,
        ciphertext,
        additionalAuthenticatedData: data,
        ciphertextCrc32c: { value: crc32c(ciphertext) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(data) },
      });
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === INVALID_ARGUMENT)
        throw new LandlordError(
          'Misconfigured',
          `the data key of tenant ${context.tenantId} does not unwrap with ${this.id}: ` +
            'another key wrapped it, or it was wrapped for another tenant',
        );
      throw err;
    }
    const plaintext = bytesOf(response.plaintext);
    if (!plaintext?.length) throw new Error(`Cloud KMS returned no plaintext for ${this.id}`);
    if (int64(response.plaintextCrc32c) !== crc32c(plaintext)) throw this.corrupted('decryption answer');
    return plaintext;
  }
}
