/**
 * Secrets out of error text. Graph echoes tokens in its messages (`Malformed access token EAA…`),
 * and libraries quote what they failed to read. Every error text that is stored, returned, shown
 * by `lcm` or logged passes through here first.
 */

const REDACTED = '[redacted]';

/** Shapes of secrets, whatever their value. */
const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // Facebook access tokens (Page, user, system user) all start with EAA.
  [/\bEAA[A-Za-z0-9_-]{6,}/g, `EAA…${REDACTED}`],
  // An app access token: `<app id>|<app secret or client token>`.
  [/\b(\d{6,})\|[A-Za-z0-9_-]{8,}/g, `$1|${REDACTED}`],
  // `Bearer <key>`, as in an Authorization header.
  [/\b(Bearer\s+)[^\s"',;]{8,}/gi, `$1${REDACTED}`],
  // `access_token=…`, `"appsecret_proof": "…"`, `client_token: …` and the like.
  [
    /\b((?:access|client|user|page)_?token|app_?secret(?:_proof)?|api_?key|secret|password)(["']?\s*[:=]\s*["']?)[^\s"'&,;)]{4,}/gi,
    `$1$2${REDACTED}`,
  ],
];

/** Known values shorter than this are not searched for (they would match ordinary words). */
const MIN_KNOWN_LENGTH = 8;

/**
 * `text` with every known secret value and everything shaped like a token replaced by
 * `[redacted]`. `known` are the values at hand (the token just used, the App Secret).
 */
export function redactSecrets(text: string, known: ReadonlyArray<string | undefined> = []): string {
  let out = text;
  for (const value of known) {
    if (value !== undefined && value.length >= MIN_KNOWN_LENGTH)
      out = out.split(value).join(REDACTED);
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
