import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantDatabaseActivities, unanswered } from '../../../activities/pool/index.js';
import { PoolDirectory } from '../../../activities/pool/directory.js';
import { LandlordError } from '../../../domain/index.js';
import { freePort } from '../../../scripts/servers/ports.js';
import type { DataPlaneManifest } from '../../../domain/index.js';

/**
 * Fencing a store whose server does not answer (its region is down): a restore or failover into
 * the partner region goes on, told it was not fenced; turning a login back on there fails.
 */
describe('fencing a tenant store', () => {
  // A port below the kernel's ephemeral range that nothing listens on: connections are refused.
  let closedPort: number;
  // A server that takes connections and never says a word, as a host cut off mid-outage can look.
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    closedPort = await freePort();
    silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const directories: PoolDirectory[] = [];
  afterAll(async () => {
    for (const d of directories) await d.close();
  });

  const activities = () => {
    const directory = new PoolDirectory({
      'local-down': `postgres://landlord@127.0.0.1:${closedPort}/postgres`,
      'local-silent': `postgres://landlord@127.0.0.1:${(silent.address() as AddressInfo).port}/postgres`,
    });
    directories.push(directory);
    return createTenantDatabaseActivities({
      directory,
      secret: 'x'.repeat(32),
      manifest: { tables: [], storage: [] } as unknown as DataPlaneManifest,
      connectTimeoutMs: 300,
    });
  };

  it('passes over a server that takes connections but never answers, within its connect timeout', async () => {
    const fence = await activities().fenceTenantStore({
      tenantId: 'acme-corp',
      region: 'local-silent',
      deploymentModel: 'pool',
      enabled: false,
    });
    expect(fence).toMatchObject({ region: 'local-silent', fenced: false });
    expect(fence.reason).toMatch(/did not answer: .*timeout/);
    expect(sockets.length).toBeGreaterThan(0);
  });

  for (const deploymentModel of ['pool', 'silo'] as const)
    it(`passes over a ${deploymentModel} store whose server does not answer, saying so`, async () => {
      const db = activities();
      const fence = await db.fenceTenantStore({
        tenantId: 'acme-corp',
        region: 'local-down',
        deploymentModel,
        enabled: false,
      });
      expect(fence).toMatchObject({ region: 'local-down', fenced: false });
      expect(fence.reason).toMatch(/did not answer: .*ECONNREFUSED/);
      // Its login is never reported on when it was not.
      await expect(
        db.fenceTenantStore({ tenantId: 'acme-corp', region: 'local-down', deploymentModel, enabled: true }),
      ).rejects.toThrow(/ECONNREFUSED/);
    });

  it('tells a connection that failed from an answer of the server or of Landlord', () => {
    expect(unanswered(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(unanswered(Object.assign(new Error('role does not exist'), { code: '42704' }))).toBe(false);
    expect(unanswered(new LandlordError('TenantNotFound', 'no role'))).toBe(false);
    expect(unanswered(new Error('no code'))).toBe(false);
  });
});
