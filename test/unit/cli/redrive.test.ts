import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { describeMessage, redrive, renderRedrive } from '../../../infra/cli/commands/redrive';
import type { Context } from '../../../infra/cli/context';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const LOGIN = 'a'.repeat(64);
const optinJob = {
  v: 1,
  kind: 'optin',
  pageId: '111',
  loginId: LOGIN,
  optinAt: NOW - 60_000,
  receivedAt: NOW - 59_000,
  source: 'webhook',
};

const sqsMock = mockClient(SQSClient);
let progress: string[];

function context(): Context {
  return {
    // No table: deleted people are not told apart (a note says so), and no secret is read.
    target: { kind: 'explicit', description: 'test', queueUrl: 'q', deadLetterQueueUrl: 'dlq' },
    nowMs: NOW,
    doc: () => {
      throw new Error('no table in this test');
    },
    sqs: () => new SQSClient({ region: 'us-east-1' }),
    progress: (line) => progress.push(line),
  };
}

const message = (id: string, body: unknown) => ({
  MessageId: id,
  ReceiptHandle: `h-${id}`,
  Body: JSON.stringify(body),
});

beforeEach(() => {
  sqsMock.reset();
  progress = [];
  sqsMock.on(GetQueueAttributesCommand).resolves({
    Attributes: { ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '0' },
  });
});

