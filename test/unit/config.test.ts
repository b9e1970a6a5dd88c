import {
  environmentFor,
  loadApiConfig,
  loadPageWatchConfig,
  loadSenderConfig,
  loadSweeperConfig,
} from '../../shared/config';
import { DEFAULT_SETTINGS } from '../../shared/defaults';
import { ENV } from '../../shared/env';
import { parseSettings } from '../../shared/settings';

// What the grants set (bind*); the settings never carry these.
const GRANTED = { [ENV.tableName]: 'table', [ENV.queueUrl]: 'https://queue' };
const TEMPLATES = JSON.stringify({ default: { message: { text: 'Hello' } } });

const defaults = parseSettings({});
const tuned = parseSettings({
  graphApiUrl: 'http://127.0.0.1:4000',
  graphApiVersion: 'v30.0',
  graphTimeoutSeconds: 7,
  sendRetryBaseSeconds: 5,
  sendRetryMaxSeconds: 600,
  sendUnknownOutcome: 'hold',
  humanAgentEnabled: true,
  senderTimeoutSeconds: 60,
  retention: { optinDays: 3, lockDays: 4, suppressionDays: 5, eventDays: 6 },
  pageBackoffBaseSeconds: 10,
  pageBackoffMaxSeconds: 20,
  pageWatch: { intervalMinutes: 30, optinSilenceHours: 2 },
});

describe('settings defaults', () => {
  it('are the schema defaults', () => {
    // Prepare: what the schema adds besides the shared object is only the empty ARN list.
    const { secretReaderArns, ...rest } = defaults;

    // Assess
    expect(rest).toEqual(DEFAULT_SETTINGS);
    expect(secretReaderArns).toEqual([]);
  });
});

describe('environmentFor and the loaders', () => {
  it.each([
    ['sender', (env: Record<string, string>) => loadSenderConfig(env, TEMPLATES)],
    ['api', loadApiConfig],
    ['sweeper', loadSweeperConfig],
    ['pageWatch', loadPageWatchConfig],
  ] as const)('%s: the default settings read back as an environment without them', (fn, load) => {
    // Act
    const fromStack = load({ ...GRANTED, ...environmentFor(defaults, fn) });
    const bare = load(GRANTED);

    // Assess: a loader's fallbacks are what the stack would have set.
    expect(fromStack).toEqual(bare);
  });

  it('carries every tuned setting the sender reads into its configuration', () => {
    // Act
    const config = loadSenderConfig({ ...GRANTED, ...environmentFor(tuned, 'sender') }, TEMPLATES);

    // Assess
    expect(config.graph).toEqual({
      baseUrl: 'http://127.0.0.1:4000',
      version: 'v30.0',
      timeoutMs: 7000,
    });
    expect(config.retryPolicy).toEqual({ baseSeconds: 5, maxSeconds: 600 });
    expect(config.leaseMs).toBe(65_000);
    expect(config.unknownOutcome).toBe('hold');
    expect(config.followupOptions).toEqual({ humanAgentEnabled: true });
    expect(config.retention).toEqual({
      optinDays: 3,
      lockDays: 4,
      suppressionDays: 5,
      eventDays: 6,
    });
    expect(config.pageHealth).toMatchObject({
      backoffBaseMs: 10_000,
      backoffMaxMs: 20_000,
      probeLeaseMs: 65_000,
    });
  });

  it('derives the API lease, the sweep grace and the watch timings from the settings', () => {
    // Act
    const api = loadApiConfig({ ...GRANTED, ...environmentFor(tuned, 'api') });
    const sweeper = loadSweeperConfig({ ...GRANTED, ...environmentFor(tuned, 'sweeper') });
    const watch = loadPageWatchConfig({ ...GRANTED, ...environmentFor(tuned, 'pageWatch') });

    // Assess
    expect(api.leaseSeconds).toBe(65);
    expect(api.graph.baseUrl).toBe('http://127.0.0.1:4000');
    expect(sweeper.graceMs).toBe((60 * 6 + 60) * 1000);
    expect(sweeper.unknownOutcome).toBe('hold');
    expect(sweeper.retention.optinDays).toBe(3);
    expect(watch).toMatchObject({ intervalMs: 30 * 60_000, silenceMs: 2 * 3_600_000 });
  });

  it('gives each function only the variables it reads', () => {
    // Assess
    expect(Object.keys(environmentFor(defaults, 'sweeper')).sort()).toEqual(
      [ENV.optinRetentionDays, ENV.sendUnknownOutcome, ENV.sweepGraceSeconds].sort(),
    );
    expect(environmentFor(defaults, 'pageWatch')).not.toHaveProperty(ENV.optinRetentionDays);
  });

  it('refuses a missing table name', () => {
    // Act and assess
    expect(() => loadSweeperConfig({ [ENV.queueUrl]: 'q' })).toThrow(ENV.tableName);
  });
});
