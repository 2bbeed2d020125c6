import * as pulumi from '@pulumi/pulumi';
import type { SiloSpec } from '../../domain/index.js';
import { siloResourcePrefix } from '../names.js';
import { GcpTenantSilo } from './tenant-silo.js';

/** Stack outputs of a GCP silo; all non-secret. */
export interface GcpSiloOutputs {
  region: string;
  bucketName: pulumi.Output<string>;
  cryptoKeyId: pulumi.Output<string>;
  serviceAccountEmail: pulumi.Output<string>;
  datasetId?: pulumi.Output<string>;
  dbInstanceName?: pulumi.Output<string>;
  dbConnectionName?: pulumi.Output<string>;
  dbPrivateIp?: pulumi.Output<string>;
  dbIamUser?: pulumi.Output<string>;
  dbName?: string;
  dbServerCa?: pulumi.Output<string>;
}

/**
 * Inline Pulumi program for one tenant's silo stack in a GCP region (LocalWorkspace). The project
 * is the stack setting `gcp:project`.
 */
export function gcpSiloProgram(
  spec: SiloSpec,
  /** Options of the silo component (tests record its children's options through `transformations`). */
  opts?: pulumi.ComponentResourceOptions,
): () => Promise<GcpSiloOutputs> {
  return async () => {
    const project = new pulumi.Config('gcp').get('project');
    if (!project) {
      throw new Error(`GCP silo stack for tenant ${spec.tenantId} needs the gcp:project stack setting`);
    }
    const ownerPassword = new pulumi.Config('landlord').requireSecret('ownerPassword');
    const silo = new GcpTenantSilo(siloResourcePrefix(spec.tenantId), { spec, project, ownerPassword }, opts);
    return {
      region: silo.region,
      bucketName: silo.bucketName,
      cryptoKeyId: silo.cryptoKeyId,
      serviceAccountEmail: silo.serviceAccountEmail,
      ...(silo.datasetId ? { datasetId: silo.datasetId } : {}),
      ...(silo.dbInstanceName && silo.dbConnectionName && silo.dbPrivateIp && silo.dbIamUser
        ? {
            dbName: silo.dbName,
            dbServerCa: silo.dbServerCa,
            dbInstanceName: silo.dbInstanceName,
            dbConnectionName: silo.dbConnectionName,
            dbPrivateIp: silo.dbPrivateIp,
            dbIamUser: silo.dbIamUser,
          }
        : {}),
    };
  };
}
