import { randomUUID } from 'node:crypto';
import { DEFAULT_VERIFICATION_SHARE, LandlordError } from '../../domain/index.js';
import type { VerificationRunRequest } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { existingTenant } from './legal-hold-routes.js';
import { drStatuses, fleetDrReport } from '../dr-status.js';
import {
  DrReport,
  DrReportQuery,
  TenantDrStatusSchema,
  TenantIdParams,
  ListVerificationRunsQuery,
  StartVerificationRequest,
  VerificationRunDetailSchema,
  VerificationRunPage,
  VerificationRunParams,
  VerificationRunSchema,
} from '../schemas.js';

/** At most this many unknown tenants are named in a refusal. */
const NAMED = 10;

/**
 * Disaster recovery (docs/disaster-recovery.md): restore verification runs, which restore tenants'
 * latest backups into scratch databases and compare them with the catalog.
 */
export const drRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/dr/verifications',
    operationId: 'startRestoreVerification',
    errors: ['TenantNotFound'],
    summary: 'Run a restore verification now',
    description:
      "Restores the latest backup of each tenant in the run into a scratch database on its region's " +
      'server, compares each table with the catalog (rows and SHA-256), measures the restore and drops ' +
      'the scratch database. The tenants are the ones named, or a sample: every active and suspended ' +
      'tenant on a DR tier, and each other one with probability `share`. Each failed result is a ' +
      '`dr.verification.failed` webhook. Unknown tenants answer 404 and start nothing.',
    tag: 'dr',
    permission: 'verifyRestores',
    action: 'dr.verification.run',
    idempotent: true,
    body: StartVerificationRequest,
    responses: {
      202: {
        description: 'The run, started; follow Location for its results',
        schema: VerificationRunSchema,
        headers: { Location: { description: 'URL of the run' } },
        links: {
          run: {
            operationId: 'getRestoreVerification',
            parameters: { id: '$response.body#/id' },
            description: 'The run and its results',
          },
        },
      },
    },
    async handle({ body }, { actor, deps }) {
      if (body.tenants) {
        const missing: string[] = [];
        for (const id of body.tenants) if (!(await deps.store.tenants.get(id))) missing.push(id);
        if (missing.length > 0)
          throw new LandlordError(
            'TenantNotFound',
            `tenants: no tenant ${missing
              .slice(0, NAMED)
              .map((id) => `"${id}"`)
              .join(', ')}${missing.length > NAMED ? ` and ${missing.length - NAMED} more` : ''}`,
          );
      }
      const request: VerificationRunRequest = {
        id: `drv-${randomUUID()}`,
        trigger: 'api',
        requestedBy: actor.principal,
        share: body.share ?? deps.drVerificationShare ?? DEFAULT_VERIFICATION_SHARE,
        ...(body.tenants ? { tenants: body.tenants } : {}),
      };
      const run = await deps.store.verifications.start(request);
      try {
        await deps.lifecycle.startRestoreVerificationRun(request);
      } catch (err) {
        await deps.store.verifications
          .finish(request.id, 'failed', {
            type: 'ServiceUnavailable',
            message: 'the run could not be started',
          })
          .catch(() => undefined);
        throw err;
      }
      await deps.store.audit.append({
        eventKey: `api:${actor.requestId}:dr.verification.run`,
        actor: actor.principal,
        actorRole: actor.role,
        requestId: actor.requestId,
        action: 'dr.verification.run',
        outcome: 'accepted',
        detail: { runId: request.id, share: request.share, tenants: request.tenants?.length ?? null },
      });
      return {
        status: 202,
        headers: { Location: `/v1/dr/verifications/${encodeURIComponent(run.id)}` },
        body: run,
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/dr/verifications',
    operationId: 'listRestoreVerifications',
    summary: 'Restore verification runs, newest first',
    tag: 'dr',
    permission: 'readRestoreVerifications',
    query: ListVerificationRunsQuery,
    responses: { 200: { description: 'One page of runs', schema: VerificationRunPage } },
    async handle({ query }, { deps }) {
      const items = await deps.store.verifications.list({
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
    path: '/v1/dr/verifications/{id}',
    operationId: 'getRestoreVerification',
    errors: ['NotFound'],
    summary: "A restore verification run with each tenant's result",
    description:
      'Each result names the backup restored, whether it came back as the catalog records it, what ' +
      'was wrong when not, how long the restore took and each table as read back.',
    tag: 'dr',
    permission: 'readRestoreVerifications',
    params: VerificationRunParams,
    responses: { 200: { description: 'The run', schema: VerificationRunDetailSchema } },
    async handle({ params }, { deps }) {
      const run = await deps.store.verifications.get(params.id);
      if (!run) throw new LandlordError('NotFound', `no restore verification run "${params.id}"`);
      return { status: 200, body: run };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/dr',
    operationId: 'getTenantDr',
    summary: "A tenant's disaster-recovery standing: measured RTO and RPO against its tier's",
    description:
      'The age of its newest backup (the data it would lose now), its latest restore verification (the ' +
      'last verified backup and how long restoring it took), its last restore as measured, each against ' +
      "the tier's `dr.rpo` and `dr.rto`; `withinTarget` and, when not, `problems`.",
    tag: 'dr',
    permission: 'read',
    params: TenantIdParams,
    responses: { 200: { description: "The tenant's standing", schema: TenantDrStatusSchema } },
    async handle({ params }, { deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      const [status] = await drStatuses(deps.store, deps.catalog, [tenant]);
      const latest = await deps.store.backups.latest(tenant.id);
      if (latest && status!.latestBackup) status!.latestBackup.id = latest.id;
      return { status: 200, body: status };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/dr/report',
    operationId: 'getDrReport',
    summary: "Every tenant's disaster-recovery standing, those out of target first",
    tag: 'dr',
    permission: 'read',
    query: DrReportQuery,
    responses: { 200: { description: 'The fleet', schema: DrReport } },
    async handle({ query }, { deps }) {
      const all = await fleetDrReport(deps.store, deps.catalog);
      const out = all.filter((t) => !t.withinTarget);
      const items = (query.outOfTarget === 'true' ? out : all).slice(0, query.limit);
      return {
        status: 200,
        body: { generatedAt: new Date().toISOString(), tenants: all.length, outOfTarget: out.length, items },
      };
    },
  }),
];
