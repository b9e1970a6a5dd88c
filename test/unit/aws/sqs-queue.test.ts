import { asciiJson, batchBodies, serializeJob } from '../../../shared/aws/sqs-queue';
import type { EventJob } from '../../../shared/messages';

describe('aws/sqs-queue', () => {
  describe('serializeJob()', () => {
    it('writes non-ASCII as \\u escapes, so SQS accepts emoji and still reads back the same text', () => {
      const job: EventJob = {
        v: 1,
        kind: 'event',
        eventType: 'message',
        channel: 'messaging',
        receivedAt: 1,
        payload: { text: 'Grüße 😀 \u2028' },
      };

      const body = serializeJob(job);

      expect(body).toMatch(/^[\x20-\x7e]*$/);
      expect(body).toContain('\\ud83d\\ude00');
      expect(JSON.parse(body)).toEqual(job);
    });

    it('shrinks an oversized event payload instead of failing the webhook', () => {
      const job: EventJob = {
        v: 1,
        kind: 'event',
        eventType: 'message',
        channel: 'messaging',
        receivedAt: 1,
        payload: { text: 'x'.repeat(300_000) },
      };

      const body = serializeJob(job);

      expect(Buffer.byteLength(body)).toBeLessThan(256 * 1024);
      expect(JSON.parse(body).payload).toMatchObject({ truncated: true });
    });
  });

  describe('batchBodies()', () => {
    it('groups at most 10 bodies and about 240 KiB per batch', () => {
      expect(batchBodies(Array.from({ length: 23 }, () => 'x')).map((b) => b.length)).toEqual([
        10, 10, 3,
      ]);
      expect(
        batchBodies(Array.from({ length: 3 }, () => 'y'.repeat(100 * 1024))).map((b) => b.length),
      ).toEqual([2, 1]);
    });
  });

  describe('asciiJson()', () => {
    it('leaves ASCII JSON as JSON.stringify writes it', () => {
      expect(asciiJson({ a: 'plain "text"\n' })).toBe(JSON.stringify({ a: 'plain "text"\n' }));
    });
  });
});
