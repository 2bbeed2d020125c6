/**
 * Fake clouds for the silo programs under Pulumi's mocks: each returns ids, ARNs and names in the
 * shapes the provider does, and answers the data-source invokes the programs make (and only those).
 */
import { expect } from 'vitest';
import type { Region } from '../../../domain/index.js';
import type { MockCloud } from './mock-runtime.js';

export const ACCOUNT = '123456789012';
export const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/landlord-deploy`;
export const DEPLOY_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/landlord-deploy/landlord-run`;
export const AWS_NETWORK = {
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnetIds: ['subnet-0a1b2c3d', 'subnet-1a2b3c4d'],
  appSecurityGroupId: 'sg-0feedbeef',
};

/** A fake AWS: ARNs carry the region of the provider the resource was created with. */
/** An AWS region with its network, as regions.json would name it. */
export const AWS_EU_WEST: Region = {
  id: 'aws-eu-west-1',
  provider: 'aws',
  cloudRegion: 'eu-west-1',
  residency: 'EU',
  drPartner: 'aws-eu-central-1',
  network: AWS_NETWORK,
};

export const fakeAws: MockCloud = {
  state({ type, name, providerInputs }) {
    const region = String(providerInputs?.region ?? 'no-provider');
    switch (type) {
      case 'aws:kms/key:Key':
        return { id: name, keyId: name, arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${name}` };
      case 'aws:s3/bucket:Bucket': {
        const bucket = `${name}-0a1b2c3`;
        return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}` };
      }
      case 'aws:rds/instance:Instance':
        return {
          id: name,
          resourceId: `db-${name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`,
          arn: `arn:aws:rds:${region}:${ACCOUNT}:db:${name}`,
          endpoint: `${name}.c0ffee.${region}.rds.amazonaws.com:5432`,
          masterUserSecrets: [
            {
              secretArn: `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:rds!db-${name}`,
              secretStatus: 'active',
            },
          ],
        };
      case 'aws:iam/role:Role':
        return { id: name, name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` };
      case 'aws:ec2/securityGroup:SecurityGroup':
        return { id: `sg-0${name.length.toString(16).padStart(8, '0')}` };
      case 'aws:rds/subnetGroup:SubnetGroup':
      case 'aws:rds/parameterGroup:ParameterGroup':
        return { id: `${name}-0a1b2c3`, name: `${name}-0a1b2c3` };
      case 'aws:backup/vault:Vault':
        return { id: name, arn: `arn:aws:backup:${region}:${ACCOUNT}:backup-vault:${name}` };
      default:
        return { id: `${name}-id` };
    }
  },
  call({ token, inputs }) {
    // Who runs the stack: a session of the deploy role.
    if (token === 'aws:index/getCallerIdentity:getCallerIdentity')
      return { accountId: ACCOUNT, arn: DEPLOY_SESSION, userId: 'AROAEXAMPLE:landlord', id: ACCOUNT };
    if (token === 'aws:iam/getSessionContext:getSessionContext' && inputs.arn === DEPLOY_SESSION)
      return {
        arn: DEPLOY_SESSION,
        issuerArn: DEPLOY_ROLE,
        issuerId: 'AROAEXAMPLE',
        issuerName: 'landlord-deploy',
      };
    throw new Error(`the AWS silo program should not invoke ${token}`);
  },
};

export const PROJECT = 'acme-landlord-prod';
export const OWNER_PASSWORD = 'derived-owner-password';
export const SERVER_CA = '-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n';
export const STORAGE_AGENT = 'service-42@gs-project-accounts.iam.gserviceaccount.com';
export const BIGQUERY_AGENT = 'bq-42@bigquery-encryption.iam.gserviceaccount.com';
export const SQL_AGENT = 'service-42@gcp-sa-cloud-sql.iam.gserviceaccount.com';
export const GCP_NETWORK = { network: `projects/${'acme-network-host'}/global/networks/landlord` };

/** A fake GCP: ids in the shapes the provider returns, and the two service-agent lookups. */
export const fakeGcp: MockCloud = {
  state({ type, name, inputs }) {
    switch (type) {
      case 'gcp:kms/keyRing:KeyRing': {
        const ringName = `${name}-5d4c3b2`;
        return {
          id: `projects/${inputs.project}/locations/${inputs.location}/keyRings/${ringName}`,
          name: ringName,
        };
      }
      case 'gcp:kms/cryptoKey:CryptoKey':
        return { id: `${inputs.keyRing}/cryptoKeys/${name}-1a2b3c4`, name: `${name}-1a2b3c4` };
      case 'gcp:storage/bucket:Bucket':
        return { id: `${name}-9e8d7c6`, name: `${name}-9e8d7c6` };
      case 'gcp:bigquery/dataset:Dataset':
        return { id: `projects/${inputs.project}/datasets/${inputs.datasetId}` };
      case 'gcp:projects/serviceIdentity:ServiceIdentity':
        return { id: SQL_AGENT, email: SQL_AGENT, member: `serviceAccount:${SQL_AGENT}` };
      case 'gcp:serviceaccount/account:Account': {
        const email = `${inputs.accountId}@${inputs.project}.iam.gserviceaccount.com`;
        return { id: email, email, member: `serviceAccount:${email}` };
      }
      case 'gcp:sql/databaseInstance:DatabaseInstance': {
        const instance = `${name}-4f3e2d1`;
        return {
          id: instance,
          name: instance,
          connectionName: `${inputs.project}:${inputs.region}:${instance}`,
          privateIpAddress: '10.20.0.5',
          serverCaCerts: [
            { cert: SERVER_CA, commonName: 'C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA' },
          ],
        };
      }
      default:
        return { id: `${name}-id` };
    }
  },
  call({ token, inputs }) {
    expect(inputs.project).toBe(PROJECT);
    switch (token) {
      case 'gcp:storage/getProjectServiceAccount:getProjectServiceAccount':
        return { id: STORAGE_AGENT, emailAddress: STORAGE_AGENT, project: PROJECT };
      case 'gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount':
        return { id: BIGQUERY_AGENT, email: BIGQUERY_AGENT, project: PROJECT };
      default:
        throw new Error(`the GCP silo program should not invoke ${token}`);
    }
  },
};
