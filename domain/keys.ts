/**
 * Tenant data keys (envelope encryption): each tenant has one data key, kept only wrapped by a
 * key-encryption key (KEK) — one derived from the master secret by default, an AWS or GCP KMS key
 * by configuration (LANDLORD_KMS_KEY). Exports and backups are sealed with the data key; destroying
 * it (crypto-shredding) leaves them unreadable. No key material in here: what workflows, the API
 * and logs may see of a key. No zod, no Node built-ins: workflow code imports this module.
 */

/** What may be shown of a tenant's data key: never the key, wrapped or not. */
export interface TenantKeyInfo {
  tenantId: string;
  /** The key's own id, named in the header of every file sealed with it. */
  keyId: string;
  /** The KEK that wrapped it: `local:<fingerprint>`, or the KMS key's URI. */
  kekId: string;
  createdAt: string;
  /** Set once the key is destroyed (crypto-shredded); it never comes back. */
  destroyedAt?: string;
  destroyedBy?: string;
}

/** What destroying a tenant's key did: destroyed now, destroyed before, or no key to destroy. */
export type TenantKeyDestruction = 'destroyed' | 'already' | 'unknown';

/** A KMS key as LANDLORD_KMS_KEY names it (the form Pulumi's secrets providers take). */
export type KmsKeyRef =
  | {
      provider: 'aws';
      uri: string;
      /** A key id, key ARN, alias name (`alias/x`) or alias ARN. */
      keyId: string;
      /** From `?region=`, else from an ARN; absent: the SDK's own default. */
      region?: string;
    }
  | {
      provider: 'gcp';
      uri: string;
      /** `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`. */
      name: string;
    };

const AWS_KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const AWS_ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const AWS_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)$/;
const GCP_KEY = /^projects\/[^/?#]+\/locations\/[^/?#]+\/keyRings\/[^/?#]+\/cryptoKeys\/[^/?#]+$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function awsKeyRef(uri: string, rest: string): KmsKeyRef | { problem: string } {
  const [path = '', query = ''] = rest.split('?', 2);
  // `awskms:///arn:…` puts the key in the path of an empty host, as Pulumi writes an ARN.
  const keyId = path.startsWith('/') ? path.slice(1) : path;
  const params = new URLSearchParams(query);
  // Pulumi's own `awssdk=v2` is harmless here; anything else would be silently ignored.
  const unknown = [...params.keys()].filter((k) => k !== 'region' && k !== 'awssdk');
  if (unknown.length > 0)
    return { problem: `awskms:// takes only ?region=; not ${unknown.map((k) => `?${k}=`).join(', ')}` };
  const region = params.get('region') ?? undefined;
  if (region !== undefined && !AWS_REGION.test(region))
    return { problem: `"${region}" is not an AWS region (e.g. us-east-1)` };
  const arn = AWS_ARN.exec(keyId);
  if (arn) {
    if (region !== undefined && region !== arn[1])
      return { problem: `the key's ARN is in ${arn[1]} but ?region= says ${region}` };
    return { provider: 'aws', uri, keyId, region: arn[1]! };
  }
  if (!AWS_KEY_ID.test(keyId) && !AWS_ALIAS.test(keyId))
    return {
      problem:
        'awskms:// names a key id, alias or ARN: awskms://alias/<name>?region=<r>, ' +
        'awskms://<key id>?region=<r> or awskms:///arn:aws:kms:<region>:<account>:key/<id>',
    };
  return { provider: 'aws', uri, keyId, ...(region ? { region } : {}) };
}

/**
 * The KMS key a URI names (`awskms://…`, `gcpkms://…`), or what is wrong with it, in words that
 * can stand in a start-up error.
 */
export function parseKmsKeyUri(uri: string): KmsKeyRef | { problem: string } {
  const scheme = /^([a-z]+):\/\/(.*)$/.exec(uri);
  if (!scheme) return { problem: 'a KMS key URI: awskms://… or gcpkms://…' };
  const [, kind, rest] = scheme;
  if (kind === 'awskms') return awsKeyRef(uri, rest!);
  if (kind === 'gcpkms') {
    if (rest!.includes('?')) return { problem: 'gcpkms:// takes no parameters' };
    if (/\/cryptoKeyVersions\//.test(rest!))
      return { problem: 'gcpkms:// names a crypto key, not one of its versions' };
    if (!GCP_KEY.test(rest!))
      return {
        problem: 'gcpkms:// names a key: gcpkms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>',
      };
    return { provider: 'gcp', uri, name: rest! };
  }
  return { problem: `${kind}:// is not a KMS Landlord knows: awskms://… or gcpkms://…` };
}
