import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { actorOf, authenticate, authenticatedKey, authorize } from './authenticate.js';
import { HttpProblem, problemDocument, toHttpProblem } from './http-problem.js';
import type { ProblemIssue } from './http-problem.js';
import { idempotencyKeyOf, requestFingerprint } from './idempotency.js';
import { jsonBody } from './json-body.js';
import { requestIdOf } from './request-id.js';
import type { RouteContext, RouteDefinition, RouteDeps, RouteResult } from './route.js';
import { EmptyRequest } from './schemas.js';
import { findUnsafeText } from '../domain/index.js';

/** `/v1/tenants/{id}` → `/v1/tenants/:id`. */
export function expressPath(openApiPath: string): string {
  return openApiPath.replace(/\{(\w+)\}/g, ':$1');
}

/**
 * Refuses, in any part of any request, a string Landlord could not store (NUL, an unpaired
 * surrogate) or a key that would land on a prototype; before any schema, so no route can miss it.
 */
function refuseUnsafeText(where: ProblemIssue['in'], value: unknown): void {
  const found = findUnsafeText(value);
  if (found.length === 0) return;
  throw new HttpProblem(
    'ValidationFailed',
    `the request ${where} holds text that cannot be stored: ${found.map((f) => f.path.join('.') || where).join(', ')}`,
    { errors: found.map((f) => ({ in: where, path: f.path, message: f.message, code: 'invalid_string' })) },
  );
}

/**
 * Refuses a query string whose percent-encoding is not UTF-8 (`%C3%28`, `%ED%A0%80`): the query
 * parser would keep such a part as its raw text, so the refusal has to look at the raw query.
 */
function refuseUndecodableQuery(url: string): void {
  const start = url.indexOf('?');
  if (start < 0) return;
  const decodes = (part: string) => {
    try {
      decodeURIComponent(part.replaceAll('+', ' '));
      return true;
    } catch {
      return false;
    }
  };
  const bad = url
    .slice(start + 1)
    .split('&')
    .filter((pair) => !decodes(pair.split('=')[0]!) || !decodes(pair.split('=').slice(1).join('=')))
    .map((pair) => pair.split('=')[0]!);
  if (bad.length === 0) return;
  throw new HttpProblem('ValidationFailed', `the request query is not UTF-8: ${bad.join(', ')}`, {
    errors: bad.map((key) => ({
      in: 'query' as const,
      path: [decodes(key) ? decodeURIComponent(key.replaceAll('+', ' ')) : key],
      message: 'is not percent-encoded UTF-8',
      code: 'invalid_string',
    })),
  });
}

function parseIn(where: ProblemIssue['in'], schema: z.ZodType | undefined, value: unknown): unknown {
  refuseUnsafeText(where, value);
  if (!schema) return value;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => ({
    in: where,
    path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: issue.message,
    code: issue.code,
  }));
  throw new HttpProblem(
    'ValidationFailed',
    `the request ${where === 'path' ? 'path' : where} is invalid: ${errors.length} issue${errors.length === 1 ? '' : 's'}`,
    { errors },
  );
}

function parseInput(route: RouteDefinition, req: Request) {
  const params = parseIn('path', route.params, { ...req.params });
  refuseUndecodableQuery(req.originalUrl);
  // A route that declares no query takes none.
  const query = parseIn('query', route.query ?? EmptyRequest, { ...(req.query as Record<string, unknown>) });
  let body: unknown;
  if (route.body) {
    if (req.body === undefined) {
      throw new HttpProblem('ValidationFailed', 'a JSON request body is required', {
        errors: [{ in: 'body', path: [], code: 'invalid_type', message: 'a JSON object is required' }],
      });
    }
    body = parseIn('body', route.body, req.body);
  } else if (req.body !== undefined) {
    parseIn('body', EmptyRequest, req.body);
  }
  return { params, query, body };
}

