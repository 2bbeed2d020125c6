import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantDatabaseActivities, unanswered } from '../../../activities/pool/index.js';
import { PoolDirectory } from '../../../activities/pool/directory.js';
import { LandlordError } from '../../../domain/index.js';
import type { DataPlaneManifest } from '../../../domain/index.js';

/**
 * Fencing a store whose server does not answer (its region is down): a restore or failover into
 * the partner region goes on, told it was not fenced; turning a login back on there fails.
 */
describe('fencing a tenant store', () => {
  // A port that was free a moment ago and is closed now: connections to it are refused.
  let closedPort: number;
  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closedPort = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const directories: PoolDirectory[] = [];
  afterAll(async () => {
    for (const d of directories) await d.close();
  });

  const activities = () => {
    const directory = new PoolDirectory({
      'local-down': `postgres://landlord@127.0.0.1:${closedPort}/postgres`,
    });
    directories.push(directory);
    return createTenantDatabaseActivities({
      directory,
      secret: 'x'.repeat(32),
      manifest: { tables: [], storage: [] } as unknown as DataPlaneManifest,
    });
  };

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
