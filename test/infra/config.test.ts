import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { DEFAULT_STACK_NAME, loadDeploymentConfig } from '../../infra/config';

// Nothing here synthesizes a stack: configuration must fail before any bundling starts.

let tempDir: string;

beforeEach(() => {
  tempDir = mkdtempSync(path.join(tmpdir(), 'lcm-config-'));
});

afterEach(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

/** Writes `content` as JSON into the temp dir and returns its absolute path. */
function writeJson(name: string, content: unknown): string {
  const file = path.join(tempDir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('loadDeploymentConfig()', () => {
  it('uses every default when the loginConnect context is absent', () => {
    // Act
    const config = loadDeploymentConfig(new App());

    // Assert
    expect(config.stackName).toBe(DEFAULT_STACK_NAME);
    expect(config.settings.senderTimeoutSeconds).toBe(30);
    expect(config.settings.destroyOnRemoval).toBe(false);
    expect(config.firstMessages.default.messagingType).toBe('UPDATE');
  });

  it('takes the stack name from the stackName context', () => {
    const config = loadDeploymentConfig(new App({ context: { stackName: 'LoginConnectTest' } }));

    expect(config.stackName).toBe('LoginConnectTest');
  });

  it('rejects a stack name CloudFormation would refuse', () => {
    const app = new App({ context: { stackName: 'login_connect' } });

    expect(() => loadDeploymentConfig(app)).toThrow(
      /stackName: must be a CloudFormation stack name/,
    );
  });

  it('names the bad setting under loginConnect', () => {
    const app = new App({ context: { loginConnect: { sendRetryBaseSeconds: 0 } } });

    expect(() => loadDeploymentConfig(app)).toThrow(/loginConnect\.sendRetryBaseSeconds/);
  });

  it('refuses a retry policy that needs more receives than SQS allows, naming the setting', () => {
    const app = new App({
      context: { loginConnect: { sendRetryBaseSeconds: 1, sendRetryMaxSeconds: 1 } },
    });

    expect(() => loadDeploymentConfig(app)).toThrow(
      /loginConnect\.sendRetryMaxSeconds: allows more retries in 24 h/,
    );
  });

  it('names nested and unknown settings', () => {
    const app = new App({
      context: { loginConnect: { webhookThrottle: { rateLimit: 0 }, sendRetryBase: 5 } },
    });

    expect(() => loadDeploymentConfig(app)).toThrow(/loginConnect\.webhookThrottle\.rateLimit/);
    expect(() => loadDeploymentConfig(app)).toThrow(/sendRetryBase/);
  });

  it('defaults the Page back-off and watchdog settings', () => {
    const { settings } = loadDeploymentConfig(new App());

    expect(settings.pageBackoffBaseSeconds).toBe(60);
    expect(settings.pageBackoffMaxSeconds).toBe(3600);
    expect(settings.pageWatch).toEqual({ intervalMinutes: 15, optinSilenceHours: 24 });
  });

  it.each([
    [
      { pageWatch: { optinSilenceHours: 0 } },
      /loginConnect\.pageWatch\.optinSilenceHours: Too small/,
    ],
    [{ pageWatch: { optinSilenceHours: 1.5 } }, /loginConnect\.pageWatch\.optinSilenceHours/],
    [{ pageWatch: { intervalMinutes: 61 } }, /loginConnect\.pageWatch\.intervalMinutes: Too big/],
    [{ pageWatch: { silence: 3 } }, /loginConnect\.pageWatch.*silence/],
    [{ pageBackoffBaseSeconds: 0 }, /loginConnect\.pageBackoffBaseSeconds/],
    [
      { pageBackoffBaseSeconds: 600, pageBackoffMaxSeconds: 60 },
      /loginConnect\.pageBackoffBaseSeconds: must not be larger than pageBackoffMaxSeconds/,
    ],
  ])('names the bad Page setting %j', (loginConnect, message) => {
    const app = new App({ context: { loginConnect } });

    expect(() => loadDeploymentConfig(app)).toThrow(message);
  });

  it('defaults the alarm thresholds and leaves the secret to IAM', () => {
    const { settings } = loadDeploymentConfig(new App());

    expect(settings.alarms).toEqual({ senderErrorRatePercent: 20, webhookServerErrorCount: 1 });
    expect(settings.secretReaderArns).toEqual([]);
  });

  it('names a secret reader that is not an IAM role, user or root ARN', () => {
    const app = new App({
      context: {
        loginConnect: {
          secretReaderArns: ['arn:aws:iam::123456789012:role/Ops', 'arn:aws:sts::1:assumed-role/x'],
        },
      },
    });

    expect(() => loadDeploymentConfig(app)).toThrow(
      /loginConnect\.secretReaderArns\[1\]: must be an IAM role, user or root ARN/,
    );
  });

  it('refuses an error-rate alarm threshold above 100 %', () => {
    const app = new App({ context: { loginConnect: { alarms: { senderErrorRatePercent: 120 } } } });

    expect(() => loadDeploymentConfig(app)).toThrow(/loginConnect\.alarms\.senderErrorRatePercent/);
  });

  it('parses settings given as a JSON string, as `cdk -c` passes them', () => {
    const app = new App({ context: { loginConnect: '{"senderTimeoutSeconds":60}' } });

    expect(loadDeploymentConfig(app).settings.senderTimeoutSeconds).toBe(60);
  });

  it('names the setting when the context string is not JSON', () => {
    const app = new App({ context: { loginConnect: 'senderTimeoutSeconds=60' } });

    expect(() => loadDeploymentConfig(app)).toThrow(
      /loginConnect: context value is not valid JSON/,
    );
  });

  it('names the template field and the rule when a template breaks Messenger limits', () => {
    // Arrange
    const file = writeJson('bad-templates.json', {
      default: {
        messagingType: 'MESSAGE_TAG',
        message: {
          text: 'Hello',
          quick_replies: [{ content_type: 'text', title: 'x'.repeat(21), payload: 'P' }],
        },
      },
    });
    const app = new App({ context: { loginConnect: { firstMessagesFile: file } } });

    // Act
    const load = () => loadDeploymentConfig(app);

    // Assert
    expect(load).toThrow(/loginConnect\.firstMessagesFile/);
    expect(load).toThrow(
      /default\.message\.quick_replies\[0\]\.title: must be at most 20 characters/,
    );
    expect(load).toThrow(/default\.messagingType: MESSAGE_TAG is not allowed/);
  });

  it('names the setting when the templates file does not exist', () => {
    const app = new App({
      context: { loginConnect: { firstMessagesFile: 'infra/no-such-file.json' } },
    });

    expect(() => loadDeploymentConfig(app)).toThrow(
      /loginConnect\.firstMessagesFile \(infra\/no-such-file\.json\): Cannot read/,
    );
  });

  it('resolves a relative templates path from the repository root, not the working directory', () => {
    const app = new App({
      context: { loginConnect: { firstMessagesFile: 'infra/first-messages.json' } },
    });
    const cwd = process.cwd();
    process.chdir(tempDir);
    try {
      expect(loadDeploymentConfig(app).firstMessages.pages).toEqual({});
    } finally {
      process.chdir(cwd);
    }
  });
});
