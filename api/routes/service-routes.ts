import { z } from 'zod';
import { HttpProblem } from '../http-problem.js';
import { checkReadiness } from '../readiness.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { Health, Readiness } from '../schemas.js';

/** Public routes for probes, scrapers and clients: liveness, readiness, metrics, the OpenAPI document. */
export const serviceRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness: the process serves HTTP',
    tag: 'service',
    responses: { 200: { description: 'Alive', schema: Health } },
    async handle() {
      return { status: 200, body: { status: 'ok' } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    summary: 'Readiness: the registry database and Temporal answer',
    tag: 'service',
    responses: { 200: { description: 'Ready', schema: Readiness } },
    async handle(_input, { deps }) {
      const checks = await checkReadiness({
        registry: () => deps.store.ping(),
        temporal: () => deps.lifecycle.ping(),
      });
      const failed = Object.keys(checks).filter((name) => checks[name] === 'failed');
      if (failed.length > 0) {
        throw new HttpProblem('ServiceUnavailable', `not ready: ${failed.join(', ')} did not answer`, {
          extensions: { checks },
        });
      }
      return { status: 200, body: { status: 'ready', checks } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tag: 'service',
    responses: {
      200: { description: 'Prometheus text exposition', schema: z.string(), contentType: 'text/plain' },
    },
    async handle(_input, { deps }) {
      return { status: 200, body: await deps.metrics.metrics(), contentType: deps.metrics.contentType };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This API as an OpenAPI 3.1 document',
    tag: 'service',
    responses: {
      200: { description: 'The OpenAPI document', schema: z.looseObject({ openapi: z.string() }) },
    },
    async handle(_input, { deps }) {
      return { status: 200, body: deps.openApiDocument() };
    },
  }),
];
