/**
 * Policy checks over what the cloud silo programs declare (CrossGuard-style: each rule a function
 * over the recorded resources, run for every spec below). The mocks record each resource's inputs;
 * the component's `transformations` record each resource's options (protect, dependsOn).
 */
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import {
  checkPlacement,
  cloudLabels,
  LandlordError,
  PolicyCatalog,
  TENANT_ID_PATTERN,
} from '../../../domain/index.js';
import type { Region, SiloSpec } from '../../../domain/index.js';
import { destroySiloStack } from '../../../pulumi/teardown.js';
import {
  backupName,
  bigQueryDatasetId,
  gcpServiceAccountId,
  rdsDatabaseName,
  rdsFinalSnapshotId,
  siloResourcePrefix,
} from '../../../pulumi/names.js';
import { runProgram } from './mock-runtime.js';
import type { RecordedResource } from './mock-runtime.js';
import {
  ACCOUNT,
  AWS_NETWORK,
  DEPLOY_ROLE,
  fakeAws,
  fakeGcp,
  GCP_NETWORK,
  PROJECT,
  AWS_EU_WEST,
  OWNER_PASSWORD,
} from './fake-clouds.js';

await pulumi.runtime.setMocks({ newResource: () => ({ id: '', state: {} }), call: () => ({}) });
const { awsSiloProgram } = await import('../../../pulumi/aws/program.js');
const { gcpSiloProgram } = await import('../../../pulumi/gcp/program.js');

/** Ids the API accepts that most cloud names do not: trailing and double hyphens, 40 characters, reserved words. */
const EDGE_IDS = [
  'ab-',
  'a--b',
  'a-b--c-',
  'x'.repeat(40),
  `a${'-'.repeat(39)}`,
  'xn--tenant',
  'googler-inc',
  'sthree-co',
];
for (const id of EDGE_IDS)
  if (!TENANT_ID_PATTERN.test(id)) throw new Error(`${id} is not an id the API accepts`);

const awsHome: Region = AWS_EU_WEST;
const awsPartner: Region = {
  ...awsHome,
  id: 'aws-eu-central-1',
  cloudRegion: 'eu-central-1',
  drPartner: 'aws-eu-west-1',
};
const gcpHome: Region = {
  id: 'gcp-europe-west1',
  provider: 'gcp',
  cloudRegion: 'europe-west1',
  residency: 'EU',
  network: GCP_NETWORK,
};

const base = (region: Region, overrides: Partial<SiloSpec> = {}): SiloSpec => ({
  tenantId: 'globex',
  tier: 'enterprise',
  region,
  role: 'primary',
  backupRetentionDays: 90,
  deletionProtection: true,
  labels: { team: 'emea sales', 'cost.center': 'cc-42' },
  generation: 'k3j9x2ab',
  ...overrides,
});

interface Run {
  resources: RecordedResource[];
  /** Options each resource was declared with, by `type::name`. */
  options: Map<string, pulumi.CustomResourceOptions>;
}

async function run(spec: SiloSpec): Promise<Run> {
  const options = new Map<string, pulumi.CustomResourceOptions>();
  const record = (args: pulumi.ResourceTransformationArgs) => {
    options.set(`${args.type}::${args.name}`, args.opts);
    return undefined;
  };
  const opts = { transformations: [record] };
  pulumi.runtime.setAllConfig({ 'gcp:project': PROJECT, 'landlord:ownerPassword': OWNER_PASSWORD });
  const key = `${spec.tenantId}.${spec.region.id}`;
  const { resources } =
    spec.region.provider === 'aws'
      ? await runProgram(fakeAws, key, awsSiloProgram(spec, opts))
      : await runProgram(fakeGcp, key, gcpSiloProgram(spec, opts));
  return { resources, options };
}

