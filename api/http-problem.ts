import type { Request } from 'express';
import { ERROR_KINDS, LandlordError, isErrorKind } from '../domain/index.js';
import type { ErrorKind } from '../domain/index.js';

/** One validation issue as a problem document lists it. */
export interface ProblemIssue {
  in: 'body' | 'query' | 'path' | 'header';
  path: (string | number)[];
  message: string;
  code: string;
}

/** An RFC 9457 problem document. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: ProblemIssue[];
  [extension: string]: unknown;
}

/** The API's one error type: an error kind, a caller-safe detail, validation issues and extension members. */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  readonly status: number;
  constructor(
    readonly kind: ErrorKind,
    readonly detail: string,
    readonly options: {
      errors?: ProblemIssue[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.status = ERROR_KINDS[kind].status;
  }
}

/** The problem `type` URI of an error kind: `https://landlord.dev/problems/<kebab-kind>`. */
export function problemType(kind: ErrorKind): string {
  return `https://landlord.dev/problems/${kind.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
}

const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

/** Postgres SQLSTATE classes that mean the server is unreachable or shutting down, not a bug. */
function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return UNAVAILABLE_NODE_CODES.has(code) || /^(08|53|57P)/.test(code);
}

/** Body-parser errors carry a `type` string and an HTTP status; map the ones a client causes. */
function fromBodyParser(err: { type?: unknown; status?: unknown }): HttpProblem | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new HttpProblem('PayloadTooLarge', 'the request body exceeds 1 MiB');
    case 'entity.parse.failed':
      return new HttpProblem('MalformedBody', 'the request body is not a JSON object or array');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem('UnsupportedMediaType', 'the request body must be UTF-8 encoded JSON');
    case 'encoding.invalid':
      return new HttpProblem('MalformedBody', 'the request body is not valid UTF-8');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new HttpProblem('MalformedBody', 'the request body could not be read');
    default:
      return undefined;
  }
}

const UNAVAILABLE =
  'a backing service is unavailable or did not answer in time; a mutation may still take effect, so read its state before trying again';

/** Turns anything thrown inside a request into an HttpProblem; unknown errors become a generic 500. */
export function toHttpProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof LandlordError && isErrorKind(err.kind)) {
    if (ERROR_KINDS[err.kind].status >= 500 && err.kind !== 'ServiceUnavailable') {
      return new HttpProblem('InternalError', 'the request could not be completed; try again later');
    }
    // Never which service or where: that stays in the logs.
    if (err.kind === 'ServiceUnavailable') return new HttpProblem('ServiceUnavailable', UNAVAILABLE);
    return new HttpProblem(err.kind, err.message);
  }
  if (err !== null && typeof err === 'object' && 'type' in err) {
    const mapped = fromBodyParser(err as { type?: unknown });
    if (mapped) return mapped;
  }
  // A path the router could not percent-decode.
  if (err instanceof URIError)
    return new HttpProblem('ValidationFailed', 'the request path is not validly percent-encoded', {
      errors: [
        { in: 'path', path: [], code: 'invalid_format', message: 'not validly percent-encoded UTF-8' },
      ],
    });
  if (isUnavailable(err)) return new HttpProblem('ServiceUnavailable', UNAVAILABLE);
  return new HttpProblem('InternalError', 'the request could not be completed; try again later');
}

/** The RFC 9457 document for a problem raised while serving `req`. */
export function problemDocument(problem: HttpProblem, req: Request, requestId: string): ProblemDocument {
  return {
    ...problem.options.extensions,
    type: problemType(problem.kind),
    title: ERROR_KINDS[problem.kind].title,
    status: problem.status,
    detail: problem.detail,
    instance: req.originalUrl.split('?')[0] ?? '/',
    requestId,
    ...(problem.options.errors ? { errors: problem.options.errors } : {}),
  };
}
