import * as pulumi from '@pulumi/pulumi';
import type { SiloSpec } from '../../domain/index.js';
import { GcpTenantSilo } from './tenant-silo.js';

/** Stack outputs of a GCP silo; all non-secret. */
export interface GcpSiloOutputs {
  region: string;
  bucketName: pulumi.Output<string>;
  cryptoKeyId: pulumi.Output<string>;
  datasetId?: pulumi.Output<string>;
}

/**
 * Inline Pulumi program for one tenant's silo stack in a GCP region (LocalWorkspace). The project
 * is the stack setting `gcp:project`.
 */
export function gcpSiloProgram(spec: SiloSpec): () => Promise<GcpSiloOutputs> {
  return async () => {
    const project = new pulumi.Config('gcp').get('project');
    if (!project) {
      throw new Error(`GCP silo stack for tenant ${spec.tenantId} needs the gcp:project stack setting`);
    }
    const silo = new GcpTenantSilo(spec.tenantId, { spec, project });
    return {
      region: silo.region,
      bucketName: silo.bucketName,
      cryptoKeyId: silo.cryptoKeyId,
      ...(silo.datasetId ? { datasetId: silo.datasetId } : {}),
    };
  };
}
