import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A JSON API Gateway response. */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * A refusal that says which rule refused, in words a developer can act on. `rule` is stable
 * (for code), `message` is for people.
 */
export function refuse(
  statusCode: number,
  rule: string,
  message: string,
  extra: Record<string, unknown> = {},
): APIGatewayProxyStructuredResultV2 {
  return json(statusCode, { error: rule, message, ...extra });
}

/** Parses a JSON request body; undefined when it is not a JSON object. */
export function jsonBody(
  body: string | undefined,
  isBase64Encoded: boolean | undefined,
): Record<string, unknown> | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(
      isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
    );
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