async function send(res: Response, result: RouteResult): Promise<void> {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  res.status(result.status);
  if (result.stream) {
    res.type(result.contentType ?? 'application/octet-stream');
    try {
      await pipeline(result.stream, res);
    } catch (err) {
      // The client went away mid-download: there is no one left to answer.
      if ((err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      throw err;
    }
  } else if (result.body === undefined) {
    res.end();
  } else if (typeof result.body === 'string') {
    res.type(result.contentType ?? 'text/plain').send(result.body);
  } else {
    res.type(result.contentType ?? 'application/json').send(JSON.stringify(result.body));
  }
}

/** Runs the handler under the request's Idempotency-Key: replays, refuses reuse, records the answer. */
async function runIdempotently(
  route: RouteDefinition,
  req: Request,
  res: Response,
  deps: RouteDeps,
  run: () => Promise<RouteResult>,
): Promise<void> {
  const key = idempotencyKeyOf(req);
  const principal = authenticatedKey(res)?.id;
  if (key === undefined || principal === undefined) {
    await send(res, await run());
    return;
  }
  const begun = await deps.store.idempotency.begin(principal, key, requestFingerprint(req));
  if (begun.state === 'mismatch')
    throw new HttpProblem(
      'IdempotencyKeyReused',
      'this Idempotency-Key was already used for a different request',
    );
  if (begun.state === 'in-flight')
    throw new HttpProblem(
      'IdempotencyKeyInFlight',
      'a request with this Idempotency-Key is still being processed; retry later',
    );
  if (begun.state === 'replay') {
    const { 'Content-Type': contentType, ...headers } = begun.headers;
    await send(res, {
      status: begun.status,
      body: begun.body ?? undefined,
      headers: { ...headers, 'Idempotent-Replayed': 'true' },
      ...(contentType ? { contentType } : {}),
    });
    return;
  }
  let result: RouteResult;
  try {
    result = await run();
  } catch (err) {
    const problem = toHttpProblem(err);
    if (problem.status < 500) {
      const document = problemDocument(problem, req, requestIdOf(res));
      await deps.store.idempotency.complete(
        principal,
        key,
        problem.status,
        { 'Content-Type': 'application/problem+json' },
        document,
      );
    } else {
      await deps.store.idempotency.abandon(principal, key);
    }
    throw err;
  }
  try {
    const stored =
      result.body !== undefined && route.replayable ? route.replayable(result.body) : result.body;
    await deps.store.idempotency.complete(
      principal,
      key,
      result.status,
      { ...result.headers, 'Content-Type': result.contentType ?? 'application/json' },
      stored ?? null,
    );
  } catch (err) {
    // The operation was accepted; answer it. The key is released so that a retry is not stuck in flight.
    deps.logger.error(
      { requestId: requestIdOf(res), errorName: (err as Error).name },
      'could not record an Idempotency-Key answer',
    );
    await deps.store.idempotency.abandon(principal, key).catch(() => undefined);
  }
  await send(res, result);
}

/** Mounts every route on a router: route marking, authentication, role check, body parsing, validation, idempotency. */
export function mountRoutes(routes: readonly RouteDefinition[], deps: RouteDeps): Router {
  const router = Router({ caseSensitive: true, strict: false });
  for (const route of routes) {
    const chain: RequestHandler[] = [
      (req, res, next) => {
        res.locals.route = route;
        // Route parameters are gone by the time the app-level error handler runs; keep them for the audit.
        res.locals.params = { ...req.params };
        next();
      },
    ];
    if (route.permission) chain.push(authenticate(deps.store), authorize(route.permission));
    if (route.method !== 'get') chain.push(jsonBody());
    chain.push(async (req, res) => {
      const input = parseInput(route, req);
      const requestId = requestIdOf(res);
      // Aborted when the client goes away before its answer (a long poll stops waiting).
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      const ctx: RouteContext = {
        signal: gone.signal,
        actor: actorOf(res) ?? { principal: 'anonymous', role: 'none', requestId },
        requestId,
        deps,
        ...(authenticatedKey(res) ? { key: authenticatedKey(res) } : {}),
      };
      const run = () => route.handle(input as Parameters<RouteDefinition['handle']>[0], ctx);
      if (route.idempotent) await runIdempotently(route, req, res, deps, run);
      else await send(res, await run());
    });
    router[route.method](expressPath(route.path), ...chain);
  }
  // A known path asked with a method it does not take: 405 naming the ones it does (OPTIONS: 204).
  const methodsByPath = new Map<string, Set<string>>();
  for (const route of routes) {
    const methods = methodsByPath.get(route.path) ?? new Set<string>();
    methods.add(route.method.toUpperCase());
    if (route.method === 'get') methods.add('HEAD');
    methodsByPath.set(route.path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    router.all(expressPath(path), (req, res) => {
      res.locals.route = undefined;
      if (req.method === 'OPTIONS') {
        res.setHeader('Allow', allow);
        res.status(204).end();
        return;
      }
      throw new HttpProblem('MethodNotAllowed', `${req.method} is not allowed on ${path}; use ${allow}`, {
        headers: { Allow: allow },
      });
    });
  }
  return router;
}
