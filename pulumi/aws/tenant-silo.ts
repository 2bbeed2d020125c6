import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { cloudLabels, siloTags } from '../../domain/index.js';
import type { AwsNetwork, SiloSpec, StorageRetention } from '../../domain/index.js';
import { backupName, rdsDatabaseName, rdsFinalSnapshotId } from '../names.js';

export { rdsDatabaseName };

/** RDS keeps automated backups for 1 to 35 days; 0 would switch them off, which a silo never wants. */
export function rdsBackupRetentionDays(days: number): number {
  return Math.min(35, Math.max(1, Math.round(days)));
}

/** Backups kept longer than RDS's 35 days go through AWS Backup. */
export const needsAwsBackup = (spec: SiloSpec) => spec.backupRetentionDays > 35;

/** The Postgres user the application signs in as with IAM database authentication. */
export const APP_DB_USER = 'app';

/** Postgres major version of silo databases, and its parameter group family. */
const POSTGRES_MAJOR = '17';

/** The standby stack's outputs a primary replicates into; all in the DR region. */
interface AwsDrStorage {
  region: string;
  bucketArn: string;
  kmsKeyArn: string;
  /** Set when the tier's backups go through AWS Backup: where they are copied to. */
  backupVaultArn?: string;
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
  const { bucketArn, kmsKeyArn, backupVaultArn } = target.outputs;
  if (!bucketArn || !kmsKeyArn) {
    throw new Error(
      `DR target ${target.region.id} of tenant ${spec.tenantId} needs the standby's bucketArn and kmsKeyArn outputs`,
    );
  }
  if (needsAwsBackup(spec) && !backupVaultArn) {
    throw new Error(
      `DR target ${target.region.id} of tenant ${spec.tenantId} needs the standby's backupVaultArn output`,
    );
  }
  return {
    region: target.region.cloudRegion,
    bucketArn,
    kmsKeyArn,
    ...(backupVaultArn ? { backupVaultArn } : {}),
  };
}

/**
 * One S3 lifecycle rule per storage prefix that has a retention: its objects expire that many days
 * after they were last written, and a version goes that many days after it stopped being current
 * (the bucket is versioned: an expiry alone only hides the bytes behind a delete marker). A held
 * class's rule is disabled, because S3 cannot tell held objects from the others; a class kept
 * forever has none.
 */
function s3RetentionRules(
  retention: readonly StorageRetention[] = [],
): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return retention.flatMap(({ prefix, dataClass, days, held }) =>
    days === undefined
      ? []
      : [
          {
            id: `retention:${dataClass}:${prefix}`,
            status: held ? 'Disabled' : 'Enabled',
            filter: { prefix },
            expiration: { days },
            noncurrentVersionExpiration: { noncurrentDays: days },
          },
        ],
  );
}

function awsNetwork(spec: SiloSpec): AwsNetwork {
  const network = spec.region.network;
  if (!network || !('vpcId' in network))
    throw new Error(
      `region ${spec.region.id} has no AWS network in regions.json (vpcId, subnetIds or dbSubnetGroupName, appSecurityGroupId)`,
    );
  return network;
}

const iamPolicy = (statements: unknown[]) =>
  pulumi.jsonStringify({ Version: '2012-10-17', Statement: statements });

/** A trust policy for an AWS service, bound to this account (and, where given, to one source). */
const serviceTrust = (service: string, account: pulumi.Input<string>, sourceArn?: pulumi.Input<string>) =>
  iamPolicy([
    {
      Effect: 'Allow',
      Principal: { Service: service },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'aws:SourceAccount': account },
        ...(sourceArn ? { ArnLike: { 'aws:SourceArn': sourceArn } } : {}),
      },
    },
  ]);

/** Key administration, without the right to use the key for data. */
const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];
const KEY_USE_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncrypt*',
  'kms:GenerateDataKey*',
  'kms:DescribeKey',
];

export interface AwsTenantSiloArgs {
  spec: SiloSpec;
}

