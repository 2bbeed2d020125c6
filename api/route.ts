import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { z } from 'zod';
import type { Registry } from '../registry/index.js';
import type { LifecycleClient } from '../client/lifecycle.js';
import type {
  Actor,
  ApiKeyRecord,
  ErrorKind,
  Permission,
  PolicyCatalog,
  RetentionPolicyFile,
  TenantExport,
} from '../domain/index.js';

/**
 * Opens tenants' export archives for download; api/main.ts wires the one over the tenants' keys
 * and the data folder's exports (activities/data/export-archive.ts).
 */
export interface ExportArchiveReader {
  /**
   * The export's archive decrypted, as a tar stream that fails part-way if the file was altered.
   * Fails before any byte with TenantKeyDestroyed once the tenant's key is gone, SealedFileInvalid
   * for a file that is not the export's, and Misconfigured (`detail.missingFile`) for no file.
   */
  open(exported: TenantExport): Promise<Readable>;
}

/** What route handlers may use. */
export interface RouteDeps {
  store: Registry;
  lifecycle: LifecycleClient;
  catalog: PolicyCatalog;
  retention: RetentionPolicyFile;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Reads tenants' export archives; absent, this API serves no export download. */
  exportArchives?: ExportArchiveReader;
  /** The share a restore verification samples when the request names none (LANDLORD_DR_VERIFY_SHARE). */
  drVerificationShare?: number;
  /** The OpenAPI document of every route, built once on first use. */
  openApiDocument(): unknown;
}

/** Who is calling: the authenticated key (absent on public routes) and the actor recorded for it. */
export interface RouteContext {
  actor: Actor;
  key?: ApiKeyRecord;
  requestId: string;
  deps: RouteDeps;
  /** Aborted when the client has gone away. */
  signal: AbortSignal;
}

/** What a handler answers; the route runner writes it (and stores it for Idempotency-Key replays). */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Defaults to application/json. */
  contentType?: string;
  /**
   * A body streamed instead of `body` (a download): piped to the response, which is cut short if
   * the stream fails part-way. Never on an idempotent route: a stream cannot be replayed.
   */
  stream?: Readable;
}

/** An OpenAPI link: how a value of this response feeds another route's parameter. */
export interface RouteLink {
  operationId: string;
  /** Parameter name → runtime expression, e.g. `$response.body#/id`. */
  parameters: Record<string, string>;
  description?: string;
}

/** One documented response of a route. */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, { description: string }>;
  /** Routes the response leads to (what clients and stateful API tests follow). */
  links?: Record<string, RouteLink>;
}

/**
 * One route: the express handler and the OpenAPI path are both made from this, so they cannot drift.
 * `path` is an OpenAPI template (`/v1/tenants/{id}`).
 */
export interface RouteDefinition<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  /** More than the summary says, for the OpenAPI document. */
  description?: string;
  tag: string;
  /** Absent: a public route without authentication. */
  permission?: Permission;
  /** Audit action recorded when an authenticated mutating request is rejected (and for API-written events). */
  action?: string;
  /** Accepts an Idempotency-Key header. */
  idempotent?: boolean;
  params?: P;
  query?: Q;
  /** A required JSON body; mutating routes without one accept no body or `{}`. */
  body?: B;
  responses: Record<number, RouteResponse>;
  /**
   * The error kinds this route's handler raises itself (a transition its state forbids, an id in the
   * body or path that names nothing), documented beside those every route of its shape can give.
   */
  errors?: ErrorKind[];
  /** What an Idempotency-Key replay may show of a successful response (e.g. never a secret twice). */
  replayable?(body: unknown): unknown;
  /** Tenant and operation an audit event about this request refers to. */
  auditSubject?(request: { params: Record<string, string>; body: unknown }): {
    tenantId?: string;
    operationId?: string;
  };
  handle(
    input: { params: z.output<P>; query: z.output<Q>; body: z.output<B> },
    ctx: RouteContext,
  ): Promise<RouteResult>;
}

/** Declares a route with its handler typed by its schemas. */
export function defineRoute<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
>(route: RouteDefinition<P, Q, B>): RouteDefinition {
  return route as unknown as RouteDefinition;
}

/**
 * A 200 page of records in `seq` order: `nextAfterSeq` (the last record's seq) when the page is
 * full, so the caller asks for the next one with `afterSeq`.
 */
export function seqPage<T extends { seq: number }>(items: T[], limit: number): RouteResult {
  const last = items.length === limit ? items.at(-1) : undefined;
  return { status: 200, body: last ? { items, nextAfterSeq: last.seq } : { items } };
}
