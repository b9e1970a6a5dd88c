import { readFile } from 'node:fs/promises';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DEFAULT_SETTINGS } from './defaults';
import { ENV, type Env, intFromEnv, requireEnv } from './env';
import { formatIssues } from './validation';
import * as z from './zod';

/**
 * The secret document, the same JSON in Secrets Manager and in a local file. Its field names are
 * part of our public interface. Extra keys are kept, for later versions and the operator's notes.
 */
export const AppSecretsSchema = z.looseObject({
  /** The Messenger app's App Secret: webhook signatures and `appsecret_proof`. */
  appSecret: z.string(),
  /** The Verify Token typed into the webhook settings. */
  verifyToken: z.string(),
  /** Page access tokens (with `pages_messaging`) by Page id. */
  pages: z._default(
    z.record(z.string(), z.looseObject({ accessToken: z.string().check(z.minLength(1)) })),
    {},
  ),
  /**
   * Bearer keys for the business's own API calls (`/logins`, `/optouts`, `/messages`): a list, or
   * an object naming each key (`{ "backend": "…" }`) so one can be rotated at a time. Keys shorter
   * than 24 characters are ignored.
   */
  apiKeys: z.optional(z.union([z.array(z.string()), z.record(z.string(), z.string())])),
  /**
   * The Login app: `appId` and `clientToken` derive each person's `login_id` (login events, data
   * deletion, opt-outs by ASID). `appSecret`, in the two-app setup (Login app ≠ Messenger app),
   * verifies the data deletion callback, which Facebook signs with the Login app's secret.
   */
  loginApp: z.optional(
    z.looseObject({
      appId: z.string().check(z.minLength(1)),
      clientToken: z.string().check(z.minLength(1)),
      appSecret: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
});

export type AppSecrets = z.infer<typeof AppSecretsSchema>;

/** Something that returns the current secret document, cached for a while. */
export type SecretsSource = () => Promise<AppSecrets>;

export class SecretConfigError extends Error {
  override name = 'SecretConfigError';
}

export function parseAppSecrets(input: unknown, where: string): AppSecrets {
  const result = AppSecretsSchema.safeParse(input);
  if (!result.success) {
    throw new SecretConfigError(
      `The secret ${where} does not have the expected shape:\n${formatIssues('', result.error.issues)}`,
    );
  }
  return result.data;
}

/**
 * Secrets Manager (through Powertools, which caches for `maxAgeSeconds`) when `SECRET_ARN` is set;
 * a JSON file when `LCM_SECRETS_FILE` is set (local mode; re-read after the same max age).
 */
export function secretsSourceFromEnv(env: Env): SecretsSource {
  const maxAge = intFromEnv(env, ENV.secretsMaxAgeSeconds, DEFAULT_SETTINGS.secretsMaxAgeSeconds);
  const file = env[ENV.secretsFile];
  if (file !== undefined && file !== '') return fileSecretsSource(file, maxAge);
  const arn = requireEnv(env, ENV.secretArn);
  const provider = new SecretsProvider();
  return async () => {
    let raw: unknown;
    try {
      raw = await provider.get(arn, { maxAge, transform: 'json' });
    } catch (error) {
      // Powertools quotes the JSON parser's message, which quotes the secret: say only the kind.
      if ((error as { name?: unknown } | null)?.name === 'TransformParameterError')
        throw new SecretConfigError(`The secret ${arn} is not valid JSON`);
      throw error;
    }
    return parseAppSecrets(raw, arn);
  };
}

/**
 * What kind of error reading a secret document was, without its message: a JSON parser's message
 * quotes the text it failed on (`Unexpected token 'E', "EAAB…" is not valid JSON`), which is the
 * secret itself.
 */
export function secretReadErrorKind(error: unknown): string {
  if (error instanceof SyntaxError) return 'it is not valid JSON';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^\w{1,60}$/.test(name) ? name : 'unreadable';
}

export function fileSecretsSource(path: string, maxAgeSeconds: number): SecretsSource {
  let cached: { value: AppSecrets; at: number } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < maxAgeSeconds * 1000) return cached.value;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new SecretConfigError(
        `Cannot read the secret file ${path}: ${secretReadErrorKind(error)}`,
      );
    }
    cached = { value: parseAppSecrets(raw, path), at: Date.now() };
    return cached.value;
  };
}
