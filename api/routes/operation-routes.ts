import { LandlordError } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { Operation, OperationIdParams } from '../schemas.js';
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
    tag: 'operations',
    permission: 'read',
    params: OperationIdParams,
    responses: { 200: { description: 'The operation', schema: Operation } },
    async handle({ params }, { deps }) {
      const op = await deps.store.getOperation(params.id);
      if (!op) throw new LandlordError('OperationNotFound', `no operation "${params.id}"`);
      return { status: 200, body: op };
    },
  }),
  ...(['cancel', 'retry'] as const).map((verb) =>
    defineRoute({
      method: 'post',
      path: `/v1/operations/{id}/${verb}`,
      operationId: `${verb}Operation`,
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
        const op = await deps.store.getOperation(params.id);
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
