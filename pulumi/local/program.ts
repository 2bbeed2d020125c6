import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { SiloSpec } from '../../domain/index.js';
import { LocalTenantSilo } from './tenant-silo.js';

/** Resources the local program creates: the stack, the component and its five children. */
export const LOCAL_RESOURCE_COUNT = 7;

function checksumOf(dir: string): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort())
    hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
}

/**
 * The inline program for a tenant's silo on a `local` region. Stack config (set by the
 * provisioning activity): `landlord:serverUrl` and `landlord:ownerPassword` (secrets),
 * `landlord:objectsRoot`, `landlord:migrationsDir`.
 */
export function localSiloProgram(spec: SiloSpec) {
  return async () => {
    const config = new pulumi.Config('landlord');
    const migrationsDir = config.require('migrationsDir');
    const silo = new LocalTenantSilo(spec.tenantId, spec, {
      serverUrl: config.requireSecret('serverUrl'),
      ownerPassword: config.requireSecret('ownerPassword'),
      objectsRoot: config.require('objectsRoot'),
      migrationsDir,
      migrationsChecksum: checksumOf(migrationsDir),
    });
    return {
      provider: 'local',
      region: spec.region.id,
      role: spec.role,
      database: silo.database,
      databaseRole: silo.role,
      folder: silo.folder,
      keyFingerprint: silo.keyFingerprint,
      migrations: silo.migrations,
    };
  };
}
