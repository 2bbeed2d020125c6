import { z } from 'zod';

import { LONE_SURROGATE } from './unsafe-text.js';

export { findUnsafeText, MAX_NESTING, unsafeTextReason } from './unsafe-text.js';
export type { UnsafeText } from './unsafe-text.js';

/**
 * A string Postgres and UTF-8 can hold, for schemas. The pattern states the NUL rule in the OpenAPI
 * document; the surrogate rule has no pattern JSON Schema tools can compile (their regex engines
 * have no lone surrogates), so the document says it in words.
 */
export const StoredText = z
  .string()
  // eslint-disable-next-line no-control-regex -- NUL is the character refused
  .regex(/^[^\u0000]*$/, 'must not contain the NUL character (U+0000)')
  .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode: it holds an unpaired UTF-16 surrogate');

/** A record whose keys match `pattern`; the OpenAPI document states the key rule too. */
export function recordWithKeys<V extends z.ZodType>(pattern: RegExp, value: V, message: string) {
  return z
    .record(z.string().regex(pattern, message), value)
    .meta({ propertyNames: { type: 'string', pattern: pattern.source } });
}
