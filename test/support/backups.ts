/**
 * A backup's catalog entry as a data worker would record one, for tests that need backups in the
 * registry without taking them: taken `daysAgo`, kept `keptDays`, anything else overridden.
 */
import { randomBytes } from 'node:crypto';
import { backupObjectKey } from '../../domain/index.js';
import type { TenantBackup } from '../../domain/index.js';
import type { NewBackup, Registry } from '../../registry/index.js';

const DAY = 86_400_000;

export function catalogEntry(
  tenantId: string,
  { daysAgo = 1, keptDays = 7, ...change }: Partial<NewBackup> & { daysAgo?: number; keptDays?: number } = {},
): NewBackup {
  const id = change.id ?? `backup_${randomBytes(8).toString('hex')}`;
  const takenAt = change.takenAt ?? new Date(Date.now() - daysAgo * DAY).toISOString();
  return {
    id,
    tenantId,
    operationId: `backup-${tenantId}-${id}`,
    takenAt,
    region: 'local-a',
    deploymentModel: 'pool',
    keyId: 'tkey_0a1b2c3d4e5f60718293',
    format: 'tar+pgcopy',
    location: 'local',
    objectKey: backupObjectKey(tenantId, id),
    bytes: 1024,
    sha256: 'ab'.repeat(32),
    schemaVersion: '002_subject_indexes',
    tables: [],
    expiresAt: new Date(Date.parse(takenAt) + keptDays * DAY).toISOString(),
    ...change,
  };
}

/** Records a catalog entry (catalogEntry) in `store`. */
export const recordBackup = (
  store: Pick<Registry, 'backups'>,
  tenantId: string,
  options?: Parameters<typeof catalogEntry>[1],
): Promise<TenantBackup> => store.backups.record(catalogEntry(tenantId, options));
