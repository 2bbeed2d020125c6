import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  awsSiloDatabase,
  cloudSiloClientConfig,
  cloudSiloDatabaseOf,
  gcpSiloDatabase,
} from '../../../dataplane/cloud-silo.js';
import { siloOwnerPassword } from '../../../dataplane/silo.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c';

describe("connecting to a cloud silo's database as its administrator", () => {
  it('reads the RDS master credentials from Secrets Manager, and checks the server against the RDS CAs over TLS', async () => {
    // The SDK's own mock: no request leaves the process.
    const secrets = mockClient(SecretsManagerClient);
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ username: 'landlord', password: 'rds-made-this' }) });
    const db = await awsSiloDatabase(
      {
        dbEndpoint: 'll-globex-db.c0ffee.eu-west-1.rds.amazonaws.com:5432',
        dbName: 'tenant_globex',
        dbMasterSecretArn: SECRET_ARN,
      },
      new SecretsManagerClient({ region: 'eu-west-1' }),
    );
    expect(db).toMatchObject({
      host: 'll-globex-db.c0ffee.eu-west-1.rds.amazonaws.com',
      port: 5432,
      database: 'tenant_globex',
      user: 'landlord',
      password: 'rds-made-this',
    });
    expect(Array.isArray(db.ca) && db.ca.length).toBeGreaterThan(10);
    expect([db.ca].flat()[0]).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(cloudSiloClientConfig(db).ssl).toEqual({ ca: db.ca, rejectUnauthorized: true });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{}' });
    await expect(
      awsSiloDatabase(
        { dbEndpoint: 'h:5432', dbName: 'd', dbMasterSecretArn: `${SECRET_ARN}-other` },
        new SecretsManagerClient({ region: 'eu-west-1' }),
      ),
    ).rejects.toThrow(/holds no username and password/);
    await expect(awsSiloDatabase({ dbEndpoint: 'h:5432' }, new SecretsManagerClient({}))).rejects.toThrow(
      /no dbEndpoint, dbName and dbMasterSecretArn/,
    );
    secrets.restore();
  });

  it('signs in to Cloud SQL as landlord on its private IP, checking the instance CA', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n';
    const db = gcpSiloDatabase(
      { dbPrivateIp: '10.20.0.5', dbName: 'tenant_globex', dbServerCa: ca },
      'derived',
    );
    expect(cloudSiloClientConfig(db)).toMatchObject({
      host: '10.20.0.5',
      port: 5432,
      user: 'landlord',
      password: 'derived',
      ssl: { ca, rejectUnauthorized: true },
    });
    expect(() => gcpSiloDatabase({ dbPrivateIp: '10.20.0.5' }, 'p')).toThrow(/dbServerCa/);
  });

  it("finds a silo's database from its outputs, whichever cloud made them; a local silo's outputs name none", async () => {
    const regions: string[] = [];
    const secretsManager = (region: string) => {
      regions.push(region);
      return {
        send: async () => ({ SecretString: JSON.stringify({ username: 'u', password: 'p' }) }),
      } as never;
    };
    const base = { region: 'aws-eu-west-1', tenantId: 'globex', secret: 'master-secret', secretsManager };
    const aws = await cloudSiloDatabaseOf(
      { dbEndpoint: 'h:5432', dbName: 'd', dbMasterSecretArn: SECRET_ARN },
      base,
    );
    expect(aws).toMatchObject({ host: 'h', user: 'u' });
    // The client is the secret's own region's.
    expect(regions).toEqual(['eu-west-1']);
    const gcp = await cloudSiloDatabaseOf(
      { dbPrivateIp: '10.0.0.3', dbName: 'd', dbServerCa: 'CA' },
      { ...base, region: 'gcp-europe-west1' },
    );
    expect(gcp).toMatchObject({
      user: 'landlord',
      password: siloOwnerPassword('master-secret', 'gcp-europe-west1', 'globex'),
    });
    expect(await cloudSiloDatabaseOf({ database: 'silo_globex', role: 'silo_globex' }, base)).toBeUndefined();
  });
});
