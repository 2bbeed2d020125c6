import * as pulumi from '@pulumi/pulumi';
import { omit } from 'es-toolkit';
import { describe, expect, it } from 'vitest';
import type { Region, SiloSpec, StorageRetention } from '../../../domain/index.js';
import { resourceNamed, resourcesOfType, runProgram } from './mock-runtime.js';
import type { RecordedResource } from './mock-runtime.js';
import {
  BIGQUERY_AGENT,
  GCP_NETWORK,
  PROJECT,
  SQL_AGENT,
  STORAGE_AGENT,
  fakeGcp as gcp,
  OWNER_PASSWORD,
} from './fake-clouds.js';

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
  network: GCP_NETWORK,
};
const europeWest4: Region = {
  id: 'gcp-europe-west4',
  provider: 'gcp',
  cloudRegion: 'europe-west4',
  residency: 'EU',
  drPartner: 'gcp-europe-west1',
  network: { ...GCP_NETWORK, allocatedIpRange: 'landlord-sql' },
};

function spec(overrides: Partial<SiloSpec> = {}): SiloSpec {
  return {
    tenantId: 'umbrella-corp',
    tier: 'Enterprise',
    region: europeWest1,
    role: 'primary',
    backupRetentionDays: 14,
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
  deletionProtection: false,
  labels: {},
});
const standby = spec({ region: europeWest4, role: 'standby' });
/** Two classes that expire, one under a legal hold, one kept forever. */
const storageRetention: StorageRetention[] = [
  { prefix: 'attachments/', dataClass: 'content', days: 730 },
  { prefix: 'exports/', dataClass: 'personal', days: 2555, held: true },
  { prefix: 'logs/', dataClass: 'telemetry', days: 365 },
  { prefix: 'contracts/', dataClass: 'business' },
];

function run(s: SiloSpec) {
  pulumi.runtime.setAllConfig({ 'gcp:project': PROJECT, 'landlord:ownerPassword': OWNER_PASSWORD });
  return runProgram(gcp, `${s.tenantId}.${s.region.id}`, gcpSiloProgram(s));
}

