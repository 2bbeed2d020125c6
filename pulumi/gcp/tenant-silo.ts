import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { cloudLabels, siloTags } from '../../domain/index.js';
import type { GcpNetwork, SiloSpec, StorageRetention } from '../../domain/index.js';
import { bigQueryDatasetId, cloudSqlDatabaseName, gcpServiceAccountId } from '../names.js';

export { bigQueryDatasetId };

/** 90 days: KMS makes a new primary key version this often; old versions still decrypt. */
const KEY_ROTATION_PERIOD = `${90 * 24 * 60 * 60}s`;
const KMS_ENCRYPTER_DECRYPTER = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';
/** Postgres major version of silo databases. */
const POSTGRES_VERSION = 'POSTGRES_17';

/** The APIs a silo uses; enabled by the stack and left enabled when it is destroyed (other tenants use them). */
export const GCP_SILO_APIS = [
  'cloudkms.googleapis.com',
  'storage.googleapis.com',
  'bigquery.googleapis.com',
  'sqladmin.googleapis.com',
  'servicenetworking.googleapis.com',
  'iam.googleapis.com',
] as const;

/**
 * Cloud SQL keeps backups by count; one a day covers the tier's retention. Cloud SQL keeps at most
 * 365: a tier asking for more is refused here rather than cut short without a word.
 */
export function cloudSqlRetainedBackups(days: number): number {
  if (days > 365)
    throw new Error(`Cloud SQL keeps at most 365 daily backups; the tier asks for ${days} days`);
  return Math.max(1, Math.round(days));
}

/**
 * GCP labels from silo tags (domain/cloud-labels.ts: lowercased, other characters `_`). Placement
 * refuses labels GCP cannot carry, so a program that meets one anyway stops rather than drop it.
 */
export function gcpLabels(tags: Record<string, string>): Record<string, string> {
  const { labels, problems } = cloudLabels('gcp', tags);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return labels;
}

/**
 * One GCS lifecycle rule per storage prefix that has a retention: its objects are deleted that many
 * days after they were written. A held class has none, because GCS cannot tell held objects from
 * the others; a class kept forever has none either.
 */
function gcsRetentionRules(
  retention: readonly StorageRetention[] = [],
): gcp.types.input.storage.BucketLifecycleRule[] {
  return retention.flatMap(({ prefix, days, held }) =>
    days === undefined || held
      ? []
      : [
          {
            action: { type: 'Delete' },
            // Live and noncurrent versions alike, by their own age: on the versioned bucket a
            // deleted live object becomes noncurrent and goes at the next pass, past the same age.
            condition: { age: days, matchesPrefixes: [prefix], withState: 'ANY' },
          },
        ],
  );
}

function gcpNetwork(spec: SiloSpec): GcpNetwork {
  const network = spec.region.network;
  if (!network || !('network' in network))
    throw new Error(
      `region ${spec.region.id} has no GCP network in regions.json (network, allocatedIpRange)`,
    );
  return network;
}

export interface GcpTenantSiloArgs {
  spec: SiloSpec;
  /** The GCP project every resource of the silo is created in. */
  project: string;
  /** Password of the database's built-in `landlord` user (a stack secret, derived from the master secret). */
  ownerPassword: pulumi.Input<string>;
}

/**
 * One tenant's silo in one GCP region: the APIs it needs, a KMS key ring and rotating key, a
 * private versioned bucket encrypted with it whose storage prefixes expire after their data
 * class's retention, a service account of the tenant's own with bindings on its own resources only
 * and, on the primary, a Cloud SQL for PostgreSQL instance on private IP only (CMEK with the tenant
 * key, TLS enforced, backups and point-in-time recovery on, IAM database authentication for the
 * service account) and a BigQuery dataset encrypted with the key.
 *
 * DR: the standby stack in the partner region creates its own key ring, key and bucket (no
 * database). The primary creates nothing in the partner region, so the two regions never share a
 * key, and sets up no continuous replication: the standby's bucket (its `bucketName` output) is
 * where a DR runbook copies the tenant's data.
 */
export class GcpTenantSilo extends pulumi.ComponentResource {
  readonly region: string;
  readonly bucketName: pulumi.Output<string>;
  readonly cryptoKeyId: pulumi.Output<string>;
  readonly serviceAccountEmail: pulumi.Output<string>;
  /** Set on a primary only. */
  readonly datasetId?: pulumi.Output<string>;
  readonly dbInstanceName?: pulumi.Output<string>;
  readonly dbConnectionName?: pulumi.Output<string>;
  readonly dbPrivateIp?: pulumi.Output<string>;
  /** The Postgres user the service account signs in as (IAM database authentication). */
  readonly dbIamUser?: pulumi.Output<string>;
  readonly dbName?: string;
  /** The CA the instance's server certificate chains to (public; Landlord checks the server with it). */
  readonly dbServerCa?: pulumi.Output<string>;

