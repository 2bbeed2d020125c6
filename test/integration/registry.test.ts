import { randomBytes } from 'node:crypto';
import { ensureDatabase, withDatabase } from '../../dataplane/connection.js';
import { connectRegistry } from '../../registry/index.js';
import { registryContract } from '../support/registry-contract.js';
import { testStack } from '../support/stack.js';

registryContract('PostgresRegistry', async (idempotency) => {
  const { registryServerUrl } = testStack();
  const database = `registry_contract_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(registryServerUrl, database);
  const registry = connectRegistry(withDatabase(registryServerUrl, database), 4, { idempotency });
  await registry.migrate();
  return { registry, close: () => registry.close() };
});
