import type * as pulumi from '@pulumi/pulumi';
import type { SiloSpec } from '../../domain/index.js';
import { siloResourcePrefix } from '../names.js';
import { AwsTenantSilo } from './tenant-silo.js';

/** Stack outputs of an AWS silo; all non-secret, so a DR primary can read a standby's. */
export interface AwsSiloOutputs {
  region: string;
  bucketName: pulumi.Output<string>;
  bucketArn: pulumi.Output<string>;
  kmsKeyArn: pulumi.Output<string>;
  roleArn: pulumi.Output<string>;
  dbEndpoint?: pulumi.Output<string>;
  dbInstanceArn?: pulumi.Output<string>;
  /** The Postgres user the app role signs in as with IAM authentication (`rds-db:connect`). */
  dbIamUser?: string;
  dbName?: string;
  /** The ARN of the secret holding the master user's credentials (Landlord prepares the database with them). */
  dbMasterSecretArn?: pulumi.Output<string>;
  /** Where AWS Backup keeps the tier's backups beyond 35 days; a DR primary copies into the standby's. */
  backupVaultArn?: pulumi.Output<string>;
}

/** Inline Pulumi program for one tenant's silo stack in an AWS region (LocalWorkspace). */
export function awsSiloProgram(
  spec: SiloSpec,
  /** Options of the silo component (tests record its children's options through `transformations`). */
  opts?: pulumi.ComponentResourceOptions,
): () => Promise<AwsSiloOutputs> {
  return async () => {
    const silo = new AwsTenantSilo(siloResourcePrefix(spec.tenantId), { spec }, opts);
    return {
      region: silo.region,
      bucketName: silo.bucketName,
      bucketArn: silo.bucketArn,
      kmsKeyArn: silo.kmsKeyArn,
      roleArn: silo.roleArn,
      ...(silo.dbEndpoint && silo.dbInstanceArn
        ? {
            dbEndpoint: silo.dbEndpoint,
            dbInstanceArn: silo.dbInstanceArn,
            dbIamUser: silo.dbIamUser,
            dbName: silo.dbName,
            dbMasterSecretArn: silo.dbMasterSecretArn,
          }
        : {}),
      ...(silo.backupVaultArn ? { backupVaultArn: silo.backupVaultArn } : {}),
    };
  };
}
