import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import type { Region, SiloSpec, StorageRetention } from '../../../domain/index.js';
import { resourceNamed, resourcesOfType, runProgram } from './mock-runtime.js';
import type { RecordedResource } from './mock-runtime.js';
import { siloResourcePrefix } from '../../../pulumi/names.js';
import { ACCOUNT, AWS_NETWORK, fakeAws as aws, AWS_EU_WEST } from './fake-clouds.js';

// @pulumi/aws registers its resource modules with the runtime on import: mock it first.
await pulumi.runtime.setMocks({ newResource: () => ({ id: '', state: {} }), call: () => ({}) });
const { awsSiloProgram } = await import('../../../pulumi/aws/program.js');
const { rdsBackupRetentionDays } = await import('../../../pulumi/aws/tenant-silo.js');
const GLOBEX = siloResourcePrefix('globex');
const INITECH = siloResourcePrefix('initech');

const euWest: Region = AWS_EU_WEST;
const euCentral: Region = {
  id: 'aws-eu-central-1',
  provider: 'aws',
  cloudRegion: 'eu-central-1',
  residency: 'EU',
  drPartner: 'aws-eu-west-1',
  network: { ...AWS_NETWORK, subnetIds: undefined, dbSubnetGroupName: 'landlord-db' } as never,
};
const standbyOutputs = {
  bucketArn: 'arn:aws:s3:::globex-standby-9f8e7d6',
  kmsKeyArn: `arn:aws:kms:eu-central-1:${ACCOUNT}:key/standby-key`,
};

function spec(overrides: Partial<SiloSpec> = {}): SiloSpec {
  return {
    tenantId: 'globex',
    tier: 'enterprise',
    region: euWest,
    role: 'primary',
    backupRetentionDays: 14,
    deletionProtection: true,
    labels: { 'cost-center': 'cc-42' },
    ...overrides,
  };
}
const enterpriseWithDr = spec({ drTarget: { region: euCentral, outputs: standbyOutputs } });
const standard = spec({
  tenantId: 'initech',
  tier: 'standard',
  backupRetentionDays: 90,
  deletionProtection: false,
  labels: {},
});
const standby = spec({ region: euCentral, role: 'standby' });
/** Two classes that expire, one under a legal hold, one kept forever. */
const storageRetention: StorageRetention[] = [
  { prefix: 'attachments/', dataClass: 'content', days: 730 },
  { prefix: 'exports/', dataClass: 'personal', days: 2555, held: true },
  { prefix: 'logs/', dataClass: 'telemetry', days: 365 },
  { prefix: 'contracts/', dataClass: 'business' },
];

function run(s: SiloSpec) {
  return runProgram(aws, `${s.tenantId}.${s.region.id}`, awsSiloProgram(s));
}

const T = {
  provider: 'pulumi:providers:aws',
  key: 'aws:kms/key:Key',
  alias: 'aws:kms/alias:Alias',
  bucket: 'aws:s3/bucket:Bucket',
  encryption: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  publicAccess: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  versioning: 'aws:s3/bucketVersioning:BucketVersioning',
  lifecycle: 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  db: 'aws:rds/instance:Instance',
  role: 'aws:iam/role:Role',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  replication: 'aws:s3/bucketReplicationConfig:BucketReplicationConfig',
  backupsReplication: 'aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  ingress: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  subnetGroup: 'aws:rds/subnetGroup:SubnetGroup',
  parameterGroup: 'aws:rds/parameterGroup:ParameterGroup',
  vault: 'aws:backup/vault:Vault',
  plan: 'aws:backup/plan:Plan',
  selection: 'aws:backup/selection:Selection',
  policyAttachment: 'aws:iam/rolePolicyAttachment:RolePolicyAttachment',
} as const;
/** Every resource type the program creates that takes `tags`. */
const TAGGABLE: string[] = [
  T.key,
  T.bucket,
  T.db,
  T.role,
  T.securityGroup,
  T.subnetGroup,
  T.parameterGroup,
  T.vault,
  T.plan,
];

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}
function statements(resource: RecordedResource): PolicyStatement[] {
  return (JSON.parse(resource.inputs.policy as string) as { Statement: PolicyStatement[] }).Statement;
}
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

