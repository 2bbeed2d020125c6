import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import type { Region, SiloSpec } from '../../../domain/index.js';
import { resourceNamed, resourcesOfType, runProgram } from './mock-runtime.js';
import type { MockCloud } from './mock-runtime.js';

const PROJECT = 'acme-landlord-prod';
const STORAGE_AGENT = 'service-42@gs-project-accounts.iam.gserviceaccount.com';
const BIGQUERY_AGENT = 'bq-42@bigquery-encryption.iam.gserviceaccount.com';

/** A fake GCP: ids in the shapes the provider returns, and the two service-agent lookups. */
const gcp: MockCloud = {
  state({ type, name, inputs }) {
    switch (type) {
      case 'gcp:kms/keyRing:KeyRing': {
        const ringName = `${name}-5d4c3b2`;
        return {
          id: `projects/${inputs.project}/locations/${inputs.location}/keyRings/${ringName}`,
          name: ringName,
        };
      }
      case 'gcp:kms/cryptoKey:CryptoKey':
        return { id: `${inputs.keyRing}/cryptoKeys/${name}-1a2b3c4`, name: `${name}-1a2b3c4` };
      case 'gcp:storage/bucket:Bucket':
        return { id: `${name}-9e8d7c6`, name: `${name}-9e8d7c6` };
      case 'gcp:bigquery/dataset:Dataset':
        return { id: `projects/${inputs.project}/datasets/${inputs.datasetId}` };
      default:
        return { id: `${name}-id` };
    }
  },
  call({ token, inputs }) {
    expect(inputs.project).toBe(PROJECT);
    switch (token) {
      case 'gcp:storage/getProjectServiceAccount:getProjectServiceAccount':
        return { id: STORAGE_AGENT, emailAddress: STORAGE_AGENT, project: PROJECT };
      case 'gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount':
        return { id: BIGQUERY_AGENT, email: BIGQUERY_AGENT, project: PROJECT };
      default:
        throw new Error(`the GCP silo program should not invoke ${token}`);
    }
  },
};

// @pulumi/gcp registers its resource modules with the runtime on import: mock it first.
await pulumi.runtime.setMocks({ newResource: () => ({ id: '', state: {} }), call: () => ({}) });
const { gcpSiloProgram } = await import('../../../pulumi/gcp/program.js');
const { gcpLabels } = await import('../../../pulumi/gcp/tenant-silo.js');

const europeWest1: Region = {
  id: 'gcp-europe-west1',
  provider: 'gcp',
  cloudRegion: 'europe-west1',
  residency: 'EU',
  drPartner: 'gcp-europe-west4',
};
const europeWest4: Region = {
  id: 'gcp-europe-west4',
  provider: 'gcp',
  cloudRegion: 'europe-west4',
  residency: 'EU',
  drPartner: 'gcp-europe-west1',
};

function spec(overrides: Partial<SiloSpec> = {}): SiloSpec {
  return {
    tenantId: 'umbrella-corp',
    tier: 'Enterprise',
    region: europeWest1,
    role: 'primary',
    backupRetentionDays: 14,
    tierBackupRetentionDays: 400,
    deletionProtection: true,
    labels: { CostCenter: 'CC 42', 'app.team': 'Data' },
    ...overrides,
  };
}
const enterpriseWithDr = spec({
  drTarget: {
    region: europeWest4,
    outputs: { bucketName: 'umbrella-corp-data-standby', cryptoKeyId: 'projects/x/key' },
  },
});
const standard = spec({
  tenantId: 'hooli',
  tier: 'standard',
  tierBackupRetentionDays: 30,
  deletionProtection: false,
  labels: {},
});
const standby = spec({ region: europeWest4, role: 'standby' });

function run(s: SiloSpec) {
  pulumi.runtime.setAllConfig({ 'gcp:project': PROJECT });
  return runProgram(gcp, `${s.tenantId}.${s.region.id}`, gcpSiloProgram(s));
}

const T = {
  provider: 'pulumi:providers:gcp',
  keyRing: 'gcp:kms/keyRing:KeyRing',
  key: 'gcp:kms/cryptoKey:CryptoKey',
  keyMember: 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
  bucket: 'gcp:storage/bucket:Bucket',
  dataset: 'gcp:bigquery/dataset:Dataset',
} as const;
/** Every resource type the program creates that takes `labels`. */
const LABELABLE: string[] = [T.key, T.bucket, T.dataset];
const DAY_MS = 86_400_000;

