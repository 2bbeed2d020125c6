/**
 * The KMS key-encryption keys, with no cloud reachable: AWS KMS through the SDK's own mock
 * (aws-sdk-client-mock), Cloud KMS through a stub client that behaves as the service does (binds
 * the AAD, checks and returns CRC32C checksums) and records what it was asked.
 */
import { randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  EncryptCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSInternalException,
} from '@aws-sdk/client-kms';
import type { DecryptCommandInput, EncryptCommandInput } from '@aws-sdk/client-kms';
import type { protos } from '@google-cloud/kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { keyEncryptionKeyFrom, localKek, tenantKeyringFrom } from '../../../activities/keys/index.js';
import { crc32c } from '../../../activities/keys/crc32c.js';
import type { GcpKmsClient } from '../../../activities/keys/gcp-kms-kek.js';
import { ConfigError, loadConfig } from '../../../config/index.js';
import { parseKmsKeyUri } from '../../../domain/index.js';
import { MemoryRegistry } from '../../../registry/index.js';

const SECRET = 'a-master-secret-of-at-least-32-characters';
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const GCP_KEY = 'projects/acme-prod/locations/europe-west1/keyRings/landlord/cryptoKeys/tenant-keys';

describe('KMS key URIs (LANDLORD_KMS_KEY)', () => {
  it('takes the forms Pulumi secrets providers take', () => {
    expect(parseKmsKeyUri('awskms://alias/landlord?region=us-east-1')).toEqual({
      provider: 'aws',
      uri: 'awskms://alias/landlord?region=us-east-1',
      keyId: 'alias/landlord',
      region: 'us-east-1',
    });
    expect(parseKmsKeyUri(`awskms:///${KEY_ARN}`)).toMatchObject({ keyId: KEY_ARN, region: 'eu-west-1' });
    expect(
      parseKmsKeyUri('awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-1&awssdk=v2'),
    ).toMatchObject({
      keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
    });
    expect(parseKmsKeyUri(`gcpkms://${GCP_KEY}`)).toEqual({
      provider: 'gcp',
      uri: `gcpkms://${GCP_KEY}`,
      name: GCP_KEY,
    });
  });

  it.each([
    ['alias/landlord', /awskms:\/\/… or gcpkms:\/\/…/],
    ['azurekeyvault://vault/keys/k', /not a KMS Landlord knows/],
    ['awskms://', /names a key id, alias or ARN/],
    ['awskms://landlord?region=us-east-1', /names a key id, alias or ARN/],
    ['awskms://alias/x?region=Europe', /not an AWS region/],
    ['awskms://alias/x?profile=prod', /takes only \?region=/],
    [`awskms:///${KEY_ARN}?region=us-east-1`, /in eu-west-1 but \?region= says us-east-1/],
    ['gcpkms://projects/p/locations/l/keyRings/r', /gcpkms:\/\/ names a key/],
    [`gcpkms://${GCP_KEY}/cryptoKeyVersions/1`, /not one of its versions/],
    [`gcpkms://${GCP_KEY}?x=1`, /takes no parameters/],
  ])('refuses %s, saying why', (uri, why) => {
    const parsed = parseKmsKeyUri(uri);
    expect(parsed).toHaveProperty('problem');
    expect((parsed as { problem: string }).problem).toMatch(why);
  });

  it('is read by the configuration, and a malformed one stops start-up naming the variable', async () => {
    expect(loadConfig({}).kmsKey).toBeUndefined();
    expect(loadConfig({ LANDLORD_KMS_KEY: `gcpkms://${GCP_KEY}` }).kmsKey).toBe(`gcpkms://${GCP_KEY}`);
    let error: unknown;
    try {
      loadConfig({ LANDLORD_KMS_KEY: 'awskms://landlord' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^LANDLORD_KMS_KEY: awskms:\/\/ names a key id, alias or ARN/),
    ]);
    await expect(keyEncryptionKeyFrom({ secret: SECRET, kmsKey: 'awskms://landlord' })).rejects.toThrow(
      /LANDLORD_KMS_KEY: awskms:\/\/ names a key id/,
    );
  });
});