describe('cli/commands/redrive', () => {
  describe('describeMessage()', () => {
    it('reads the kind and identifiers of each job with the sender schema, never its payload', () => {
      // Act
      const optin = describeMessage({
        MessageId: 'a',
        Body: JSON.stringify(optinJob),
        Attributes: { SentTimestamp: String(NOW - 60_000), ApproximateReceiveCount: '3' },
      });
      const event = describeMessage({
        MessageId: 'b',
        Body: JSON.stringify({
          v: 1,
          kind: 'event',
          eventType: 'message',
          channel: 'messaging',
          receivedAt: NOW,
          payload: { text: 'hi' },
        }),
      });
      const followup = describeMessage({
        MessageId: 'c',
        Body: JSON.stringify({ v: 1, kind: 'followup', id: 'msg_1' }),
      });
      const sent = describeMessage({
        MessageId: 's',
        Body: JSON.stringify({
          v: 1,
          kind: 'sent',
          target: 'followup',
          id: 'msg_2',
          pageId: '111',
          owner: 'o',
          sentAt: NOW,
        }),
      });

      // Assert
      expect(optin).toEqual({
        messageId: 'a',
        kind: 'optin',
        loginId: LOGIN,
        pageId: '111',
        enqueuedAt: new Date(NOW - 60_000).toISOString(),
        receiveCount: 3,
      });
      expect(event).toEqual({ messageId: 'b', kind: 'event', eventType: 'message' });
      expect(followup).toEqual({ messageId: 'c', kind: 'followup', followupId: 'msg_1' });
      expect(sent).toEqual({ messageId: 's', kind: 'sent', followupId: 'msg_2', pageId: '111' });
    });

    it('tells a rejected opt-in from an opt-in to send', () => {
      const rejected = describeMessage({
        MessageId: 'r',
        Body: JSON.stringify({
          v: 1,
          kind: 'rejected_optin',
          reason: 'timestamp: must be a number',
          channel: 'messaging',
          loginId: 'L',
          receivedAt: NOW,
          item: { sha256: 'f'.repeat(64), bytes: 10, excerpt: '{}' },
        }),
      });

      expect(rejected).toEqual({ messageId: 'r', kind: 'rejected_optin', loginId: 'L' });
    });

    it('calls unreadable what the sender would refuse, and says why without the values', () => {
      expect(describeMessage({ MessageId: 'd', Body: 'not json' })).toEqual({
        messageId: 'd',
        kind: 'unreadable',
        problem: 'body is not JSON',
      });
      expect(describeMessage({ MessageId: 'e', Body: '"text"' }).kind).toBe('unreadable');
      expect(describeMessage({ MessageId: 'f', Body: '{"kind":"other"}' }).kind).toBe('unreadable');
      // An opt-in job without its times is no job the sender would run.
      const broken = describeMessage({
        MessageId: 'g',
        Body: JSON.stringify({ ...optinJob, optinAt: 'yesterday' }),
      });
      expect(broken).toMatchObject({
        kind: 'unreadable',
        problem: expect.stringMatching(/^optinAt: /),
      });
      expect(broken.problem).not.toContain('yesterday');
    });
  });

  describe('redrive() --dry-run (peek)', () => {
    it('looks at every message, puts each back at once, and moves none', async () => {
      // Arrange
      sqsMock
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('a', optinJob), message('b', 'junk')] })
        .resolves({ Messages: [] });

      // Act
      const { view } = await redrive(context(), { dryRun: true });

      // Assert
      expect(view).toMatchObject({ dryRun: true, count: 2, approximateCount: 2 });
      expect(view.kinds).toMatchObject({ optin: 1, unreadable: 1 });
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
      expect(sqsMock).not.toHaveReceivedCommand(DeleteMessageBatchCommand);
      expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityBatchCommand, {
        QueueUrl: 'dlq',
        Entries: [
          { Id: '0', ReceiptHandle: 'h-a', VisibilityTimeout: 0 },
          { Id: '1', ReceiptHandle: 'h-b', VisibilityTimeout: 0 },
        ],
      });
      expect(progress).toEqual(['looked at 2 messages']);
    });

    it('puts back what it holds when a receive fails', async () => {
      sqsMock
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('a', optinJob)] })
        .rejects(new Error('network down'));

      await expect(redrive(context(), { dryRun: true })).rejects.toThrow('network down');
      expect(sqsMock).toHaveReceivedCommandTimes(ChangeMessageVisibilityBatchCommand, 1);
    });
  });

  describe('redrive() (move)', () => {
    it('deletes from the DLQ only what the send queue accepted', async () => {
      // Arrange
      sqsMock
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('a', optinJob), message('b', optinJob)] })
        .resolves({ Messages: [] });
      sqsMock.on(SendMessageBatchCommand).resolves({
        Successful: [{ Id: '0', MessageId: 'n', MD5OfMessageBody: '' }],
        Failed: [{ Id: '1', Code: 'Throttled', SenderFault: false }],
      });
      sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }] });

      // Act
      const { view } = await redrive(context(), { dryRun: false });

      // Assert
      expect(view).toMatchObject({ count: 1, failed: 1, skipped: 0 });
      expect(view.note).toMatch(/no table/);
      expect(view.failures).toEqual([{ messageId: 'b', code: 'Throttled' }]);
      expect(sqsMock).toHaveReceivedCommandWith(DeleteMessageBatchCommand, {
        QueueUrl: 'dlq',
        Entries: [{ Id: '0', ReceiptHandle: 'h-a' }],
      });
      expect(progress).toEqual(['moved 1 message, 1 could not be sent']);
    });

    it('stops at --max', async () => {
      sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [message('a', optinJob)] });
      sqsMock
        .on(SendMessageBatchCommand)
        .resolves({ Successful: [{ Id: '0', MessageId: 'n', MD5OfMessageBody: '' }] });
      sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }] });

      const { view } = await redrive(context(), { dryRun: false, max: 3 });

      expect(view.count).toBe(3);
      expect(sqsMock).toHaveReceivedCommandTimes(ReceiveMessageCommand, 3);
    });
  });

  describe('renderRedrive()', () => {
    it('shows a dry run by kind and one by one, and says nothing moved', () => {
      const text = renderRedrive(
        {
          dryRun: true,
          deadLetterQueueUrl: 'dlq',
          queueUrl: 'q',
          approximateCount: 2,
          count: 2,
          failed: 0,
          skipped: 0,
          kinds: {
            optin: 1,
            event: 0,
            followup: 1,
            unreadable: 0,
            rejected_optin: 0,
            sent: 0,
            erase: 0,
          },
          messages: [
            { messageId: 'a', kind: 'optin', loginId: 'L', pageId: '111' },
            { messageId: 'c', kind: 'followup', followupId: 'msg_1' },
          ],
          failures: [],
        },
        NOW,
      );

      expect(text).toContain('Dry run: would move 2 messages; nothing was moved.');
      expect(text).toContain('kind       count\nopt-in         1\nfollow-up      1');
      expect(text).toMatch(/a +opt-in +login_id L, Page 111/);
    });
  });
});
