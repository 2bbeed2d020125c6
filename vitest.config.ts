import { defineConfig } from 'vitest/config';

// .ci/run asks for a machine-readable report to print the closing summary line from.
const report = process.env.LANDLORD_TEST_REPORT;

export default defineConfig({
  test: {
    // Files share one set of servers and the machine has two cores: run files one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    ...(report ? { reporters: ['default', 'json'], outputFile: { json: report } } : {}),
    projects: [
      {
        // Pure tests (domain, config, API over the in-memory registry, scripts): no server.
        // `npm run test:unit` runs these alone.
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        // Against real servers: one Temporal dev server and one set of Postgres servers for the
        // whole run (test/global-setup.ts).
        extends: true,
        test: {
          name: 'servers',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
