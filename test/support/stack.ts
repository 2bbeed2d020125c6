import { inject } from 'vitest';

/** What test/global-setup.ts started, as plain data. */
export interface TestStack {
  dir: string;
  /** Environment that points a Landlord process at the test servers. */
  env: Record<string, string>;
  temporalAddress: string;
  temporalDbFile: string;
  temporalPort: number;
  temporalUiPort: number;
  registryServerUrl: string;
  regionUrls: Record<string, string>;
  workflowBundlePath: string;
  secret: string;
  /** The region on a Postgres server started apart from Landlord, and its version (absent: none installed). */
  externalRegion?: { region: string; version: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

export function testStack(): TestStack {
  return inject('stack');
}
