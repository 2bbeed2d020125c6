/**
 * The one place that reads the environment and the files under config/. Everything else receives a
 * parsed `Config`. An invalid value stops start-up with a message naming each bad key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  DataPlaneManifest,
  DEFAULT_VERIFICATION_SHARE,
  durationMs,
  parseKmsKeyUri,
  PolicyCatalog,
  Region,
  RetentionPolicyFile,
  retentionPolicyProblems,
  TierPolicy,
} from '../domain/index.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535);
const url = z.url();

/** Environment variables Landlord reads, with their defaults. The README's table mirrors this. */
const Env = z.object({
  PORT: port.default(8080),
  LANDLORD_HOST: z.string().default('127.0.0.1'),
  LANDLORD_API_WORKFLOW_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
  LANDLORD_IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().int().min(1).max(720).default(24),
  LANDLORD_DATA_DIR: z.string().default('.data'),
  LANDLORD_CONFIG_DIR: z.string().default('config'),
  LANDLORD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LANDLORD_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),

  LANDLORD_TEMPORAL_ADDRESS: z.string().optional(),
  LANDLORD_TEMPORAL_NAMESPACE: z.string().default('default'),
  LANDLORD_TEMPORAL_API_KEY: z.string().optional(),
  LANDLORD_TEMPORAL_TLS: bool.default(false),
  LANDLORD_TEMPORAL_TLS_CERT: z.string().optional(),
  LANDLORD_TEMPORAL_TLS_KEY: z.string().optional(),
  LANDLORD_TEMPORAL_PORT: port.default(7233),
  LANDLORD_TEMPORAL_UI_PORT: port.default(8233),
  LANDLORD_TEMPORAL_CLI: z.string().optional(),
  LANDLORD_TEMPORAL_TEST_SERVER: z.string().optional(),
  LANDLORD_TASK_QUEUE_PREFIX: z.string().default('landlord'),
  /** Whether the lifecycle worker creates or updates the retention Schedule when it starts. */
  LANDLORD_RETENTION_SCHEDULE: bool.default(true),
  /** Approvals a restore, failover or failback needs (a tier's `dr.approvals` overrides it). */
  LANDLORD_DR_APPROVALS: z.coerce.number().int().min(1).max(5).default(1),
  /** How long a DR operation waits for its approvals before it fails, changing nothing. */
  LANDLORD_DR_APPROVAL_TIMEOUT: z
    .string()
    .regex(/^[1-9][0-9]{0,4}(s|m|h|d)$/, 'a duration such as 30m, 1h or 2d')
    .default('1h'),
  /** Whether the lifecycle worker creates or updates the backup Schedule when it starts. */
  LANDLORD_BACKUP_SCHEDULE: bool.default(true),
  /** How often the backup Schedule looks for tenants due a backup: at most the shortest tier cadence. */
  LANDLORD_BACKUP_SWEEP_EVERY: z
    .string()
    .regex(/^[1-9][0-9]{0,3}(m|h)$/, 'minutes or hours, such as 5m or 1h')
    .default('5m'),
  /** Whether the lifecycle worker creates or updates the restore verification Schedule when it starts. */
  LANDLORD_DR_VERIFY_SCHEDULE: bool.default(true),
  /** How often the restore verification Schedule starts a run. */
  LANDLORD_DR_VERIFY_EVERY: z
    .string()
    .regex(/^[1-9][0-9]{0,3}(m|h)$/, 'minutes or hours, such as 30m or 24h')
    .default('24h'),
  /** The share of tenants on tiers without DR a verification run samples (every DR tier's tenant is in it). */
  LANDLORD_DR_VERIFY_SHARE: z
    .string()
    .regex(/^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$/, 'a share from 0 to 1, such as 0.1')
    .transform(Number)
    .default(DEFAULT_VERIFICATION_SHARE),

  LANDLORD_REGISTRY_URL: url.optional(),
  LANDLORD_POSTGRES_PORT: port.default(54320),
  LANDLORD_POSTGRES_HOME: z
    .string()
    .refine((p) => isAbsolute(p), 'must be an absolute folder')
    .default('/var/lib/landlord'),

  LANDLORD_WEBHOOK_URLS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(url)),
  LANDLORD_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  LANDLORD_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * The tenants' key-encryption key alone (derived from the master secret): what npm start gives
   * the API so it can open exports without holding the master secret.
   */
  LANDLORD_TENANT_KEK: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte key, base64url')
    .optional(),
  /** The KMS key that wraps tenants' data keys; unset: a key derived from the master secret. */
  LANDLORD_KMS_KEY: z
    .string()
    .superRefine((uri, ctx) => {
      const ref = parseKmsKeyUri(uri);
      if ('problem' in ref) ctx.addIssue({ code: 'custom', message: ref.problem });
    })
    .optional(),

  /** Where backups go: s3://bucket[/prefix] or gs://bucket[/prefix]; unset: the data folder's backups/. */
  LANDLORD_BACKUP_URL: z
    .string()
    .regex(/^(s3|gs):\/\/[^/?#]+(\/[^?#]*)?$/, 'an s3://bucket[/prefix] or gs://bucket[/prefix] URL')
    .optional(),

  LANDLORD_PULUMI_CLI: z.string().optional(),
  LANDLORD_DEBUG_STACK: bool.default(false),
  PULUMI_BACKEND_URL: z
    .string()
    .regex(/^(file|s3|gs|azblob|https?):\/\//, 'a Pulumi backend URL (file://, s3://, gs://, https://…)')
    .optional(),
  LANDLORD_PULUMI_SECRETS_PROVIDER: z
    .string()
    .regex(
      /^(passphrase|awskms|gcpkms|azurekeyvault|hashivault):/,
      'a Pulumi secrets provider (awskms://…, gcpkms://…)',
    )
    .optional(),
  PULUMI_CONFIG_PASSPHRASE: z.string().optional(),
  LANDLORD_PROVISIONING_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  LANDLORD_PARENT_PID: z.coerce.number().int().positive().optional(),
});

export interface TemporalConfig {
  /** host:port; undefined means the embedded dev server on `port`. */
  address?: string;
  namespace: string;
  apiKey?: string;
  tls: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  port: number;
  uiPort: number;
  cliPath?: string;
  testServerPath?: string;
}

export interface TaskQueues {
  lifecycle: string;
  provisioning: string;
  data: string;
}

export interface PulumiConfig {
  cliPath?: string;
  /** Folder holding pulumi-resource-pulumi-nodejs. */
  pluginDir: string;
  /** undefined: a file backend under the data folder. */
  backendUrl?: string;
  secretsProvider?: string;
  /** undefined: derived from the master secret. */
  passphrase?: string;
  concurrency: number;
  /** Every engine diagnostic of a stack action to the worker's stderr. */
  debug: boolean;
}

export interface Config {
  /**
   * `workflowTimeoutMs`: how long a request waits for a tenant workflow's answer before a 503;
   * `idempotencyTtlMs`: how long an Idempotency-Key answers with its first response.
   */
  api: { host: string; port: number; workflowTimeoutMs: number; idempotencyTtlMs: number };
  dataDir: string;
  logLevel: z.infer<typeof Env>['LANDLORD_LOG_LEVEL'];
  adminKey?: string;
  temporal: TemporalConfig;
  taskQueues: TaskQueues;
  postgres: {
    /** undefined: the embedded registry server. */
    registryUrl?: string;
    /** Per region id, the admin URL of its Postgres server; absent regions use embedded servers when local. */
    regionUrls: Record<string, string>;
    embeddedBasePort: number;
    /**
     * As root, the embedded servers run as the system user `postgres`. Where that user cannot reach
     * the clone (a private folder above it), their binaries and data live in per-clone folders here.
     */
    embeddedHome: string;
  };
  webhooks: { urls: string[]; secret?: string };
  pulumi: PulumiConfig;
  /** Master secret for derived credentials; undefined until start-up generates and keeps one. */
  secret?: string;
  /** The tenants' key-encryption key alone, for a process without the master secret (the API). */
  tenantKek?: string;
  /**
   * The KMS key (`awskms://…`, `gcpkms://…`) that wraps tenants' data keys (LANDLORD_KMS_KEY);
   * undefined: a key-encryption key derived from the master secret.
   */
  kmsKey?: string;
  /** Where backups go (LANDLORD_BACKUP_URL): an `s3://` or `gs://` bucket; undefined: `<data dir>/backups`. */
  backupUrl?: string;
  catalog: PolicyCatalog;
  manifest: DataPlaneManifest;
  /** Data retention policies (config/retention.json), checked against the manifest and the tiers. */
  retention: RetentionPolicyFile;
  /** The lifecycle worker creates or updates the retention Schedule at start (LANDLORD_RETENTION_SCHEDULE). */
  retentionSchedule: boolean;
  /**
   * The backup Schedule (LANDLORD_BACKUP_SCHEDULE, LANDLORD_BACKUP_SWEEP_EVERY): whether the lifecycle
   * worker makes it at start, and how often it sweeps for tenants due a backup.
   */
  backupSchedule: { enabled: boolean; every: string };
  /** What DR operations' approval steps need (LANDLORD_DR_APPROVALS, LANDLORD_DR_APPROVAL_TIMEOUT). */
  drApprovals: { required: number; timeoutMs: number };
  /**
   * Restore verification (LANDLORD_DR_VERIFY_SCHEDULE, _EVERY, _SHARE): whether the lifecycle worker
   * makes its Schedule at start, how often it runs, and the share of non-DR tenants a run samples.
   */
  drVerification: { schedule: boolean; every: string; share: number };
  /** Absolute folder of the manifest's SQL migrations. */
  migrationsDir: string;
  /** Stop this process when this parent is gone (`npm start` sets it for its children). */
  parentPid?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path].filter((p) => p !== '').join('.')}: ${i.message}`);
}

/** Reads and validates one JSON file; its problems are named by file and path. */
function parseFile<T>(file: string, schema: z.ZodType<T>, problems: string[]): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`${file}: ${(err as Error).message}`);
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  problems.push(...issuesOf(parsed.error, file));
  return undefined;
}

/** Region URLs come from LANDLORD_REGION_<ID>_URL, e.g. LANDLORD_REGION_LOCAL_A_URL. */
function regionUrlsFrom(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^LANDLORD_REGION_([A-Z0-9_]+)_URL$/.exec(key);
    if (!match || value === undefined) continue;
    const parsed = url.safeParse(value);
    if (!parsed.success) problems.push(`${key}: must be a URL`);
    else urls[match[1]!.toLowerCase().replaceAll('_', '-')] = value;
  }
  return urls;
}

const Tools = z.object({
  temporal: z.string().optional(),
  temporalTestServer: z.string().optional(),
  pulumi: z.string().optional(),
  pulumiPluginDir: z.string().optional(),
});

/** Tool paths scripts/bootstrap.mjs resolved; empty before the first bootstrap. */
function resolvedTools(problems: string[]): z.infer<typeof Tools> {
  const file = join(PROJECT_ROOT, '.tools', 'resolved.json');
  if (!existsSync(file)) return {};
  return parseFile(file, Tools, problems) ?? {};
}

/** Parses the environment and config files; throws ConfigError listing every bad key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  // Each variable on its own, so that one bad value neither hides the others' problems nor puts
  // the defaults of every other variable in their place.
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(Env.shape)) {
    const parsed = schema.safeParse(env[key]);
    if (parsed.success) values[key] = parsed.data;
    else {
      problems.push(...issuesOf(parsed.error, key));
      values[key] = schema.safeParse(undefined).data;
    }
  }
  const e = values as z.infer<typeof Env>;
  const configDir = isAbsolute(e.LANDLORD_CONFIG_DIR)
    ? e.LANDLORD_CONFIG_DIR
    : join(PROJECT_ROOT, e.LANDLORD_CONFIG_DIR);

  const tiersFile = join(configDir, 'tiers.json');
  const regionsFile = join(configDir, 'regions.json');
  const manifestFile = join(configDir, 'application', 'manifest.json');
  const tiers = parseFile(tiersFile, z.object({ tiers: z.array(TierPolicy) }), problems);
  const regions = parseFile(regionsFile, z.object({ regions: z.array(Region) }), problems);
  const catalog = PolicyCatalog.safeParse({ tiers: tiers?.tiers, regions: regions?.regions });
  if (tiers && regions && !catalog.success) {
    // Name the file each cross-file problem sits in.
    for (const issue of catalog.error.issues) {
      const file = issue.path[0] === 'regions' ? regionsFile : tiersFile;
      problems.push(`${[file, ...issue.path].join('.')}: ${issue.message}`);
    }
  }
  const manifest = parseFile(manifestFile, DataPlaneManifest, problems);
  const retentionFile = join(configDir, 'retention.json');
  const retention = parseFile(retentionFile, RetentionPolicyFile, problems);
  if (retention && manifest && catalog.success)
    for (const problem of retentionPolicyProblems(
      retention,
      manifest,
      catalog.data.tiers.map((t) => t.id),
    ))
      problems.push(`${retentionFile}: ${problem}`);
  const regionUrls = regionUrlsFrom(env, problems);
  if (catalog.success) {
    for (const id of Object.keys(regionUrls)) {
      if (!catalog.data.regions.some((r) => r.id === id))
        problems.push(
          `LANDLORD_REGION_${id.toUpperCase().replaceAll('-', '_')}_URL: no region "${id}" in ${regionsFile}`,
        );
    }
  }
  if (e.LANDLORD_TEMPORAL_TLS_CERT && !e.LANDLORD_TEMPORAL_TLS_KEY)
    problems.push('LANDLORD_TEMPORAL_TLS_KEY: required with LANDLORD_TEMPORAL_TLS_CERT');
  if (problems.length > 0 || !catalog.success || !manifest || !retention) throw new ConfigError(problems);

  const tools = resolvedTools(problems);
  const prefix = e.LANDLORD_TASK_QUEUE_PREFIX;
  const migrationsDir = resolve(dirname(manifestFile), manifest.migrationsDir);
  return {
    api: {
      host: e.LANDLORD_HOST,
      port: e.PORT,
      workflowTimeoutMs: e.LANDLORD_API_WORKFLOW_TIMEOUT_MS,
      idempotencyTtlMs: e.LANDLORD_IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
    },
    dataDir: isAbsolute(e.LANDLORD_DATA_DIR) ? e.LANDLORD_DATA_DIR : join(PROJECT_ROOT, e.LANDLORD_DATA_DIR),
    logLevel: e.LANDLORD_LOG_LEVEL,
    ...(e.LANDLORD_ADMIN_KEY ? { adminKey: e.LANDLORD_ADMIN_KEY } : {}),
    temporal: {
      ...(e.LANDLORD_TEMPORAL_ADDRESS ? { address: e.LANDLORD_TEMPORAL_ADDRESS } : {}),
      namespace: e.LANDLORD_TEMPORAL_NAMESPACE,
      ...(e.LANDLORD_TEMPORAL_API_KEY ? { apiKey: e.LANDLORD_TEMPORAL_API_KEY } : {}),
      tls:
        e.LANDLORD_TEMPORAL_TLS ||
        Boolean(e.LANDLORD_TEMPORAL_API_KEY) ||
        Boolean(e.LANDLORD_TEMPORAL_TLS_CERT),
      ...(e.LANDLORD_TEMPORAL_TLS_CERT ? { tlsCertPath: e.LANDLORD_TEMPORAL_TLS_CERT } : {}),
      ...(e.LANDLORD_TEMPORAL_TLS_KEY ? { tlsKeyPath: e.LANDLORD_TEMPORAL_TLS_KEY } : {}),
      port: e.LANDLORD_TEMPORAL_PORT,
      uiPort: e.LANDLORD_TEMPORAL_UI_PORT,
      ...((e.LANDLORD_TEMPORAL_CLI ?? tools.temporal)
        ? { cliPath: e.LANDLORD_TEMPORAL_CLI ?? tools.temporal }
        : {}),
      ...((e.LANDLORD_TEMPORAL_TEST_SERVER ?? tools.temporalTestServer)
        ? { testServerPath: e.LANDLORD_TEMPORAL_TEST_SERVER ?? tools.temporalTestServer }
        : {}),
    },
    taskQueues: {
      lifecycle: `${prefix}-lifecycle`,
      provisioning: `${prefix}-provisioning`,
      data: `${prefix}-data`,
    },
    postgres: {
      ...(e.LANDLORD_REGISTRY_URL ? { registryUrl: e.LANDLORD_REGISTRY_URL } : {}),
      regionUrls,
      embeddedBasePort: e.LANDLORD_POSTGRES_PORT,
      embeddedHome: e.LANDLORD_POSTGRES_HOME,
    },
    webhooks: {
      urls: e.LANDLORD_WEBHOOK_URLS,
      ...(e.LANDLORD_WEBHOOK_SECRET ? { secret: e.LANDLORD_WEBHOOK_SECRET } : {}),
    },
    pulumi: {
      ...((e.LANDLORD_PULUMI_CLI ?? tools.pulumi) ? { cliPath: e.LANDLORD_PULUMI_CLI ?? tools.pulumi } : {}),
      pluginDir: tools.pulumiPluginDir ?? join(PROJECT_ROOT, 'node_modules', '@pulumi', 'pulumi'),
      ...(e.PULUMI_BACKEND_URL ? { backendUrl: e.PULUMI_BACKEND_URL } : {}),
      ...(e.LANDLORD_PULUMI_SECRETS_PROVIDER ? { secretsProvider: e.LANDLORD_PULUMI_SECRETS_PROVIDER } : {}),
      ...(e.PULUMI_CONFIG_PASSPHRASE !== undefined ? { passphrase: e.PULUMI_CONFIG_PASSPHRASE } : {}),
      concurrency: e.LANDLORD_PROVISIONING_CONCURRENCY,
      debug: e.LANDLORD_DEBUG_STACK,
    },
    ...(e.LANDLORD_SECRET ? { secret: e.LANDLORD_SECRET } : {}),
    ...(e.LANDLORD_TENANT_KEK ? { tenantKek: e.LANDLORD_TENANT_KEK } : {}),
    ...(e.LANDLORD_KMS_KEY ? { kmsKey: e.LANDLORD_KMS_KEY } : {}),
    ...(e.LANDLORD_BACKUP_URL ? { backupUrl: e.LANDLORD_BACKUP_URL } : {}),
    catalog: catalog.data,
    manifest,
    retention,
    retentionSchedule: e.LANDLORD_RETENTION_SCHEDULE,
    backupSchedule: { enabled: e.LANDLORD_BACKUP_SCHEDULE, every: e.LANDLORD_BACKUP_SWEEP_EVERY },
    drApprovals: {
      required: e.LANDLORD_DR_APPROVALS,
      timeoutMs: durationMs(e.LANDLORD_DR_APPROVAL_TIMEOUT),
    },
    drVerification: {
      schedule: e.LANDLORD_DR_VERIFY_SCHEDULE,
      every: e.LANDLORD_DR_VERIFY_EVERY,
      share: e.LANDLORD_DR_VERIFY_SHARE,
    },
    migrationsDir,
    ...(e.LANDLORD_PARENT_PID ? { parentPid: e.LANDLORD_PARENT_PID } : {}),
  };
}
