/**
 * A KEK in AWS KMS (`awskms://…`): each data key is encrypted by KMS under the configured key with
 * the tenant as encryption context, which KMS binds to the ciphertext (and CloudTrail records).
 * Loaded only when LANDLORD_KMS_KEY names an AWS key.
 */
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { LandlordError } from '../../domain/index.js';
import type { KmsKeyRef } from '../../domain/index.js';
import type { KeyEncryptionKey, WrapContext } from './key-encryption-key.js';

type AwsKeyRef = Extract<KmsKeyRef, { provider: 'aws' }>;

/** What KMS answers for a ciphertext that is not the key's, or not for this context. */
const NOT_OURS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

const encryptionContext = ({ tenantId }: WrapContext) => ({ landlordTenant: tenantId });

/** Wraps and unwraps data keys with an AWS KMS key. */
export class AwsKmsKek implements KeyEncryptionKey {
  readonly id: string;

  private constructor(
    private readonly ref: AwsKeyRef,
    private readonly client: Pick<KMSClient, 'send'>,
  ) {
    this.id = ref.uri;
  }

  /** The KEK `ref` names, over `client` or a new client in the key's region. */
  static create(ref: AwsKeyRef, client?: Pick<KMSClient, 'send'>): AwsKmsKek {
    return new AwsKmsKek(ref, client ?? new KMSClient(ref.region ? { region: ref.region } : {}));
  }

  async wrap(dek: Buffer, context: WrapContext): Promise<string> {
    const { CiphertextBlob } = await this.client.send(
      new EncryptCommand({
        KeyId: this.ref.keyId,
        Plaintext: dek,
        EncryptionContext: encryptionContext(context),
      }),
    );
    if (!CiphertextBlob?.length) throw new Error(`AWS KMS returned no ciphertext for ${this.id}`);
    return Buffer.from(CiphertextBlob).toString('base64');
  }

  async unwrap(wrapped: string, context: WrapContext): Promise<Buffer> {
    try {
      const { Plaintext } = await this.client.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(wrapped, 'base64'),
          EncryptionContext: encryptionContext(context),
          // An alias may name another key by now; the ciphertext itself names the key it was made
          // with. A key id or ARN is checked by KMS against that.
          ...(this.ref.keyId.startsWith('alias/') || this.ref.keyId.includes(':alias/')
            ? {}
            : { KeyId: this.ref.keyId }),
        }),
      );
      if (!Plaintext?.length) throw new Error(`AWS KMS returned no plaintext for ${this.id}`);
      return Buffer.from(Plaintext);
    } catch (err) {
      const name = (err as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && NOT_OURS.has(name))
        throw new LandlordError(
          'Misconfigured',
          `the data key of tenant ${context.tenantId} does not unwrap with ${this.id} (${name}): ` +
            'another key wrapped it, or it was wrapped for another tenant',
        );
      throw err;
    }
  }
}
