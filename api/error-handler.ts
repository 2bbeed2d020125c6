import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Registry } from '../registry/index.js';
import { auditRejection } from './audit-rejection.js';
import { HttpProblem, problemDocument, toHttpProblem } from './http-problem.js';
import { requestIdOf } from './request-id.js';

/** Answers any request no route matched with a 404 problem. */
export function notFound(): RequestHandler {
  return (req) => {
    throw new HttpProblem('NotFound', `no route ${req.method} ${req.path}`);
  };
}

/**
 * The one error-handling middleware: every error becomes an application/problem+json answer. Client
 * errors are logged with kind and detail; server errors with the error's name only, so no SQL text,
 * stack or secret reaches a log line or a response.
 */
export function errorHandler(deps: { store: Registry; logger: Logger }): ErrorRequestHandler {
  return async (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      // Too late for a problem document; cut the response short rather than let express log a stack.
      deps.logger.error(
        { requestId: requestIdOf(res), errorName: err instanceof Error ? err.name : typeof err },
        'response failed',
      );
      res.destroy();
      return;
    }
    const problem = toHttpProblem(err);
    const requestId = requestIdOf(res);
    if (problem.status >= 500) {
      deps.logger.error(
        { requestId, errorName: err instanceof Error ? err.name : typeof err, kind: problem.kind },
        'request failed',
      );
    } else {
      deps.logger.info({ requestId, kind: problem.kind, detail: problem.detail }, 'request rejected');
    }
    await auditRejection(deps, req, res, problem);
    for (const [name, value] of Object.entries(problem.options.headers ?? {})) res.setHeader(name, value);
    res
      .status(problem.status)
      .type('application/problem+json')
      .send(JSON.stringify(problemDocument(problem, req, requestId)));
  };
}