describe('GCP silo program (Pulumi mocks)', () => {
  it('encrypts the bucket and the dataset with a rotating per-tenant key', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    const ring = resourceNamed(resources, T.keyRing, '-keys');
    expect(ring.inputs).toMatchObject({ location: 'europe-west1', project: PROJECT });
    const key = resourceNamed(resources, T.key, '-key');
    expect(key.inputs.rotationPeriod).toBe('7776000s');
    expect(outputs.cryptoKeyId).toMatch(
      new RegExp(`^projects/${PROJECT}/locations/europe-west1/keyRings/.+/cryptoKeys/.+$`),
    );
    expect(key.inputs.keyRing).toBe(outputs.cryptoKeyId.split('/cryptoKeys/')[0]);

    const bucket = resourceNamed(resources, T.bucket, '-data');
    expect(bucket.inputs.encryption).toEqual({ defaultKmsKeyName: outputs.cryptoKeyId });
    const dataset = resourceNamed(resources, T.dataset, '-analytics');
    expect(dataset.inputs.defaultEncryptionConfiguration).toEqual({ kmsKeyName: outputs.cryptoKeyId });
    expect(outputs.datasetId).toBe('landlord_umbrella_corp_gcp_europe_west1');
  });

  it('lets the storage and BigQuery service agents use the key', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    const members = resourcesOfType(resources, T.keyMember).map((m) => m.inputs);
    expect(members).toHaveLength(2);
    for (const m of members) {
      expect(m.cryptoKeyId).toBe(outputs.cryptoKeyId);
      expect(m.role).toBe('roles/cloudkms.cryptoKeyEncrypterDecrypter');
    }
    expect(members.map((m) => m.member).sort()).toEqual(
      [`serviceAccount:${BIGQUERY_AGENT}`, `serviceAccount:${STORAGE_AGENT}`].sort(),
    );
  });

  it('keeps the bucket private and versioned', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    const bucket = resourceNamed(resources, T.bucket, '-data');
    expect(bucket.inputs).toMatchObject({
      publicAccessPrevention: 'enforced',
      uniformBucketLevelAccess: true,
      versioning: { enabled: true },
    });
    expect(outputs.bucketName).toBe(`${bucket.name}-9e8d7c6`);
  });

  it('expires analytics tables after the data retention and protects enterprise data', async () => {
    const enterprise = await run(enterpriseWithDr);
    const dataset = resourceNamed(enterprise.resources, T.dataset, '-analytics');
    expect(dataset.inputs.defaultTableExpirationMs).toBe(400 * DAY_MS);
    expect(dataset.inputs).toMatchObject({ deletionPolicy: 'PREVENT', deleteContentsOnDestroy: false });
    expect(resourceNamed(enterprise.resources, T.bucket, '-data').inputs).toMatchObject({
      deletionPolicy: 'PREVENT',
      forceDestroy: false,
    });

    const std = await run(standard);
    const stdDataset = resourceNamed(std.resources, T.dataset, '-analytics');
    expect(stdDataset.inputs.defaultTableExpirationMs).toBe(30 * DAY_MS);
    expect(stdDataset.inputs.deletionPolicy).toBe('DELETE');
    expect(resourceNamed(std.resources, T.bucket, '-data').inputs.deletionPolicy).toBe('DELETE');
  });

  it('labels every labelable resource with sanitised tenant, tier, managed-by and tenant labels', async () => {
    expect(gcpLabels({ CostCenter: 'CC 42', '9lives': 'x', 'app.team': 'Data' })).toEqual({
      costcenter: 'cc_42',
      l9lives: 'x',
      app_team: 'data',
    });
    for (const s of [enterpriseWithDr, standard, standby]) {
      const { resources } = await run(s);
      const expected = gcpLabels({ ...s.labels, tenant: s.tenantId, tier: s.tier, 'managed-by': 'landlord' });
      expect(expected).toMatchObject({
        tenant: s.tenantId,
        tier: s.tier.toLowerCase(),
        'managed-by': 'landlord',
      });
      for (const labels of Object.entries(expected).flat()) expect(labels).toMatch(/^[a-z0-9_-]{0,63}$/);
      const labelable = resources.filter((r) => LABELABLE.includes(r.type));
      expect(labelable.length).toBeGreaterThan(1);
      for (const r of labelable) expect(r.inputs.labels, r.name).toEqual(expected);
      const provider = resourceNamed(resources, T.provider, '-region');
      expect(JSON.parse(provider.inputs.defaultLabels as string)).toEqual(expected);
      const known = new Set<string>(Object.values(T));
      expect(resources.filter((r) => r.custom && !known.has(r.type)).map((r) => r.type)).toEqual([]);
    }
  });

  it('places everything in the spec region of the configured project', async () => {
    for (const s of [enterpriseWithDr, standby]) {
      const { resources, outputs } = await run(s);
      const provider = resourceNamed(resources, T.provider, '-region');
      expect(provider.inputs).toMatchObject({ project: PROJECT, region: s.region.cloudRegion });
      expect(outputs.region).toBe(s.region.cloudRegion);
      const located = resources.filter((r) => [T.keyRing, T.bucket, T.dataset].includes(r.type as never));
      for (const r of located) expect(r.inputs.location, r.name).toBe(s.region.cloudRegion);
      for (const r of resources.filter((r) => r.custom && r.type !== T.provider)) {
        expect(r.providerName, `${r.type} ${r.name}`).toBe(provider.name);
      }
    }
  });

  it('gives a standby a key and bucket in the partner region but no dataset', async () => {
    const { resources, outputs } = await run(standby);
    expect(resourcesOfType(resources, T.dataset)).toEqual([]);
    expect(resourcesOfType(resources, T.keyMember).map((m) => m.inputs.member)).toEqual([
      `serviceAccount:${STORAGE_AGENT}`,
    ]);
    expect(resourcesOfType(resources, T.bucket)).toHaveLength(1);
    expect(outputs.cryptoKeyId).toContain('/locations/europe-west4/');
    expect(outputs).not.toHaveProperty('datasetId');
  });

  it('needs the gcp:project stack setting', async () => {
    pulumi.runtime.setAllConfig({});
    await expect(runProgram(gcp, 'hooli.gcp-europe-west1', gcpSiloProgram(standard))).rejects.toThrow(
      /gcp:project/,
    );
  });
});
