/**
 * What the workflow bundle holds. Every new workflow evaluates every module of the bundle in its
 * context, so a schema library pulled in through the domain index costs each onboarding twice
 * (measured: zod's schemas made onboarding throughput 5.2/s instead of 7.8/s at concurrency 8).
 */
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workers/lifecycle.js';

describe('the workflow bundle', () => {
  it('holds the workflows, the few domain modules they run, and no zod', async () => {
    const { code } = await bundleWorkflows();
    const modules = [...code.matchAll(/\/\*\*\*\/ "(\.\/[^"]+)"/g)].map((m) => m[1]!);
    expect(modules.length).toBeGreaterThan(10);
    expect(modules.filter((m) => m.includes('node_modules/zod'))).toEqual([]);
    expect(modules.filter((m) => m.startsWith('./domain/')).sort()).toEqual([
      './domain/dr-verification.ts',
      './domain/errors.ts',
      './domain/lifecycle.ts',
      './domain/operation.ts',
      './domain/retention-run.ts',
      './domain/served.ts',
      './domain/unsafe-text.ts',
    ]);
    expect(
      modules.filter((m) => !m.includes('node_modules') && !/^\.\/(domain|workflows)\//.test(m)),
    ).toEqual([]);
  }, 60_000);
});
