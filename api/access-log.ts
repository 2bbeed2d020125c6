import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { actorOf } from './authenticate.js';
import { requestIdOf } from './request-id.js';
import { routeLabel } from './route-label.js';

/** One log line per answered request: method, route template, status, duration, caller. Never headers or bodies. */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger.info(
        {
          requestId: requestIdOf(res),
          method: req.method,
          route: routeLabel(res),
          status: res.statusCode,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          principal: actorOf(res)?.principal,
        },
        'request',
      );
    });
    next();
  };
}
