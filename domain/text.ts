import { z } from 'zod';

/**
 * Text Landlord stores must survive Postgres and UTF-8: no NUL character (Postgres text cannot hold
 * one) and no unpaired UTF-16 surrogate (it has no UTF-8 form). Checked at the API's edge for
 * every string it accepts, and again by the tenant workflow for what reaches it another way.
 */
// eslint-disable-next-line no-control-regex -- NUL is the character refused
const NUL = /\u0000/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored, or undefined when it can. */
export function unsafeTextReason(value: string): string | undefined {
  if (NUL.test(value)) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode: it holds an unpaired UTF-16 surrogate';
  return undefined;
}

/** Object keys refused anywhere in a request: they would reach an object's prototype, not the object. */
const PROTOTYPE_KEYS = new Set(['__proto__']);

export interface UnsafeText {
  path: (string | number)[];
  message: string;
}

/** Every string (values and keys) in a JSON value that cannot be stored, with its path. */
export function findUnsafeText(value: unknown, path: (string | number)[] = []): UnsafeText[] {
  if (typeof value === 'string') {
    const message = unsafeTextReason(value);
    return message ? [{ path, message }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findUnsafeText(v, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  const found: UnsafeText[] = [];
  for (const key of Object.keys(value)) {
    const reason = PROTOTYPE_KEYS.has(key)
      ? 'must not be "__proto__": the key would be dropped, not stored'
      : unsafeTextReason(key);
    if (reason) found.push({ path: [...path, key], message: `the key ${reason}` });
    found.push(...findUnsafeText((value as Record<string, unknown>)[key], [...path, key]));
  }
  return found;
}

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