/**
 * One tenant's silo in one AWS region: a KMS key with an explicit key policy, a private TLS-only
 * versioned bucket that takes objects under that key only and expires each storage prefix after
 * its data class's retention; on the primary a Postgres instance in the region's private subnets
 * that admits only the application's security group, enforces TLS itself and signs the
 * application in with IAM (credentials of the master user in Secrets Manager), an app role for
 * ECS tasks of this account scoped to exactly these; backups beyond 35 days in an AWS Backup vault
 * under the tenant key; and on a primary with a DR target the replication of objects and backups
 * into the standby region.
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
  /** The Postgres user the app role signs in as (IAM authentication); on a primary. */
  readonly dbIamUser?: string;
  readonly dbName?: string;
  /** The Secrets Manager secret RDS keeps the master user's credentials in (its ARN, not the secret). */
  readonly dbMasterSecretArn?: pulumi.Output<string>;
  /** Set when the tier's backups go through AWS Backup. */
  readonly backupVaultArn?: pulumi.Output<string>;

  constructor(name: string, args: AwsTenantSiloArgs, opts?: pulumi.ComponentResourceOptions) {
    super('landlord:aws:TenantSilo', name, {}, opts);
    const { spec } = args;
    if (spec.region.provider !== 'aws') {
      throw new Error(`region ${spec.region.id} is on ${spec.region.provider}, not aws`);
    }
    const dr = awsDrStorage(spec);
    const { labels: tags, problems } = cloudLabels('aws', siloTags(spec));
    // Placement refuses such labels before anything starts; a program never drops one silently.
    if (problems.length > 0) throw new Error(`tenant ${spec.tenantId}: ${problems.join('; ')}`);
    const tenant = spec.tenantId;
    // Protected data resources: a plain destroy refuses them. The teardown update lifts it first.
    const guarded = spec.deletionProtection && !spec.teardown;

    // Explicit providers: the stack's placement comes from the spec, never from ambient aws:region.
    const provider = new aws.Provider(
      `${name}-region`,
      { region: spec.region.cloudRegion as aws.Region, defaultTags: { tags } },
      { parent: this },
    );
    const inRegion = { parent: this, provider };
    const keep = { ...inRegion, protect: guarded };
    // What keeps the bucket safe goes only with the bucket: a destroy that stopped halfway never
    // leaves a bucket without its policy, encryption, versioning or public access block.
    const bucketGuard = { ...keep, ...(spec.teardown ? { retainOnDelete: true } : {}) };

    // Who runs Landlord's stacks: the key's administrator. An assumed role's session resolves to the role.
    const caller = aws.getCallerIdentityOutput({}, inRegion);
    const account = caller.accountId;
    const deployRole = aws.iam.getSessionContextOutput({ arn: caller.arn }, inRegion).issuerArn;
    const partition = caller.arn.apply((arn) => arn.split(':')[1] ?? 'aws');

    // The app role first: the key policy names it, so the key never has the account-wide default.
    const role = new aws.iam.Role(
      `${name}-app`,
      {
        description: `Landlord silo app role for tenant ${tenant}`,
        // ECS tasks of this account only; an EC2 instance would need an instance profile.
        assumeRolePolicy: serviceTrust(
          'ecs-tasks.amazonaws.com',
          account,
          pulumi.interpolate`arn:${partition}:ecs:${spec.region.cloudRegion}:${account}:*`,
        ),
        tags,
      },
      inRegion,
    );

    const bucket = new aws.s3.Bucket(
      `${name}-data`,
      // Without deletion protection, destroying the stack (offboarding) removes the tenant's objects.
      { forceDestroy: !guarded, tags },
      keep,
    );

    const replicationRole =
      dr && spec.role === 'primary'
        ? new aws.iam.Role(
            `${name}-replication`,
            {
              description: `Landlord S3 replication for tenant ${tenant} into ${dr.region}`,
              assumeRolePolicy: serviceTrust('s3.amazonaws.com', account, bucket.arn),
              tags,
            },
            inRegion,
          )
        : undefined;
    const backupRole = needsAwsBackup(spec)
      ? new aws.iam.Role(
          `${name}-backup`,
          {
            description: `Landlord AWS Backup for tenant ${tenant}`,
            assumeRolePolicy: serviceTrust('backup.amazonaws.com', account),
            tags,
          },
          inRegion,
        )
      : undefined;

    const keyUsers = [role.arn, ...(backupRole ? [backupRole.arn] : [])];
    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Landlord silo key for tenant ${tenant} (${spec.region.id})`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: iamPolicy([
          {
            Sid: 'Administration',
            Effect: 'Allow',
            Principal: { AWS: deployRole },
            Action: KEY_ADMIN_ACTIONS,
            Resource: '*',
          },
          {
            // RDS, Secrets Manager and Backup use the key for what the deploy role creates: through
            // grants for AWS resources, and through those services only, never directly.
            Sid: 'GrantsForAwsResources',
            Effect: 'Allow',
            Principal: { AWS: deployRole },
            Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
            Resource: '*',
            Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
          },
          {
            Sid: 'UseThroughServices',
            Effect: 'Allow',
            Principal: { AWS: deployRole },
            Action: KEY_USE_ACTIONS,
            Resource: '*',
            Condition: {
              StringEquals: {
                'kms:ViaService': ['rds', 'secretsmanager', 'backup'].map(
                  (service) => `${service}.${spec.region.cloudRegion}.amazonaws.com`,
                ),
              },
            },
          },
          {
            Sid: 'UseByTheTenant',
            Effect: 'Allow',
            Principal: { AWS: keyUsers },
            Action: KEY_USE_ACTIONS,
            Resource: '*',
          },
          {
            // The tenant's roles in its other region (the DR primary's replication and backup roles
            // write into a standby's key): Landlord tags every role it makes with its tenant, and
            // nobody else tags roles in a Landlord account.
            Sid: 'UseByTheTenantElsewhere',
            Effect: 'Allow',
            Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${account}:root` },
            Action: KEY_USE_ACTIONS,
            Resource: '*',
            Condition: {
              StringEquals: { 'aws:PrincipalTag/tenant': tenant, 'aws:PrincipalTag/managed-by': 'landlord' },
            },
          },
          {
            // AWS Backup copies and restores recovery points through grants.
            Sid: 'BackupGrants',
            Effect: 'Allow',
            Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${account}:root` },
            Action: ['kms:CreateGrant'],
            Resource: '*',
            Condition: {
              Bool: { 'kms:GrantIsForAWSResource': 'true' },
              StringEquals: { 'aws:PrincipalTag/tenant': tenant, 'aws:PrincipalTag/managed-by': 'landlord' },
            },
          },
          ...(replicationRole
            ? [
                {
                  Sid: 'ReplicationReads',
                  Effect: 'Allow',
                  Principal: { AWS: replicationRole.arn },
                  Action: ['kms:Decrypt'],
                  Resource: '*',
                },
              ]
            : []),
        ]),
        tags,
      },
      keep,
    );
    new aws.kms.Alias(
      `${name}-key-alias`,
      { name: `alias/landlord/${tenant}`, targetKeyId: key.keyId },
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
      bucketGuard,
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
      bucketGuard,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-data-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } },
      bucketGuard,
    );
    // S3 keeps one lifecycle configuration per bucket: every rule of the bucket goes into this one.
    const lifecycleRules = s3RetentionRules(spec.storageRetention);
    if (lifecycleRules.length > 0)
      new aws.s3.BucketLifecycleConfiguration(
        `${name}-data-lifecycle`,
        { bucket: bucket.id, rules: lifecycleRules },
        // Noncurrent-version rules take effect on a versioned bucket only.
        { ...inRegion, dependsOn: [versioning] },
      );
    const objects = [bucket.arn, pulumi.interpolate`${bucket.arn}/*`];
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
            Resource: objects,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
          {
            Sid: 'DenyOutdatedTls',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: objects,
            Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
          },
          {
            // Uploads without these headers get the bucket's default: the tenant key.
            Sid: 'DenyOtherEncryption',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:PutObject',
            Resource: [pulumi.interpolate`${bucket.arn}/*`],
            Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
          },
          {
            // `aws:kms` without a key id would take the account's aws/s3 key.
            Sid: 'DenyKmsWithoutTheKey',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:PutObject',
            Resource: [pulumi.interpolate`${bucket.arn}/*`],
            Condition: {
              Null: {
                's3:x-amz-server-side-encryption': 'false',
                's3:x-amz-server-side-encryption-aws-kms-key-id': 'true',
              },
            },
          },
          {
            Sid: 'DenyOtherKeys',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:PutObject',
            Resource: [pulumi.interpolate`${bucket.arn}/*`],
            Condition: {
              StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': key.arn },
            },
          },
        ]),
      },
      // S3 rejects bucket policies while the public access block is being applied.
      { ...bucketGuard, dependsOn: [publicAccess] },
    );

    let db: aws.rds.Instance | undefined;
    if (spec.role === 'primary') {
      const network = awsNetwork(spec);
      // The database admits the application's security group on 5432 and nothing else; no egress.
      const dbSecurityGroup = new aws.ec2.SecurityGroup(
        `${name}-db`,
        { vpcId: network.vpcId, description: `Landlord silo database of tenant ${tenant}`, egress: [], tags },
        inRegion,
      );
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-db-from-app`,
        {
          securityGroupId: dbSecurityGroup.id,
          referencedSecurityGroupId: network.appSecurityGroupId,
          ipProtocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          description: 'Postgres from the application',
        },
        inRegion,
      );
      const subnetGroupName =
        network.dbSubnetGroupName ??
        new aws.rds.SubnetGroup(
          `${name}-db`,
          { subnetIds: network.subnetIds!, description: `Landlord silo of tenant ${tenant}`, tags },
          inRegion,
        ).name;
      const parameters = new aws.rds.ParameterGroup(
        `${name}-db`,
        {
          family: `postgres${POSTGRES_MAJOR}`,
          description: `Landlord silo of tenant ${tenant}: TLS only`,
          parameters: [{ name: 'rds.force_ssl', value: '1', applyMethod: 'immediate' }],
          tags,
        },
        inRegion,
      );
      db = new aws.rds.Instance(
        `${name}-db`,
        {
          engine: 'postgres',
          engineVersion: POSTGRES_MAJOR,
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
          dbSubnetGroupName: subnetGroupName,
          vpcSecurityGroupIds: [dbSecurityGroup.id],
          parameterGroupName: parameters.name,
          publiclyAccessible: false,
          iamDatabaseAuthenticationEnabled: true,
          backupRetentionPeriod: rdsBackupRetentionDays(spec.backupRetentionDays),
          deletionProtection: guarded,
          skipFinalSnapshot: false,
          finalSnapshotIdentifier: rdsFinalSnapshotId(tenant, spec.region.id, spec.generation),
          copyTagsToSnapshot: true,
          applyImmediately: spec.teardown === true,
          tags,
        },
        keep,
      );
    }

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
          // IAM database authentication as the application's own user: no master secret needed.
          Effect: 'Allow',
          Action: ['rds-db:connect'],
          Resource: [
            pulumi.interpolate`arn:${partition}:rds-db:${spec.region.cloudRegion}:${account}:dbuser:${db.resourceId}/${APP_DB_USER}`,
          ],
        },
      );
    }
    new aws.iam.RolePolicy(
      `${name}-app-access`,
      { role: role.id, policy: iamPolicy(appStatements) },
      inRegion,
    );

    let vault: aws.backup.Vault | undefined;
    if (backupRole) {
      new aws.iam.RolePolicyAttachment(
        `${name}-backup-service`,
        {
          role: backupRole.name,
          policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup`,
        },
        inRegion,
      );
      vault = new aws.backup.Vault(
        `${name}-backups`,
        {
          name: backupName(tenant, spec.region.id, 'vault'),
          kmsKeyArn: key.arn,
          forceDestroy: !guarded,
          tags,
        },
        keep,
      );
      if (db) {
        const plan = new aws.backup.Plan(
          `${name}-backups`,
          {
            name: backupName(tenant, spec.region.id, 'plan'),
            rules: [
              {
                ruleName: 'daily',
                targetVaultName: vault.name,
                schedule: 'cron(0 3 * * ? *)',
                lifecycle: { deleteAfter: spec.backupRetentionDays },
                ...(dr?.backupVaultArn
                  ? {
                      copyActions: [
                        {
                          destinationVaultArn: dr.backupVaultArn,
                          lifecycle: { deleteAfter: spec.backupRetentionDays },
                        },
                      ],
                    }
                  : {}),
              },
            ],
            tags,
          },
          inRegion,
        );
        new aws.backup.Selection(
          `${name}-backups`,
          {
            name: backupName(tenant, spec.region.id, 'selection'),
            planId: plan.id,
            iamRoleArn: backupRole.arn,
            resources: [db.arn],
          },
          inRegion,
        );
      }
    }

    if (dr && db && replicationRole) {
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
              // Every object, in the V2 schema (delete markers), in the form the provider round-trips.
              filter: { prefix: '' },
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
    if (db) {
      this.dbIamUser = APP_DB_USER;
      this.dbName = rdsDatabaseName(tenant);
      this.dbMasterSecretArn = db.masterUserSecrets.apply((secrets) => {
        // Landlord needs it to prepare the database for the application; say what is missing.
        const arn = secrets?.[0]?.secretArn;
        if (!arn) throw new Error(`RDS reported no managed master secret for tenant ${tenant}`);
        return arn;
      });
    }
    this.backupVaultArn = vault?.arn;
    this.registerOutputs({
      region: this.region,
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      kmsKeyArn: this.kmsKeyArn,
      roleArn: this.roleArn,
      dbEndpoint: this.dbEndpoint,
      dbInstanceArn: this.dbInstanceArn,
      dbIamUser: this.dbIamUser,
      dbName: this.dbName,
      dbMasterSecretArn: this.dbMasterSecretArn,
      backupVaultArn: this.backupVaultArn,
    });
  }
}
