import { describe, expect, it } from 'vitest';
import type { Logger, LogLevel } from '@temporalio/worker';
import { ACTIVITY_ONLY_NOTICE, WorkerLogger } from '../../../workers/process.js';

describe('WorkerLogger', () => {
  it('passes on what the SDK logs, less the notice to workers that run activities only', () => {
    const seen: [LogLevel, string][] = [];
    const inner = { log: (level: LogLevel, message: string) => seen.push([level, message]) } as Logger;
    const logger = new WorkerLogger(inner);
    logger.warn(ACTIVITY_ONLY_NOTICE, { taskQueue: 'landlord-data' });
    logger.warn('Worker poll failed, retrying');
    logger.error('Worker failed');
    expect(seen).toEqual([
      ['WARN', 'Worker poll failed, retrying'],
      ['ERROR', 'Worker failed'],
    ]);
  });
});
