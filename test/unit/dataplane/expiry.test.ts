import { describe, expect, it } from 'vitest';
import { nextBatchSize } from '../../../dataplane/expiry.js';

describe('batch sizes under a lock-time budget', () => {
  it('grow towards what the budget allows, shrink after a slow batch, within bounds', () => {
    // 100 rows in 20 ms: the 100 ms budget would allow 500; halfway there.
    expect(nextBatchSize(100, 20, 100)).toBe(300);
    // 1000 rows in 400 ms: the budget allows 250.
    expect(nextBatchSize(1000, 400, 100)).toBe(625);
    expect(nextBatchSize(10, 5_000, 100)).toBe(10);
    expect(nextBatchSize(10_000, 1, 100)).toBe(10_000);
    // Repeated at a steady pace it settles at the budget.
    let size = 100;
    for (let i = 0; i < 20; i++) size = nextBatchSize(size, size / 10, 100);
    expect(size).toBeGreaterThan(990);
    expect(size).toBeLessThanOrEqual(1000);
  });
});
