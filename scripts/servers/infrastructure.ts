/**
 * The servers Landlord runs on: Temporal and Postgres, embedded unless configuration points at
 * external ones. `npm start`, the tests and the benchmarks all start them through here.
 */
import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import { connectRegistry } from '../../registry/index.js';
import { prepareRegionServers } from '../../activities/pool/schema.js';
import { ensureDatabase, startEmbeddedPostgres, withDatabase } from './postgres.js';
import type { EmbeddedServer } from './postgres.js';
import { startTemporalDevServer, waitForTemporal } from './temporal.js';
import type { DevServer } from './temporal.js';
import type { ServerProcess } from './server-process.js';

export const REGISTRY_DATABASE = 'landlord_registry';

export interface Infrastructure {
  temporalAddress: string;
  /** Set when the embedded dev server runs. */
  temporalUi?: string;
  temporal?: DevServer;
  registryUrl: string;
  /** Superuser URL of each pool region's Postgres server. */
  regionUrls: Record<string, string>;
  postgres: EmbeddedServer[];
  /** The servers started here (Temporal first), for a supervisor to watch. */
  servers: ServerProcess[];
  /** Environment that points a worker or API process at these servers. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startInfrastructure(
  config: Config,
  secret: string,
  { log }: { log?: NodeJS.WritableStream } = {},
): Promise<Infrastructure> {
  const postgres: EmbeddedServer[] = [];
  let temporal: DevServer | undefined;
  const stop = async () => {
    await temporal?.stop();
    await Promise.allSettled(postgres.map((s) => s.stop()));
  };
  try {
    let temporalAddress = config.temporal.address;
    if (!temporalAddress) {
      if (!config.temporal.cliPath)
        throw new Error(
          'the temporal CLI was not found: run `npm run bootstrap`, put `temporal` on PATH or set LANDLORD_TEMPORAL_CLI',
        );
      temporal = await startTemporalDevServer({
        cliPath: config.temporal.cliPath,
        dbFile: join(config.dataDir, 'temporal', 'temporal.db'),
        port: config.temporal.port,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        ...(log ? { log } : {}),
      });
      temporalAddress = temporal.address;
    } else {
      await waitForTemporal(temporalAddress, 30_000);
    }

    const embedded = (name: string, offset: number) =>
      startEmbeddedPostgres({
        name,
        dir: join(config.dataDir, 'postgres', name),
        port: config.postgres.embeddedBasePort + offset,
        secret,
        home: config.postgres.embeddedHome,
      }).then((s) => {
        postgres.push(s);
        return s.url;
      });
    const localRegions = config.catalog.regions.filter((r) => r.provider === 'local');
    const [registryServer, ...regionServers] = await Promise.all([
      config.postgres.registryUrl ? undefined : embedded('registry', 0),
      ...localRegions.map((r, i) => config.postgres.regionUrls[r.id] ?? embedded(r.id, i + 1)),
    ]);
    const regionUrls = { ...config.postgres.regionUrls };
    localRegions.forEach((r, i) => (regionUrls[r.id] = regionServers[i]!));

    let registryUrl = config.postgres.registryUrl;
    if (!registryUrl) {
      await ensureDatabase(registryServer!, REGISTRY_DATABASE);
      registryUrl = withDatabase(registryServer!, REGISTRY_DATABASE);
    }
    const store = connectRegistry(registryUrl, 2);
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
    await prepareRegionServers(regionUrls, config.manifest, config.migrationsDir, secret, {
      log: (message) => console.warn(message),
    });

    const env: Record<string, string> = {
      LANDLORD_TEMPORAL_ADDRESS: temporalAddress,
      LANDLORD_REGISTRY_URL: registryUrl,
      LANDLORD_SECRET: secret,
    };
    for (const [region, url] of Object.entries(regionUrls))
      env[`LANDLORD_REGION_${region.toUpperCase().replaceAll('-', '_')}_URL`] = url;
    return {
      temporalAddress,
      ...(temporal ? { temporal, temporalUi: temporal.uiUrl } : {}),
      registryUrl,
      regionUrls,
      postgres,
      servers: [...(temporal ? [temporal] : []), ...postgres],
      env,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