const optionsOf = (r: Run, resource: RecordedResource) => r.options.get(`${resource.type}::${resource.name}`);
const ofType = (r: Run, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: Run, type: string) => {
  const found = ofType(r, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
};
const json = (text: unknown) => JSON.parse(text as string) as { Statement: Record<string, unknown>[] };
/** What a provider's autonaming makes of a logical name: it adds `-` and 7 random characters. */
const autonamed = (logical: string) => `${logical}-a1b2c3d`;

// Documented name patterns.
const RDS_IDENTIFIER = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)$/;
const RDS_SNAPSHOT = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$/;
const RDS_PARAMETER_GROUP = /^[a-z](?!.*--)[a-z0-9-]{0,254}(?<!-)$/;
const POSTGRES_DATABASE = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;
const BACKUP_NAME = /^[a-zA-Z0-9_-]{2,50}$/;
const KMS_ALIAS = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;
const IAM_ROLE = /^[\w+=,.@-]{1,64}$/;
const GCP_SERVICE_ACCOUNT = /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/;
const CLOUD_SQL_INSTANCE = /^[a-z][-a-z0-9]{0,96}[a-z0-9]$/;
/** S3 and GCS: 3–63 lowercase letters, digits, `-` and `.`, alphanumeric at both ends, reserved prefixes refused. */
const bucketNameOk = (name: string) =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
  !/^(xn--|sthree-|goog)/.test(name) &&
  !/g[o0]{2}g[l1]e/.test(name) &&
  !/(-s3alias|--ol-s3|--x-s3)$/.test(name);

const AWS = {
  db: 'aws:rds/instance:Instance',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  ingress: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  subnetGroup: 'aws:rds/subnetGroup:SubnetGroup',
  parameterGroup: 'aws:rds/parameterGroup:ParameterGroup',
  bucket: 'aws:s3/bucket:Bucket',
  publicAccess: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  encryption: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  versioning: 'aws:s3/bucketVersioning:BucketVersioning',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  key: 'aws:kms/key:Key',
  alias: 'aws:kms/alias:Alias',
  role: 'aws:iam/role:Role',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  vault: 'aws:backup/vault:Vault',
  plan: 'aws:backup/plan:Plan',
  selection: 'aws:backup/selection:Selection',
} as const;

const GCP = {
  sql: 'gcp:sql/databaseInstance:DatabaseInstance',
  sqlUser: 'gcp:sql/user:User',
  bucket: 'gcp:storage/bucket:Bucket',
  bucketMember: 'gcp:storage/bucketIAMMember:BucketIAMMember',
  dataset: 'gcp:bigquery/dataset:Dataset',
  datasetMember: 'gcp:bigquery/datasetIamMember:DatasetIamMember',
  projectMember: 'gcp:projects/iAMMember:IAMMember',
  key: 'gcp:kms/cryptoKey:CryptoKey',
  keyMember: 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
  account: 'gcp:serviceaccount/account:Account',
  service: 'gcp:projects/service:Service',
} as const;

