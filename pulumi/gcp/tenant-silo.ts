import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { siloTags } from '../../domain/index.js';
import type { SiloSpec } from '../../domain/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** 90 days: KMS makes a new primary key version this often; old versions still decrypt. */
const KEY_ROTATION_PERIOD = `${90 * 24 * 60 * 60}s`;
const KMS_ENCRYPTER_DECRYPTER = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';

function labelPart(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

/**
 * GCP labels from silo tags: keys and values lowercase letters, digits, `_` and `-`, at most 63
 * characters, keys starting with a letter.
 */
export function gcpLabels(tags: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    const safeKey = labelPart(key);
    labels[/^[a-z]/.test(safeKey) ? safeKey : `l${safeKey}`.slice(0, 63)] = labelPart(value);
  }
  return labels;
}

/** A BigQuery dataset id (letters, digits, underscores) unique per tenant and region in a project. */
export function bigQueryDatasetId(tenantId: string, regionId: string): string {
  return `landlord_${tenantId}_${regionId}`.replace(/[^a-zA-Z0-9_]/g, '_');
}

export interface GcpTenantSiloArgs {
  spec: SiloSpec;
  /** The GCP project every resource of the silo is created in. */
  project: string;
}

/**
 * One tenant's silo in one GCP region: a KMS key ring and rotating key, a private versioned bucket
 * encrypted with it and, on the primary, a BigQuery dataset encrypted with it whose tables expire
 * after the tenant's data retention.
 *
 * DR: the standby stack in the partner region creates its own key ring, key and bucket (no dataset).
 * The primary creates nothing in the partner region, so the two regions never share a key, and sets
 * up no continuous replication: the standby's bucket (its `bucketName` output) is where a DR runbook
 * copies the tenant's data.
 */
export class GcpTenantSilo extends pulumi.ComponentResource {
  readonly region: string;
  readonly bucketName: pulumi.Output<string>;
  readonly cryptoKeyId: pulumi.Output<string>;
  /** Set on a primary only. */
  readonly datasetId?: pulumi.Output<string>;

  constructor(name: string, args: GcpTenantSiloArgs, opts?: pulumi.ComponentResourceOptions) {
    super('landlord:gcp:TenantSilo', name, {}, opts);
    const { spec, project } = args;
    if (spec.region.provider !== 'gcp') {
      throw new Error(`region ${spec.region.id} is on ${spec.region.provider}, not gcp`);
    }
    if (spec.drTarget && spec.role !== 'primary') {
      throw new Error(`a ${spec.role} silo has no DR target (tenant ${spec.tenantId})`);
    }
    const location = spec.region.cloudRegion;
    const labels = gcpLabels(siloTags(spec));
    // Protected silos make `pulumi destroy` fail on their data instead of deleting it.
    const deletionPolicy = spec.deletionProtection ? 'PREVENT' : 'DELETE';

    // Explicit provider: placement and project come from the spec and stack config, not ambient gcloud.
    const provider = new gcp.Provider(
      `${name}-region`,
      { project, region: location, defaultLabels: labels },
      { parent: this },
    );
    const inRegion = { parent: this, provider };

    // Key rings cannot be deleted in GCP, so the name is auto-suffixed to allow re-creating a silo.
    const keyRing = new gcp.kms.KeyRing(`${name}-keys`, { project, location }, inRegion);
    const key = new gcp.kms.CryptoKey(
      `${name}-key`,
      { keyRing: keyRing.id, rotationPeriod: KEY_ROTATION_PERIOD, labels, deletionPolicy },
      inRegion,
    );

    // CMEK needs each service's agent to be able to use the key before the resource is created.
    const storageAgent = gcp.storage.getProjectServiceAccountOutput({ project }, inRegion);
    const storageKeyGrant = new gcp.kms.CryptoKeyIAMMember(
      `${name}-key-storage-agent`,
      {
        cryptoKeyId: key.id,
        role: KMS_ENCRYPTER_DECRYPTER,
        member: pulumi.interpolate`serviceAccount:${storageAgent.emailAddress}`,
      },
      inRegion,
    );

    const bucket = new gcp.storage.Bucket(
      `${name}-data`,
      {
        project,
        location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: true },
        encryption: { defaultKmsKeyName: key.id },
        forceDestroy: !spec.deletionProtection,
        deletionPolicy,
        labels,
      },
      { ...inRegion, dependsOn: [storageKeyGrant] },
    );

    if (spec.role === 'primary') {
      const bigQueryAgent = gcp.bigquery.getDefaultServiceAccountOutput({ project }, inRegion);
      const bigQueryKeyGrant = new gcp.kms.CryptoKeyIAMMember(
        `${name}-key-bigquery-agent`,
        {
          cryptoKeyId: key.id,
          role: KMS_ENCRYPTER_DECRYPTER,
          member: pulumi.interpolate`serviceAccount:${bigQueryAgent.email}`,
        },
        inRegion,
      );
      const dataset = new gcp.bigquery.Dataset(
        `${name}-analytics`,
        {
          project,
          datasetId: bigQueryDatasetId(spec.tenantId, spec.region.id),
          location,
          description: `Landlord analytics for tenant ${spec.tenantId}`,
          defaultTableExpirationMs: Math.round(spec.tierBackupRetentionDays * DAY_MS),
          defaultEncryptionConfiguration: { kmsKeyName: key.id },
          deleteContentsOnDestroy: !spec.deletionProtection,
          deletionPolicy,
          labels,
        },
        { ...inRegion, dependsOn: [bigQueryKeyGrant] },
      );
      this.datasetId = dataset.datasetId;
    }

    this.region = location;
    this.bucketName = bucket.name;
    this.cryptoKeyId = key.id;
    this.registerOutputs({
      region: this.region,
      bucketName: this.bucketName,
      cryptoKeyId: this.cryptoKeyId,
      datasetId: this.datasetId,
    });
  }
}
