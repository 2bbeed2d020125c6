import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Registry } from '../registry/index.js';
import { actorOf } from './authenticate.js';
import type { HttpProblem } from './http-problem.js';
import { problemType } from './http-problem.js';
import type { RouteDefinition } from './route.js';

/**
 * Records a rejected mutating request from an authenticated caller in the audit trail. Best effort:
 * a failed audit write is logged and never changes the answer.
 */
export async function auditRejection(
  { store, logger }: { store: Registry; logger: Logger },
  req: Request,
  res: Response,
  problem: HttpProblem,
): Promise<void> {
  const actor = actorOf(res);
  const route = res.locals.route as RouteDefinition | undefined;
  if (!actor || !route?.action || req.method === 'GET' || req.method === 'HEAD') return;
  try {
    await store.audit.append({
      eventKey: `api:${actor.requestId}:${route.action}`,
      ...route.auditSubject?.({
        params: (res.locals.params ?? {}) as Record<string, string>,
        body: req.body as unknown,
      }),
      actor: actor.principal,
      actorRole: actor.role,
      requestId: actor.requestId,
      action: route.action,
      outcome: 'rejected',
      detail: { problemType: problemType(problem.kind), status: problem.status },
    });
  } catch (err) {
    logger.error(
      { requestId: actor.requestId, errorName: (err as Error).name },
      'could not record a rejected request in the audit trail',
    );
  }
}
