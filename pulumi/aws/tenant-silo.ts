import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { siloTags } from '../../domain/index.js';
import type { SiloSpec } from '../../domain/index.js';

/** RDS keeps automated backups for 1 to 35 days; 0 would switch them off, which a silo never wants. */
export function rdsBackupRetentionDays(days: number): number {
  return Math.min(35, Math.max(1, Math.round(days)));
}

/** A Postgres database name: letters, digits and underscores, starting with a letter. */
export function rdsDatabaseName(tenantId: string): string {
  return `tenant_${tenantId.replace(/[^a-zA-Z0-9]/g, '_')}`.slice(0, 63);
}

/** The standby stack's outputs a primary replicates into; both must be in the DR region. */
interface AwsDrStorage {
  region: string;
  bucketArn: string;
  kmsKeyArn: string;
}

function awsDrStorage(spec: SiloSpec): AwsDrStorage | undefined {
  const target = spec.drTarget;
  if (!target) return undefined;
  if (spec.role !== 'primary') {
    throw new Error(`a ${spec.role} silo has no DR target (tenant ${spec.tenantId})`);
  }
  if (target.region.provider !== 'aws') {
    // S3 replication and RDS backup replication only reach AWS regions.
    throw new Error(
      `DR partner ${target.region.id} of tenant ${spec.tenantId} is on ${target.region.provider}; ` +
        'an AWS silo replicates only into another AWS region',
    );
  }
  const { bucketArn, kmsKeyArn } = target.outputs;
  if (!bucketArn || !kmsKeyArn) {
    throw new Error(
      `DR target ${target.region.id} of tenant ${spec.tenantId} needs the standby's bucketArn and kmsKeyArn outputs`,
    );
  }
  return { region: target.region.cloudRegion, bucketArn, kmsKeyArn };
}

const iamPolicy = (statements: unknown[]) =>
  pulumi.jsonStringify({ Version: '2012-10-17', Statement: statements });

export interface AwsTenantSiloArgs {
  spec: SiloSpec;
}

/**
 * One tenant's silo in one AWS region: a KMS key, a private TLS-only versioned bucket encrypted with
 * it, on the primary a Postgres instance (credentials in Secrets Manager), an app role scoped to
 * exactly these, and on a primary with a DR target the replication of both into the standby region.
 */
export class AwsTenantSilo extends pulumi.ComponentResource {
  readonly region: string;
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly kmsKeyArn: pulumi.Output<string>;
  readonly roleArn: pulumi.Output<string>;
  /** Set on a primary; a standby only receives replicated objects and backups. */
  readonly dbEndpoint?: pulumi.Output<string>;
  readonly dbInstanceArn?: pulumi.Output<string>;

