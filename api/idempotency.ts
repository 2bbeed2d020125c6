import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { HttpProblem } from './http-problem.js';

/** An Idempotency-Key: 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The request's `Idempotency-Key`, if sent; 400 unless it is 1..255 visible ASCII characters. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new HttpProblem('ValidationFailed', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
      errors: [
        {
          in: 'header',
          path: ['Idempotency-Key'],
          code: 'invalid_format',
          message: 'must be 1 to 255 visible ASCII characters',
        },
      ],
    });
  }
  return key;
}

/** JSON with object keys sorted at every level, so equal bodies hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What makes two requests "the same" for Idempotency-Key: method, path and canonical body. */
export function requestFingerprint(req: Request): string {
  const body = req.body === undefined ? '' : canonicalJson(req.body);
  return createHash('sha256').update(`${req.method}\n${req.path}\n${body}`).digest('hex');
}
