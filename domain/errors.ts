/**
 * Every error kind Landlord reports, in one list. The same `type` names the ApplicationFailure type
 * inside workflows and activities, and (under /problems/) the problem `type` of an API response.
 */
export const ERROR_KINDS = {
  ValidationFailed: { status: 400, retryable: false, title: 'Request validation failed' },
  MalformedBody: { status: 400, retryable: false, title: 'Malformed request body' },
  /** Node's HTTP parser refused the request (a bad header, a broken chunked body). */
  MalformedRequest: { status: 400, retryable: false, title: 'Malformed HTTP request' },
  Unauthenticated: { status: 401, retryable: false, title: 'Missing or unknown API key' },
  Forbidden: { status: 403, retryable: false, title: 'The API key lacks the role for this action' },
  NotFound: { status: 404, retryable: false, title: 'Not found' },
  MethodNotAllowed: { status: 405, retryable: false, title: 'The route does not take this method' },
  RequestTimeout: { status: 408, retryable: false, title: 'The request was not received in time' },
  TenantNotFound: { status: 404, retryable: false, title: 'Tenant not found' },
  OperationNotFound: { status: 404, retryable: false, title: 'Operation not found' },
  TenantExists: { status: 409, retryable: false, title: 'A tenant with this id already exists' },
  InvalidTransition: {
    status: 409,
    retryable: false,
    title: 'The tenant is not in a state that allows this operation',
  },
  OperationNotRetryable: {
    status: 409,
    retryable: false,
    title: 'Only a failed or cancelled operation can be retried',
  },
  OperationNotCancellable: {
    status: 409,
    retryable: false,
    title: 'Only a running operation can be cancelled',
  },
  IdempotencyKeyReused: {
    status: 409,
    retryable: false,
    title: 'Idempotency-Key was used with a different request',
  },
  IdempotencyKeyInFlight: {
    status: 409,
    retryable: false,
    title: 'A request with this Idempotency-Key is still in progress',
  },
  PayloadTooLarge: { status: 413, retryable: false, title: 'Request body too large' },
  HeaderFieldsTooLarge: { status: 431, retryable: false, title: 'Request headers or URL too large' },
  UnsupportedMediaType: { status: 415, retryable: false, title: 'Content-Type must be application/json' },
  PolicyViolation: { status: 422, retryable: false, title: 'The request violates tier or region policy' },
  /** Landlord's configuration does not allow this (a region without a server, a missing secret). */
  Misconfigured: { status: 500, retryable: false, title: 'Landlord is not configured for this' },
  /** Two databases that must have the same schema (pool and silo) do not. */
  SchemaDrift: { status: 409, retryable: false, title: 'The databases differ in schema' },
  /** A privilege granted outside Landlord defeats what Landlord must enforce (a tenant still writable). */
  ForeignGrant: { status: 409, retryable: false, title: 'A grant made outside Landlord is in the way' },
  /** Another update of the same Pulumi stack is running; retried. */
  StackLocked: { status: 409, retryable: true, title: 'The stack is being updated' },
  /** A Pulumi stack holds operations an interrupted update left; retried after a repair. */
  PendingOperations: { status: 409, retryable: true, title: 'The stack has pending operations' },
  /** A failure a retry may well fix (a provider or engine error, a dropped connection). */
  Transient: { status: 503, retryable: true, title: 'A transient failure' },
  /** A webhook receiver did not answer, or answered 5xx or 429; retried. */
  WebhookUnavailable: { status: 502, retryable: true, title: 'A notification receiver is unavailable' },
  ServiceUnavailable: { status: 503, retryable: true, title: 'A backing service is unavailable' },
  InternalError: { status: 500, retryable: true, title: 'Internal error' },
  /** A fault injected on purpose (tests, drills); never retried so that the saga runs at once. */
  InjectedFault: { status: 500, retryable: false, title: 'Injected fault' },
  /** A webhook receiver answered with a permanent (4xx) refusal. */
  NotificationRejected: {
    status: 502,
    retryable: false,
    title: 'A notification receiver rejected the delivery',
  },
  /** Rows copied between databases did not match their source; the move is undone. */
  DataVerificationFailed: {
    status: 500,
    retryable: false,
    title: 'Copied data did not match its source',
  },
  OperationCancelled: { status: 409, retryable: false, title: 'The operation was cancelled' },
  /** A region failover ended with tenants whose failover failed; each is retried on its own. */
  RegionFailoverIncomplete: {
    status: 500,
    retryable: false,
    title: 'Some tenants of the region were not failed over',
  },
  /** A DR standby's replication did not stream in time (docs/disaster-recovery.md); retried. */
  ReplicationBroken: { status: 503, retryable: true, title: 'Replication to the standby is not streaming' },
  /** An approval or rejection of an operation that is not waiting for one (docs/disaster-recovery.md). */
  NotAwaitingApproval: { status: 409, retryable: false, title: 'The operation is not waiting for approval' },
  /** Four eyes: whoever asked for an operation cannot also approve or reject it. */
  SelfApproval: {
    status: 403,
    retryable: false,
    title: 'An operation is approved by someone other than who asked for it',
  },
  /** An approver rejected the operation at its approval step; nothing was changed. */
  ApprovalRejected: { status: 409, retryable: false, title: 'The operation was rejected' },
  /** No decision within the approval timeout; nothing was changed. */
  ApprovalTimedOut: { status: 409, retryable: false, title: 'The operation was not approved in time' },
  /**
   * A database refused data as it is (a Postgres data exception or constraint violation): retrying
   * the same write cannot succeed, so the step fails at once and shows why.
   */
  DataRejected: { status: 500, retryable: false, title: 'A database refused the data' },
  /** The tenant's data key was crypto-shredded: what it sealed (exports, backups) stays unreadable. */
  TenantKeyDestroyed: { status: 410, retryable: false, title: "The tenant's data key has been destroyed" },
  /** A sealed export or backup failed its check: changed, cut short, reordered, or another key's. */
  SealedFileInvalid: {
    status: 422,
    retryable: false,
    title: 'An encrypted export or backup is damaged or altered',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; title: string }>;

export type ErrorKind = keyof typeof ERROR_KINDS;

/** Error types an activity retry policy must not retry. */
export const NON_RETRYABLE_ERROR_TYPES: ErrorKind[] = (Object.keys(ERROR_KINDS) as ErrorKind[]).filter(
  (k) => !ERROR_KINDS[k].retryable,
);

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && Object.hasOwn(ERROR_KINDS, value);
}

/** A domain error: a named kind, a message safe to show to the caller, and optional structured detail. */
export class LandlordError extends Error {
  override name = 'LandlordError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** What an operation or step records about a failure: never a stack trace, never SQL text. */
export interface ErrorInfo {
  type: string;
  message: string;
}
