/**
 * Backups in an S3 bucket (`LANDLORD_BACKUP_URL=s3://bucket/prefix`), or in an S3-compatible
 * server such as MinIO. A put streams the archive as a multipart upload that S3 assembles only when
 * it completes, so a failed or aborted put leaves nothing readable under the key.
 */
import { Readable, addAbortSignal, pipeline } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LandlordError } from '../../domain/index.js';
import { backupKeySegments, byteCounter } from './local-object-store.js';
import type { BackupObjectStore } from './object-store.js';

/** Parts uploaded at once: memory held is at most QUEUE_SIZE × PART_SIZE. */
const QUEUE_SIZE = 4;
/** Size of each part of a multipart upload; a smaller body goes up as one PutObject. */
const PART_SIZE = 8 * 1024 * 1024;
/** The region signed for when neither the environment nor the AWS config names one (MinIO's default). */
const DEFAULT_REGION = 'us-east-1';

/** Where an S3 store keeps its objects, and optionally the client it uses (a mocked one in tests). */
export interface S3BackupObjectStoreOptions {
  bucket: string;
  /** Folder of the bucket the keys live under, without slashes at either end; '' for the top. */
  prefix: string;
  client?: S3Client;
}

/**
 * A client from the default credential chain and region (us-east-1 when none is configured). When
 * the AWS configuration names an endpoint (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or `endpoint_url`
 * in the shared config file) the server is an S3-compatible one, which takes path-style requests
 * (`host/bucket/key`) rather than bucket subdomains. The SDK resolves that setting itself; asking it
 * keeps the decision identical to the endpoint the requests will go to.
 */
export async function defaultS3Client(): Promise<S3Client> {
  const probe = new S3Client({});
  try {
    const [endpoint, region] = await Promise.all([
      probe.config.serviceConfiguredEndpoint?.(),
      probe.config.region().catch(() => undefined),
    ]);
    return new S3Client({ region: region ?? DEFAULT_REGION, forcePathStyle: endpoint !== undefined });
  } finally {
    probe.destroy();
  }
}

const errorName = (err: unknown): unknown => (err as { name?: unknown } | null)?.name;
const httpStatus = (err: unknown): unknown =>
  (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;

/**
 * Whether GetObject said there is no such object. A missing bucket is a 404 too, but a
 * misconfiguration rather than a missing backup, so NoSuchBucket is left as it is.
 */
const isMissingObject = (err: unknown): boolean =>
  errorName(err) === 'NoSuchKey' || (httpStatus(err) === 404 && errorName(err) !== 'NoSuchBucket');

/** Backups as objects of an S3 bucket under a prefix. */
export class S3BackupObjectStore implements BackupObjectStore {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private client: Promise<S3Client> | undefined;

  /** A store over `bucket`/`prefix`; without `client`, one is made on first use (defaultS3Client). */
  constructor({ bucket, prefix, client }: S3BackupObjectStoreOptions) {
    this.bucket = bucket;
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
    this.location = `s3://${bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.client = client ? Promise.resolve(client) : undefined;
  }

  private s3(): Promise<S3Client> {
    this.client ??= defaultS3Client();
    return this.client;
  }

  private objectKey(key: string): string {
    const name = backupKeySegments(key).join('/');
    return this.prefix ? `${this.prefix}/${name}` : name;
  }

  async put(key: string, body: Readable, signal?: AbortSignal): Promise<{ bytes: number }> {
    const Key = this.objectKey(key);
    const client = await this.s3();
    signal?.throwIfAborted();
    const counter = byteCounter();
    // A body that fails, or an abort, ends the stream the upload reads with that error: lib-storage
    // then waits for the parts in flight, aborts the multipart upload, and only then rejects. (Its own
    // `abort()` would reject at once and leave the multipart abort to happen after we had returned.)
    pipeline(body, counter.stream, (err) => {
      if (err) counter.stream.destroy(err);
    });
    if (signal) addAbortSignal(signal, counter.stream);
    const upload = new Upload({
      client,
      params: { Bucket: this.bucket, Key, Body: counter.stream, ContentType: 'application/octet-stream' },
      queueSize: QUEUE_SIZE,
      partSize: PART_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // The upload may have stopped reading first (S3 refused a part): release the body.
      counter.stream.destroy();
      throw err;
    }
    return { bytes: counter.bytes() };
  }

  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    const Key = this.objectKey(key);
    const client = await this.s3();
    let body: unknown;
    try {
      ({ Body: body } = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key }), {
        abortSignal: signal,
      }));
    } catch (err) {
      if (isMissingObject(err))
        throw new LandlordError('NotFound', `backup object ${key} is not in ${this.location}`);
      throw err;
    }
    if (!(body instanceof Readable))
      throw new Error(`S3 returned no readable body for ${key} in ${this.location}`);
    return signal ? addAbortSignal(signal, body) : body;
  }

  async head(key: string): Promise<{ bytes: number } | undefined> {
    const Key = this.objectKey(key);
    const client = await this.s3();
    try {
      const { ContentLength } = await client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { bytes: ContentLength ?? 0 };
    } catch (err) {
      // A HEAD answer has no body to tell a missing key from a missing bucket: any 404 is "none".
      if (errorName(err) === 'NotFound' || httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    const client = await this.s3();
    // S3 answers 204 for a key that is not there: deleting twice is not an error.
    await client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
  }
}
