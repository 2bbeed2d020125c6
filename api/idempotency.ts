import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { IdempotencyStore } from '../registry/index.js';
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

/**
 * Deletes expired Idempotency-Keys now and every 10 minutes, a batch at a time, while the API
 * runs; a failure is logged and tried again next time.
 */
export function purgeExpiredKeys(
  keys: Pick<IdempotencyStore, 'purgeExpired'>,
  logger: Pick<Logger, 'info' | 'warn'>,
  everyMs = 10 * 60_000,
): { stop(): void; done: Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const purge = async () => {
    let total = 0;
    try {
      for (let n = await keys.purgeExpired(); n > 0 && !stopped; n = await keys.purgeExpired()) total += n;
      if (total > 0) logger.info({ purged: total }, 'deleted expired Idempotency-Keys');
    } catch (err) {
      logger.warn({ err }, 'could not delete expired Idempotency-Keys; trying again later');
    }
  };
  running = purge();
  const timer = setInterval(() => (running = running.then(purge)), everyMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
    get done() {
      return running;
    },
  };
}
