import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import { DynamoDbPersonStore } from '../../shared/store/dynamodb-person-store';
import { optinStoreContract } from '../helpers/fakes/optin-store-contract';
import { freshTable } from '../helpers/tables';

const RETENTION = { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 };
let ctx: Awaited<ReturnType<typeof freshTable>> | undefined;
afterAll(() => ctx?.raw.destroy());

optinStoreContract('DynamoDbOptinStore', async () => {
  ctx = await freshTable();
  const people = new DynamoDbPersonStore(ctx.doc, ctx.tableName, RETENTION);
  return {
    store: new DynamoDbOptinStore(ctx.doc, ctx.tableName, RETENTION),
    bury: (hash, atMs) => people.bury([hash], atMs),
  };
});
