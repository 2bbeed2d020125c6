import { defineRoute, seqPage } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { AuditEventPage, ListAuditQuery } from '../schemas.js';

/** The whole audit trail (admin): events about tenants and about none, filtered, in pages. */
export const auditRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/audit',
    operationId: 'listAuditEvents',
    summary: 'Page through the whole audit trail',
    description:
      'Every audit event, in order: those about a tenant and those about none (API key management, ' +
      'fleet-wide runs). Filters combine; pass nextAfterSeq as afterSeq for the next page.',
    tag: 'audit',
    permission: 'readAudit',
    query: ListAuditQuery,
    responses: { 200: { description: 'Audit events in order', schema: AuditEventPage } },
    async handle({ query }, { deps }) {
      const items = await deps.store.audit.list({
        ...(query.tenant !== undefined ? { tenantId: query.tenant === 'none' ? null : query.tenant } : {}),
        ...(query.action ? { action: query.action } : {}),
        ...(query.actor ? { actor: query.actor } : {}),
        ...(query.outcome ? { outcome: query.outcome } : {}),
        ...(query.since ? { since: new Date(query.since).toISOString() } : {}),
        ...(query.until ? { until: new Date(query.until).toISOString() } : {}),
        afterSeq: query.afterSeq,
        limit: query.limit,
      });
      return seqPage(items, query.limit);
    },
  }),
];