  constructor(name: string, args: AwsTenantSiloArgs, opts?: pulumi.ComponentResourceOptions) {
    super('landlord:aws:TenantSilo', name, {}, opts);
    const { spec } = args;
    if (spec.region.provider !== 'aws') {
      throw new Error(`region ${spec.region.id} is on ${spec.region.provider}, not aws`);
    }
    const dr = awsDrStorage(spec);
    const tags = siloTags(spec);
    const tenant = spec.tenantId;

    // Explicit providers: the stack's placement comes from the spec, never from ambient aws:region.
    const provider = new aws.Provider(
      `${name}-region`,
      { region: spec.region.cloudRegion as aws.Region, defaultTags: { tags } },
      { parent: this },
    );
    const inRegion = { parent: this, provider };

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Landlord silo key for tenant ${tenant} (${spec.region.id})`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      inRegion,
    );
    new aws.kms.Alias(
      `${name}-key-alias`,
      { name: `alias/landlord/${tenant}`, targetKeyId: key.keyId },
      inRegion,
    );

    const bucket = new aws.s3.Bucket(
      `${name}-data`,
      // Without deletion protection, destroying the stack (offboarding) removes the tenant's objects.
      { forceDestroy: !spec.deletionProtection, tags },
      inRegion,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-data-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      inRegion,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-data-encryption`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn },
            bucketKeyEnabled: true,
          },
        ],
      },
      inRegion,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-data-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } },
      inRegion,
    );
    new aws.s3.BucketPolicy(
      `${name}-data-tls-only`,
      {
        bucket: bucket.id,
        policy: iamPolicy([
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
          {
            Sid: 'DenyOutdatedTls',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
          },
        ]),
      },
      // S3 rejects bucket policies while the public access block is being applied.
      { ...inRegion, dependsOn: [publicAccess] },
    );

    const db =
      spec.role === 'primary'
        ? new aws.rds.Instance(
            `${name}-db`,
            {
              engine: 'postgres',
              engineVersion: '17',
              instanceClass: 'db.t4g.micro',
              allocatedStorage: 20,
              maxAllocatedStorage: 100,
              storageType: 'gp3',
              dbName: rdsDatabaseName(tenant),
              username: 'landlord',
              // RDS generates the password and keeps it in Secrets Manager, encrypted with the silo key.
              manageMasterUserPassword: true,
              masterUserSecretKmsKeyId: key.arn,
              storageEncrypted: true,
              kmsKeyId: key.arn,
              publiclyAccessible: false,
              iamDatabaseAuthenticationEnabled: true,
              backupRetentionPeriod: rdsBackupRetentionDays(spec.backupRetentionDays),
              deletionProtection: spec.deletionProtection,
              skipFinalSnapshot: false,
              finalSnapshotIdentifier: `${tenant}-${spec.region.id}-final`.slice(0, 255),
              copyTagsToSnapshot: true,
              tags,
            },
            inRegion,
          )
        : undefined;

    const appStatements: unknown[] = [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [bucket.arn] },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: [pulumi.interpolate`${bucket.arn}/*`],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: [key.arn],
      },
    ];
    if (db) {
      appStatements.push(
        { Effect: 'Allow', Action: ['rds:DescribeDBInstances'], Resource: [db.arn] },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: [
            db.masterUserSecrets.apply((secrets) => {
              // An empty resource would make the whole policy invalid; say what is missing instead.
              const arn = secrets?.[0]?.secretArn;
              if (!arn) throw new Error(`RDS reported no managed master secret for tenant ${tenant}`);
              return arn;
            }),
          ],
        },
      );
    }
    const role = new aws.iam.Role(
      `${name}-app`,
      {
        description: `Landlord silo app role for tenant ${tenant}`,
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: ['ecs-tasks.amazonaws.com', 'ec2.amazonaws.com'] },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
        tags,
      },
      inRegion,
    );
    new aws.iam.RolePolicy(
      `${name}-app-access`,
      { role: role.id, policy: iamPolicy(appStatements) },
      inRegion,
    );

    if (dr && db) {
      const replicationRole = new aws.iam.Role(
        `${name}-replication`,
        {
          description: `Landlord S3 replication for tenant ${tenant} into ${dr.region}`,
          assumeRolePolicy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sts:AssumeRole' },
            ],
          }),
          tags,
        },
        inRegion,
      );
      const replicationPolicy = new aws.iam.RolePolicy(
        `${name}-replication-access`,
        {
          role: replicationRole.id,
          policy: iamPolicy([
            {
              Effect: 'Allow',
              Action: ['s3:GetReplicationConfiguration', 's3:ListBucket'],
              Resource: [bucket.arn],
            },
            {
              Effect: 'Allow',
              Action: [
                's3:GetObjectVersionForReplication',
                's3:GetObjectVersionAcl',
                's3:GetObjectVersionTagging',
              ],
              Resource: [pulumi.interpolate`${bucket.arn}/*`],
            },
            {
              Effect: 'Allow',
              Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
              Resource: [`${dr.bucketArn}/*`],
            },
            { Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [key.arn] },
            { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: [dr.kmsKeyArn] },
          ]),
        },
        inRegion,
      );
      new aws.s3.BucketReplicationConfig(
        `${name}-data-replication`,
        {
          bucket: bucket.id,
          role: replicationRole.arn,
          rules: [
            {
              id: 'dr-standby',
              status: 'Enabled',
              // An empty filter selects every object and opts into the V2 schema (delete markers).
              filter: {},
              deleteMarkerReplication: { status: 'Enabled' },
              sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
              destination: {
                bucket: dr.bucketArn,
                storageClass: 'STANDARD',
                encryptionConfiguration: { replicaKmsKeyId: dr.kmsKeyArn },
              },
            },
          ],
        },
        // Replication needs versioning on the source and a role that may already replicate.
        { ...inRegion, dependsOn: [versioning, replicationPolicy] },
      );

      // Backups are copied by the DR region's RDS, so this resource lives there.
      const drProvider = new aws.Provider(
        `${name}-dr-region`,
        { region: dr.region as aws.Region, defaultTags: { tags } },
        { parent: this },
      );
      new aws.rds.InstanceAutomatedBackupsReplication(
        `${name}-db-backups-dr`,
        {
          sourceDbInstanceArn: db.arn,
          kmsKeyId: dr.kmsKeyArn,
          retentionPeriod: rdsBackupRetentionDays(spec.backupRetentionDays),
        },
        { parent: this, provider: drProvider },
      );
    }

    this.region = spec.region.cloudRegion;
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.kmsKeyArn = key.arn;
    this.roleArn = role.arn;
    this.dbEndpoint = db?.endpoint;
    this.dbInstanceArn = db?.arn;
    this.registerOutputs({
      region: this.region,
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      kmsKeyArn: this.kmsKeyArn,
      roleArn: this.roleArn,
      dbEndpoint: this.dbEndpoint,
      dbInstanceArn: this.dbInstanceArn,
    });
  }
}
