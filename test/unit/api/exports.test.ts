import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exportFilePath,
  openExportArchive,
  tenantExportsFolder,
} from '../../../activities/data/export-archive.js';
import { localKek, sealStream, TenantKeyring } from '../../../activities/keys/index.js';
import type { TenantExport } from '../../../domain/index.js';
import { call, startApiHarness, useApiHarness } from './api-harness.js';

const exportsRoot = mkdtempSync(join(tmpdir(), 'landlord-api-exports-'));
let keyring: TenantKeyring;
const api = useApiHarness({
  exportArchives: (store) => {
    keyring = new TenantKeyring({
      store: store.tenantKeys,
      kek: localKek('api-test-secret-'.padEnd(40, 'x')),
    });
    return { open: (exported) => openExportArchive({ keyring, exportsRoot, export: exported }) };
  },
});
afterAll(() => rmSync(exportsRoot, { recursive: true, force: true }));

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const collect = async (stream: AsyncIterable<Buffer | Uint8Array>) => {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
};

async function tenant(id: string): Promise<void> {
  const body = { id, name: id, tier: 'basic', region: 'local-a', adminEmail: `a@${id}.example` };
  expect((await call(api(), 'POST', '/v1/tenants', { body })).status).toBe(202);
  await api().lifecycle.finishOnboarding(id);
}

/**
 * An export as the data worker leaves one: a tar of one table and its manifest, sealed with the
 * tenant's key into the exports folder, and recorded. Returns it with the tar it decrypts to.
 */
async function exportOf(
  tenantId: string,
  rows: number,
): Promise<{ exported: TenantExport; archive: Buffer }> {
  await keyring.ensure(tenantId);
  const { keyId, key } = await keyring.open(tenantId);
  const id = `export_${randomBytes(8).toString('hex')}`;
  const lines = Buffer.from(
    Array.from(
      { length: rows },
      (_, i) => `${JSON.stringify({ tenant_id: tenantId, id: i, action: 'edit'.repeat(12) })}\n`,
    ).join(''),
  );
  const tables = [{ name: 'activity_log', rows, sha256: sha256(lines) }];
  const createdAt = new Date().toISOString();
  const pack = tar.pack();
  pack.entry({ name: 'activity_log.jsonl' }, lines);
  pack.entry(
    { name: 'manifest.json' },
    JSON.stringify({
      format: 'tar+jsonl',
      application: 'acme-notes',
      schemaVersion: '002_subject_indexes',
      tenantId,
      exportId: id,
      exportedAt: createdAt,
      tables,
    }),
  );
  pack.finalize();
  const archive = await collect(pack as AsyncIterable<Buffer>);
  const sealed = await collect(Readable.from([archive]).pipe(sealStream({ tenantId, keyId, key })));
  key.fill(0);
  mkdirSync(tenantExportsFolder(exportsRoot, tenantId), { recursive: true });
  writeFileSync(exportFilePath(exportsRoot, tenantId, id), sealed);
  const exported = await api().store.exports.record({
    id,
    tenantId,
    operationId: `offboard-${tenantId}-1`,
    createdAt,
    keyId,
    format: 'tar+jsonl',
    bytes: sealed.length,
    sha256: sha256(sealed),
    schemaVersion: '002_subject_indexes',
    tables,
  });
  return { exported, archive };
}

const downloads = async (tenantId: string) =>
  (await api().store.audit.list({ tenantId, action: 'export.download', limit: 100 })).map((e) => ({
    actor: e.actor,
    actorRole: e.actorRole,
    requestId: e.requestId,
    exportId: e.detail.exportId,
  }));

/** Downloads an export with `role`'s key: the answer, its body not yet read. */
const download = (tenantId: string, exportId: string, role: 'admin' | 'operator' = 'admin') =>
  fetch(`${api().baseUrl}/v1/tenants/${tenantId}/exports/${exportId}`, {
    headers: {
      authorization: `Bearer ${api().keys[role]}`,
      'x-request-id': `req-${randomBytes(4).toString('hex')}`,
    },
  });

