/**
 * Waiting in tests for a DR tenant's standby to hold everything written to its primary so far: a
 * heartbeat written there and seen on the standby (dataplane/replication.ts).
 */
import { measureReplication } from '../../dataplane/replication.js';
import { siloOwnerUrl } from '../../dataplane/silo.js';
import { siloNames } from '../../domain/index.js';
import type { Harness } from './harness.js';
import { testStack } from './stack.js';

export async function standbyCaughtUp(
  h: Harness,
  tenantId: string,
  home = 'local-a',
  dr = 'local-b',
): Promise<void> {
  const end = (region: string) => ({
    region,
    serverUrl: h.directory.serverUrl(region),
    ownerUrl: siloOwnerUrl(h.directory.serverUrl(region), region, tenantId, testStack().secret),
    database: siloNames(tenantId).database,
    tenantRole: siloNames(tenantId).role,
  });
  const link = { tenantId, source: end(home), target: end(dr), secret: testStack().secret };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const measured = await measureReplication(link, { waitMs: 20_000 });
    if (measured.state === 'streaming') return;
    if (Date.now() > deadline)
      throw new Error(`tenant ${tenantId}'s standby is ${measured.state}: ${measured.reason ?? ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