  constructor(name: string, args: GcpTenantSiloArgs, opts?: pulumi.ComponentResourceOptions) {
    super('landlord:gcp:TenantSilo', name, {}, opts);
    const { spec, project, ownerPassword } = args;
    if (spec.region.provider !== 'gcp') {
      throw new Error(`region ${spec.region.id} is on ${spec.region.provider}, not gcp`);
    }
    if (spec.drTarget && spec.role !== 'primary') {
      throw new Error(`a ${spec.role} silo has no DR target (tenant ${spec.tenantId})`);
    }
    const location = spec.region.cloudRegion;
    const labels = gcpLabels(siloTags(spec));
    // Protected silos: a plain destroy refuses their data resources; the teardown update lifts it.
    const guarded = spec.deletionProtection && !spec.teardown;
    const deletionPolicy = guarded ? 'PREVENT' : 'DELETE';

    // Explicit provider: placement and project come from the spec and stack config, not ambient gcloud.
    const provider = new gcp.Provider(
      `${name}-region`,
      { project, region: location, defaultLabels: labels },
      { parent: this },
    );
    const inRegion = { parent: this, provider };

    // Every API the silo calls, enabled before anything uses it; never disabled by one tenant's destroy.
    const apis = GCP_SILO_APIS.map(
      (service) =>
        new gcp.projects.Service(
          `${name}-api-${service.split('.')[0]}`,
          { project, service, disableOnDestroy: false, disableDependentServices: false },
          inRegion,
        ),
    );
    const afterApis = { ...inRegion, dependsOn: apis };
    const keep = { ...afterApis, protect: guarded };

    // Key rings cannot be deleted in GCP, so the name is auto-suffixed to allow re-creating a silo.
    const keyRing = new gcp.kms.KeyRing(`${name}-keys`, { project, location }, afterApis);
    const key = new gcp.kms.CryptoKey(
      `${name}-key`,
      { keyRing: keyRing.id, rotationPeriod: KEY_ROTATION_PERIOD, labels, deletionPolicy },
      keep,
    );

    // CMEK needs each service's agent to be able to use the key before the resource is created.
    const grantTo = (agent: string, member: pulumi.Input<string>) =>
      new gcp.kms.CryptoKeyIAMMember(
        `${name}-key-${agent}-agent`,
        { cryptoKeyId: key.id, role: KMS_ENCRYPTER_DECRYPTER, member },
        afterApis,
      );
    const storageAgent = gcp.storage.getProjectServiceAccountOutput(
      { project },
      { ...inRegion, dependsOn: apis },
    );
    const storageKeyGrant = grantTo(
      'storage',
      pulumi.interpolate`serviceAccount:${storageAgent.emailAddress}`,
    );

    const lifecycleRules = gcsRetentionRules(spec.storageRetention);
    const bucket = new gcp.storage.Bucket(
      `${name}-data`,
      {
        project,
        location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: true },
        ...(lifecycleRules.length > 0 ? { lifecycleRules } : {}),
        // The tenant key only: uploads under Google-managed or customer-supplied keys are refused.
        encryption: {
          defaultKmsKeyName: key.id,
          googleManagedEncryptionEnforcementConfig: { restrictionMode: 'FullyRestricted' },
          customerSuppliedEncryptionEnforcementConfig: { restrictionMode: 'FullyRestricted' },
        },
        forceDestroy: !guarded,
        deletionPolicy,
        labels,
      },
      { ...keep, dependsOn: [...apis, storageKeyGrant] },
    );

    // The tenant's own identity: bindings on its own resources only, none on the project at large.
    const account = new gcp.serviceaccount.Account(
      `${name}-app`,
      {
        project,
        accountId: gcpServiceAccountId(spec.tenantId, spec.region.id),
        displayName: `Landlord silo app of tenant ${spec.tenantId}`,
      },
      afterApis,
    );
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    new gcp.storage.BucketIAMMember(
      `${name}-data-app`,
      { bucket: bucket.name, role: 'roles/storage.objectUser', member },
      afterApis,
    );

