// No zod here: the tenant workflow imports this module (see domain/operation.ts).
/**
 * Text Landlord stores must survive Postgres and UTF-8: no NUL character (Postgres text cannot hold
 * one) and no unpaired UTF-16 surrogate (it has no UTF-8 form). Checked at the API's edge for
 * every string it accepts, and again by the tenant workflow for what reaches it another way.
 */
// eslint-disable-next-line no-control-regex -- NUL is the character refused
const NUL = /\u0000/;
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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

/** How deep a request's JSON may nest; no route takes more than a few levels. */
export const MAX_NESTING = 32;
/** At most this many findings are reported. */
const MAX_FINDINGS = 20;

/**
 * Every string (values and keys) in a JSON value that cannot be stored, with its path, in document
 * order; and a value nested deeper than MAX_NESTING. Walks without recursion, so no body can
 * exhaust the stack.
 */
export function findUnsafeText(value: unknown, path: (string | number)[] = []): UnsafeText[] {
  const found: UnsafeText[] = [];
  const stack: { value: unknown; path: (string | number)[]; keyReason?: string }[] = [{ value, path }];
  while (stack.length > 0 && found.length < MAX_FINDINGS) {
    const node = stack.pop()!;
    if (node.keyReason) found.push({ path: node.path, message: `the key ${node.keyReason}` });
    if (typeof node.value === 'string') {
      const message = unsafeTextReason(node.value);
      if (message) found.push({ path: node.path, message });
      continue;
    }
    if (node.value === null || typeof node.value !== 'object') continue;
    if (node.path.length >= path.length + MAX_NESTING) {
      found.push({ path: node.path, message: `nests deeper than ${MAX_NESTING} levels` });
      continue;
    }
    const children: { value: unknown; path: (string | number)[]; keyReason?: string }[] = Array.isArray(
      node.value,
    )
      ? node.value.map((v, i) => ({ value: v, path: [...node.path, i] }))
      : Object.keys(node.value).map((key) => {
          const keyReason = PROTOTYPE_KEYS.has(key)
            ? 'must not be "__proto__": the key would be dropped, not stored'
            : unsafeTextReason(key);
          return {
            value: (node.value as Record<string, unknown>)[key],
            path: [...node.path, key],
            ...(keyReason ? { keyReason } : {}),
          };
        });
    // Last pushed, first taken: reversed, so that findings come in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return found;
}
