import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LandlordError } from '../../domain/index.js';
import type { TenantExport } from '../../domain/index.js';
import { HttpProblem } from '../http-problem.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { ExportArchive, ExportList, ExportParams, TenantIdParams } from '../schemas.js';
import { existingTenant } from './legal-hold-routes.js';

/** What opening an export's archive failed with, as the caller may see it. */
function downloadProblem(err: unknown, exported: TenantExport): unknown {
  if (!(err instanceof LandlordError)) return err;
  const which = `export ${exported.id} of tenant ${exported.tenantId}`;
  // Both are Landlord's own failures (5xx), which would otherwise say only "internal error".
  if (err.kind === 'Misconfigured' && err.detail?.missingFile === true)
    return new HttpProblem(
      'Misconfigured',
      `${which} is recorded, but its file is not in this API's exports folder: the API must see the data ` +
        "workers' data folder (LANDLORD_DATA_DIR), or the file was removed",
    );
  if (err.kind === 'SealedFileInvalid')
    return new HttpProblem(
      'DataVerificationFailed',
      `${which} failed its integrity check: its file was changed or damaged, and is not served`,
    );
  return err;
}

/**
 * A tenant's exports (docs/erasure-and-offboarding.md): the sealed archives an offboarding makes
 * of its data before the grace period. Listed for operators; downloaded, decrypted, by admins only,
 * each download in the audit trail.
 */
export const exportRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/exports',
    operationId: 'listExports',
    summary: "List a tenant's exports, newest first",
    description:
      "Each with its sealed file's size and SHA-256, the schema version, and each table's rows and " +
      'SHA-256; `verifiedAt` once they were found to match the archive.',
    tag: 'export',
    permission: 'readExports',
    params: TenantIdParams,
    responses: { 200: { description: "The tenant's exports", schema: ExportList } },
    async handle({ params }, { deps }) {
      await existingTenant(deps.store, params.id);
      return { status: 200, body: { items: await deps.store.exports.list(params.id) } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{id}/exports/{exportId}',
    operationId: 'downloadExport',
    summary: 'Download an export, decrypted: a tar of every table as JSON Lines',
    description:
      "The archive decrypted with the tenant's data key: one `<table>.jsonl` per manifest table and " +
      '`manifest.json` (schema version, rows and SHA-256 per table). The download is in the audit trail ' +
      "(`export.download`) before its first byte. Once the tenant's key is destroyed (crypto-shredded) " +
      'the export is gone: 410. A file altered after its first bytes cuts the download short.',
    tag: 'export',
    permission: 'downloadExports',
    errors: ['NotFound', 'TenantKeyDestroyed', 'Misconfigured', 'DataVerificationFailed'],
    params: ExportParams,
    responses: {
      200: {
        description: 'The archive, decrypted',
        schema: ExportArchive,
        contentType: 'application/x-tar',
        headers: {
          'Content-Disposition': { description: 'attachment; filename="<tenant>-<export id>.tar"' },
        },
      },
    },
    async handle({ params }, { actor, deps }) {
      await existingTenant(deps.store, params.id);
      const exported = await deps.store.exports.get(params.id, params.exportId);
      if (!exported)
        throw new LandlordError('NotFound', `tenant "${params.id}" has no export "${params.exportId}"`);
      if (!deps.exportArchives)
        throw new HttpProblem(
          'Misconfigured',
          'this API serves no export downloads: it was started without the key-encryption key ' +
            '(LANDLORD_TENANT_KEK, or LANDLORD_SECRET, in its environment) that unwraps the tenants’ keys',
        );
      let archive: Readable;
      try {
        archive = await deps.exportArchives.open(exported);
      } catch (err) {
        throw downloadProblem(err, exported);
      }
      try {
        // Before the first byte: no tenant data leaves without its trace.
        await deps.store.audit.append({
          // Every download its own event: a client's reused request id must not hide one.
          eventKey: `api:${randomUUID()}:export.download`,
          tenantId: exported.tenantId,
          actor: actor.principal,
          actorRole: actor.role,
          requestId: actor.requestId,
          action: 'export.download',
          outcome: 'started',
          detail: { exportId: exported.id, operationId: exported.operationId, sha256: exported.sha256 },
        });
      } catch (err) {
        archive.destroy();
        throw err;
      }
      return {
        status: 200,
        stream: archive,
        contentType: 'application/x-tar',
        headers: {
          'Content-Disposition': `attachment; filename="${exported.tenantId}-${exported.id}.tar"`,
          'Cache-Control': 'no-store',
        },
      };
    },
  }),
];
