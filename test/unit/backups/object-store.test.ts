/**
 * The backup object stores: the local folder for real, S3 through the SDK's own mock
 * (aws-sdk-client-mock) and through a small path-style HTTP server standing in for MinIO, Cloud
 * Storage through a stub bucket that finalizes an object only when its upload ends, as the service
 * does. Every store must leave nothing readable under a key when a put fails or is aborted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { UploadPartCommandInput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backupObjectStoreFrom,
  defaultS3Client,
  describeBackupLocation,
  GcsBackupObjectStore,
  LocalBackupObjectStore,
  localBackupsRoot,
  S3BackupObjectStore,
} from '../../../activities/backups/index.js';
import type { BackupObjectStore, GcsFile, GcsStorage } from '../../../activities/backups/index.js';
import { LandlordError } from '../../../domain/index.js';

const MiB = 1024 * 1024;
const KEY = 'acme/backup_0123456789abcdef.backup';

/**
 * A body of `bytes` random bytes, made as it is read. With `failAt` it errors once that many bytes
 * are out; with `stallAt` it stops there without ending, and `stalled` resolves.
 */
function randomBody(bytes: number, { failAt, stallAt }: { failAt?: number; stallAt?: number } = {}) {
  const hash = createHash('sha256');
  let sent = 0;
  let onStall = () => {};
  const stalled = new Promise<void>((resolve) => (onStall = resolve));
  const stream = new Readable({
    read() {
      if (failAt !== undefined && sent >= failAt) return this.destroy(new Error('the source failed'));
      if (stallAt !== undefined && sent >= stallAt) return onStall();
      if (sent >= bytes) return void this.push(null);
      const chunk = randomBytes(Math.min(64 * 1024, bytes - sent));
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, stalled, sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The LandlordError kind `promise` rejects with (fails the test if it resolves or rejects otherwise). */
async function kindOf(promise: Promise<unknown>): Promise<string> {
  const error: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(LandlordError);
  return (error as LandlordError).kind;
}

const BAD_KEYS = [
  '../x',
  '/abs',
  'a//b',
  'acme/\u0000.backup',
  '',
  'acme/./x',
  'acme/',
  'acme/x y',
  'acme\\x',
];

describe('the local backup store', () => {
  let dataDir: string;
  let store: LocalBackupObjectStore;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'landlord-backups-'));
    store = new LocalBackupObjectStore(localBackupsRoot(dataDir));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  const tenantFolder = () => join(dataDir, 'backups', 'acme');

  it('gives back what was put, privately, and forgets it (and the tenant folder) on delete', async () => {
    const body = randomBody(3 * MiB + 123);
    expect(await store.put(KEY, body.stream)).toEqual({ bytes: 3 * MiB + 123 });
    expect(store.location).toBe('local');
    expect(await sha256Of(await store.get(KEY))).toBe(body.sha256());
    expect(await store.head(KEY)).toEqual({ bytes: 3 * MiB + 123 });
    // Only the object is left in its folder: no part file, and neither is readable by others.
    expect(await readdir(tenantFolder())).toEqual(['backup_0123456789abcdef.backup']);
    expect((await stat(join(tenantFolder(), 'backup_0123456789abcdef.backup'))).mode & 0o777).toBe(0o600);
    expect((await stat(tenantFolder())).mode & 0o777).toBe(0o700);

    await store.delete(KEY);
    await store.delete(KEY);
    expect(await store.head(KEY)).toBeUndefined();
    await expect(stat(tenantFolder())).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await kindOf(store.get(KEY))).toBe('NotFound');
  });

  it('keeps a tenant folder that still holds another backup', async () => {
    await store.put(KEY, Readable.from([Buffer.from('one')]));
    await store.put('acme/backup_fedcba9876543210.backup', Readable.from([Buffer.from('two')]));
    await store.delete(KEY);
    expect(await readdir(tenantFolder())).toEqual(['backup_fedcba9876543210.backup']);
  });

  it('leaves no file and no part file when the body fails halfway, and keeps what was there', async () => {
    const failing = randomBody(3 * MiB, { failAt: 1.5 * MiB });
    await expect(store.put(KEY, failing.stream)).rejects.toThrow('the source failed');
    expect(await readdir(tenantFolder())).toEqual([]);
    expect(await store.head(KEY)).toBeUndefined();

    // Replacing is all or nothing too: a failed second put leaves the first one whole.
    const first = randomBody(MiB);
    await store.put(KEY, first.stream);
    await expect(store.put(KEY, randomBody(3 * MiB, { failAt: 2 * MiB }).stream)).rejects.toThrow(
      'the source failed',
    );
    expect(await sha256Of(await store.get(KEY))).toBe(first.sha256());
    expect(await readdir(tenantFolder())).toEqual(['backup_0123456789abcdef.backup']);
  });

  it('leaves nothing when the put is aborted midway, or was aborted before it began', async () => {
    const controller = new AbortController();
    const body = randomBody(3 * MiB, { stallAt: MiB });
    const put = store.put(KEY, body.stream, controller.signal);
    await body.stalled;
    controller.abort();
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(tenantFolder())).toEqual([]);

    await expect(store.put(KEY, randomBody(10).stream, AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(await readdir(tenantFolder())).toEqual([]);
  });

  it.each(BAD_KEYS)('refuses the key %j for every call, and writes nothing', async (key) => {
    expect(await kindOf(store.put(key, Readable.from([Buffer.from('x')])))).toBe('ValidationFailed');
    expect(await kindOf(store.get(key))).toBe('ValidationFailed');
    expect(await kindOf(store.head(key))).toBe('ValidationFailed');
    expect(await kindOf(store.delete(key))).toBe('ValidationFailed');
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('says NotFound for a key that was never put', async () => {
    expect(await kindOf(store.get('nobody/backup_0000000000000000.backup'))).toBe('NotFound');
    expect(await store.head('nobody/backup_0000000000000000.backup')).toBeUndefined();
  });
});

describe('LANDLORD_BACKUP_URL', () => {
  it('without a URL is the backups folder of the data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'landlord-backups-'));
    try {
      const store = backupObjectStoreFrom({ dataDir });
      expect(store).toBeInstanceOf(LocalBackupObjectStore);
      await store.put(KEY, Readable.from([Buffer.from('sealed')]));
      expect((await stat(join(dataDir, 'backups', KEY))).size).toBe(6);
      expect(backupObjectStoreFrom({ url: '', dataDir })).toBeInstanceOf(LocalBackupObjectStore);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.each([
    ['s3://landlord-backups', S3BackupObjectStore, 's3://landlord-backups'],
    ['s3://landlord-backups/', S3BackupObjectStore, 's3://landlord-backups'],
    [
      's3://landlord.backups.eu/prod/eu-west-1/',
      S3BackupObjectStore,
      's3://landlord.backups.eu/prod/eu-west-1',
    ],
    ['gs://acme_backups', GcsBackupObjectStore, 'gs://acme_backups'],
    ['gs://acme-backups/landlord', GcsBackupObjectStore, 'gs://acme-backups/landlord'],
  ])('takes %s', (url, kind, location) => {
    const store = backupObjectStoreFrom({ url, dataDir: '/nowhere' });
    expect(store).toBeInstanceOf(kind);
    expect(store.location).toBe(location);
    expect(describeBackupLocation(url)).toBe(location);
  });

  it.each([
    ['/var/backups', /not a URL of the form/],
    ['file:///var/backups', /file:\/\/ URL, not a location Landlord knows/],
    ['https://s3.amazonaws.com/bucket', /https:\/\/ URL, not a location/],
    ['s3:/bucket', /not a URL of the form/],
    ['s3://', /bucket "" is not an S3 bucket name/],
    ['s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/x', /must not carry credentials/],
    ['s3://bucket/x?region=eu-west-1', /takes no query or fragment/],
    ['gs://bucket/x#part', /takes no query or fragment/],
    ['s3://bucket:9000/x', /no port/],
    ['s3://Landlord-Backups', /not an S3 bucket name/],
    ['s3://ab', /not an S3 bucket name/],
    ['s3://a..b', /not an S3 bucket name/],
    ['s3://192.168.1.10', /not an S3 bucket name/],
    ['s3://acme_backups', /not an S3 bucket name/],
    ['gs://google-backups', /not a Cloud Storage bucket name/],
    ['gs://-backups', /not a Cloud Storage bucket name/],
    ['s3://bucket//x', /prefix that is not plain/],
    ['s3://bucket/../x', /prefix that is not plain/],
    ['gs://bucket/a b', /prefix that is not plain/],
  ])('refuses %s, naming the variable, why, and the forms it takes', (url, why) => {
    let error: unknown;
    try {
      backupObjectStoreFrom({ url, dataDir: '/nowhere' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LandlordError);
    const { kind, message } = error as LandlordError;
    expect(kind).toBe('Misconfigured');
    expect(message).toMatch(/^LANDLORD_BACKUP_URL /);
    expect(message).toMatch(why);
    expect(message).toContain('s3://bucket[/prefix] or gs://bucket[/prefix]');
    expect(message).not.toMatch(/AKIAEXAMPLE|wJalrXUtnFEMI/);
  });

  it('is described for logs without credentials, query or fragment', () => {
    expect(describeBackupLocation()).toBe('local');
    const described = describeBackupLocation('s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/x?X-Amz-Signature=abc#f');
    expect(described).toBe('s3://bucket/x');
    expect(describeBackupLocation('AKIAEXAMPLE:wJalrXUtnFEMI')).toBe('(not a URL)');
    expect(describeBackupLocation('https://user:pw@example.com/b?sig=1')).toBe('https://example.com/b');
  });
});

describe('the S3 backup store (SDK mock)', () => {
  let s3: AwsClientStub<S3Client>;
  let store: S3BackupObjectStore;
  beforeEach(() => {
    s3 = mockClient(S3Client);
    const client = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    store = new S3BackupObjectStore({ bucket: 'landlord-backups', prefix: 'prod/', client });
  });
  afterEach(() => s3.restore());

  const prefixedKey = `prod/${KEY}`;

  /** A multipart upload as S3 runs it: parts kept by number, assembled only on completion. */
  function multipartService() {
    const parts = new Map<number, Buffer>();
    let assembled: Buffer | undefined;
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3.on(UploadPartCommand).callsFake((input: UploadPartCommandInput) => {
      parts.set(input.PartNumber!, Buffer.from(input.Body as Uint8Array));
      return { ETag: `"etag-${input.PartNumber}"` };
    });
    s3.on(CompleteMultipartUploadCommand).callsFake(() => {
      assembled = Buffer.concat([...parts.keys()].sort((a, b) => a - b).map((n) => parts.get(n)!));
      return {};
    });
    s3.on(AbortMultipartUploadCommand).resolves({});
    return { parts, assembled: () => assembled };
  }

  it('puts a small backup as one object under the prefix, and says where it is', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const body = randomBody(3 * MiB);
    expect(await store.put(KEY, body.stream)).toEqual({ bytes: 3 * MiB });
    expect(store.location).toBe('s3://landlord-backups/prod');
    const [put] = s3.commandCalls(PutObjectCommand);
    const input = put!.args[0].input as { Bucket: string; Key: string; Body: Uint8Array };
    expect({ Bucket: input.Bucket, Key: input.Key }).toEqual({
      Bucket: 'landlord-backups',
      Key: prefixedKey,
    });
    expect(createHash('sha256').update(input.Body).digest('hex')).toBe(body.sha256());
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('streams a large backup as 8 MiB parts that S3 assembles into the same bytes', async () => {
    const service = multipartService();
    const body = randomBody(20 * MiB + 5);
    expect(await store.put(KEY, body.stream)).toEqual({ bytes: 20 * MiB + 5 });
    expect([...service.parts.values()].map((part) => part.length).sort((a, b) => b - a)).toEqual([
      8 * MiB,
      8 * MiB,
      4 * MiB + 5,
    ]);
    expect(createHash('sha256').update(service.assembled()!).digest('hex')).toBe(body.sha256());
    const [complete] = s3.commandCalls(CompleteMultipartUploadCommand);
    expect(complete!.args[0].input).toMatchObject({
      Bucket: 'landlord-backups',
      Key: prefixedKey,
      UploadId: 'upload-1',
      MultipartUpload: { Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"etag-${n}"` })) },
    });
  });

  it('aborts the multipart upload, never completing it, when the body fails', async () => {
    const service = multipartService();
    await expect(store.put(KEY, randomBody(30 * MiB, { failAt: 17 * MiB }).stream)).rejects.toThrow(
      'the source failed',
    );
    expect(service.assembled()).toBeUndefined();
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'landlord-backups', Key: prefixedKey, UploadId: 'upload-1' },
    ]);
  });

  it('has aborted the multipart upload by the time an aborted put rejects', async () => {
    const service = multipartService();
    const controller = new AbortController();
    const body = randomBody(30 * MiB, { stallAt: 9 * MiB });
    const put = store.put(KEY, body.stream, controller.signal);
    await body.stalled;
    controller.abort();
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(service.assembled()).toBeUndefined();
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('reads an object back as a stream, and says NotFound for a missing key only', async () => {
    const bytes = randomBytes(MiB);
    s3.on(GetObjectCommand, { Key: prefixedKey }).resolves({ Body: Readable.from([bytes]) as never });
    expect(await sha256Of(await store.get(KEY))).toBe(createHash('sha256').update(bytes).digest('hex'));

    s3.on(GetObjectCommand, { Key: `prod/acme/backup_0000000000000000.backup` }).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }),
    );
    expect(await kindOf(store.get('acme/backup_0000000000000000.backup'))).toBe('NotFound');

    // A missing bucket is a misconfiguration, not a missing backup.
    s3.on(GetObjectCommand, { Key: 'prod/acme/backup_1111111111111111.backup' }).rejects(
      new NoSuchBucket({
        message: 'The specified bucket does not exist',
        $metadata: { httpStatusCode: 404 },
      }),
    );
    await expect(store.get('acme/backup_1111111111111111.backup')).rejects.toBeInstanceOf(NoSuchBucket);
  });

  it('heads an object for its size, undefined when S3 has none', async () => {
    s3.on(HeadObjectCommand, { Key: prefixedKey }).resolves({ ContentLength: 4242 });
    s3.on(HeadObjectCommand, { Key: 'prod/acme/backup_0000000000000000.backup' }).rejects(
      new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }),
    );
    expect(await store.head(KEY)).toEqual({ bytes: 4242 });
    expect(await store.head('acme/backup_0000000000000000.backup')).toBeUndefined();
  });

  it('deletes the prefixed key, and refuses a bad key before asking S3 anything', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    await store.delete(KEY);
    expect(s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'landlord-backups', Key: prefixedKey },
    ]);
    for (const key of BAD_KEYS) expect(await kindOf(store.head(key))).toBe('ValidationFailed');
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(0);
  });
});

describe('the S3 backup store against an S3-compatible endpoint (AWS_ENDPOINT_URL_S3)', () => {
  let server: Server;
  const requests: { method: string; url: string; authorized: boolean }[] = [];
  const objects = new Map<string, Buffer>();

  /** Path-style S3 as MinIO answers it, for HEAD, GET and DELETE. */
  function answer(req: IncomingMessage, res: ServerResponse) {
    requests.push({
      method: req.method!,
      url: req.url!,
      authorized: /^AWS4-HMAC-SHA256 Credential=minio-test\//.test(req.headers.authorization ?? ''),
    });
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    const object = objects.get(path);
    if (req.method === 'DELETE') {
      objects.delete(path);
      res.writeHead(204).end();
    } else if (!object) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end(
        req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchKey</Code><Message>none</Message></Error>',
      );
    } else {
      res.writeHead(200, { 'content-length': object.length, 'content-type': 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : object);
    }
  }

  beforeEach(async () => {
    server = createServer(answer);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    vi.stubEnv('AWS_ENDPOINT_URL_S3', `http://127.0.0.1:${port}`);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'minio-test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'minio-test-secret');
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', join(tmpdir(), 'landlord-no-aws-config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(tmpdir(), 'landlord-no-aws-credentials'));
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    requests.length = 0;
    objects.clear();
    await new Promise((resolve) => server.close(resolve));
  });

  it('uses path-style requests to the configured endpoint, in us-east-1 when no region is set', async () => {
    const client = await defaultS3Client();
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.region()).toBe('us-east-1');
    client.destroy();

    const bytes = randomBytes(100_000);
    objects.set(`/landlord-backups/prod/${KEY}`, bytes);
    const store: BackupObjectStore = backupObjectStoreFrom({
      url: 's3://landlord-backups/prod',
      dataDir: '/nowhere',
    });
    expect(await store.head(KEY)).toEqual({ bytes: 100_000 });
    expect(await sha256Of(await store.get(KEY))).toBe(createHash('sha256').update(bytes).digest('hex'));
    await store.delete(KEY);
    expect(await store.head(KEY)).toBeUndefined();
    expect(await kindOf(store.get(KEY))).toBe('NotFound');
    expect(requests.map(({ method, url }) => `${method} ${url.split('?')[0]}`)).toEqual([
      `HEAD /landlord-backups/prod/${KEY}`,
      `GET /landlord-backups/prod/${KEY}`,
      `DELETE /landlord-backups/prod/${KEY}`,
      `HEAD /landlord-backups/prod/${KEY}`,
      `GET /landlord-backups/prod/${KEY}`,
    ]);
    expect(requests.every((r) => r.authorized)).toBe(true);
  });

  it('uses bucket hostnames and the configured region when no endpoint is configured', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    const client = await defaultS3Client();
    expect(client.config.forcePathStyle).toBe(false);
    expect(await client.config.region()).toBe('eu-west-1');
    client.destroy();
  });
});

/** A Cloud Storage object: its bytes and generation. */
interface StoredObject {
  data: Buffer;
  generation: number;
}

/**
 * Cloud Storage as this store meets it: an upload becomes an object (a new generation) only when
 * its stream ends; a `failAfterFinalize` upload is finalized and then reported failed, as a CRC32C
 * mismatch the SDK could not clean up would be.
 */
class FakeCloudStorage implements GcsStorage {
  readonly objects = new Map<string, StoredObject>();
  readonly writeOptions: unknown[] = [];
  readonly buckets = new Set<string>();
  failAfterFinalize = false;
  private generations = 0;

  bucket(name: string) {
    this.buckets.add(name);
    return { file: (objectName: string): GcsFile => this.file(objectName) };
  }

  private notFound() {
    return Object.assign(new Error('No such object'), { code: 404 });
  }

  private file(name: string): GcsFile {
    const file: GcsFile & { metadata: { generation?: number } | undefined } = {
      metadata: undefined,
      createWriteStream: (options) => {
        this.writeOptions.push(options);
        const chunks: Buffer[] = [];
        return new Writable({
          write(chunk: Buffer, _encoding, done) {
            chunks.push(chunk);
            done();
          },
          final: (done) => {
            const generation = ++this.generations;
            this.objects.set(name, { data: Buffer.concat(chunks), generation });
            file.metadata = { generation };
            done(this.failAfterFinalize ? new Error('the uploaded object failed its CRC32C check') : null);
          },
        });
      },
      createReadStream: () => {
        const object = this.objects.get(name);
        return object
          ? Readable.from([object.data])
          : new Readable({ read: () => {} }).destroy(this.notFound());
      },
      getMetadata: async () => {
        const object = this.objects.get(name);
        if (!object) throw this.notFound();
        return [{ size: String(object.data.length), generation: object.generation }];
      },
      delete: async ({ ignoreNotFound, ifGenerationMatch }) => {
        const object = this.objects.get(name);
        if (!object) {
          if (ignoreNotFound) return;
          throw this.notFound();
        }
        if (ifGenerationMatch !== undefined && Number(ifGenerationMatch) !== object.generation)
          throw Object.assign(new Error('Precondition Failed'), { code: 412 });
        this.objects.delete(name);
      },
    };
    return file;
  }
}

describe('the Cloud Storage backup store (stub bucket)', () => {
  let gcs: FakeCloudStorage;
  let store: GcsBackupObjectStore;
  beforeEach(() => {
    gcs = new FakeCloudStorage();
    store = backupObjectStoreFrom({
      url: 'gs://acme-backups/landlord/',
      dataDir: '/nowhere',
      clients: { gcs },
    }) as GcsBackupObjectStore;
  });

  it('uploads with a CRC32C check under the prefix, reads back, heads and deletes', async () => {
    const body = randomBody(3 * MiB + 7);
    expect(await store.put(KEY, body.stream)).toEqual({ bytes: 3 * MiB + 7 });
    expect(store.location).toBe('gs://acme-backups/landlord');
    expect([...gcs.buckets]).toEqual(['acme-backups']);
    expect([...gcs.objects.keys()]).toEqual([`landlord/${KEY}`]);
    expect(gcs.writeOptions[0]).toMatchObject({ validation: 'crc32c', resumable: true });
    expect(await sha256Of(await store.get(KEY))).toBe(body.sha256());
    expect(await store.head(KEY)).toEqual({ bytes: 3 * MiB + 7 });
    await store.delete(KEY);
    await store.delete(KEY);
    expect(gcs.objects.size).toBe(0);
    expect(await store.head(KEY)).toBeUndefined();
    expect(await kindOf(store.get(KEY))).toBe('NotFound');
  });

  it('leaves nothing when the body fails, is aborted, or the upload fails after finalizing', async () => {
    await expect(store.put(KEY, randomBody(3 * MiB, { failAt: MiB }).stream)).rejects.toThrow(
      'the source failed',
    );
    expect(gcs.objects.size).toBe(0);

    const controller = new AbortController();
    const body = randomBody(3 * MiB, { stallAt: MiB });
    const put = store.put(KEY, body.stream, controller.signal);
    await body.stalled;
    controller.abort();
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(gcs.objects.size).toBe(0);

    gcs.failAfterFinalize = true;
    await expect(store.put(KEY, randomBody(MiB).stream)).rejects.toThrow(/CRC32C/);
    expect(gcs.objects.size).toBe(0);
  });

  it('does not take a refusal for a missing object', async () => {
    const refusing: GcsStorage = {
      bucket: () => ({
        file: () => ({
          ...gcs.bucket('acme-backups').file('x'),
          getMetadata: () => Promise.reject(Object.assign(new Error('Forbidden'), { code: 403 })),
        }),
      }),
    };
    const locked = new GcsBackupObjectStore({ bucket: 'acme-backups', prefix: '', storage: refusing });
    await expect(locked.head(KEY)).rejects.toThrow('Forbidden');
    await expect(locked.get(KEY)).rejects.toThrow('Forbidden');
  });
});