    if (spec.role === 'primary') {
      const network = gcpNetwork(spec);
      const sqlAgent = new gcp.projects.ServiceIdentity(
        `${name}-sql-agent`,
        { project, service: 'sqladmin.googleapis.com' },
        afterApis,
      );
      const sqlKeyGrant = grantTo('sql', pulumi.interpolate`serviceAccount:${sqlAgent.email}`);
      const instance = new gcp.sql.DatabaseInstance(
        `${name}-db`,
        {
          project,
          region: location,
          databaseVersion: POSTGRES_VERSION,
          encryptionKeyName: key.id,
          deletionProtection: guarded,
          settings: {
            tier: 'db-custom-1-3840',
            edition: 'ENTERPRISE',
            availabilityType: spec.deletionProtection ? 'REGIONAL' : 'ZONAL',
            deletionProtectionEnabled: guarded,
            ipConfiguration: {
              ipv4Enabled: false,
              privateNetwork: network.network,
              ...(network.allocatedIpRange ? { allocatedIpRange: network.allocatedIpRange } : {}),
              sslMode: 'ENCRYPTED_ONLY',
            },
            backupConfiguration: {
              enabled: true,
              pointInTimeRecoveryEnabled: true,
              transactionLogRetentionDays: 7,
              backupRetentionSettings: {
                retainedBackups: cloudSqlRetainedBackups(spec.backupRetentionDays),
                retentionUnit: 'COUNT',
              },
            },
            databaseFlags: [{ name: 'cloudsql.iam_authentication', value: 'on' }],
            userLabels: labels,
          },
        },
        { ...keep, dependsOn: [...apis, sqlKeyGrant] },
      );
      new gcp.sql.Database(
        `${name}-db-app`,
        // Dropped with the instance: a database with open connections cannot be dropped before it.
        {
          project,
          instance: instance.name,
          name: cloudSqlDatabaseName(spec.tenantId),
          deletionPolicy: 'ABANDON',
        },
        afterApis,
      );
      // Landlord's own user: it runs the migrations and grants the application its rights.
      new gcp.sql.User(
        `${name}-db-landlord`,
        {
          project,
          instance: instance.name,
          name: 'landlord',
          type: 'BUILT_IN',
          password: ownerPassword,
          deletionPolicy: 'ABANDON',
        },
        afterApis,
      );
      // An IAM service-account user is named by the account's email without `.gserviceaccount.com`.
      const dbUser = new gcp.sql.User(
        `${name}-db-user`,
        {
          project,
          instance: instance.name,
          type: 'CLOUD_IAM_SERVICE_ACCOUNT',
          // A Postgres user that was granted roles cannot be deleted; it goes with the instance.
          deletionPolicy: 'ABANDON',
          name: account.email.apply((email) => email.replace(/\.gserviceaccount\.com$/, '')),
        },
        afterApis,
      );
      // Cloud SQL roles bind on the project; the condition narrows them to this instance.
      for (const role of ['roles/cloudsql.client', 'roles/cloudsql.instanceUser']) {
        new gcp.projects.IAMMember(
          `${name}-db-${role.split('.')[1]}`,
          {
            project,
            role,
            member,
            condition: {
              title: `landlord-${role.split('.')[1]}`,
              description: `Only the silo database of tenant ${spec.tenantId}`,
              expression: pulumi.interpolate`resource.name == "projects/${project}/instances/${instance.name}"`,
            },
          },
          afterApis,
        );
      }

      const bigQueryAgent = gcp.bigquery.getDefaultServiceAccountOutput(
        { project },
        { ...inRegion, dependsOn: apis },
      );
      const bigQueryKeyGrant = grantTo('bigquery', pulumi.interpolate`serviceAccount:${bigQueryAgent.email}`);
      const dataset = new gcp.bigquery.Dataset(
        `${name}-analytics`,
        {
          project,
          datasetId: bigQueryDatasetId(spec.tenantId, spec.region.id),
          location,
          description: `Landlord analytics for tenant ${spec.tenantId}`,
          // No table expiry: how long rows are kept is the tenant's data retention policy, not
          // its backup retention, and retention runs apply it.
          defaultEncryptionConfiguration: { kmsKeyName: key.id },
          deleteContentsOnDestroy: !guarded,
          deletionPolicy,
          labels,
        },
        { ...keep, dependsOn: [...apis, bigQueryKeyGrant] },
      );
      new gcp.bigquery.DatasetIamMember(
        `${name}-analytics-app`,
        { project, datasetId: dataset.datasetId, role: 'roles/bigquery.dataEditor', member },
        afterApis,
      );
      this.datasetId = dataset.datasetId;
      this.dbInstanceName = instance.name;
      this.dbConnectionName = instance.connectionName;
      this.dbPrivateIp = instance.privateIpAddress;
      this.dbIamUser = dbUser.name;
      this.dbName = cloudSqlDatabaseName(spec.tenantId);
      this.dbServerCa = instance.serverCaCerts.apply((certs) => {
        const cert = certs?.[0]?.cert;
        if (!cert) throw new Error(`Cloud SQL reported no server CA for tenant ${spec.tenantId}`);
        return cert;
      });
    }

    this.region = location;
    this.bucketName = bucket.name;
    this.cryptoKeyId = key.id;
    this.serviceAccountEmail = account.email;
    this.registerOutputs({
      region: this.region,
      bucketName: this.bucketName,
      cryptoKeyId: this.cryptoKeyId,
      serviceAccountEmail: this.serviceAccountEmail,
      datasetId: this.datasetId,
      dbInstanceName: this.dbInstanceName,
      dbConnectionName: this.dbConnectionName,
      dbPrivateIp: this.dbPrivateIp,
      dbIamUser: this.dbIamUser,
      dbName: this.dbName,
      dbServerCa: this.dbServerCa,
    });
  }
}
