/**
 * A tenant page cursor: the last tenant's creation time in microseconds since the epoch and its
 * id, `<microseconds>.<id>`. Every string of this form is a position in the list, so the format is
 * all a client can get wrong; the OpenAPI document states it.
 */
export const CURSOR_PATTERN = /^(0|[1-9][0-9]{0,15})\.([a-z][a-z0-9-]{2,39})$/;

/** Returns undefined for a string that is not a cursor. */
export function decodeCursor(cursor: string): { micros: string; id: string } | undefined {
  const match = CURSOR_PATTERN.exec(cursor);
  return match ? { micros: match[1]!, id: match[2]! } : undefined;
}

export const encodeCursor = (micros: bigint | string, id: string) => `${micros}.${id}`;

/** Microseconds since the epoch of an ISO time with at most microsecond precision. */
export function microsOf(iso: string): bigint {
  const match = /\.(\d+)Z$/.exec(iso);
  const fraction = (match?.[1] ?? '').padEnd(6, '0').slice(0, 6);
  const seconds = BigInt(Math.floor(Date.parse(iso) / 1000));
  return seconds * 1_000_000n + BigInt(fraction || '0');
}