describe('AWS silo policies', () => {
  const specs = [
    base(awsHome),
    base(awsHome, { tenantId: 'initech', deletionProtection: false, backupRetentionDays: 14, labels: {} }),
    base(awsPartner, { role: 'standby' }),
  ];

  it('every database is private, in the region subnets behind its own security group, TLS-only, under the tenant key', async () => {
    for (const spec of specs.filter((s) => s.role === 'primary')) {
      const r = await run(spec);
      const db = one(r, AWS.db).inputs;
      const key = one(r, AWS.key);
      expect(db).toMatchObject({
        publiclyAccessible: false,
        storageEncrypted: true,
        iamDatabaseAuthenticationEnabled: true,
      });
      expect(db.kmsKeyId).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/${key.name}`);
      const subnets = one(r, AWS.subnetGroup);
      expect(subnets.inputs.subnetIds).toEqual(AWS_NETWORK.subnetIds);
      expect(db.dbSubnetGroupName).toBe(`${subnets.name}-0a1b2c3`);
      // Its own group: in the region VPC, no egress, port 5432 from the application's group only.
      const group = one(r, AWS.securityGroup);
      expect(group.inputs.vpcId).toBe(AWS_NETWORK.vpcId);
      expect(group.inputs.egress).toEqual([]);
      expect(db.vpcSecurityGroupIds).toHaveLength(1);
      const ingress = ofType(r, AWS.ingress).map((i) => i.inputs);
      expect(ingress).toEqual([
        expect.objectContaining({
          securityGroupId: db.vpcSecurityGroupIds[0],
          referencedSecurityGroupId: AWS_NETWORK.appSecurityGroupId,
          ipProtocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
        }),
      ]);
      for (const rule of ingress) expect(rule).not.toHaveProperty('cidrIpv4');
      const params = one(r, AWS.parameterGroup);
      expect(db.parameterGroupName).toBe(`${params.name}-0a1b2c3`);
      expect(params.inputs.family).toBe(`postgres${db.engineVersion}`);
      expect(params.inputs.parameters).toContainEqual(
        expect.objectContaining({ name: 'rds.force_ssl', value: '1' }),
      );
    }
  });

  it('uses an existing DB subnet group when the region names one', async () => {
    const named: Region = {
      ...awsHome,
      network: {
        vpcId: AWS_NETWORK.vpcId,
        dbSubnetGroupName: 'landlord-db',
        appSecurityGroupId: 'sg-0feedbeef',
      },
    };
    const r = await run(base(named));
    expect(ofType(r, AWS.subnetGroup)).toEqual([]);
    expect(one(r, AWS.db).inputs.dbSubnetGroupName).toBe('landlord-db');
    await expect(run(base({ ...awsHome, network: undefined }))).rejects.toThrow(
      /no AWS network in regions.json/,
    );
  });

  it('every bucket blocks public access, takes objects over TLS under the tenant key only, and keeps versions', async () => {
    for (const spec of specs) {
      const r = await run(spec);
      const key = one(r, AWS.key);
      const keyArn = `arn:aws:kms:${spec.region.cloudRegion}:${ACCOUNT}:key/${key.name}`;
      expect(one(r, AWS.publicAccess).inputs).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(one(r, AWS.versioning).inputs.versioningConfiguration).toEqual({ status: 'Enabled' });
      expect(one(r, AWS.encryption).inputs.rules[0].applyServerSideEncryptionByDefault).toEqual({
        sseAlgorithm: 'aws:kms',
        kmsMasterKeyId: keyArn,
      });
      const denies = json(one(r, AWS.bucketPolicy).inputs.policy).Statement.filter(
        (s) => s.Effect === 'Deny',
      );
      const conditions = denies.map((s) => JSON.stringify(s.Condition));
      expect(conditions).toContain(JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }));
      expect(conditions).toContain(JSON.stringify({ NumericLessThan: { 's3:TlsVersion': '1.2' } }));
      expect(conditions).toContain(
        JSON.stringify({
          StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn },
        }),
      );
      expect(conditions).toContain(
        JSON.stringify({ StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } }),
      );
      // `aws:kms` with no key id would take the account's aws/s3 key.
      expect(conditions).toContain(
        JSON.stringify({
          Null: {
            's3:x-amz-server-side-encryption': 'false',
            's3:x-amz-server-side-encryption-aws-kms-key-id': 'true',
          },
        }),
      );
    }
  });

  it('every key has an explicit policy: administered by the deploy role, used by the tenant roles only', async () => {
    for (const spec of specs) {
      const r = await run(spec);
      const key = one(r, AWS.key);
      expect(key.inputs.policy, 'no policy means the account-wide default').toBeTypeOf('string');
      const own = new Set(ofType(r, AWS.role).map((role) => `arn:aws:iam::${ACCOUNT}:role/${role.name}`));
      for (const statement of json(key.inputs.policy).Statement) {
        expect(statement.Effect).toBe('Allow');
        const principals = [(statement.Principal as { AWS: string | string[] }).AWS].flat();
        for (const p of principals) {
          if (p === DEPLOY_ROLE || own.has(p)) continue;
          // The account root only with the tenant's own tag: the tenant's roles in its other region.
          expect(p, 'principal').toBe(`arn:aws:iam::${ACCOUNT}:root`);
          expect((statement.Condition as Record<string, unknown>).StringEquals).toEqual({
            'aws:PrincipalTag/tenant': spec.tenantId,
            'aws:PrincipalTag/managed-by': 'landlord',
          });
        }
        const actions = [statement.Action as string | string[]].flat();
        expect(actions).not.toContain('kms:*');
        // The deploy role administers; it uses the key for data only through RDS, Secrets Manager and Backup.
        if (principals.includes(DEPLOY_ROLE) && actions.includes('kms:Decrypt'))
          expect(statement.Condition).toEqual({
            StringEquals: {
              'kms:ViaService': ['rds', 'secretsmanager', 'backup'].map(
                (x) => `${x}.${spec.region.cloudRegion}.amazonaws.com`,
              ),
            },
          });
      }
      expect(one(r, AWS.alias).inputs.name).toMatch(KMS_ALIAS);
    }
  });

  it('every IAM trust is bound to the account; the app may connect to its database as its IAM user', async () => {
    for (const spec of specs) {
      const r = await run(spec);
      for (const role of ofType(r, AWS.role)) {
        for (const statement of json(role.inputs.assumeRolePolicy).Statement) {
          expect(statement.Condition, role.name).toMatchObject({
            StringEquals: { 'aws:SourceAccount': ACCOUNT },
          });
          expect((statement.Principal as { Service: string }).Service).not.toBe('ec2.amazonaws.com');
        }
      }
      if (spec.role !== 'primary') continue;
      const app = ofType(r, AWS.rolePolicy).find((p) => p.name.endsWith('-app-access'))!;
      const connect = json(app.inputs.policy).Statement.find(
        (s) => s.Action?.toString() === 'rds-db:connect',
      );
      expect(connect?.Resource).toEqual([
        expect.stringMatching(new RegExp(`^arn:aws:rds-db:eu-west-1:${ACCOUNT}:dbuser:db-[A-Z0-9]+/app$`)),
      ]);
      expect(JSON.stringify(app.inputs.policy)).not.toContain('secretsmanager');
    }
  });

  it('keeps backups past 35 days in AWS Backup under the tenant key, copied to the standby for DR', async () => {
    const primary = base(awsHome, {
      drTarget: {
        region: awsPartner,
        outputs: {
          bucketArn: 'arn:aws:s3:::standby',
          kmsKeyArn: `arn:aws:kms:eu-central-1:${ACCOUNT}:key/standby`,
          backupVaultArn: `arn:aws:backup:eu-central-1:${ACCOUNT}:backup-vault:standby`,
        },
      },
    });
    const r = await run(primary);
    const vault = one(r, AWS.vault);
    expect(vault.inputs.kmsKeyArn).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/${one(r, AWS.key).name}`);
    expect(one(r, AWS.plan).inputs.rules).toEqual([
      expect.objectContaining({
        lifecycle: { deleteAfter: 90 },
        copyActions: [
          {
            destinationVaultArn: `arn:aws:backup:eu-central-1:${ACCOUNT}:backup-vault:standby`,
            lifecycle: { deleteAfter: 90 },
          },
        ],
      }),
    ]);
    const replication = one(r, 'aws:s3/bucketReplicationConfig:BucketReplicationConfig');
    expect(replication.inputs.rules[0].filter).toEqual({ prefix: '' });
    // The standby keeps a vault of its own, for the copies.
    expect(ofType(await run(base(awsPartner, { role: 'standby' })), AWS.vault)).toHaveLength(1);
    await expect(
      run(base(awsHome, { drTarget: { region: awsPartner, outputs: { bucketArn: 'a', kmsKeyArn: 'b' } } })),
    ).rejects.toThrow(/backupVaultArn/);
  });

  it('every protected resource is protected, and the teardown update lifts all of it', async () => {
    const guarded = await run(base(awsHome));
    for (const type of [AWS.key, AWS.bucket, AWS.db, AWS.vault]) {
      const resource = one(guarded, type);
      expect(optionsOf(guarded, resource)?.protect, resource.name).toBe(true);
    }
    expect(one(guarded, AWS.db).inputs.deletionProtection).toBe(true);
    expect(one(guarded, AWS.bucket).inputs.forceDestroy).toBe(false);

    const teardown = await run(base(awsHome, { teardown: true }));
    for (const [name, opts] of teardown.options) expect(opts.protect ?? false, name).toBe(false);
    expect(one(teardown, AWS.db).inputs).toMatchObject({
      deletionProtection: false,
      skipFinalSnapshot: false,
    });
    expect(one(teardown, AWS.bucket).inputs.forceDestroy).toBe(true);
    expect(one(teardown, AWS.vault).inputs.forceDestroy).toBe(true);
    // A tier without deletion protection protects nothing.
    const plain = await run(base(awsHome, { deletionProtection: false }));
    for (const [name, opts] of plain.options) expect(opts.protect ?? false, name).toBe(false);
  });

  it('every tag is one AWS accepts', async () => {
    for (const spec of specs) {
      const r = await run(spec);
      for (const resource of r.resources.filter((x) => x.inputs.tags)) {
        const tags = resource.inputs.tags as Record<string, string>;
        expect(Object.keys(tags).length).toBeLessThanOrEqual(50);
        for (const [k, v] of Object.entries(tags)) {
          expect(k).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u);
          expect(v).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u);
        }
      }
    }
    expect(cloudLabels('aws', { note: 'café; 50%' }).labels).toEqual({ note: 'café_ 50_' });
  });
});

