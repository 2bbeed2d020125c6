import { isUtf8 } from 'node:buffer';
import { parse as parseContentType } from 'content-type';
import express from 'express';
import type { Request, RequestHandler } from 'express';
import { HttpProblem } from './http-problem.js';

/** True when the request carries a body at all (a length above zero, or a chunked body). */
export function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return req.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
}

/** Thrown from body-parser's verify hook; body-parser passes its `type` on. */
class NotUtf8 extends Error {
  override name = 'NotUtf8';
  readonly type = 'encoding.invalid';
}

const parseJson = express.json({
  limit: '1mb',
  strict: true,
  type: 'application/json',
  // Bodies are UTF-8: bytes that are not (rather than replacement characters in their place) are refused.
  verify: (_req, _res, body) => {
    if (!isUtf8(body)) throw new NotUtf8('the request body is not valid UTF-8');
  },
});

const charsetOf = (req: Request): string | undefined => {
  try {
    return parseContentType(req.get('content-type') ?? '').parameters.charset?.toLowerCase();
  } catch {
    return undefined;
  }
};

/**
 * Parses a JSON body of at most 1 MiB, UTF-8 only. A request with a body must say
 * `Content-Type: application/json` (415 otherwise; a charset other than utf-8 too); a request
 * without one leaves `req.body` undefined, which bodyless routes accept.
 */
export function jsonBody(): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req)) {
      req.body = undefined;
      next();
      return;
    }
    const charset = charsetOf(req);
    if (req.is('application/json') !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
      // Drain what the client sends so that it reads our answer instead of a reset connection.
      req.resume();
      throw new HttpProblem(
        'UnsupportedMediaType',
        'send the body as Content-Type: application/json, encoded as UTF-8 (charset=utf-8 or none)',
      );
    }
    parseJson(req, res, next);
  };
}
