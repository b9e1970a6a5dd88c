import * as path from 'node:path';
import type { IConstruct } from 'constructs';
import { type FirstMessages, readFirstMessagesFile } from '../shared/login-connect/first-message';
import { parseSettings, type Settings } from '../shared/settings';

/** CDK context key of the operator settings object (see `shared/settings.ts`). */
export const SETTINGS_CONTEXT_KEY = 'loginConnect';
/** CDK context key that renames the stack, e.g. for a second, throwaway deployment. */
export const STACK_NAME_CONTEXT_KEY = 'stackName';
export const DEFAULT_STACK_NAME = 'LoginConnect';

const REPO_ROOT = path.join(__dirname, '..');

export interface DeploymentConfig {
  readonly stackName: string;
  readonly settings: Settings;
  readonly firstMessages: FirstMessages;
}

/**
 * Reads and validates everything a deployment is configured with, from the CDK context of `scope`
 * and the templates file the settings point at. Throws before any resource or bundle is made,
 * with a message naming the bad field, so `cdk synth` fails early and says why.
 */
export function loadDeploymentConfig(scope: IConstruct, repoRoot = REPO_ROOT): DeploymentConfig {
  const settings = parseSettings(contextObject(scope, SETTINGS_CONTEXT_KEY), SETTINGS_CONTEXT_KEY);

  // resolve, not join: a relative path is taken from the repository root, an absolute one as is.
  const templatesPath = path.resolve(repoRoot, settings.firstMessagesFile);
  let firstMessages: FirstMessages;
  try {
    firstMessages = readFirstMessagesFile(templatesPath);
  } catch (error) {
    throw new Error(
      `${SETTINGS_CONTEXT_KEY}.firstMessagesFile (${settings.firstMessagesFile}): ${(error as Error).message}`,
    );
  }

  const stackName = scope.node.tryGetContext(STACK_NAME_CONTEXT_KEY) ?? DEFAULT_STACK_NAME;
  if (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new Error(
      `${STACK_NAME_CONTEXT_KEY}: must be a CloudFormation stack name, got ${JSON.stringify(stackName)}`,
    );
  }

  return { stackName, settings, firstMessages };
}

/**
 * A context value that should be an object. `cdk -c key=value` passes strings, so a JSON string is
 * parsed; cdk.json passes the object itself.
 */
function contextObject(scope: IConstruct, key: string): unknown {
  const value: unknown = scope.node.tryGetContext(key);
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`${key}: context value is not valid JSON: ${(error as Error).message}`);
  }
}
