/** The shared lease-store contract, against the in-memory store the coordinator's unit tests use. */
import { leaseStoreContract } from '../../helpers/lease-store-contract';
import { MemoryBackend } from '../../helpers/memory-lease-store';

describe('in-memory lease store', () => {
  let backend: MemoryBackend;
  leaseStoreContract({
    open: () => {
      backend = new MemoryBackend();
      return Promise.resolve(backend.connect());
    },
    plantForeign: (name) => {
      backend.values.set(name, { record: 'foreign', version: backend.nextVersion() });
      return Promise.resolve();
    },
  });
});
