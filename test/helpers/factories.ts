import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export { lambdaContext } from '../../infra/local/lambda-context';

import type { OptinJob } from '../../shared/messages';
import { signatureFor } from '../../shared/webhook/signature';

export const APP_SECRET = 'test-app-secret';
export const VERIFY_TOKEN = 'test-verify-token';
export const PAGE_ID = '1111111111';
export const OTHER_PAGE_ID = '2222222222';
export const PAGE_TOKEN = 'EAAB-page-token-1111';
export const API_KEY = 'test-api-key-0123456789abcdef';
export const OTHER_PAGE_TOKEN = 'EAAB-page-token-2222';

export const HOUR_MS = 60 * 60 * 1000;

/** The secret document as an operator would fill it in. */
export function secretDocument(overrides: Record<string, unknown> = {}) {
  return {
    appSecret: APP_SECRET,
    verifyToken: VERIFY_TOKEN,
    pages: {
      [PAGE_ID]: { accessToken: PAGE_TOKEN },
      [OTHER_PAGE_ID]: { accessToken: OTHER_PAGE_TOKEN },
    },
    apiKeys: { test: API_KEY },
    ...overrides,
  };
}

export function optinJob(overrides: Partial<OptinJob> = {}): OptinJob {
  const now = Date.now();
  return {
    v: 1,
    kind: 'optin',
    pageId: PAGE_ID,
    loginId: 'login-1',
    optinAt: now,
    receivedAt: now,
    source: 'webhook',
    ...overrides,
  };
}

/** One `messaging[]` item of a Login Connect opt-in, as the docs show it. */
export function optinItem(args: { pageId?: string; loginId: string; timestamp?: number }) {
  return {
    recipient: { id: args.pageId ?? PAGE_ID },
    timestamp: args.timestamp ?? Date.now(),
    optin: { login_id: args.loginId },
  };
}

export function webhookBody(
  entries: Array<{ pageId?: string; messaging?: unknown[]; standby?: unknown[] }>,
) {
  return {
    object: 'page',
    entry: entries.map((entry) => ({
      id: entry.pageId ?? PAGE_ID,
      time: Date.now(),
      ...(entry.messaging ? { messaging: entry.messaging } : {}),
      ...(entry.standby ? { standby: entry.standby } : {}),
    })),
  };
}

export function apiGatewayEvent(args: {
  method: 'GET' | 'POST' | 'PUT';
  body?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  isBase64Encoded?: boolean;
}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${args.method} /webhook`,
    rawPath: '/webhook',
    rawQueryString: new URLSearchParams(args.query ?? {}).toString(),
    headers: args.headers ?? {},
    ...(args.query ? { queryStringParameters: args.query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'example.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'example',
      http: {
        method: args.method,
        path: '/webhook',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'facebookexternalua',
      },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: `${args.method} /webhook`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(args.body !== undefined ? { body: args.body } : {}),
    isBase64Encoded: args.isBase64Encoded ?? false,
  };
}

/** A POST as Facebook sends it: the raw body signed with the App Secret. */
export function signedPost(rawBody: string, appSecret = APP_SECRET): APIGatewayProxyEventV2 {
  return apiGatewayEvent({
    method: 'POST',
    body: rawBody,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signatureFor(rawBody, appSecret),
    },
  });
}

let recordCounter = 0;
export function sqsRecord(body: string, overrides: Partial<SQSRecord> = {}): SQSRecord {
  recordCounter += 1;
  return {
    messageId: `msg-${recordCounter}`,
    receiptHandle: `rh-${recordCounter}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'sender',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:queue',
    awsRegion: 'us-east-1',
    ...overrides,
  };
}

/** Makes an `aws-sdk-client-mock` SQS stub accept every SendMessageBatch entry. */
export function acceptAllBatches(sqsMock: AwsClientStub<SQSClient>): void {
  sqsMock
    .on(SendMessageBatchCommand)
    .callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
      Successful: input.Entries.map((e) => ({
        Id: e.Id,
        MessageId: `sqs-${e.Id}`,
        MD5OfMessageBody: '',
      })),
      Failed: [],
    }));
}

let idCounter = 0;
/** A fresh id, `prefix` then digits, unique within a test run (digits keep it a valid ASID/PSID). */
export function uniqueId(prefix: string): string {
  idCounter += 1;
  return `${prefix}${Date.now()}${idCounter}`;
}
