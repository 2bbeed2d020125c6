import { describe, expect, it } from 'vitest';
import { drStatusOf } from '../../domain/index.js';
import type { DrFacts } from '../../domain/index.js';

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
});
