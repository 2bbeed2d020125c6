import { LandlordError } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { GetOperationQuery, Operation, OperationIdParams } from '../schemas.js';
import { acceptedOperation, OPERATION_LINKS } from './tenant-routes.js';

/** The operation a request names, when it is a well-formed id. */
function operationInPath({ params }: { params: Record<string, string> }): { operationId?: string } {
  const parsed = OperationIdParams.safeParse(params);
  return parsed.success ? { operationId: parsed.data.id } : {};
}

/** The operation routes: show progress, cancel a running one, retry a failed one. */
export const operationRoutes: RouteDefinition[] = [
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
        return acceptedOperation(result);
      },
    }),
  ),
];
