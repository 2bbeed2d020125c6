/**
 * The `landlord-provisioning` worker: Pulumi activities only, with bounded concurrency (each one
 * runs a stack action in a child process).
 */
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/index.js';
import { inheritedEnvironment } from '../config/environment.js';
import { activityInterceptors } from '../activities/interceptors.js';
import { createProvisioningActivities } from '../activities/provisioning/index.js';
import type { PulumiEnvironment } from '../activities/provisioning/stack-runner.js';
import type { Registry } from '../registry/index.js';
import { runAsMain, runWorkerProcess } from './process.js';

/** Where and how stacks are kept: the file backend under the data folder unless configured. */
export function pulumiEnvironment(
  config: Pick<Config, 'pulumi' | 'dataDir'>,
  secret: string,
): PulumiEnvironment {
  const { pulumi } = config;
  if (!pulumi.cliPath)
    throw new Error(
      'the Pulumi CLI was not found: run `npm run bootstrap`, put `pulumi` on PATH or set LANDLORD_PULUMI_CLI',
    );
  const stateDir = join(config.dataDir, 'pulumi', 'state');
  const home = join(config.dataDir, 'pulumi', 'home');
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(home, { recursive: true });
  return {
    cliPath: pulumi.cliPath,
    pluginDir: pulumi.pluginDir,
    backendUrl: pulumi.backendUrl ?? pathToFileURL(stateDir).href,
    home,
    ...(pulumi.secretsProvider ? { secretsProvider: pulumi.secretsProvider } : {}),
    // The passphrase secrets provider's passphrase: configured, or derived from the master secret
    // (so it is kept, and the same, across restarts).
    passphrase:
      pulumi.passphrase ?? createHmac('sha256', secret).update('pulumi-passphrase').digest('base64url'),
    inherited: inheritedEnvironment(),
    ...(pulumi.debug ? { debug: true } : {}),
  };
}

export interface ProvisioningWorkerDeps {
  config: Pick<Config, 'pulumi' | 'dataDir' | 'taskQueues' | 'migrationsDir' | 'postgres'>;
  connection: NativeConnection;
  namespace: string;
  store: Registry;
  secret: string;
  /** Superuser URLs of the local regions' servers (embedded ones included). */
  regionServerUrls: Readonly<Record<string, string>>;
  taskQueue?: string;
}

export async function createProvisioningWorker(deps: ProvisioningWorkerDeps): Promise<Worker> {
  const activities = createProvisioningActivities({
    store: deps.store,
    settings: {
      pulumi: pulumiEnvironment(deps.config, deps.secret),
      dataDir: deps.config.dataDir,
      regionServerUrls: deps.regionServerUrls,
      migrationsDir: deps.config.migrationsDir,
      secret: deps.secret,
    },
  });
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue ?? deps.config.taskQueues.provisioning,
    activities,
    interceptors: { activity: [activityInterceptors({ store: deps.store })] },
    maxConcurrentActivityTaskExecutions: deps.config.pulumi.concurrency,
    shutdownGraceTime: '30s',
  });
}

runAsMain(import.meta.url, 'provisioning', () =>
  runWorkerProcess(
    'provisioning',
    async ({ config, store, connection }) => {
      const { resolveSecret } = await import('../config/secret.js');
      const worker = await createProvisioningWorker({
        config,
        connection,
        namespace: config.temporal.namespace,
        store,
        secret: resolveSecret(config),
        regionServerUrls: config.postgres.regionUrls,
      });
      return { worker, taskQueue: config.taskQueues.provisioning };
    },
    { registryPoolSize: 4 },
  ),
);
