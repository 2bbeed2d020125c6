/**
 * The tenant workflow's messages, shared by the workflow and its clients. Plain JSON in and out.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Actor, OperationRequest, OperationSnapshot, TenantStatus } from '../domain/index.js';

/** An approver's decision, sent to the operation's own workflow (its id is the operation's). */
export interface ApprovalRequest {
  decision: 'approved' | 'rejected';
  comment: string;
  actor: Actor;
}

export const TENANT_WORKFLOW_PREFIX = 'tenant:';
export const tenantWorkflowId = (tenantId: string) => `${TENANT_WORKFLOW_PREFIX}${tenantId}`;

export type { OperationRequest };

export interface OperationRef {
  operationId: string;
  actor: Actor;
}

export interface TenantView {
  tenantId: string;
  status: TenantStatus | 'absent';
  current?: string;
  queued: string[];
  /** Operations waiting for legal holds to end, which have given up their turn meanwhile. */
  parked?: string[];
}

/** Asks for a lifecycle operation; rejected before anything runs if the transition is not allowed. */
export const requestOperation = defineUpdate<OperationSnapshot, [OperationRequest]>('requestOperation');
/** Cancels a queued or running operation. */
export const cancelOperation = defineUpdate<OperationSnapshot, [OperationRef]>('cancelOperation');
/** Runs a failed or cancelled operation again, from its failed step. */
export const retryOperation = defineUpdate<OperationSnapshot, [OperationRef]>('retryOperation');
/** The tenant's lifecycle state as its workflow sees it. */
export const tenantView = defineQuery<TenantView>('tenantView');
/**
 * A legal hold of the tenant was released (or changed): operations parked until holds end are
 * run again to see whether they may go on. A signal, since nothing needs an answer.
 */
export const legalHoldsChanged = defineSignal('legalHoldsChanged');
/**
 * Approves or rejects an operation waiting at its approval step; refused (validator) when it is not
 * waiting, when the approver asked for it, or has decided already. Answers the operation as now.
 */
export const decideApproval = defineUpdate<OperationSnapshot, [ApprovalRequest]>('decideApproval');
