/**
 * The failover benchmark's baseline: standbys promoted by hand with dataplane/replication.ts and
 * nothing of Landlord around it. Per tenant: the home silo's role fenced (`ALTER ROLE … NOLOGIN`,
 * its sessions ended: `setEndLogin`), a heartbeat written on the home silo after the fence and
 * waited for on the standby (`measureReplication`: everything committed before it is there), then
 * `promoteTarget` (`DROP SUBSCRIPTION`, the sequences moved past the rows, `ALTER ROLE … LOGIN`).
 * In waves of the size Landlord's run had, each wave's tenants at once, a wave after the one before.
 */
import { measureReplication, promoteTarget, setEndLogin } from '../dataplane/replication.js';
import type { ReplicationLink } from '../dataplane/replication.js';
import { siloOwnerUrl } from '../dataplane/silo.js';
import { siloNames } from '../domain/index.js';

/** One standby promoted by hand; times in ms. */
export interface BarePromotion {
  tenantId: string;
  wave: number;
  /** When it began, from the start of the first wave. */
  startMs: number;
  fenceMs: number;
  /** From writing the heartbeat to seeing it on the standby, and all the catch-up took. */
  catchUpLagMs: number;
  catchUpMs: number;
  promoteMs: number;
  totalMs: number;
}

export interface BareFailover {
  waveSize: number;
  /** From the first wave's start to the last one's end. */
  totalMs: number;
  promotions: BarePromotion[];
}

/** A DR silo tenant's replication from its home region to its standby, as Landlord's data worker sees it. */
export function siloLink({
  tenantId,
  serverUrls,
  secret,
  home,
  standby,
}: {
  tenantId: string;
  /** Superuser URL of each region's server. */
  serverUrls: Record<string, string>;
  secret: string;
  home: string;
  standby: string;
}): ReplicationLink {
  const { database, role } = siloNames(tenantId);
  const end = (region: string) => {
    const serverUrl = serverUrls[region];
    if (!serverUrl) throw new Error(`no Postgres server for ${region}`);
    return {
      region,
      serverUrl,
      ownerUrl: siloOwnerUrl(serverUrl, region, tenantId, secret),
      database,
      tenantRole: role,
    };
  };
  return { tenantId, source: end(home), target: end(standby), secret };
}

/** Fences the home silo, waits for the standby to hold everything it committed, promotes the standby. */
async function promoteByHand(link: ReplicationLink) {
  const started = performance.now();
  await setEndLogin(link.source, false);
  const fenced = performance.now();
  const caught = await measureReplication(link, { waitMs: 120_000 });
  if (caught.state !== 'streaming' || caught.lagMs === undefined)
    throw new Error(
      `tenant ${link.tenantId}'s standby did not catch up: ${caught.state} ${caught.reason ?? ''}`,
    );
  const caughtUp = performance.now();
  await promoteTarget(link);
  const done = performance.now();
  return {
    fenceMs: fenced - started,
    catchUpLagMs: caught.lagMs,
    catchUpMs: caughtUp - fenced,
    promoteMs: done - caughtUp,
    totalMs: done - started,
  };
}

/** Promotes every link's standby by hand, `waveSize` at once, wave after wave. */
export async function bareFailover(links: ReplicationLink[], waveSize: number): Promise<BareFailover> {
  const started = performance.now();
  const promotions: BarePromotion[] = [];
  for (let i = 0; i < links.length; i += waveSize) {
    const wave = i / waveSize + 1;
    const done = await Promise.all(
      links.slice(i, i + waveSize).map(async (link) => {
        const startMs = performance.now() - started;
        return { tenantId: link.tenantId, wave, startMs, ...(await promoteByHand(link)) };
      }),
    );
    promotions.push(...done);
  }
  return { waveSize, totalMs: performance.now() - started, promotions };
}
