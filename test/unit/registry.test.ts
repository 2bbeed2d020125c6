import { MemoryRegistry } from '../../registry/index.js';
import { registryContract } from '../support/registry-contract.js';

registryContract('MemoryRegistry', async (idempotency) => {
  const registry = new MemoryRegistry({ idempotency });
  return {
    registry,
    async tamperLedger(seq, count) {
      registry.ledger.records.find((r) => r.seq === seq)!.count = count;
    },
    close: async () => undefined,
  };
});