describe('GCP silo policies', () => {
  const specs = [
    base(gcpHome),
    base(gcpHome, { tenantId: 'hooli', deletionProtection: false, labels: {} }),
    base({ ...gcpHome, id: 'gcp-europe-west4', cloudRegion: 'europe-west4' }, { role: 'standby' }),
  ];

  it('every database is on private IP only, TLS-only, under the tenant key, with backups and PITR', async () => {
    const r = await run(specs[0]!);
    const sql = one(r, GCP.sql);
    const key = one(r, GCP.key);
    expect(sql.inputs.encryptionKeyName).toMatch(new RegExp(`/cryptoKeys/${key.name}-1a2b3c4$`));
    expect(sql.inputs.settings.ipConfiguration).toEqual({
      ipv4Enabled: false,
      privateNetwork: GCP_NETWORK.network,
      sslMode: 'ENCRYPTED_ONLY',
    });
    expect(sql.inputs.settings.ipConfiguration).not.toHaveProperty('authorizedNetworks');
    expect(sql.inputs.settings.backupConfiguration).toMatchObject({
      enabled: true,
      pointInTimeRecoveryEnabled: true,
      backupRetentionSettings: { retainedBackups: 90, retentionUnit: 'COUNT' },
    });
    expect(sql.inputs.settings.databaseFlags).toContainEqual({
      name: 'cloudsql.iam_authentication',
      value: 'on',
    });
    // The key's Cloud SQL grant is in place before the instance is created.
    const sqlGrant = ofType(r, GCP.keyMember).find((m) => m.name.endsWith('-key-sql-agent'))!;
    const dependsOn = [optionsOf(r, sql)?.dependsOn].flat() as pulumi.Resource[];
    const grantUrns = await Promise.all(dependsOn.map((d) => new Promise((res) => d.urn.apply(res))));
    expect(grantUrns.some((urn) => String(urn).endsWith(`::${sqlGrant.name}`))).toBe(true);
    const users = ofType(r, GCP.sqlUser).map((u) => u.inputs);
    expect(users).toHaveLength(2);
    expect(users).toEqual(
      expect.arrayContaining([
        // Landlord's own, its password kept a Pulumi secret (the stack secret); the application's signs in with IAM.
        expect.objectContaining({
          name: 'landlord',
          type: 'BUILT_IN',
          password: {
            [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
            value: OWNER_PASSWORD,
          },
        }),
        expect.objectContaining({ type: 'CLOUD_IAM_SERVICE_ACCOUNT', deletionPolicy: 'ABANDON' }),
      ]),
    );
    await expect(run(base({ ...gcpHome, network: undefined }))).rejects.toThrow(/no GCP network/);
  });

  it('every bucket is private, uniform, versioned and under the tenant key', async () => {
    for (const spec of specs) {
      const bucket = one(await run(spec), GCP.bucket).inputs;
      expect(bucket).toMatchObject({
        publicAccessPrevention: 'enforced',
        uniformBucketLevelAccess: true,
        versioning: { enabled: true },
      });
      const run_ = await run(spec);
      const key = one(run_, GCP.key);
      expect(one(run_, GCP.bucket).inputs.encryption).toEqual({
        defaultKmsKeyName: expect.stringMatching(new RegExp(`/cryptoKeys/${key.name}-1a2b3c4$`)),
        googleManagedEncryptionEnforcementConfig: { restrictionMode: 'FullyRestricted' },
        customerSuppliedEncryptionEnforcementConfig: { restrictionMode: 'FullyRestricted' },
      });
      void bucket;
    }
  });

  it("the tenant's service account is bound on its own resources only", async () => {
    const r = await run(specs[0]!);
    const account = one(r, GCP.account);
    const member = `serviceAccount:${account.inputs.accountId}@${PROJECT}.iam.gserviceaccount.com`;
    const bucket = one(r, GCP.bucket);
    expect(one(r, GCP.bucketMember).inputs).toMatchObject({ bucket: `${bucket.name}-9e8d7c6`, member });
    expect(one(r, GCP.datasetMember).inputs).toMatchObject({
      datasetId: one(r, GCP.dataset).inputs.datasetId,
      member,
    });
    const instance = `${one(r, GCP.sql).name}-4f3e2d1`;
    const projectWide = ofType(r, GCP.projectMember);
    expect(projectWide.map((m) => m.inputs.role).sort()).toEqual([
      'roles/cloudsql.client',
      'roles/cloudsql.instanceUser',
    ]);
    for (const binding of projectWide) {
      expect(binding.inputs.member).toBe(member);
      expect(binding.inputs.condition.expression).toBe(
        `resource.name == "projects/${PROJECT}/instances/${instance}"`,
      );
    }
    // No binding grants anything to anyone else, and none is owner/editor.
    for (const binding of [...ofType(r, GCP.bucketMember), ...ofType(r, GCP.datasetMember), ...projectWide])
      expect(binding.inputs.role).not.toMatch(/roles\/(owner|editor|viewer)$/);
  });

  it('enables the APIs it uses before anything else, and never disables them on destroy', async () => {
    const r = await run(specs[0]!);
    const services = ofType(r, GCP.service);
    expect(services.map((s) => s.inputs.service).sort()).toEqual(
      ['bigquery', 'cloudkms', 'iam', 'servicenetworking', 'sqladmin', 'storage'].map(
        (s) => `${s}.googleapis.com`,
      ),
    );
    for (const s of services) expect(s.inputs).toMatchObject({ disableOnDestroy: false });
    for (const resource of r.resources.filter(
      (x) => x.custom && x.type !== GCP.service && !x.type.startsWith('pulumi:'),
    ))
      expect([optionsOf(r, resource)?.dependsOn].flat().length, resource.name).toBeGreaterThanOrEqual(
        services.length,
      );
  });

  it('every protected resource is protected, and the teardown update lifts all of it', async () => {
    const guarded = await run(base(gcpHome));
    for (const type of [GCP.key, GCP.bucket, GCP.sql, GCP.dataset])
      expect(optionsOf(guarded, one(guarded, type))?.protect, type).toBe(true);
    expect(one(guarded, GCP.sql).inputs).toMatchObject({ deletionProtection: true });
    const teardown = await run(base(gcpHome, { teardown: true }));
    for (const [name, opts] of teardown.options) expect(opts.protect ?? false, name).toBe(false);
    expect(one(teardown, GCP.sql).inputs.deletionProtection).toBe(false);
    expect(one(teardown, GCP.sql).inputs.settings.deletionProtectionEnabled).toBe(false);
    expect(one(teardown, GCP.bucket).inputs).toMatchObject({ forceDestroy: true, deletionPolicy: 'DELETE' });
  });

  it('every label is one GCP accepts', async () => {
    for (const spec of specs) {
      for (const resource of (await run(spec)).resources.filter((x) => x.inputs.labels)) {
        const labels = resource.inputs.labels as Record<string, string>;
        for (const [k, v] of Object.entries(labels)) {
          expect(k).toMatch(/^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u);
          expect(v).toMatch(/^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u);
        }
      }
    }
  });
});

describe('names derived from tenant ids', () => {
  it('are valid for every edge id on both clouds', async () => {
    for (const tenantId of EDGE_IDS) {
      const prefix = siloResourcePrefix(tenantId);
      expect(autonamed(`${prefix}-db`), tenantId).toMatch(RDS_IDENTIFIER);
      expect(autonamed(`${prefix}-db`), tenantId).toMatch(RDS_PARAMETER_GROUP);
      expect(autonamed(`${prefix}-db`), tenantId).toMatch(CLOUD_SQL_INSTANCE);
      expect(bucketNameOk(autonamed(`${prefix}-data`)), `${tenantId}: ${autonamed(`${prefix}-data`)}`).toBe(
        true,
      );
      for (const role of ['-app', '-replication', '-backup'])
        expect(autonamed(`${prefix}${role}`)).toMatch(IAM_ROLE);
      expect(rdsFinalSnapshotId(tenantId, 'aws-eu-west-1', 'k3j9x2ab'), tenantId).toMatch(RDS_SNAPSHOT);
      expect(rdsFinalSnapshotId(tenantId, 'a--b-', undefined), tenantId).toMatch(RDS_SNAPSHOT);
      expect(rdsDatabaseName(tenantId), tenantId).toMatch(POSTGRES_DATABASE);
      for (const what of ['vault', 'plan', 'selection'] as const)
        expect(backupName(tenantId, 'aws-eu-west-1', what)).toMatch(BACKUP_NAME);
      expect(gcpServiceAccountId(tenantId, 'gcp-europe-west1'), tenantId).toMatch(GCP_SERVICE_ACCOUNT);
      expect(bigQueryDatasetId(tenantId, 'gcp-europe-west1')).toMatch(/^[a-zA-Z0-9_]{1,1024}$/);
      expect(`alias/landlord/${tenantId}`).toMatch(KMS_ALIAS);
      // What the programs really declare, for the edge ids too.
      const aws = await run(base(awsHome, { tenantId }));
      expect(one(aws, AWS.db).inputs.finalSnapshotIdentifier).toMatch(RDS_SNAPSHOT);
      expect(one(aws, AWS.db).name).toBe(`${prefix}-db`);
      const gcp = await run(base(gcpHome, { tenantId }));
      expect(one(gcp, GCP.account).inputs.accountId).toMatch(GCP_SERVICE_ACCOUNT);
    }
  });

  it('never give two tenants the same name, and give each provisioning run its own final snapshot', () => {
    // An id chosen to look like another's shortened name ("acme-corp-" and its hash) gets names of its own.
    const lookalike = siloResourcePrefix('acme--corp').slice('ll-'.length);
    const ids = [
      ...EDGE_IDS,
      'a-b',
      'a-b-c',
      'ab',
      'x'.repeat(39),
      `${'x'.repeat(39)}y`,
      'acme--corp',
      lookalike,
    ];
    for (const derive of [
      siloResourcePrefix,
      (id: string) => gcpServiceAccountId(id, 'gcp-europe-west1'),
      rdsDatabaseName,
      (id: string) => backupName(id, 'aws-eu-west-1', 'vault'),
      (id: string) => bigQueryDatasetId(id, 'gcp-europe-west1'),
    ]) {
      const names = ids.map(derive);
      expect(new Set(names).size, derive.toString()).toBe(ids.length);
    }
    // One tenant's primary and standby share a GCP project: their service accounts differ.
    expect(gcpServiceAccountId('globex', 'gcp-europe-west1')).not.toBe(
      gcpServiceAccountId('globex', 'gcp-europe-west4'),
    );
    expect(bigQueryDatasetId('abc-x', 'y')).not.toBe(bigQueryDatasetId('abc', 'x-y'));
    expect(rdsFinalSnapshotId('globex', 'aws-eu-west-1', 'aaaaaaaa')).not.toBe(
      rdsFinalSnapshotId('globex', 'aws-eu-west-1', 'bbbbbbbb'),
    );
  });
});

describe('placement of a silo in a cloud region', () => {
  const catalog = PolicyCatalog.parse({
    tiers: [
      {
        id: 'premium',
        description: 'silo',
        deploymentModel: 'silo',
        dr: { enabled: false, rpo: '1h', rto: '8h' },
        backup: { cadence: '1h', retentionDays: 35 },
        database: { connectionLimit: 20 },
        apiQuota: { requestsPerMinute: 600 },
      },
    ],
    regions: [
      { ...awsHome, drPartner: undefined },
      { id: 'aws-us-east-1', provider: 'aws', cloudRegion: 'us-east-1', residency: 'US' },
      gcpHome,
    ],
  });
  const refusal = (spec: Parameters<typeof checkPlacement>[1]) => {
    try {
      checkPlacement(catalog, spec);
      return undefined;
    } catch (err) {
      if (!(err instanceof LandlordError)) throw err;
      return `${err.kind}: ${err.message}`;
    }
  };

  it('needs the region network and labels the cloud can carry, before anything starts', () => {
    expect(
      refusal({ tier: 'premium', region: 'aws-eu-west-1', labels: { team: 'emea sales' } }),
    ).toBeUndefined();
    expect(refusal({ tier: 'premium', region: 'aws-us-east-1' })).toMatch(
      /^PolicyViolation: region "aws-us-east-1" has no network in regions.json/,
    );
    expect(
      refusal({ tier: 'premium', region: 'aws-eu-west-1', labels: { note: 'x'.repeat(256) } }),
    ).toBeUndefined();
    // GCP: at most 63 characters; keys must start with a letter; two keys must not become one.
    expect(
      refusal({ tier: 'premium', region: 'gcp-europe-west1', labels: { note: 'x'.repeat(64) } }),
    ).toMatch(/label "note": its value has 64 characters; GCP carries at most 63/);
    expect(refusal({ tier: 'premium', region: 'gcp-europe-west1', labels: { '9lives': 'x' } })).toMatch(
      /label "9lives": GCP cannot carry this key/,
    );
    expect(
      refusal({ tier: 'premium', region: 'gcp-europe-west1', labels: { 'a.b': '1', a_b: '2' } }),
    ).toMatch(/labels "a.b" and "a_b" would both be "a_b" on GCP/);
    expect(refusal({ tier: 'premium', region: 'aws-eu-west-1', labels: { tier: 'gold' } })).toMatch(
      /labels "tier": Landlord sets tenant, tier, managed-by on every silo resource itself/,
    );
    const many = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`l${i}`, 'v']));
    expect(refusal({ tier: 'premium', region: 'aws-eu-west-1', labels: many })).toMatch(
      /48 labels: AWS carries at most 47 besides tenant, tier, managed-by/,
    );
  });

  it('refuses a network of the wrong cloud or shape at start-up', () => {
    const bad = (network: unknown, provider = 'aws') =>
      PolicyCatalog.safeParse({
        tiers: catalog.tiers,
        regions: [{ ...awsHome, drPartner: undefined, provider, network }],
      }).success;
    expect(bad(GCP_NETWORK)).toBe(false);
    expect(bad({ ...AWS_NETWORK, subnetIds: ['subnet-0a1b2c3d'] })).toBe(false);
    expect(bad({ ...AWS_NETWORK, dbSubnetGroupName: 'landlord-db' })).toBe(false);
    expect(bad(AWS_NETWORK, 'local')).toBe(false);
    expect(bad(AWS_NETWORK)).toBe(true);
  });
});

