/**
 * Backups in a Cloud Storage bucket (`LANDLORD_BACKUP_URL=gs://bucket/prefix`). A put streams the
 * archive as a resumable upload checked by CRC32C; Cloud Storage makes the object visible only once
 * the upload is finalized, so a failed or aborted put leaves nothing readable under the key. With
 * STORAGE_EMULATOR_HOST set, the SDK talks to that emulator by itself; nothing here reads it.
 */
import { addAbortSignal } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CreateWriteStreamOptions, FileMetadata } from '@google-cloud/storage';
import { LandlordError } from '../../domain/index.js';
import { backupKeySegments, byteCounter } from './local-object-store.js';
import type { BackupObjectStore } from './object-store.js';

/**
 * Bytes sent per request of a resumable upload (a multiple of 256 KiB): a failed request resends
 * one chunk, and the upload holds at most one chunk in memory.
 */
const CHUNK_SIZE = 8 * 1024 * 1024;

/** The calls of a `File` of `@google-cloud/storage` this store makes (a stub in tests). */
export interface GcsFile {
  /** Set by the SDK from the object's resource once an upload is finalized. */
  readonly metadata: Pick<FileMetadata, 'generation'> | undefined;
  createWriteStream(options: CreateWriteStreamOptions): Writable;
  createReadStream(): Readable;
  getMetadata(): Promise<[Pick<FileMetadata, 'size' | 'generation'>, ...unknown[]]>;
  delete(options: { ignoreNotFound?: boolean; ifGenerationMatch?: number | string }): Promise<unknown>;
}

/** The calls of a `Storage` client this store makes: a bucket's files. */
export interface GcsStorage {
  bucket(name: string): { file(name: string): GcsFile };
}

/** Where a GCS store keeps its objects, and optionally the client it uses (a stub in tests). */
export interface GcsBackupObjectStoreOptions {
  bucket: string;
  /** Folder of the bucket the keys live under, without slashes at either end; '' for the top. */
  prefix: string;
  storage?: GcsStorage;
}

/** Cloud Storage's answer for an object (or bucket) that is not there. */
const isNotFound = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 404;

/** Backups as objects of a Cloud Storage bucket under a prefix. */
export class GcsBackupObjectStore implements BackupObjectStore {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private storage: Promise<GcsStorage> | undefined;

  /** A store over `bucket`/`prefix`; without `storage`, a client with Google's default credentials. */
  constructor({ bucket, prefix, storage }: GcsBackupObjectStoreOptions) {
    this.bucket = bucket;
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
    this.location = `gs://${bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.storage = storage ? Promise.resolve(storage) : undefined;
  }

  private async file(key: string): Promise<GcsFile> {
    const name = backupKeySegments(key).join('/');
    // Loaded on first use only: most installations never touch Cloud Storage.
    this.storage ??= import('@google-cloud/storage').then(({ Storage }) => new Storage());
    const storage = await this.storage;
    return storage.bucket(this.bucket).file(this.prefix ? `${this.prefix}/${name}` : name);
  }

  async put(key: string, body: Readable, signal?: AbortSignal): Promise<{ bytes: number }> {
    const file = await this.file(key);
    const counter = byteCounter();
    const upload = file.createWriteStream({
      resumable: true,
      chunkSize: CHUNK_SIZE,
      validation: 'crc32c',
      contentType: 'application/octet-stream',
    });
    try {
      await pipeline(body, counter.stream, upload, { signal });
    } catch (err) {
      await this.removeUploaded(file);
      throw err;
    }
    return { bytes: counter.bytes() };
  }

  /**
   * Deletes what a failed put finalized (a CRC32C mismatch the SDK could not delete, an abort that
   * came after the last chunk): only that generation, never an object another writer put since.
   */
  private async removeUploaded(file: GcsFile): Promise<void> {
    const generation = file.metadata?.generation;
    if (generation === undefined) return;
    try {
      await file.delete({ ignoreNotFound: true, ifGenerationMatch: generation });
    } catch {
      // The put's own error is the one to report; an object left here is at worst a whole one.
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    const file = await this.file(key);
    signal?.throwIfAborted();
    // A read stream reports a missing object only once read; asking first makes that a NotFound here.
    if ((await this.head(key)) === undefined)
      throw new LandlordError('NotFound', `backup object ${key} is not in ${this.location}`);
    const stream = file.createReadStream();
    return signal ? addAbortSignal(signal, stream) : stream;
  }

  async head(key: string): Promise<{ bytes: number } | undefined> {
    const file = await this.file(key);
    try {
      const [metadata] = await file.getMetadata();
      return { bytes: Number(metadata.size ?? 0) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = await this.file(key);
    await file.delete({ ignoreNotFound: true });
  }
}
