import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A plain-text API Gateway response. Error bodies say what is wrong, never echo internals. */
export function text(statusCode: number, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}
