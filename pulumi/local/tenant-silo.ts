import * as pulumi from '@pulumi/pulumi';
import type { SiloSpec } from '../../domain/index.js';
import { localSiloFolder, siloNames } from '../../domain/index.js';
import {
  ApplicationMigrations,
  DataEncryptionKey,
  PostgresDatabase,
  PostgresRole,
  StorageFolder,
} from './dynamic.js';

export interface LocalSiloSettings {
  /** Superuser URL of the region's Postgres server. */
  serverUrl: pulumi.Input<string>;
  /** Folder under which each region keeps its tenants' object storage. */
  objectsRoot: string;
  migrationsDir: string;
  /** Changes whenever the migrations do, so that an `up` applies new ones. */
  migrationsChecksum: string;
  /** Password of the silo's owner role (derived by Landlord from its master secret). */
  ownerPassword: pulumi.Input<string>;
}

/** Connections a silo tenant's role may hold when its spec (from an earlier version) does not say. */
const DEFAULT_CONNECTION_LIMIT = 20;

/** Names of a tenant's silo objects on a region server: stable, and distinct from its pool role. */
export function localSiloNames(tenantId: string, objectsRoot: string, regionId: string) {
  return { ...siloNames(tenantId), folder: localSiloFolder(objectsRoot, regionId, tenantId) };
}

/** A tenant's silo on a local region: database, login role, schema, storage folder and data key. */
export class LocalTenantSilo extends pulumi.ComponentResource {
  readonly database: pulumi.Output<string>;
  readonly role: pulumi.Output<string>;
  readonly folder: pulumi.Output<string>;
  readonly keyFingerprint: pulumi.Output<string>;
  readonly migrations: pulumi.Output<string[]>;

  constructor(
    name: string,
    spec: SiloSpec,
    settings: LocalSiloSettings,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('landlord:local:TenantSilo', name, {}, opts);
    const names = localSiloNames(spec.tenantId, settings.objectsRoot, spec.region.id);
    const serverUrl = pulumi.secret(settings.serverUrl);
    const ownerPassword = pulumi.secret(settings.ownerPassword);
    const role = new PostgresRole(
      `${name}-role`,
      { serverUrl, name: names.role, connectionLimit: spec.connectionLimit ?? DEFAULT_CONNECTION_LIMIT },
      { parent: this },
    );
    const database = new PostgresDatabase(
      `${name}-database`,
      { serverUrl, name: names.database, tenantRole: role.name, owner: names.owner, ownerPassword },
      { parent: this },
    );
    const migrations = new ApplicationMigrations(
      `${name}-schema`,
      {
        serverUrl,
        database: database.name,
        role: database.owner,
        password: ownerPassword,
        tenantRole: role.name,
        migrationsDir: settings.migrationsDir,
        checksum: settings.migrationsChecksum,
      },
      { parent: this },
    );
    const folder = new StorageFolder(`${name}-objects`, { path: names.folder }, { parent: this });
    const key = new DataEncryptionKey(
      `${name}-data-key`,
      { keyId: `${spec.tenantId}.${spec.region.id}` },
      { parent: this },
    );
    this.database = database.name;
    this.role = role.name;
    this.folder = folder.path;
    this.keyFingerprint = key.fingerprint;
    this.migrations = migrations.applied;
    this.registerOutputs({
      database: this.database,
      role: this.role,
      folder: this.folder,
      keyFingerprint: this.keyFingerprint,
    });
  }
}
