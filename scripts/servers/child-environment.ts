/**
 * What each process `npm start` starts may see of the environment: everything but secrets, and of
 * the secrets only those its job uses. A secret is one of Landlord's own, a region server's URL, or
 * anything named like a credential (`*PASSWORD*`, `*TOKEN*`, `*SECRET*`, …). The API answers HTTP:
 * it needs the registry, Temporal and (to open exports) the tenants' key-encryption key, never the
 * master secret, the region servers' superuser URLs or the admin key (which `npm start` has already
 * made an API key of).
 */
export type LandlordProcess = 'lifecycle' | 'provisioning' | 'data' | 'api';

/** Variables that hold a secret (or a URL with a password in it), by what they grant. */
const REGISTRY = ['LANDLORD_REGISTRY_URL'];
const TEMPORAL = ['LANDLORD_TEMPORAL_API_KEY'];
const MASTER = ['LANDLORD_SECRET'];
/** The tenants' key-encryption key alone: opens exports, derives no password. */
const TENANT_KEK = ['LANDLORD_TENANT_KEK'];
const ADMIN = ['LANDLORD_ADMIN_KEY'];
const WEBHOOKS = ['LANDLORD_WEBHOOK_SECRET'];
/**
 * Pulumi's and the clouds' variables (PULUMI_CONFIG_PASSPHRASE, AWS_SECRET_ACCESS_KEY,
 * GOOGLE_APPLICATION_CREDENTIALS, …): their credentials go to stack actions only.
 */
const CLOUD_PREFIX = /^(AWS|GOOGLE|CLOUDSDK|GCP|ARM|AZURE|PULUMI)_/;
const REGION_URL = /^LANDLORD_REGION_[A-Z0-9_]+_URL$/;
/** What any other variable holding a credential is called (PGPASSWORD, VAULT_TOKEN, …). */
const CREDENTIAL_NAME =
  /(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|CREDENTIAL|API_?KEY|ACCESS_KEY|PRIVATE_KEY)/i;

const SECRETS = [...REGISTRY, ...TEMPORAL, ...MASTER, ...TENANT_KEK, ...ADMIN, ...WEBHOOKS];

/** The secrets each process is given; `regions`: the superuser URLs of the region servers. */
const NEEDS: Record<LandlordProcess, { names: string[]; regions: boolean }> = {
  // Pool roles' passwords, webhooks, the region servers.
  lifecycle: { names: [...REGISTRY, ...TEMPORAL, ...MASTER, ...WEBHOOKS], regions: true },
  // The Pulumi passphrase (derived from the master secret unless set), silo owners' passwords, clouds.
  provisioning: { names: [...REGISTRY, ...TEMPORAL, ...MASTER], regions: true },
  // Silo owners' passwords (derived from the master secret), the region servers.
  data: { names: [...REGISTRY, ...TEMPORAL, ...MASTER], regions: true },
  // Export downloads open tenants' keys: the KEK alone, not the master secret.
  api: { names: [...REGISTRY, ...TEMPORAL, ...TENANT_KEK], regions: false },
};

function isSecret(name: string): boolean {
  return SECRETS.includes(name) || REGION_URL.test(name) || CREDENTIAL_NAME.test(name);
}

/**
 * The environment of one process: `base` (the caller's environment) without any secret, then the
 * secrets `kind` needs from `base` and `provided` (what npm start resolved; it wins), then `extra`.
 */
export function childEnvironment(
  kind: LandlordProcess,
  base: NodeJS.ProcessEnv,
  provided: Record<string, string>,
  extra: Record<string, string> = {},
): Record<string, string> {
  const { names, regions } = NEEDS[kind];
  const allowed = (name: string) =>
    names.includes(name) ||
    (regions && REGION_URL.test(name)) ||
    (kind === 'provisioning' && CLOUD_PREFIX.test(name));
  const env: Record<string, string> = {};
  for (const source of [base, provided]) {
    for (const [name, value] of Object.entries(source)) {
      if (value === undefined) continue;
      if (!isSecret(name) || allowed(name)) env[name] = value;
    }
  }
  return { ...env, ...extra };
}
