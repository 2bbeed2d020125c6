import { defineRoute, seqPage } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { EvidencePage, LedgerVerificationSchema, ListEvidenceQuery } from '../schemas.js';

/** The deletion ledger (docs/retention.md): every deletion Landlord made, and a check of its chain. */
export const evidenceRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/evidence',
    operationId: 'listEvidence',
    summary: 'Page through the deletion ledger',
    description:
      'One record per deletion Landlord made (retention batches, erasures, offboarding, expired ' +
      'backups), in chain order, each with the hash of the one before. Filters combine; pass ' +
      'nextAfterSeq as afterSeq for the next page.',
    tag: 'evidence',
    permission: 'read',
    query: ListEvidenceQuery,
    responses: { 200: { description: 'Ledger records in chain order', schema: EvidencePage } },
    async handle({ query }, { deps }) {
      const items = await deps.store.ledger.list({
        ...(query.tenant ? { tenantId: query.tenant } : {}),
        ...(query.kind ? { kind: query.kind } : {}),
        ...(query.from ? { from: new Date(query.from).toISOString() } : {}),
        ...(query.to ? { to: new Date(query.to).toISOString() } : {}),
        afterSeq: query.afterSeq,
        limit: query.limit,
      });
      return seqPage(items, query.limit);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/evidence/verify',
    operationId: 'verifyEvidence',
    summary: "Recompute the deletion ledger's hash chain",
    description:
      "Recomputes every record's hash and its link to the one before: `{ ok: true, records, head }`, " +
      'or the first record where the chain breaks (`brokenAt`) and why. Keep `head` somewhere ' +
      'else: a chain rewritten from its start by someone with superuser rights only shows against a ' +
      'head recorded earlier.',
    tag: 'evidence',
    permission: 'read',
    responses: {
      200: { description: 'The chain holds, or where it breaks', schema: LedgerVerificationSchema },
    },
    async handle(_request, { deps }) {
      return { status: 200, body: await deps.store.ledger.verify() };
    },
  }),
];
