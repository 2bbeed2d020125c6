/**
 * Tenant operations asked of a tenant's workflow by Landlord itself: a fleet run's activities
 * (a retention run today, later restore verification, region failover, rollouts) go through here
 * rather than through the HTTP API, which is for people and the CLI.
 */
import type { Client } from '@temporalio/client';
import type { OperationRequest, OperationSnapshot } from '../domain/index.js';
import { requestOperation, tenantWorkflowId } from '../workflows/definitions.js';

/**
 * Asks tenant `tenantId`'s workflow for an operation (a Temporal Update, validated before anything
 * runs) and answers it as accepted. The same `updateId` asked twice is one operation.
 */
export function requestTenantOperation(
  client: Client,
  tenantId: string,
  request: OperationRequest,
  updateId: string,
): Promise<OperationSnapshot> {
  return client.workflow
    .getHandle(tenantWorkflowId(tenantId))
    .executeUpdate(requestOperation, { args: [request], updateId });
}
