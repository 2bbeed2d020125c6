/** Connection to Temporal from configuration: the embedded dev server, a cluster, or Temporal Cloud. */
import { readFileSync } from 'node:fs';
import { Connection, Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TemporalConfig } from '../config/index.js';

export function temporalAddress(config: TemporalConfig): string {
  return config.address ?? `127.0.0.1:${config.port}`;
}

function tlsOptions(config: TemporalConfig) {
  if (!config.tls) return undefined;
  if (config.tlsCertPath && config.tlsKeyPath) {
    return {
      clientCertPair: { crt: readFileSync(config.tlsCertPath), key: readFileSync(config.tlsKeyPath) },
    };
  }
  return true;
}

export { tlsOptions };

export async function connectClient(config: TemporalConfig): Promise<Client> {
  const tls = tlsOptions(config);
  const connection = await Connection.connect({
    address: temporalAddress(config),
    ...(tls ? { tls } : {}),
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
  });
  return new Client({ connection, namespace: config.namespace });
}

export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  const tls = tlsOptions(config);
  return NativeConnection.connect({
    address: temporalAddress(config),
    ...(tls ? { tls } : {}),
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
  });
}
