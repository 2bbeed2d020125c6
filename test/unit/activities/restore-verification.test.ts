import { describe, expect, it } from 'vitest';
import { createRestoreVerificationActivities } from '../../../activities/restore-verification/index.js';
import { loadConfig } from '../../../config/index.js';
import type { TenantRecord, TenantStatus, VerificationRunRequest } from '../../../domain/index.js';
import { MemoryRegistry } from '../../../registry/index.js';

const { catalog } = loadConfig({});

const tenant = (id: string, tier: string, status: TenantStatus = 'active'): TenantRecord => ({
  id,
  name: id,
  tier,
  region: 'local-a',
  deploymentModel: tier === 'enterprise' || tier === 'premium' ? 'silo' : 'pool',
  status,
  adminEmail: 'a@b.test',
  features: {},
  labels: {},
  resources: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
});

/** A registry of 300 basic tenants (more than a page), two enterprise ones and some not sampled at all. */
async function fleet(): Promise<MemoryRegistry> {
  const store = new MemoryRegistry();
  for (let i = 0; i < 300; i++)
    await store.tenants.upsert(tenant(`basic-${String(i).padStart(3, '0')}`, 'basic'));
  await store.tenants.upsert(tenant('ent-one', 'enterprise'));
  await store.tenants.upsert(tenant('ent-resting', 'enterprise', 'suspended'));
  await store.tenants.upsert(tenant('ent-leaving', 'enterprise', 'offboarding'));
  await store.tenants.upsert(tenant('ent-new', 'enterprise', 'provisioning'));
  await store.tenants.upsert(tenant('gone-co', 'basic', 'deleted'));
  return store;
}

const request = (change: Partial<VerificationRunRequest>): VerificationRunRequest => ({
  id: `drv-${Math.random().toString(16).slice(2)}`,
  trigger: 'api',
  requestedBy: 'key_1',
  share: 0.1,
  ...change,
});

describe('the restore verification sample', () => {
  it('holds every active or suspended tenant on a DR tier, and others by the share', async () => {
    const store = await fleet();
    const { sampleRestoreVerification } = createRestoreVerificationActivities({ store, catalog });
    const sampled = async (share: number) => {
      const asked = request({ share });
      const { tenantIds } = await sampleRestoreVerification(asked);
      expect((await store.verifications.get(asked.id))?.total).toBe(tenantIds.length);
      return tenantIds;
    };
    const enterprise = ['ent-one', 'ent-resting'];
    expect((await sampled(0)).sort()).toEqual(enterprise);
    const all = await sampled(1);
    expect(all).toHaveLength(302);
    expect(all).toEqual(expect.arrayContaining(enterprise));
    expect(all).not.toContain('ent-leaving');
    expect(all).not.toContain('gone-co');
    // A share of 0.5 over 300 tenants: far outside 100..200 once in ~10^8 draws.
    const half = (await sampled(0.5)).filter((id) => id.startsWith('basic-'));
    expect(half.length).toBeGreaterThan(100);
    expect(half.length).toBeLessThan(200);
    expect(await sampled(0.5)).not.toEqual(await sampled(0.5));
  });

  it('is exactly the tenants named, whatever their tier or status', async () => {
    const store = await fleet();
    const { sampleRestoreVerification } = createRestoreVerificationActivities({ store, catalog });
    const named = ['gone-co', 'basic-007', 'ent-new'];
    expect(await sampleRestoreVerification(request({ tenants: named, share: 0 }))).toEqual({
      tenantIds: named,
    });
  });

  it('names no backup for a tenant that has none available', async () => {
    const store = await fleet();
    const { latestBackupToVerify } = createRestoreVerificationActivities({ store, catalog });
    expect(await latestBackupToVerify({ tenantId: 'basic-001' })).toEqual({});
  });
});
