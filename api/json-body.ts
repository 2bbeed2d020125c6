import express from 'express';
import type { Request, RequestHandler } from 'express';
import { HttpProblem } from './http-problem.js';

/** True when the request carries a body at all (a length above zero, or a chunked body). */
export function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return req.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
}

const parseJson = express.json({ limit: '1mb', strict: true, type: 'application/json' });

/**
 * Parses a JSON body of at most 1 MiB. A request with a body must say `Content-Type: application/json`
 * (415 otherwise); a request without one leaves `req.body` undefined, which bodyless routes accept.
 */
export function jsonBody(): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req)) {
      req.body = undefined;
      next();
      return;
    }
    if (req.is('application/json') !== 'application/json') {
      // Drain what the client sends so that it reads our answer instead of a reset connection.
      req.resume();
      throw new HttpProblem('UnsupportedMediaType', 'send the body as Content-Type: application/json');
    }
    parseJson(req, res, next);
  };
}