describe('AWS silo program (Pulumi mocks)', () => {
  it('encrypts the bucket and the database with a rotating per-tenant key', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    const key = resourceNamed(resources, T.key, '-key');
    expect(key.inputs.enableKeyRotation).toBe(true);
    expect(resourceNamed(resources, T.alias, '-key-alias').inputs.name).toBe('alias/landlord/globex');
    expect(outputs.kmsKeyArn).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/${GLOBEX}-key`);

    const sse = resourceNamed(resources, T.encryption, '-data-encryption');
    expect(sse.inputs.bucket).toBe(outputs.bucketName);
    expect(sse.inputs.rules).toEqual([
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: outputs.kmsKeyArn },
        bucketKeyEnabled: true,
      },
    ]);

    const db = resourceNamed(resources, T.db, '-db');
    expect(db.inputs).toMatchObject({
      engine: 'postgres',
      storageEncrypted: true,
      kmsKeyId: outputs.kmsKeyArn,
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: outputs.kmsKeyArn,
      dbName: 'tenant_globex',
    });
    expect(db.inputs).not.toHaveProperty('password');
  });

  it('keeps the bucket private, versioned and TLS-only, and the database off the internet', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    expect(resourceNamed(resources, T.publicAccess, '-data-public-access').inputs).toMatchObject({
      bucket: outputs.bucketName,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(resourceNamed(resources, T.versioning, '-data-versioning').inputs).toMatchObject({
      bucket: outputs.bucketName,
      versioningConfiguration: { status: 'Enabled' },
    });
    const policy = resourceNamed(resources, T.bucketPolicy, '-data-tls-only');
    expect(policy.inputs.bucket).toBe(outputs.bucketName);
    const insecure = statements(policy).find((s) => s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
    expect(insecure).toMatchObject({ Effect: 'Deny', Action: 's3:*' });
    expect(list(insecure!.Resource).sort()).toEqual([outputs.bucketArn, `${outputs.bucketArn}/*`].sort());
    expect(resourceNamed(resources, T.db, '-db').inputs.publiclyAccessible).toBe(false);
  });

  it('takes backup retention and deletion protection from the spec', async () => {
    const enterprise = resourceNamed((await run(enterpriseWithDr)).resources, T.db, '-db');
    expect(enterprise.inputs.backupRetentionPeriod).toBe(14);
    expect(enterprise.inputs.deletionProtection).toBe(true);
    expect(enterprise.inputs.skipFinalSnapshot).toBe(false);

    const std = await run(standard);
    const db = resourceNamed(std.resources, T.db, '-db');
    // 90 days asked: RDS keeps 35, an AWS Backup plan under the tenant key keeps 90.
    expect(db.inputs.backupRetentionPeriod).toBe(35);
    const vault = resourceNamed(std.resources, T.vault, '-backups');
    expect(vault.inputs.kmsKeyArn).toBe(std.outputs.kmsKeyArn);
    expect(resourceNamed(std.resources, T.plan, '-backups').inputs.rules).toEqual([
      expect.objectContaining({ targetVaultName: vault.inputs.name, lifecycle: { deleteAfter: 90 } }),
    ]);
    expect(resourceNamed(std.resources, T.selection, '-backups').inputs.resources).toEqual([
      std.outputs.dbInstanceArn,
    ]);
    // 14 days: RDS alone.
    expect(resourcesOfType((await run(enterpriseWithDr)).resources, T.vault)).toEqual([]);
    expect(db.inputs.deletionProtection).toBe(false);
    expect(resourceNamed(std.resources, T.bucket, '-data').inputs.forceDestroy).toBe(true);
    expect(rdsBackupRetentionDays(0)).toBe(1);
    expect(rdsBackupRetentionDays(7)).toBe(7);
  });

  it('tags every taggable resource with tenant, tier, managed-by and the tenant labels', async () => {
    for (const s of [enterpriseWithDr, standard, standby]) {
      const { resources } = await run(s);
      const expected = { tenant: s.tenantId, tier: s.tier, 'managed-by': 'landlord', ...s.labels };
      const taggable = resources.filter((r) => TAGGABLE.includes(r.type));
      expect(taggable.length).toBeGreaterThan(0);
      for (const r of taggable) expect(r.inputs.tags, r.name).toMatchObject(expected);
      // Whatever is not tagged explicitly gets the tags through the providers' default tags.
      for (const p of resourcesOfType(resources, T.provider)) {
        expect(JSON.parse(p.inputs.defaultTags as string), p.name).toEqual({ tags: expected });
      }
      // A new resource type must be classified here, so none slips by untagged.
      const known = new Set<string>(Object.values(T));
      const unknown = resources.filter((r) => r.custom && !known.has(r.type)).map((r) => r.type);
      expect(unknown).toEqual([]);
    }
  });

  it('places every resource in the spec region and DR backups in the partner region', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    expect(outputs.region).toBe('eu-west-1');
    const home = resourceNamed(resources, T.provider, `${GLOBEX}-region`);
    expect(home.inputs.region).toBe('eu-west-1');
    const dr = resourceNamed(resources, T.provider, `${GLOBEX}-dr-region`);
    expect(dr.inputs.region).toBe('eu-central-1');

    const backups = resourceNamed(resources, T.backupsReplication, '-db-backups-dr');
    expect(backups.providerName).toBe(dr.name);
    const others = resources.filter((r) => r.custom && r !== backups && r.type !== T.provider);
    expect(others.length).toBeGreaterThan(10);
    for (const r of others) expect(r.providerName, `${r.type} ${r.name}`).toBe(home.name);
  });

  it('replicates objects and backups into the standby for a primary with a DR target', async () => {
    const { resources, outputs } = await run(enterpriseWithDr);
    const replication = resourceNamed(resources, T.replication, '-data-replication');
    expect(replication.inputs.bucket).toBe(outputs.bucketName);
    expect(replication.inputs.role).toBe(
      `arn:aws:iam::${ACCOUNT}:role/${resourceNamed(resources, T.role, '-replication').name}`,
    );
    expect(replication.inputs.rules).toEqual([
      expect.objectContaining({
        status: 'Enabled',
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
        destination: expect.objectContaining({
          bucket: standbyOutputs.bucketArn,
          encryptionConfiguration: { replicaKmsKeyId: standbyOutputs.kmsKeyArn },
        }),
      }),
    ]);
    const backups = resourceNamed(resources, T.backupsReplication, '-db-backups-dr');
    expect(backups.inputs).toMatchObject({
      sourceDbInstanceArn: outputs.dbInstanceArn,
      kmsKeyId: standbyOutputs.kmsKeyArn,
      retentionPeriod: 14,
    });

    // The replication role reads only this bucket and key, and writes only the standby's.
    const replicationPolicy = resourceNamed(resources, T.rolePolicy, '-replication-access');
    const allowed = statements(replicationPolicy).flatMap((s) => list(s.Resource));
    expect(new Set(allowed)).toEqual(
      new Set([
        outputs.bucketArn,
        `${outputs.bucketArn}/*`,
        `${standbyOutputs.bucketArn}/*`,
        outputs.kmsKeyArn,
        standbyOutputs.kmsKeyArn,
      ]),
    );
  });

  it('creates no DR counterparts without a DR target', async () => {
    const { resources, outputs } = await run(standard);
    expect(resourcesOfType(resources, T.replication)).toEqual([]);
    expect(resourcesOfType(resources, T.backupsReplication)).toEqual([]);
    expect(resourcesOfType(resources, T.provider)).toHaveLength(1);
    // The app role, and the AWS Backup role for its 90 days of backups; no replication role.
    expect(
      resourcesOfType(resources, T.role)
        .map((r) => r.name)
        .sort(),
    ).toEqual([`${INITECH}-app`, `${INITECH}-backup`]);
    expect(outputs.dbEndpoint).toMatch(/\.eu-west-1\.rds\.amazonaws\.com:5432$/);
  });

  it('gives a standby a key and bucket but no database', async () => {
    const { resources, outputs } = await run(standby);
    expect(resourcesOfType(resources, T.db)).toEqual([]);
    expect(resourcesOfType(resources, T.replication)).toEqual([]);
    expect(resourcesOfType(resources, T.backupsReplication)).toEqual([]);
    expect(resourcesOfType(resources, T.key)).toHaveLength(1);
    expect(resourcesOfType(resources, T.bucket)).toHaveLength(1);
    expect(outputs).not.toHaveProperty('dbEndpoint');
    expect(outputs).not.toHaveProperty('dbInstanceArn');
    // What a primary needs from its standby's outputs, in the standby's region.
    expect(outputs.kmsKeyArn).toMatch(/^arn:aws:kms:eu-central-1:/);
    expect(outputs.bucketArn).toMatch(/^arn:aws:s3:::/);
  });

  it("scopes the app role's policy to the tenant's own bucket, key and database", async () => {
    for (const s of [enterpriseWithDr, standby]) {
      const { resources, outputs } = await run(s);
      const policy = resourceNamed(resources, T.rolePolicy, '-app-access');
      expect(policy.inputs.role).toBe(resourceNamed(resources, T.role, '-app').name);
      const own = new Set([outputs.bucketArn, `${outputs.bucketArn}/*`, outputs.kmsKeyArn]);
      if (s.role === 'primary') {
        own.add(outputs.dbInstanceArn!);
        // IAM database authentication as the app user, not the master secret.
        own.add(
          `arn:aws:rds-db:eu-west-1:${ACCOUNT}:dbuser:db-${GLOBEX.toUpperCase().replace(/[^A-Z0-9]/g, '')}DB/app`,
        );
      }
      const stmts = statements(policy);
      for (const stmt of stmts) {
        expect(stmt.Effect).toBe('Allow');
        for (const action of list(stmt.Action)) expect(action).not.toMatch(/\*/);
        for (const arn of list(stmt.Resource)) {
          expect(arn).not.toBe('*');
          expect(own.has(arn), arn).toBe(true);
        }
      }
      expect(new Set(stmts.flatMap((stmt) => list(stmt.Resource)))).toEqual(own);
      expect(outputs.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${GLOBEX}-app`);
    }
  });

  it("expires each storage prefix and its object versions after its data class's retention", async () => {
    for (const s of [
      { ...enterpriseWithDr, storageRetention },
      { ...standby, storageRetention },
    ]) {
      const { resources, outputs } = await run(s);
      const lifecycle = resourceNamed(resources, T.lifecycle, '-data-lifecycle');
      expect(lifecycle.inputs.bucket).toBe(outputs.bucketName);
      expect(lifecycle.providerName).toBe(`${GLOBEX}-region`);
      const enabled = (lifecycle.inputs.rules as { status: string }[]).filter((r) => r.status === 'Enabled');
      expect(enabled).toEqual([
        {
          id: 'retention:content:attachments/',
          status: 'Enabled',
          filter: { prefix: 'attachments/' },
          expiration: { days: 730 },
          noncurrentVersionExpiration: { noncurrentDays: 730 },
        },
        {
          id: 'retention:telemetry:logs/',
          status: 'Enabled',
          filter: { prefix: 'logs/' },
          expiration: { days: 365 },
          noncurrentVersionExpiration: { noncurrentDays: 365 },
        },
      ]);
    }
  });

  it('disables the expiry of a held class and has no rule for a class kept forever', async () => {
    const { resources } = await run({ ...enterpriseWithDr, storageRetention });
    const rules = resourceNamed(resources, T.lifecycle, '-data-lifecycle').inputs.rules as {
      status: string;
      filter: { prefix: string };
    }[];
    expect(rules.filter((r) => r.filter.prefix === 'exports/')).toEqual([
      expect.objectContaining({ status: 'Disabled', expiration: { days: 2555 } }),
    ]);
    expect(rules.map((r) => r.filter.prefix).sort()).toEqual(['attachments/', 'exports/', 'logs/']);

    // Nothing to expire: no lifecycle configuration at all.
    const forever = await run({ ...enterpriseWithDr, storageRetention: [storageRetention[3]!] });
    expect(resourcesOfType(forever.resources, T.lifecycle)).toEqual([]);
  });

  it('leaves the bucket without lifecycle rules, and all else as it was, for a spec without storage retention', async () => {
    const without = await run(enterpriseWithDr);
    expect(resourcesOfType(without.resources, T.lifecycle)).toEqual([]);
    const withRules = await run({ ...enterpriseWithDr, storageRetention });
    const declared = (resources: RecordedResource[]) =>
      resources
        .filter((r) => r.type !== T.lifecycle)
        .map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }))
        // Registrations finish in no fixed order.
        .sort((a, b) => `${a.type}::${a.name}`.localeCompare(`${b.type}::${b.name}`));
    expect(declared(withRules.resources)).toEqual(declared(without.resources));
  });

  it('refuses DR targets it cannot replicate into', async () => {
    const gcpPartner: Region = {
      id: 'gcp-europe-west1',
      provider: 'gcp',
      cloudRegion: 'europe-west1',
      residency: 'EU',
    };
    await expect(run(spec({ drTarget: { region: gcpPartner, outputs: standbyOutputs } }))).rejects.toThrow(
      /replicates only into another AWS region/,
    );
    await expect(
      run(spec({ drTarget: { region: euCentral, outputs: { bucketArn: standbyOutputs.bucketArn } } })),
    ).rejects.toThrow(/kmsKeyArn/);
    await expect(run(spec({ region: { ...euWest, provider: 'gcp' } }))).rejects.toThrow(/not aws/);
  });
});
