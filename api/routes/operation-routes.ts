import { LandlordError, REGION_FAILOVER_TENANT_PREFIX, requesters } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import {
  ApprovalDecisionRequest,
  GetOperationQuery,
  ListOperationsQuery,
  Operation,
  OperationIdParams,
  OperationList,
} from '../schemas.js';
import { acceptedOperation, OPERATION_LINKS } from './tenant-routes.js';

/** The operation a request names, when it is a well-formed id. */
function operationInPath({ params }: { params: Record<string, string> }): { operationId?: string } {
  const parsed = OperationIdParams.safeParse(params);
  return parsed.success ? { operationId: parsed.data.id } : {};
}

/**
 * The operation routes: list and show them, cancel a running one, retry a failed one, and approve
 * or reject one waiting at its approval step.
 */
export const operationRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/operations',
    operationId: 'listOperations',
    summary: 'List operations across tenants, most recently changed first',
    description:
      '`status=waiting-approval` lists the DR operations waiting for an approver: `POST ' +
      '/v1/operations/{id}/approve` or `/reject` decides them.',
    tag: 'operations',
    permission: 'read',
    query: ListOperationsQuery,
    responses: { 200: { description: 'The operations', schema: OperationList } },
    async handle({ query }, { deps }) {
      const items = await deps.store.operations.list({
        limit: query.limit,
        ...(query.status ? { status: query.status } : {}),
        ...(query.tenant ? { tenantId: query.tenant } : {}),
        ...(query.kind ? { kind: query.kind } : {}),
      });
      return { status: 200, body: { items } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/operations/{id}',
    operationId: 'getOperation',
    summary: 'Show an operation: its steps, attempts and outcome',
    description:
      'With `wait`, a running operation is answered as soon as it ends, or when the wait is over ' +
      '(then still running): a client follows an operation without polling.',
    tag: 'operations',
    permission: 'read',
    params: OperationIdParams,
    query: GetOperationQuery,
    responses: { 200: { description: 'The operation', schema: Operation } },
    async handle({ params, query }, { deps, signal }) {
      let op = await deps.store.operations.get(params.id);
      if (!op) throw new LandlordError('OperationNotFound', `no operation "${params.id}"`);
      if (op.status === 'running' && query.wait) {
        await deps.store.operations.waitUntilEnded(params.id, query.wait, signal);
        op = (await deps.store.operations.get(params.id)) ?? op;
      }
      return { status: 200, body: op };
    },
  }),
  ...(['cancel', 'retry'] as const).map((verb) =>
    defineRoute({
      method: 'post',
      path: `/v1/operations/{id}/${verb}`,
      operationId: `${verb}Operation`,
      errors: [verb === 'cancel' ? 'OperationNotCancellable' : 'OperationNotRetryable'],
      summary: verb === 'cancel' ? 'Cancel a running operation' : 'Retry a failed or cancelled operation',
      tag: 'operations',
      permission: 'operateTenant',
      action: `operation.${verb}`,
      idempotent: true,
      params: OperationIdParams,
      responses: {
        202: {
          description: 'Accepted: the operation as recorded now.',
          schema: Operation,
          headers: { Location: { description: 'URL of the operation' } },
          links: OPERATION_LINKS,
        },
      },
      auditSubject: operationInPath,
      async handle({ params }, { actor, deps }) {
        const op = await deps.store.operations.get(params.id);
        if (!op) throw new LandlordError('OperationNotFound', `no operation "${params.id}"`);
        const result =
          verb === 'cancel'
            ? await deps.lifecycle.cancelOperation(op, actor)
            : await deps.lifecycle.retryOperation(op, actor);
        // A region operation whose workflow was gone is ended here: nothing else would record it.
        if (
          verb === 'cancel' &&
          op.status === 'running' &&
          result.status === 'cancelled' &&
          op.tenantId.startsWith(REGION_FAILOVER_TENANT_PREFIX)
        )
          await deps.store.operations.upsert(result);
        return acceptedOperation(result);
      },
    }),
  ),
  ...(
    [
      ['approve', 'approved'],
      ['reject', 'rejected'],
    ] as const
  ).map(([verb, decision]) =>
    defineRoute({
      method: 'post',
      path: `/v1/operations/{id}/${verb}`,
      operationId: `${verb}Operation`,
      summary:
        verb === 'approve'
          ? 'Approve an operation waiting at its approval step'
          : 'Reject an operation waiting at its approval step: it fails, having changed nothing',
      description:
        'Restores, failovers and failbacks wait at an `approval` step (`waiting-approval`) for the ' +
        "approvals their tier needs (LANDLORD_DR_APPROVALS, or the tier's `dr.approvals`), each from a " +
        'principal other than the one who asked for the operation (four eyes: 403 SelfApproval) and ' +
        'none twice. One rejection fails the operation (ApprovalRejected); no decision within the ' +
        'timeout (LANDLORD_DR_APPROVAL_TIMEOUT) fails it too (ApprovalTimedOut). Who decided, when and ' +
        'with what comment is on the operation (`approval`) and in the audit trail.',
      tag: 'operations',
      permission: 'approveOperations',
      action: `operation.${verb}`,
      errors: ['OperationNotFound', 'NotAwaitingApproval', 'SelfApproval'],
      idempotent: true,
      params: OperationIdParams,
      body: ApprovalDecisionRequest,
      auditSubject: operationInPath,
      responses: { 200: { description: 'The operation with the decision recorded', schema: Operation } },
      async handle({ params, body }, { actor, deps }) {
        const op = await deps.store.operations.get(params.id);
        if (!op) throw new LandlordError('OperationNotFound', `no operation "${params.id}"`);
        // Refused here already when the registry says so; the operation's workflow decides in the end.
        if (op.status !== 'running' || !op.steps.some((s) => s.status === 'waiting-approval'))
          throw new LandlordError(
            'NotAwaitingApproval',
            `operation ${op.id} is ${op.status}, not waiting for approval`,
          );
        if (requesters(op).includes(actor.principal))
          throw new LandlordError(
            'SelfApproval',
            `${actor.principal} asked for operation ${op.id}: someone else must ${verb} it`,
          );
        const decided = await deps.lifecycle.decideApproval(op, { decision, comment: body.comment }, actor);
        await deps.store.audit.append({
          eventKey: `${op.id}:${op.run}:${verb}:${actor.principal}`,
          tenantId: op.tenantId,
          operationId: op.id,
          actor: actor.principal,
          actorRole: actor.role,
          requestId: actor.requestId,
          action: `operation.${verb}`,
          outcome: 'succeeded',
          detail: { run: op.run, kind: op.kind, comment: body.comment },
        });
        return { status: 200, body: decided };
      },
    }),
  ),
];
