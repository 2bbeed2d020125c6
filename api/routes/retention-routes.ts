import { randomUUID } from 'node:crypto';
import { effectiveRetention, LandlordError, tenantRetentionProblems } from '../../domain/index.js';
import type { RetentionRunRequest } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition, RouteDeps } from '../route.js';
import {
  ListRetentionRunsQuery,
  RetentionRunDetail,
  RetentionRunPage,
  RetentionRunParams,
  RetentionRunPartsQuery,
  RetentionRunSchema,
  RetentionScheduleChangeRequest,
  RetentionScheduleSchema,
  SetRetentionRequest,
  StartRetentionRunRequest,
  TenantIdParams,
  TenantRetentionSchema,
} from '../schemas.js';
import { acceptedOperation, ACCEPTED, tenantInPath } from './tenant-routes.js';
import { syncStorageRules } from './legal-hold-routes.js';

async function tenantOf(deps: RouteDeps, id: string) {
  const tenant = await deps.store.tenants.get(id);
  if (!tenant) throw new LandlordError('TenantNotFound', `no tenant "${id}"`);
  return tenant;
}

/** Refuses data classes the retention policies do not know, naming them and the known ones. */
function knownClasses(deps: RouteDeps, field: string, classes: readonly string[]): void {
  const known = Object.keys(deps.retention.dataClasses);
  const unknown = classes.filter((c) => !known.includes(c));
  if (unknown.length > 0)
    throw new LandlordError(
      'ValidationFailed',
      `${field}: unknown data class ${unknown.map((c) => `"${c}"`).join(', ')}; known: ${known.join(', ')}`,
    );
}

const scheduleChange = (change: 'pause' | 'unpause' | 'trigger', summary: string) =>
  defineRoute({
    method: 'post',
    path: `/v1/retention/schedule/${change}`,
    operationId: `${change}RetentionSchedule`,
    errors: ['NotFound'],
    summary,
    tag: 'retention',
    permission: 'operateTenant',
    action: `retention.schedule.${change}`,
    body: RetentionScheduleChangeRequest,
    responses: { 200: { description: 'The Schedule after the change', schema: RetentionScheduleSchema } },
    async handle({ body }, { actor, deps }) {
      const note = body.note ?? `${change} by ${actor.principal}`;
      await deps.lifecycle.changeRetentionSchedule(change, note);
      await deps.store.audit.append({
        eventKey: `api:${actor.requestId}:retention.schedule.${change}`,
        actor: actor.principal,
        actorRole: actor.role,
        requestId: actor.requestId,
        action: `retention.schedule.${change}`,
        outcome: 'succeeded',
        detail: { note },
      });
      return { status: 200, body: await deps.lifecycle.retentionSchedule() };
    },
  });

