import { describe, expect, it } from 'vitest';
import { drStatusOf } from '../../domain/index.js';
import type { DrFacts, ReplicationStatus } from '../../domain/index.js';

const HOUR = 3_600_000;
const now = Date.parse('2026-12-06T12:00:00Z');
const facts = (change: Partial<DrFacts> = {}): DrFacts => ({
  tenantId: 'acme',
  tier: 'premium',
  status: 'active',
  deploymentModel: 'silo',
  drEnabled: false,
  targets: { rto: '8h', rpo: '1h', rtoMs: 8 * HOUR, rpoMs: HOUR },
  latestBackupAt: new Date(now - 30 * 60_000).toISOString(),
  ...change,
});
const replication = (change: Partial<ReplicationStatus> = {}): ReplicationStatus => ({
  tenantId: 'acme',
  source: 'eu-west',
  target: 'eu-central',
  state: 'streaming',
  lagMs: 2_000,
  lagBytes: 4096,
  newestDataAt: new Date(now - 62_000).toISOString(),
  measuredAt: new Date(now - 60_000).toISOString(),
  ...change,
});

describe("a tenant's DR standing", () => {
  it('is within target with a backup younger than its RPO and nothing failed', () => {
    const status = drStatusOf(facts(), now);
    expect(status).toMatchObject({ withinTarget: true, problems: [], rpoNowMs: 30 * 60_000 });
    expect(status.latestBackup).toEqual({ takenAt: '2026-12-06T11:30:00.000Z', ageMs: 30 * 60_000 });
  });

  it('says why it is out of target, one reason per broken promise', () => {
    const out = drStatusOf(
      facts({
        latestBackupAt: new Date(now - 3 * HOUR).toISOString(),
        verification: {
          runId: 'r',
          ok: false,
          at: '2026-12-06T00:00:00Z',
          problems: ['the file is missing'],
        },
        lastRecovery: {
          operationId: 'restore-acme-1',
          kind: 'restore',
          at: '2026-12-05T00:00:00Z',
          rtoMs: 9 * HOUR,
          rpoMs: 2 * HOUR,
          rtoMet: false,
          rpoMet: false,
        },
      }),
      now,
    );
    expect(out.withinTarget).toBe(false);
    expect(out.problems).toEqual([
      "its newest backup is 3.0 h old; the tier's RPO is 1h",
      'its latest restore verification failed: the file is missing',
      "its last restore took 9.0 h; the tier's RTO is 8h",
      "its last restore lost 2.0 h of data; the tier's RPO is 1h",
    ]);
    expect(out.rtoEstimateMs).toBeUndefined();
  });

  it('counts a tenant never backed up as out of target, and a verified restore as its RTO estimate', () => {
    const { latestBackupAt: _, ...none } = facts();
    expect(drStatusOf(none, now)).toMatchObject({
      withinTarget: false,
      problems: ['no backup has been taken yet'],
    });
    const slow = drStatusOf(
      facts({
        verification: { runId: 'r', ok: true, at: '2026-12-06T00:00:00Z', restoreMs: 9 * HOUR, problems: [] },
      }),
      now,
    );
    expect(slow).toMatchObject({ rtoEstimateMs: 9 * HOUR, withinTarget: false });
    expect(slow.problems).toEqual(["its latest verified restore took 9.0 h; the tier's RTO is 8h"]);
  });

  it('counts a DR silo streaming to its standby within its RPO as losing only the lag', () => {
    const status = drStatusOf(facts({ drEnabled: true, replication: replication() }), now);
    expect(status).toMatchObject({ withinTarget: true, problems: [], rpoNowMs: 2_000 });
    expect(status.replication).toEqual(replication());
    // The backup is still shown with its own age.
    expect(status.latestBackup?.ageMs).toBe(30 * 60_000);
  });

  it('puts a DR silo whose replication lags behind its RPO out of target, first', () => {
    const slow = drStatusOf(
      facts({
        drEnabled: true,
        latestBackupAt: new Date(now - 3 * HOUR).toISOString(),
        replication: replication({ lagMs: 2 * HOUR }),
      }),
      now,
    );
    expect(slow).toMatchObject({ withinTarget: false, rpoNowMs: 2 * HOUR });
    expect(slow.problems).toEqual([
      'replication lag 2.0 h exceeds its RPO 1h',
      "its newest backup is 3.0 h old; the tier's RPO is 1h",
    ]);
    const tight = { rto: '1h', rpo: '30s', rtoMs: HOUR, rpoMs: 30_000 };
    const behind = drStatusOf(
      facts({
        drEnabled: true,
        targets: tight,
        latestBackupAt: new Date(now - 10_000).toISOString(),
        replication: replication({ lagMs: 45_000 }),
      }),
      now,
    );
    expect(behind.problems).toEqual(['replication lag 45 s exceeds its RPO 30s']);
    expect(behind.rpoNowMs).toBe(45_000);
  });

  it('falls back on the backup for a DR silo whose replication is broken or stopped, and says why', () => {
    const broken = drStatusOf(
      facts({
        drEnabled: true,
        replication: replication({
          state: 'broken',
          lagMs: undefined,
          reason: 'the subscription is disabled: its apply worker exited',
        }),
      }),
      now,
    );
    expect(broken).toMatchObject({ withinTarget: false, rpoNowMs: 30 * 60_000 });
    expect(broken.problems).toEqual([
      'replication to its standby in eu-central is broken: the subscription is disabled: its apply worker exited',
    ]);
    const stopped = drStatusOf(
      facts({ drEnabled: true, replication: replication({ state: 'stopped' }) }),
      now,
    );
    expect(stopped).toMatchObject({ withinTarget: false, rpoNowMs: 30 * 60_000 });
    expect(stopped.problems).toEqual(['replication to its standby in eu-central is stopped: no detail']);
    // Still seeding: not yet a standby to fall back on, nor a problem while its lag is in target.
    const seeding = drStatusOf(
      facts({ drEnabled: true, replication: replication({ state: 'seeding' }) }),
      now,
    );
    expect(seeding).toMatchObject({ withinTarget: true, rpoNowMs: 30 * 60_000 });
  });

  it('expects a measured replication of a DR silo only', () => {
    expect(drStatusOf(facts({ drEnabled: true }), now)).toMatchObject({
      withinTarget: false,
      problems: ['no replication to its standby has been measured'],
      rpoNowMs: 30 * 60_000,
    });
    // A pool tenant on a DR tier, and a silo on a tier without DR, have no standby of their own.
    expect(drStatusOf(facts({ drEnabled: true, deploymentModel: 'pool' }), now).problems).toEqual([]);
    const notDr = drStatusOf(facts({ replication: replication({ state: 'broken', lagMs: 5 * HOUR }) }), now);
    expect(notDr).toMatchObject({ withinTarget: true, problems: [], rpoNowMs: 30 * 60_000 });
  });
});