describe('the AWS KMS key-encryption key', () => {
  const kms = mockClient(KMSClient);
  afterEach(() => kms.reset());

  /** KMS as it behaves: a ciphertext decrypts only under the encryption context it was made with. */
  function kmsService() {
    const made = new Map<string, { plaintext: Buffer; context: string }>();
    kms.on(EncryptCommand).callsFake((input: EncryptCommandInput) => {
      const blob = randomBytes(64);
      made.set(blob.toString('hex'), {
        plaintext: Buffer.from(input.Plaintext!),
        context: JSON.stringify(input.EncryptionContext),
      });
      return { CiphertextBlob: blob, KeyId: KEY_ARN };
    });
    kms.on(DecryptCommand).callsFake((input: DecryptCommandInput) => {
      const entry = made.get(Buffer.from(input.CiphertextBlob!).toString('hex'));
      if (!entry || entry.context !== JSON.stringify(input.EncryptionContext))
        throw new InvalidCiphertextException({ message: 'invalid ciphertext', $metadata: {} });
      return { Plaintext: entry.plaintext, KeyId: KEY_ARN };
    });
  }

  it('wraps under the configured key with the tenant as encryption context, and unwraps with what KMS decrypted', async () => {
    kmsService();
    const kek = await keyEncryptionKeyFrom({
      secret: SECRET,
      kmsKey: 'awskms://alias/landlord?region=eu-west-1',
    });
    expect(kek.id).toBe('awskms://alias/landlord?region=eu-west-1');
    const dek = randomBytes(32);
    const wrapped = await kek.wrap(dek, { tenantId: 'acme' });
    expect(Buffer.from(wrapped, 'base64').includes(dek)).toBe(false);
    const [encrypt] = kms.commandCalls(EncryptCommand);
    expect(encrypt!.args[0].input).toEqual({
      KeyId: 'alias/landlord',
      Plaintext: dek,
      EncryptionContext: { landlordTenant: 'acme' },
    });

    expect(await kek.unwrap(wrapped, { tenantId: 'acme' })).toEqual(dek);
    const [decrypt] = kms.commandCalls(DecryptCommand);
    // An alias may name another key later: the ciphertext names the key it was made with.
    expect(decrypt!.args[0].input).toEqual({
      CiphertextBlob: Buffer.from(wrapped, 'base64'),
      EncryptionContext: { landlordTenant: 'acme' },
    });
    await expect(kek.unwrap(wrapped, { tenantId: 'globex' })).rejects.toThrow(
      /does not unwrap with awskms:\/\/alias\/landlord.*InvalidCiphertextException/,
    );
  });

  it('names a key id or ARN on Decrypt too, in the region the ARN names', async () => {
    kmsService();
    const kek = await keyEncryptionKeyFrom({ secret: SECRET, kmsKey: `awskms:///${KEY_ARN}` });
    const dek = randomBytes(32);
    const wrapped = await kek.wrap(dek, { tenantId: 'acme' });
    expect(await kek.unwrap(wrapped, { tenantId: 'acme' })).toEqual(dek);
    expect(kms.commandCalls(DecryptCommand)[0]!.args[0].input.KeyId).toBe(KEY_ARN);
    expect(await kms.commandCalls(EncryptCommand)[0]!.thisValue.config.region()).toBe('eu-west-1');
  });

  it('leaves a failure a retry may fix as it is', async () => {
    kms.on(DecryptCommand).rejects(new KMSInternalException({ message: 'try again', $metadata: {} }));
    const kek = await keyEncryptionKeyFrom({ secret: SECRET, kmsKey: `awskms:///${KEY_ARN}` });
    await expect(kek.unwrap('AAAA', { tenantId: 'acme' })).rejects.toBeInstanceOf(KMSInternalException);
  });

  it('keeps keys made under the derived KEK readable once a KMS key is configured', async () => {
    kmsService();
    const store = new MemoryRegistry().tenantKeys;
    const before = await tenantKeyringFrom({ store, secret: SECRET });
    const early = await before.ensure('early');
    const after = await tenantKeyringFrom({ store, secret: SECRET, kmsKey: `awskms:///${KEY_ARN}` });
    const late = await after.ensure('late');
    expect(early.kekId).toBe(localKek(SECRET).id);
    expect(late.kekId).toBe(`awskms:///${KEY_ARN}`);
    expect((await after.open('early')).key).toEqual((await before.open('early')).key);
    expect((await after.open('late')).key).toHaveLength(32);
    // A worker without the KMS key says which KEK it lacks.
    await expect(before.open('late')).rejects.toThrow(
      /wrapped by awskms:\/\/\/arn:aws:kms:.*which this worker does not have/,
    );
  });
});

type EncryptRequest = protos.google.cloud.kms.v1.IEncryptRequest;
type DecryptRequest = protos.google.cloud.kms.v1.IDecryptRequest;

/** Cloud KMS as it behaves: checks the checksums it is sent, binds the AAD, returns checksums. */
class FakeCloudKms implements GcpKmsClient {
  readonly calls: { method: 'encrypt' | 'decrypt'; request: EncryptRequest | DecryptRequest }[] = [];
  private readonly made = new Map<string, { plaintext: Buffer; aad: Buffer; key: string }>();
  /** What the next answer gets wrong, as a corrupting network would. */
  corrupt?: 'ciphertext-crc' | 'unverified' | 'plaintext-crc';

  private static invalid(message: string) {
    return Object.assign(new Error(`3 INVALID_ARGUMENT: ${message}`), { code: 3 });
  }

