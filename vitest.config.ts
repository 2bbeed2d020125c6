import { defineConfig } from 'vitest/config';

// .ci/run asks for a machine-readable report to print the closing summary line from.
const report = process.env.LANDLORD_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server and one set of Postgres servers for the whole run (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Files share those servers and the machine has two cores: run files one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    ...(report ? { reporters: ['default', 'json'], outputFile: { json: report } } : {}),
  },
});
