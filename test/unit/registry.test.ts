import { MemoryRegistry } from '../../registry/index.js';
import { registryContract } from '../support/registry-contract.js';

registryContract('MemoryRegistry', async (idempotency) => ({
  registry: new MemoryRegistry({ idempotency }),
  close: async () => undefined,
}));