describe('tenant exports', () => {
  it('are listed newest first for operators and admins, and not for viewers or sales', async () => {
    await tenant('listed-co');
    expect((await call(api(), 'GET', '/v1/tenants/listed-co/exports', { role: 'operator' })).body).toEqual({
      items: [],
    });
    const first = (await exportOf('listed-co', 3)).exported;
    const second = (await exportOf('listed-co', 2)).exported;
    const listed = await call(api(), 'GET', '/v1/tenants/listed-co/exports', { role: 'operator' });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([second, first]);
    for (const role of ['viewer', 'sales'] as const)
      expect((await call(api(), 'GET', '/v1/tenants/listed-co/exports', { role })).status, role).toBe(403);
    expect((await call(api(), 'GET', '/v1/tenants/nobody-co/exports')).status).toBe(404);
  });

  it('downloads decrypted for admins only, each download in the audit trail before its first byte', async () => {
    await tenant('download-co');
    const { exported, archive } = await exportOf('download-co', 500);
    const res = await download('download-co', exported.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="download-co-${exported.id}.tar"`,
    );
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(archive)).toBe(true);
    const [event] = await api().store.audit.list({
      tenantId: 'download-co',
      action: 'export.download',
      limit: 1,
    });
    expect(event).toMatchObject({
      tenantId: 'download-co',
      actorRole: 'admin',
      outcome: 'started',
      detail: { exportId: exported.id, operationId: exported.operationId, sha256: exported.sha256 },
    });

    // An operator may list it, not download it; the refusal leaves no download in the trail.
    const refused = await download('download-co', exported.id, 'operator');
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    expect(await downloads('download-co')).toHaveLength(1);
    const unknown = await call(api(), 'GET', '/v1/tenants/download-co/exports/export_0a1b2c3d4e5f6071');
    expect(unknown).toMatchObject({ status: 404, body: { type: 'https://landlord.dev/problems/not-found' } });
    expect(await downloads('download-co')).toHaveLength(1);
  });

  it('answers 410 once the tenant key is destroyed, and a clear 5xx for a missing or altered file', async () => {
    await tenant('shredded-co');
    const { exported } = await exportOf('shredded-co', 10);
    const missing = (await exportOf('shredded-co', 10)).exported;
    rmSync(exportFilePath(exportsRoot, 'shredded-co', missing.id));
    const gone = await call(api(), 'GET', `/v1/tenants/shredded-co/exports/${missing.id}`);
    expect(gone).toMatchObject({
      status: 500,
      body: { type: 'https://landlord.dev/problems/misconfigured' },
    });
    expect(gone.body.detail).toMatch(/not in this API's exports folder/);
    expect(gone.body.detail).not.toContain(exportsRoot);

    const altered = (await exportOf('shredded-co', 10)).exported;
    const path = exportFilePath(exportsRoot, 'shredded-co', altered.id);
    const bytes = readFileSync(path);
    bytes[bytes.length - 20]! ^= 0x01;
    writeFileSync(path, bytes);
    const damaged = await call(api(), 'GET', `/v1/tenants/shredded-co/exports/${altered.id}`);
    expect(damaged).toMatchObject({
      status: 500,
      body: { type: 'https://landlord.dev/problems/data-verification-failed' },
    });
    expect(damaged.body.detail).toMatch(/failed its integrity check/);

    expect(await keyring.destroy('shredded-co', 'key_admin')).toBe('destroyed');
    const destroyed = await call(api(), 'GET', `/v1/tenants/shredded-co/exports/${exported.id}`);
    expect(destroyed).toMatchObject({
      status: 410,
      body: { type: 'https://landlord.dev/problems/tenant-key-destroyed' },
    });
    // The record stays, so that a caller learns why it cannot have the data.
    expect(
      (await call(api(), 'GET', '/v1/tenants/shredded-co/exports', { role: 'operator' })).body.items,
    ).toHaveLength(3);
    expect(await downloads('shredded-co')).toEqual([]);
  });

  it('cuts a download short when the file was altered past its first chunk', async () => {
    await tenant('cut-co');
    // Several 64 KiB chunks, so that the change is found only after the first bytes went out.
    const { exported } = await exportOf('cut-co', 5000);
    const path = exportFilePath(exportsRoot, 'cut-co', exported.id);
    const bytes = readFileSync(path);
    bytes[bytes.length - 100]! ^= 0x01;
    writeFileSync(path, bytes);
    const res = await download('cut-co', exported.id);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('answers that downloads are not configured on an API without the key-encryption key', async () => {
    const bare = await startApiHarness();
    try {
      await bare.store.tenants.upsert({
        ...(await api().store.tenants.get('download-co'))!,
      });
      const [exported] = await api().store.exports.list('download-co');
      await bare.store.exports.record(exported!);
      const res = await call(bare, 'GET', `/v1/tenants/download-co/exports/${exported!.id}`);
      expect(res).toMatchObject({
        status: 500,
        body: { type: 'https://landlord.dev/problems/misconfigured' },
      });
      expect(res.body.detail).toMatch(/LANDLORD_SECRET/);
    } finally {
      await bare.stop();
    }
  });
});
