/**
 * Which tenants a backup sweep asks for a backup (activities/backups/sweep.ts): those whose newest
 * backup is older than their tier's cadence (less a sweep), never-backed-up ones, active and
 * suspended only; and not one whose last backup failed within its cadence.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { backupDue, createBackupSweepActivities } from '../../../activities/backups/sweep.js';
import type { DuePage } from '../../../activities/backups/sweep.js';
import { loadConfig } from '../../../config/index.js';
import type { OperationSnapshot, TenantRecord } from '../../../domain/index.js';
import { MemoryRegistry } from '../../../registry/memory.js';
import { recordBackup } from '../../support/backups.js';

const MINUTE = 60_000;
const { catalog } = loadConfig({});

const tenant = (id: string, tier: string, status: TenantRecord['status'] = 'active'): TenantRecord => ({
  id,
  name: id,
  tier,
  region: 'local-a',
  deploymentModel: tier === 'basic' ? 'pool' : 'silo',
  status,
  adminEmail: 'a@b.test',
  features: {},
  labels: {},
  resources: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
});

describe('the backup sweep', () => {
  it('counts a backup due a sweep before its cadence is up, so that backups come on the cadence', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    const at = (minutesAgo: number) => new Date(now - minutesAgo * MINUTE).toISOString();
    expect(backupDue(undefined, 15 * MINUTE, 5 * MINUTE, now)).toBe(true);
    expect(backupDue(at(10), 15 * MINUTE, 5 * MINUTE, now)).toBe(true);
    expect(backupDue(at(9), 15 * MINUTE, 5 * MINUTE, now)).toBe(false);
  });

  it('finds the active and suspended tenants due on their tier, and backs off after a failed backup', async () => {
    const store = new MemoryRegistry();
    for (const t of [
      tenant('never', 'basic'),
      tenant('fresh', 'basic'),
      tenant('stale', 'enterprise', 'suspended'),
      tenant('gone', 'basic', 'deleted'),
      tenant('failing', 'enterprise'),
      tenant('failed-long-ago', 'enterprise'),
    ])
      await store.tenants.upsert(t);
    await recordBackup(store, 'fresh', { daysAgo: 0.5 });
    await recordBackup(store, 'stale', { daysAgo: 1 });
    const failed = (id: string, minutesAgo: number): OperationSnapshot => ({
      id: `backup-${id}`,
      tenantId: id,
      kind: 'backup',
      status: 'failed',
      run: 1,
      steps: [],
      actor: { principal: 'schedule:landlord-backups', role: 'schedule', requestId: 's' },
      input: {},
      createdAt: new Date(Date.now() - minutesAgo * MINUTE).toISOString(),
      updatedAt: new Date(Date.now() - minutesAgo * MINUTE).toISOString(),
      finishedAt: new Date(Date.now() - minutesAgo * MINUTE).toISOString(),
      version: 2,
    });
    await store.operations.upsert(failed('failing', 5));
    await store.operations.upsert(failed('failed-long-ago', 20));
    const sweep = createBackupSweepActivities({ client: {} as Client, store, catalog });
    const page: DuePage = await new MockActivityEnvironment().run(sweep.dueForBackupPage, {
      at: new Date().toISOString(),
      sweepMs: 5 * MINUTE,
    });
    expect(page.tenantIds.sort()).toEqual(['failed-long-ago', 'never', 'stale']);
  });
});
