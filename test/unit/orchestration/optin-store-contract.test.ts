import { FakeOptinStore } from '../../helpers/fakes/optin-store';
import { optinStoreContract } from '../../helpers/fakes/optin-store-contract';

optinStoreContract('FakeOptinStore', async () => {
  const store = new FakeOptinStore();
  return {
    store,
    bury: async (hash, atMs) => {
      store.tombstones.set(hash, atMs);
    },
  };
});