/** Retention (docs/retention.md): tenants' own policies, runs and the Schedule that starts them. */
export const retentionRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/retention',
    operationId: 'getTenantRetention',
    summary: "A tenant's effective retention per data class, and where each value comes from",
    tag: 'retention',
    permission: 'read',
    params: TenantIdParams,
    responses: { 200: { description: 'The effective policy', schema: TenantRetentionSchema } },
    async handle({ params }, { deps }) {
      const tenant = await tenantOf(deps, params.id);
      return {
        status: 200,
        body: {
          tenantId: tenant.id,
          tier: tenant.tier,
          dataClasses: effectiveRetention(deps.retention, tenant.tier, tenant.retention ?? {}),
        },
      };
    },
  }),
  defineRoute({
    method: 'put',
    path: '/v1/tenants/{id}/retention',
    operationId: 'setTenantRetention',
    errors: ['PolicyViolation', 'InvalidTransition'],
    summary: "Set a tenant's own retention, within what its tier allows",
    description:
      "Replaces the tenant's earlier choices: a data class left out follows its tier again. Days " +
      'outside what the tier allows are refused with 422, naming the bounds. A tenant operation ' +
      '(kind `set-retention`): it runs after any operation of the tenant queued before it. For an ' +
      "AWS or GCP silo a `sync-storage-rules` operation follows it, so its buckets' rules change " +
      'too (its URL in the `Storage-Rules-Operation` header).',
    tag: 'retention',
    permission: 'operateTenant',
    action: 'tenant.set-retention',
    idempotent: true,
    params: TenantIdParams,
    body: SetRetentionRequest,
    auditSubject: tenantInPath,
    responses: {
      202: {
        ...ACCEPTED,
        headers: {
          ...ACCEPTED.headers,
          'Storage-Rules-Operation': {
            description: "AWS and GCP silos: URL of the buckets' rules operation",
          },
          'Storage-Rules-Error': {
            description: "AWS and GCP silos: why the buckets' rules operation could not be asked for",
          },
        },
      },
    },
    async handle({ params, body }, { actor, deps }) {
      const tenant = await tenantOf(deps, params.id);
      const choices = body.dataClasses as Record<string, { days: number }>;
      knownClasses(deps, 'dataClasses', Object.keys(choices));
      const problems = tenantRetentionProblems(deps.retention, tenant.tier, choices);
      if (problems.length > 0) throw new LandlordError('PolicyViolation', problems.join('; '));
      const accepted = await deps.lifecycle.setTenantRetention(tenant.id, choices, actor);
      // An AWS or GCP silo's buckets expire objects by rules of their own: they follow, queued after.
      const { storageRules } = await syncStorageRules(deps, tenant, actor);
      const answer = acceptedOperation(accepted);
      if (storageRules?.operationId)
        answer.headers = {
          ...answer.headers,
          'Storage-Rules-Operation': `/v1/operations/${encodeURIComponent(storageRules.operationId)}`,
        };
      if (storageRules?.error)
        answer.headers = { ...answer.headers, 'Storage-Rules-Error': storageRules.error };
      return answer;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/retention/runs',
    operationId: 'startRetentionRun',
    errors: ['TenantNotFound'],
    summary: 'Start a retention run now (or a dry run that deletes nothing)',
    description:
      'Goes over the named tenants, or every active and suspended one, each as an `apply-retention` ' +
      "operation of the tenant. A table of a tenant that would lose more than the guard's share of " +
      'its rows is left as it is and shown as `guard: tripped`, unless `force` is true.',
    tag: 'retention',
    permission: 'operateTenant',
    action: 'retention.run',
    idempotent: true,
    body: StartRetentionRunRequest,
    responses: {
      202: {
        description: 'The run, started; follow Location for its progress',
        schema: RetentionRunSchema,
        headers: { Location: { description: 'URL of the run' } },
      },
    },
    async handle({ body }, { actor, deps }) {
      const unique = (items: string[] | undefined) => (items ? [...new Set(items)] : undefined);
      const tenants = unique(body.tenants);
      const dataClasses = unique(body.dataClasses);
      if (dataClasses) knownClasses(deps, 'dataClasses', dataClasses);
      if (tenants) {
        const missing: string[] = [];
        for (const id of tenants) if (!(await deps.store.tenants.get(id))) missing.push(id);
        if (missing.length > 0)
          throw new LandlordError(
            'TenantNotFound',
            `tenants: no tenant ${missing
              .slice(0, 10)
              .map((id) => `"${id}"`)
              .join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`,
          );
      }
      const request: RetentionRunRequest = {
        id: `ret-${randomUUID()}`,
        trigger: 'api',
        requestedBy: actor.principal,
        dryRun: body.dryRun,
        force: body.force,
        ...(tenants ? { tenants } : {}),
        ...(dataClasses ? { dataClasses } : {}),
      };
      const run = await deps.store.retentionRuns.start(request);
      try {
        await deps.lifecycle.startRetentionRun(request);
      } catch (err) {
        await deps.store.retentionRuns
          .finish(request.id, 'failed', {
            type: 'ServiceUnavailable',
            message: 'the run could not be started',
          })
          .catch(() => undefined);
        throw err;
      }
      await deps.store.audit.append({
        eventKey: `api:${actor.requestId}:retention.run`,
        actor: actor.principal,
        actorRole: actor.role,
        requestId: actor.requestId,
        action: 'retention.run',
        outcome: 'accepted',
        detail: { runId: request.id, dryRun: request.dryRun, force: request.force },
      });
      return {
        status: 202,
        headers: { Location: `/v1/retention/runs/${encodeURIComponent(run.id)}` },
        body: run,
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/retention/runs',
    operationId: 'listRetentionRuns',
    summary: 'Retention runs, newest first',
    tag: 'retention',
    permission: 'read',
    query: ListRetentionRunsQuery,
    responses: { 200: { description: 'One page of runs', schema: RetentionRunPage } },
    async handle({ query }, { deps }) {
      const items = await deps.store.retentionRuns.list({
        limit: query.limit,
        ...(query.before ? { before: query.before } : {}),
      });
      const last = items.at(-1);
      return {
        status: 200,
        body: { items, ...(items.length === query.limit && last ? { nextBefore: last.id } : {}) },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/retention/runs/{id}',
    operationId: 'getRetentionRun',
    errors: ['NotFound'],
    summary: "A retention run: its progress, totals and each tenant's part per table",
    tag: 'retention',
    permission: 'read',
    params: RetentionRunParams,
    query: RetentionRunPartsQuery,
    responses: { 200: { description: 'The run', schema: RetentionRunDetail } },
    async handle({ params, query }, { deps }) {
      const run = await deps.store.retentionRuns.get(params.id);
      if (!run) throw new LandlordError('NotFound', `no retention run "${params.id}"`);
      const parts = await deps.store.retentionRuns.parts(run.id, {
        limit: query.limit,
        ...(query.afterTenant ? { afterTenant: query.afterTenant } : {}),
      });
      const last = parts.at(-1);
      return {
        status: 200,
        body: {
          ...run,
          parts,
          ...(parts.length === query.limit && last ? { nextAfterTenant: last.tenantId } : {}),
        },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/retention/schedule',
    operationId: 'getRetentionSchedule',
    errors: ['NotFound'],
    summary: 'The Schedule that starts the retention run, its next and latest firings',
    tag: 'retention',
    permission: 'read',
    responses: { 200: { description: 'The Schedule', schema: RetentionScheduleSchema } },
    async handle(_request, { deps }) {
      const schedule = await deps.lifecycle.retentionSchedule();
      if (!schedule)
        throw new LandlordError(
          'NotFound',
          'the schedule landlord-retention does not exist yet; the lifecycle worker creates it when it starts',
        );
      return { status: 200, body: schedule };
    },
  }),
  scheduleChange('pause', 'Pause the retention Schedule (runs already started go on)'),
  scheduleChange('unpause', 'Unpause the retention Schedule'),
  scheduleChange('trigger', 'Fire the retention Schedule now (skipped while a scheduled run is under way)'),
];
