/**
 * The backup object store as configured by LANDLORD_BACKUP_URL: unset, the data dir's `backups`
 * folder; `s3://bucket[/prefix]`, an S3 (or S3-compatible) bucket; `gs://bucket[/prefix]`, a Cloud
 * Storage bucket. Credentials never go in the URL: each cloud's SDK finds its own.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { LandlordError } from '../../domain/index.js';
import { GcsBackupObjectStore } from './gcs-object-store.js';
import type { GcsStorage } from './gcs-object-store.js';
import { LocalBackupObjectStore, localBackupsRoot } from './local-object-store.js';
import type { BackupObjectStore } from './object-store.js';
import { S3BackupObjectStore } from './s3-object-store.js';

export type { BackupObjectStore } from './object-store.js';
export { backupKeySegments, LocalBackupObjectStore, localBackupsRoot } from './local-object-store.js';
export { defaultS3Client, S3BackupObjectStore } from './s3-object-store.js';
export type { S3BackupObjectStoreOptions } from './s3-object-store.js';
export { GcsBackupObjectStore } from './gcs-object-store.js';
export type { GcsBackupObjectStoreOptions, GcsFile, GcsStorage } from './gcs-object-store.js';

/** A bucket location LANDLORD_BACKUP_URL names. */
export interface BackupBucketUrl {
  scheme: 's3' | 'gs';
  bucket: string;
  /** Without slashes at either end; '' for the top of the bucket. */
  prefix: string;
}

const ACCEPTED = "unset (the data dir's backups folder), s3://bucket[/prefix] or gs://bucket[/prefix]";
/** `scheme://authority/path`, with no query or fragment. */
const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?$/;
/** A prefix: plain segments as in object keys, a trailing slash allowed. */
const PREFIX = /^(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]*$/;
const IP_ADDRESS = /^\d+\.\d+\.\d+\.\d+$/;

/** Why `name` is not an S3 bucket name, or undefined when it is one. */
function s3BucketProblem(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
    return 'is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)';
  if (name.includes('..') || IP_ADDRESS.test(name) || name.startsWith('xn--'))
    return 'is not an S3 bucket name (no "..", no IP address, no "xn--" start)';
  return undefined;
}

/** Why `name` is not a Cloud Storage bucket name, or undefined when it is one. */
function gcsBucketProblem(name: string): string | undefined {
  const parts = name.split('.');
  if (
    !/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name) ||
    name.length < 3 ||
    name.length > 222 ||
    parts.some((part) => part.length === 0 || part.length > 63) ||
    (parts.length === 1 && name.length > 63)
  )
    return 'is not a Cloud Storage bucket name (3 to 63 lowercase letters, digits, dots, hyphens, underscores)';
  if (IP_ADDRESS.test(name) || name.startsWith('goog') || name.includes('google'))
    return 'is not a Cloud Storage bucket name (no IP address, no "goog" start, no "google")';
  return undefined;
}

/** The bucket location `url` names, or why it names none (never repeating what could be a secret). */
export function parseBackupUrl(url: string): BackupBucketUrl | { problem: string } {
  const match = URL_SHAPE.exec(url);
  if (!match) {
    if (/[?#]/.test(url)) return { problem: 'takes no query or fragment' };
    return { problem: 'is not a URL of the form scheme://bucket[/prefix]' };
  }
  const [, scheme = '', authority = '', path = ''] = match;
  if (scheme !== 's3' && scheme !== 'gs')
    return { problem: `is a ${scheme}:// URL, not a location Landlord knows` };
  if (authority.includes('@'))
    return { problem: 'must not carry credentials: the SDK takes them from its own configuration' };
  if (authority.includes(':')) return { problem: 'names a bucket, not a server: no port' };
  const problem = scheme === 's3' ? s3BucketProblem(authority) : gcsBucketProblem(authority);
  if (problem) return { problem: `bucket "${authority}" ${problem}` };
  const prefix = path.replace(/^\//, '');
  const segments = prefix.replace(/\/$/, '').split('/');
  if (!PREFIX.test(prefix) || (prefix !== '' && segments.some((s) => s === '.' || s === '..')))
    return { problem: 'has a prefix that is not plain [A-Za-z0-9._-] segments separated by single slashes' };
  return { scheme, bucket: authority, prefix: prefix.replace(/\/$/, '') };
}

/**
 * Where backups go, for a log line: `local`, or the URL's scheme, bucket and path with anything
 * else (credentials, query, fragment) left out. What is not `scheme://…` is not shown at all: it
 * may be a secret pasted into the wrong variable.
 */
export function describeBackupLocation(url?: string): string {
  if (url === undefined || url === '') return 'local';
  const parsed = parseBackupUrl(url);
  if (!('problem' in parsed))
    return `${parsed.scheme}://${parsed.bucket}${parsed.prefix ? `/${parsed.prefix}` : ''}`;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return '(not a URL)';
  try {
    const { protocol, host, pathname } = new URL(url);
    return `${protocol}//${host}${pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * The store LANDLORD_BACKUP_URL (`url`) names: without one, the `backups` folder of `dataDir`.
 * A URL of another form is a LandlordError `Misconfigured` that says which forms there are.
 */
export function backupObjectStoreFrom({
  url,
  dataDir,
  clients = {},
}: {
  url?: string;
  dataDir: string;
  /** Clients to use instead of ones built from the default credentials (tests). */
  clients?: { s3?: S3Client; gcs?: GcsStorage };
}): BackupObjectStore {
  if (url === undefined || url === '') return new LocalBackupObjectStore(localBackupsRoot(dataDir));
  const parsed = parseBackupUrl(url);
  if ('problem' in parsed)
    throw new LandlordError(
      'Misconfigured',
      `LANDLORD_BACKUP_URL ${describeBackupLocation(url)} ${parsed.problem}; accepted: ${ACCEPTED}`,
    );
  const { bucket, prefix } = parsed;
  return parsed.scheme === 's3'
    ? new S3BackupObjectStore({ bucket, prefix, client: clients.s3 })
    : new GcsBackupObjectStore({ bucket, prefix, storage: clients.gcs });
}