describe('destroying a silo stack', () => {
  const urn = (type: string, name: string) =>
    `urn:pulumi:globex.aws-eu-west-1::landlord-silo::${type}::${name}`;
  const state = (protect: boolean) => [
    { urn: urn('pulumi:pulumi:Stack', 'landlord-silo'), type: 'pulumi:pulumi:Stack' },
    { urn: urn('aws:kms/key:Key', 'll-globex-key'), type: 'aws:kms/key:Key', protect },
    { urn: urn('aws:s3/bucket:Bucket', 'll-globex-data'), type: 'aws:s3/bucket:Bucket', protect },
  ];
  function fakeStack(resources: ReturnType<typeof state>, failTeardown = false) {
    const calls: { call: string; target?: string[]; teardown?: boolean }[] = [];
    const programs: SiloSpec[] = [];
    const stack = {
      exportStack: async () => ({ deployment: { resources } }),
      up: async ({ target, program }: { target?: string[]; program: unknown }) => {
        const spec = programs[programs.length - 1]!;
        calls.push({ call: 'up', ...(target ? { target } : {}), teardown: spec.teardown === true });
        void program;
        if (failTeardown && spec.teardown) throw new Error('refused');
      },
      destroy: async () => {
        calls.push({ call: 'destroy' });
        return 'destroyed';
      },
    };
    const programOf = async (spec: SiloSpec) => {
      programs.push(spec);
      return async () => ({});
    };
    return { stack, programOf, calls };
  }

  it('lifts protection in an update of its own first, aimed only at what the state holds, then destroys', async () => {
    const { stack, programOf, calls } = fakeStack(state(true));
    expect(await destroySiloStack(stack, base(awsHome), programOf)).toBe('destroyed');
    expect(calls).toEqual([
      {
        call: 'up',
        teardown: true,
        target: [urn('aws:kms/key:Key', 'll-globex-key'), urn('aws:s3/bucket:Bucket', 'll-globex-data')],
      },
      { call: 'destroy' },
    ]);
  });

  it('puts protection back and destroys nothing when the teardown update fails', async () => {
    const { stack, programOf, calls } = fakeStack(state(true), true);
    await expect(destroySiloStack(stack, base(awsHome), programOf)).rejects.toThrow('refused');
    expect(calls.map((c) => [c.call, c.teardown])).toEqual([
      ['up', true],
      ['up', false],
    ]);
  });

  it('destroys at once what holds nothing protected: a failed first provisioning is not created to be destroyed', async () => {
    for (const resources of [state(false), []]) {
      const { stack, programOf, calls } = fakeStack(resources as ReturnType<typeof state>);
      await destroySiloStack(stack, base(awsHome), programOf);
      expect(calls).toEqual([{ call: 'destroy' }]);
    }
  });

  it('retains the bucket policy, encryption, versioning and public access block on delete in the teardown update', async () => {
    const teardown = await run(base(awsHome, { teardown: true }));
    for (const type of [AWS.bucketPolicy, AWS.encryption, AWS.versioning, AWS.publicAccess])
      expect(optionsOf(teardown, one(teardown, type))?.retainOnDelete, type).toBe(true);
    const normal = await run(base(awsHome));
    expect(optionsOf(normal, one(normal, AWS.bucketPolicy))?.retainOnDelete ?? false).toBe(false);
  });
});
