import { defineConfig } from 'vitest/config';

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
  },
});
