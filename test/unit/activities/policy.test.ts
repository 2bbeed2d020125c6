import { describe, expect, it } from 'vitest';
import { createPolicyActivities } from '../../../activities/policy/index.js';
import { loadConfig } from '../../../config/index.js';
import type { PolicyCatalog, TenantSpec } from '../../../domain/index.js';
import { AWS_NETWORK } from '../pulumi/fake-clouds.js';

const config = loadConfig({});
/** The shipped tiers and regions, the AWS regions with the network a silo there needs. */
const catalog: PolicyCatalog = {
  ...config.catalog,
  regions: config.catalog.regions.map((r) => (r.provider === 'aws' ? { ...r, network: AWS_NETWORK } : r)),
};
const policy = createPolicyActivities({
  catalog,
  localRegions: new Set(),
  retention: config.retention,
  manifest: config.manifest,
});

function tenant(tier: string): TenantSpec {
  return {
    id: 'globex',
    name: 'Globex',
    tier,
    region: 'aws-eu-west-1',
    adminEmail: 'ops@globex.example',
    features: {},
    labels: {},
  };
}

describe('silo specs from placement', () => {
  it("carry each storage prefix of the manifest with its data class's retention for the tier", async () => {
    const enterprise = await policy.validatePlacement({ spec: tenant('enterprise') });
    const expected = [
      { prefix: 'attachments/', dataClass: 'content', days: 730 },
      { prefix: 'exports/', dataClass: 'personal', days: 2555 },
      { prefix: 'logs/', dataClass: 'telemetry', days: 365 },
    ];
    expect(enterprise.silo?.primary.storageRetention).toEqual(expected);
    // The standby's bucket expires the replicas by the same rules.
    expect(enterprise.silo?.standby?.storageRetention).toEqual(expected);

    // Premium has no tier values of its own: the defaults.
    const premium = await policy.validatePlacement({ spec: tenant('premium') });
    expect(premium.silo?.primary.storageRetention).toEqual([
      { prefix: 'attachments/', dataClass: 'content', days: 730 },
      { prefix: 'exports/', dataClass: 'personal', days: 1095 },
      { prefix: 'logs/', dataClass: 'telemetry', days: 90 },
    ]);
  });

  it("take the tenant's own choices where its tier allows them", async () => {
    const { silo } = await policy.validatePlacement({
      spec: tenant('enterprise'),
      // 14 days of telemetry is within bounds; 5000 days of content is above the tier's 1825.
      retention: { telemetry: { days: 14 }, content: { days: 5000 } },
    });
    expect(silo?.primary.storageRetention).toEqual([
      { prefix: 'attachments/', dataClass: 'content', days: 730 },
      { prefix: 'exports/', dataClass: 'personal', days: 2555 },
      { prefix: 'logs/', dataClass: 'telemetry', days: 14 },
    ]);
  });

  it('give a prefix of a class kept forever no days, and carry nothing without a manifest', async () => {
    const contracts = createPolicyActivities({
      catalog,
      localRegions: new Set(),
      retention: config.retention,
      manifest: { storage: [{ prefix: 'contracts/', dataClass: 'business' }] },
    });
    const { silo } = await contracts.validatePlacement({ spec: tenant('premium') });
    expect(silo?.primary.storageRetention).toEqual([{ prefix: 'contracts/', dataClass: 'business' }]);

    const withoutManifest = createPolicyActivities({
      catalog,
      localRegions: new Set(),
      retention: config.retention,
    });
    const bare = await withoutManifest.validatePlacement({ spec: tenant('premium') });
    expect(bare.silo?.primary).not.toHaveProperty('storageRetention');
  });
});
