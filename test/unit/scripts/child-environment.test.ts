import { describe, expect, it } from 'vitest';
import { childEnvironment } from '../../../scripts/servers/child-environment.js';

const base = {
  PATH: '/usr/bin',
  HOME: '/home/ops',
  LANDLORD_LOG_LEVEL: 'info',
  LANDLORD_ADMIN_KEY: 'admin-key-from-the-user-000000',
  LANDLORD_WEBHOOK_SECRET: 'webhook-secret-000000',
  LANDLORD_TEMPORAL_API_KEY: 'temporal-cloud-key',
  PULUMI_CONFIG_PASSPHRASE: 'passphrase',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  ARM_CLIENT_SECRET: 'azure-secret',
  PGPASSWORD: 'a-postgres-password',
  VAULT_TOKEN: 'a-vault-token',
};
const provided = {
  LANDLORD_SECRET: 'master-secret-'.padEnd(40, 'x'),
  LANDLORD_TENANT_KEK: 'k'.repeat(43),
  LANDLORD_REGISTRY_URL: 'postgres://postgres:pw@127.0.0.1:1/landlord_registry',
  LANDLORD_REGION_LOCAL_A_URL: 'postgres://postgres:pw@127.0.0.1:2/postgres',
  LANDLORD_TEMPORAL_ADDRESS: '127.0.0.1:7233',
};
const secretsOf = (env: Record<string, string>) =>
  Object.keys(env)
    .filter((k) => !['PATH', 'HOME', 'LANDLORD_LOG_LEVEL', 'LANDLORD_TEMPORAL_ADDRESS', 'PORT'].includes(k))
    .sort();

describe('the environment of each process npm start starts', () => {
  it("gives the API the registry, Temporal and the tenants' key-encryption key, and no other secret", () => {
    const env = childEnvironment('api', base, provided, { PORT: '8080' });
    expect(secretsOf(env)).toEqual([
      'LANDLORD_REGISTRY_URL',
      'LANDLORD_TEMPORAL_API_KEY',
      'LANDLORD_TENANT_KEK',
    ]);
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      PORT: '8080',
      LANDLORD_TEMPORAL_ADDRESS: '127.0.0.1:7233',
    });
  });

  it('gives each worker what its activities use, and none of them the admin key', () => {
    expect(secretsOf(childEnvironment('lifecycle', base, provided))).toEqual([
      'LANDLORD_REGION_LOCAL_A_URL',
      'LANDLORD_REGISTRY_URL',
      'LANDLORD_SECRET',
      'LANDLORD_TEMPORAL_API_KEY',
      'LANDLORD_WEBHOOK_SECRET',
    ]);
    expect(secretsOf(childEnvironment('provisioning', base, provided))).toEqual([
      'ARM_CLIENT_SECRET',
      'AWS_SECRET_ACCESS_KEY',
      'LANDLORD_REGION_LOCAL_A_URL',
      'LANDLORD_REGISTRY_URL',
      'LANDLORD_SECRET',
      'LANDLORD_TEMPORAL_API_KEY',
      'PULUMI_CONFIG_PASSPHRASE',
    ]);
    expect(secretsOf(childEnvironment('data', base, provided))).toEqual([
      'LANDLORD_REGION_LOCAL_A_URL',
      'LANDLORD_REGISTRY_URL',
      'LANDLORD_SECRET',
      'LANDLORD_TEMPORAL_API_KEY',
    ]);
  });

  it('keeps any other variable named like a credential from every process', () => {
    for (const kind of ['api', 'lifecycle', 'provisioning', 'data'] as const) {
      const env = childEnvironment(kind, base, provided);
      expect(env.PGPASSWORD, kind).toBeUndefined();
      expect(env.VAULT_TOKEN, kind).toBeUndefined();
    }
  });

  it('takes what npm start resolved over what the caller had', () => {
    const env = childEnvironment('data', { ...base, LANDLORD_SECRET: 'stale' }, provided);
    expect(env.LANDLORD_SECRET).toBe(provided.LANDLORD_SECRET);
  });
});
