/**
 * Where backups are kept (docs/disaster-recovery.md): a folder under the data dir by default, or
 * an S3 or GCS bucket named by LANDLORD_BACKUP_URL, through the cloud's own SDK.
 */
import type { Readable } from 'node:stream';

export interface BackupObjectStore {
  /** What the catalog records as the backup's location: `local`, or the configured URL. */
  readonly location: string;
  /**
   * Writes `body` under `key`; the object is there, whole, only once this resolves (a failed or
   * aborted put leaves nothing readable under `key`). Returns the bytes written.
   */
  put(key: string, body: Readable, signal?: AbortSignal): Promise<{ bytes: number }>;
  /** The object's bytes; a LandlordError `NotFound` when there is none. */
  get(key: string, signal?: AbortSignal): Promise<Readable>;
  /** Its size, or undefined when there is none. */
  head(key: string): Promise<{ bytes: number } | undefined>;
  /** Deletes it; deleting what is not there is not an error. */
  delete(key: string): Promise<void>;
}