const T = {
  provider: 'pulumi:providers:gcp',
  keyRing: 'gcp:kms/keyRing:KeyRing',
  key: 'gcp:kms/cryptoKey:CryptoKey',
  keyMember: 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
  bucket: 'gcp:storage/bucket:Bucket',
  dataset: 'gcp:bigquery/dataset:Dataset',
  service: 'gcp:projects/service:Service',
  serviceIdentity: 'gcp:projects/serviceIdentity:ServiceIdentity',
  account: 'gcp:serviceaccount/account:Account',
  bucketMember: 'gcp:storage/bucketIAMMember:BucketIAMMember',
  datasetMember: 'gcp:bigquery/datasetIamMember:DatasetIamMember',
  projectMember: 'gcp:projects/iAMMember:IAMMember',
  sql: 'gcp:sql/databaseInstance:DatabaseInstance',
  sqlDatabase: 'gcp:sql/database:Database',
  sqlUser: 'gcp:sql/user:User',
} as const;
/** Every resource type the program creates that takes `labels`. */
const LABELABLE: string[] = [T.key, T.bucket, T.dataset];

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
    expect(bucket.inputs.encryption).toMatchObject({ defaultKmsKeyName: outputs.cryptoKeyId });
    const dataset = resourceNamed(resources, T.dataset, '-analytics');
    expect(dataset.inputs.defaultEncryptionConfiguration).toEqual({ kmsKeyName: outputs.cryptoKeyId });
    expect(outputs.datasetId).toMatch(/^landlord_umbrella_corp_gcp_europe_west1_[0-9a-f]{10}$/);
  });

  it('lets the storage and BigQuery service agents use the key', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    const members = resourcesOfType(resources, T.keyMember).map((m) => m.inputs);
    expect(members).toHaveLength(3);
    for (const m of members) {
      expect(m.cryptoKeyId).toBe(outputs.cryptoKeyId);
      expect(m.role).toBe('roles/cloudkms.cryptoKeyEncrypterDecrypter');
    }
    expect(members.map((m) => m.member).sort()).toEqual(
      [
        `serviceAccount:${BIGQUERY_AGENT}`,
        `serviceAccount:${STORAGE_AGENT}`,
        `serviceAccount:${SQL_AGENT}`,
      ].sort(),
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

  it('sets no table expiry from backup retention and protects enterprise data', async () => {
    const enterprise = await run(enterpriseWithDr);
    const dataset = resourceNamed(enterprise.resources, T.dataset, '-analytics');
    expect(dataset.inputs).not.toHaveProperty('defaultTableExpirationMs');
    expect(dataset.inputs).toMatchObject({ deletionPolicy: 'PREVENT', deleteContentsOnDestroy: false });
    expect(resourceNamed(enterprise.resources, T.bucket, '-data').inputs).toMatchObject({
      deletionPolicy: 'PREVENT',
      forceDestroy: false,
    });

    const std = await run(standard);
    const stdDataset = resourceNamed(std.resources, T.dataset, '-analytics');
    expect(stdDataset.inputs.deletionPolicy).toBe('DELETE');
    expect(resourceNamed(std.resources, T.bucket, '-data').inputs.deletionPolicy).toBe('DELETE');
  });

  it('labels every labelable resource with sanitised tenant, tier, managed-by and tenant labels', async () => {
    expect(gcpLabels({ CostCenter: 'CC 42', 'app.team': 'Data' })).toEqual({
      costcenter: 'cc_42',
      app_team: 'data',
    });
    // What GCP cannot carry stops the program rather than being dropped (placement refuses it first).
    expect(() => gcpLabels({ '9lives': 'x' })).toThrow(/cannot carry this key/);
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
      for (const r of resourcesOfType(resources, T.sql)) expect(r.inputs.region).toBe(s.region.cloudRegion);
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

  it("deletes each storage prefix's objects, every version, after its data class's retention", async () => {
    for (const s of [
      { ...enterpriseWithDr, storageRetention },
      { ...standby, storageRetention },
    ]) {
      const bucket = resourceNamed((await run(s)).resources, T.bucket, '-data');
      expect(bucket.inputs.lifecycleRules).toEqual([
        {
          action: { type: 'Delete' },
          condition: { age: 730, matchesPrefixes: ['attachments/'], withState: 'ANY' },
        },
        {
          action: { type: 'Delete' },
          condition: { age: 365, matchesPrefixes: ['logs/'], withState: 'ANY' },
        },
      ]);
    }
  });

  it('has no rule for a held class nor for a class kept forever', async () => {
    const held = storageRetention.filter((r) => r.held || r.days === undefined);
    expect(held.map((r) => r.prefix)).toEqual(['exports/', 'contracts/']);
    const bucket = resourceNamed(
      (await run({ ...standard, storageRetention: held })).resources,
      T.bucket,
      '-data',
    );
    expect(bucket.inputs).not.toHaveProperty('lifecycleRules');
  });

  it('leaves the bucket without lifecycle rules, and all else as it was, for a spec without storage retention', async () => {
    const without = await run(enterpriseWithDr);
    expect(resourceNamed(without.resources, T.bucket, '-data').inputs).not.toHaveProperty('lifecycleRules');
    const withRules = await run({ ...enterpriseWithDr, storageRetention });
    const declared = (resources: RecordedResource[]) =>
      resources
        .map((r) => ({ type: r.type, name: r.name, inputs: omit(r.inputs, ['lifecycleRules']) }))
        // Registrations finish in no fixed order.
        .sort((a, b) => `${a.type}::${a.name}`.localeCompare(`${b.type}::${b.name}`));
    expect(declared(withRules.resources)).toEqual(declared(without.resources));
  });

  it('needs the gcp:project stack setting', async () => {
    pulumi.runtime.setAllConfig({});
    await expect(runProgram(gcp, 'hooli.gcp-europe-west1', gcpSiloProgram(standard))).rejects.toThrow(
      /gcp:project/,
    );
  });
});