  async encrypt(request: EncryptRequest): Promise<[protos.google.cloud.kms.v1.IEncryptResponse]> {
    this.calls.push({ method: 'encrypt', request });
    const plaintext = Buffer.from(request.plaintext as Uint8Array);
    const aad = Buffer.from(request.additionalAuthenticatedData as Uint8Array);
    if (Number(request.plaintextCrc32c?.value) !== crc32c(plaintext))
      throw FakeCloudKms.invalid('plaintext crc32c');
    const ciphertext = randomBytes(72);
    this.made.set(ciphertext.toString('hex'), { plaintext, aad, key: request.name! });
    const corrupt = this.corrupt;
    this.corrupt = undefined;
    return [
      {
        name: `${request.name}/cryptoKeyVersions/3`,
        ciphertext,
        ciphertextCrc32c: { value: corrupt === 'ciphertext-crc' ? 1 : crc32c(ciphertext) },
        verifiedPlaintextCrc32c: corrupt !== 'unverified',
        verifiedAdditionalAuthenticatedDataCrc32c: request.additionalAuthenticatedDataCrc32c !== undefined,
      },
    ];
  }

  async decrypt(request: DecryptRequest): Promise<[protos.google.cloud.kms.v1.IDecryptResponse]> {
    this.calls.push({ method: 'decrypt', request });
    const ciphertext = Buffer.from(request.ciphertext as Uint8Array);
    if (Number(request.ciphertextCrc32c?.value) !== crc32c(ciphertext))
      throw FakeCloudKms.invalid('ciphertext crc32c');
    const entry = this.made.get(ciphertext.toString('hex'));
    const aad = Buffer.from((request.additionalAuthenticatedData as Uint8Array | undefined) ?? []);
    if (!entry || entry.key !== request.name || !entry.aad.equals(aad))
      throw FakeCloudKms.invalid('Decryption failed: the ciphertext is invalid.');
    const corrupt = this.corrupt;
    this.corrupt = undefined;
    // protobuf hands an int64 over as a string.
    return [
      {
        plaintext: entry.plaintext,
        plaintextCrc32c: { value: String(corrupt === 'plaintext-crc' ? 7 : crc32c(entry.plaintext)) },
      },
    ];
  }
}

describe('the Cloud KMS key-encryption key', () => {
  it('computes CRC32C (Castagnoli) as Cloud KMS does', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
  });

  it('wraps under the key with the tenant as AAD and checksums both ways, and unwraps with what KMS decrypted', async () => {
    const cloud = new FakeCloudKms();
    const kek = await keyEncryptionKeyFrom({
      secret: SECRET,
      kmsKey: `gcpkms://${GCP_KEY}`,
      clients: { gcp: cloud },
    });
    expect(kek.id).toBe(`gcpkms://${GCP_KEY}`);
    const dek = randomBytes(32);
    const wrapped = await kek.wrap(dek, { tenantId: 'acme' });
    expect(Buffer.from(wrapped, 'base64').includes(dek)).toBe(false);
    const aad = Buffer.from('landlord tenant data key\0acme');
    expect(cloud.calls[0]).toEqual({
      method: 'encrypt',
      request: {
        name: GCP_KEY,
        plaintext: dek,
        additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(dek) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      },
    });
    expect(await kek.unwrap(wrapped, { tenantId: 'acme' })).toEqual(dek);
    expect(cloud.calls[1]).toMatchObject({
      method: 'decrypt',
      request: { name: GCP_KEY, additionalAuthenticatedData: aad },
    });
    await expect(kek.unwrap(wrapped, { tenantId: 'globex' })).rejects.toThrow(
      /tenant globex does not unwrap with gcpkms:\/\/projects\/acme-prod/,
    );
  });

  it('refuses answers whose checksums do not hold (corruption in transit), as retryable errors', async () => {
    const cloud = new FakeCloudKms();
    const kek = await keyEncryptionKeyFrom({
      secret: SECRET,
      kmsKey: `gcpkms://${GCP_KEY}`,
      clients: { gcp: cloud },
    });
    const dek = randomBytes(32);
    cloud.corrupt = 'ciphertext-crc';
    await expect(kek.wrap(dek, { tenantId: 'acme' })).rejects.toThrow(
      /encryption answer .* failed its CRC32C check/,
    );
    cloud.corrupt = 'unverified';
    await expect(kek.wrap(dek, { tenantId: 'acme' })).rejects.toThrow(
      /encryption request .* failed its CRC32C check/,
    );
    const wrapped = await kek.wrap(dek, { tenantId: 'acme' });
    cloud.corrupt = 'plaintext-crc';
    const failed = kek.unwrap(wrapped, { tenantId: 'acme' });
    await expect(failed).rejects.toThrow(/decryption answer .* failed its CRC32C check/);
    await expect(failed).rejects.not.toHaveProperty('kind');
  });
});
