import { optionsFromEnv } from '../../../infra/local/stack';
import { DEFAULT_SETTINGS } from '../../../shared/defaults';

describe('optionsFromEnv()', () => {
  it("takes the sender's event source settings from a deployment's defaults", () => {
    // Act
    const options = optionsFromEnv({});

    // Assert
    expect(options).toMatchObject({
      senderBatchSize: DEFAULT_SETTINGS.senderBatchSize,
      senderConcurrency: DEFAULT_SETTINGS.senderMaxConcurrency,
      senderBatchWindowSeconds: 0,
    });
  });

  it('reads SENDER_BATCH_SIZE, SENDER_CONCURRENCY and SENDER_BATCH_WINDOW_SECONDS', () => {
    const options = optionsFromEnv({
      SENDER_BATCH_SIZE: '50',
      SENDER_CONCURRENCY: '20',
      SENDER_BATCH_WINDOW_SECONDS: '2',
    });

    expect(options).toMatchObject({
      senderBatchSize: 50,
      senderConcurrency: 20,
      senderBatchWindowSeconds: 2,
    });
  });

  it('refuses a batch above 10 without a batching window, as the event source mapping does', () => {
    expect(() => optionsFromEnv({ SENDER_BATCH_SIZE: '11' })).toThrow(
      'SENDER_BATCH_WINDOW_SECONDS of 1 or more',
    );
    expect(() => optionsFromEnv({ SENDER_BATCH_SIZE: '0' })).toThrow('SENDER_BATCH_SIZE');
    expect(() => optionsFromEnv({ SENDER_BATCH_WINDOW_SECONDS: '301' })).toThrow('0 to 300');
  });
});
