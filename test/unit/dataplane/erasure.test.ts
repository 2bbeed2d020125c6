import { describe, expect, it } from 'vitest';
import { erasureRecordKeyPrefix, subjectFolder } from '../../../dataplane/erasure.js';
import { holdsBlockingErasure } from '../../../domain/index.js';
import type { LegalHold } from '../../../domain/index.js';

describe("a subject's storage folder", () => {
  it('is the subject as one path segment under the prefix', () => {
    expect(subjectFolder('exports/', 'a4c1e3f0-0000-4000-8000-000000000001')).toBe(
      'exports/a4c1e3f0-0000-4000-8000-000000000001/',
    );
    expect(subjectFolder('exports/', 'jane.doe@example.com')).toBe('exports/jane.doe@example.com/');
  });

  it('does not exist for a subject that could name another folder', () => {
    for (const subject of ['', '.', '..', '../other', 'a/b', 'a\\b', 'x\0y'])
      expect(subjectFolder('exports/', subject), JSON.stringify(subject)).toBeUndefined();
  });
});

describe('erasure record keys', () => {
  it('are per erasure, store and target, so no two targets or stores share one', () => {
    expect(erasureRecordKeyPrefix('era_1', 'primary', 'documents')).toBe('erasure:era_1:primary:documents');
    expect(erasureRecordKeyPrefix('era_1', 'standby', 'exports/')).toBe('erasure:era_1:standby:exports/');
  });
});

describe('holds that stop an erasure', () => {
  const at = '2026-06-01T00:00:00.000Z';
  const hold = (id: string, change: Partial<LegalHold> = {}): LegalHold => ({
    id,
    tenantId: 'acme',
    reason: 'case',
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'key_legal',
    ...change,
  });
  const blockers = (holds: LegalHold[]) =>
    holdsBlockingErasure(holds, ['personal', 'content'], 'user-7', at).map((h) => h.id);

  it('are those on the subject, on a class it touches, or on the whole tenant, while active', () => {
    const holds = [
      hold('on-subject', { subjects: ['user-7'] }),
      hold('on-other-subject', { subjects: ['user-8'] }),
      hold('on-class', { dataClasses: ['content'] }),
      hold('on-other-class', { dataClasses: ['business'] }),
      hold('tenant'),
      hold('released', { releasedAt: '2026-05-01T00:00:00.000Z' }),
      hold('ended', { until: '2026-05-31T00:00:00.000Z' }),
    ];
    expect(blockers(holds)).toEqual(['on-subject', 'on-class', 'tenant']);
    expect(blockers(holds.slice(1, 2))).toEqual([]);
  });
});
