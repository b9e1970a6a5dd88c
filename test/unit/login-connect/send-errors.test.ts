import {
  classifySendFailure,
  type FailureKind,
  isRateLimit,
  outcomeUnknown,
  type PagePauseReason,
  pageProblem,
  type SendFailure,
} from '../../../shared/login-connect/send-errors';

const graph = (httpStatus: number, code?: number, subcode?: number): SendFailure => ({
  httpStatus,
  ...(code !== undefined ? { code } : {}),
  ...(subcode !== undefined ? { subcode } : {}),
  message: 'x',
});

describe('login-connect/send-errors', () => {
  describe('classifySendFailure()', () => {
    it.each<[string, SendFailure, FailureKind]>([
      ['HTTP 500 without a code', graph(500), 'transient'],
      ['HTTP 503 with code 2', graph(503, 2), 'transient'],
      ['HTTP 429', graph(429), 'transient'],
      ['a timeout', { network: 'timeout', message: 't' }, 'transient'],
      ['a refused connection', { network: 'error', message: 'ECONNREFUSED' }, 'transient'],
      ['code 1 (unknown)', graph(400, 1), 'transient'],
      ['code 4 (app rate limit)', graph(400, 4), 'transient'],
      ['code 17 (user rate limit)', graph(400, 17), 'transient'],
      ['code 32 (page rate limit)', graph(400, 32), 'transient'],
      ['code 613 (send rate limit)', graph(400, 613), 'transient'],
      ['code 1200 (temporary send failure)', graph(400, 1200), 'transient'],
      ['code 80001 (page BUC limit)', graph(400, 80001), 'transient'],
      ['code 80006 (Messenger BUC limit)', graph(400, 80006), 'transient'],
      ['10/2018278 (outside window)', graph(400, 10, 2018278), 'window_closed'],
      ['551 (not available)', graph(400, 551), 'opted_out'],
      ['551 even on HTTP 500', graph(500, 551), 'opted_out'],
      ['200/1545041 (not receiving)', graph(400, 200, 1545041), 'opted_out'],
      ['10/2018108 (not receiving)', graph(400, 10, 2018108), 'opted_out'],
      ['190 (invalid token)', graph(400, 190), 'token_invalid'],
      ['190/463 (expired token)', graph(400, 190, 463), 'token_invalid'],
      ['10/1893063 (Page restricted)', graph(400, 10, 1893063), 'page_restricted'],
      ['2/2018344 (terms not accepted)', graph(400, 2, 2018344), 'permanent'],
      ['100 (invalid parameter)', graph(400, 100), 'permanent'],
      ['10/2018065 (needs permission)', graph(400, 10, 2018065), 'permanent'],
      ['230 (missing pages_messaging)', graph(403, 230), 'permanent'],
      ['HTTP 400 without a body', graph(400), 'permanent'],
    ])('classifies %s', (_name, failure, kind) => {
      expect(classifySendFailure(failure)).toBe(kind);
    });
  });

  describe('pageProblem()', () => {
    it.each<[string, SendFailure, PagePauseReason | undefined]>([
      ['10/1893063', graph(400, 10, 1893063), 'page_restricted'],
      ['190', graph(400, 190, 460), 'token_invalid'],
      ['code 4', graph(400, 4), 'rate_limited'],
      ['code 4 / 2018022', graph(400, 4, 2018022), 'rate_limited'],
      ['code 17', graph(400, 17), 'rate_limited'],
      ['code 32', graph(400, 32), 'rate_limited'],
      ['code 613', graph(400, 613), 'rate_limited'],
      ['code 80001', graph(400, 80001), 'rate_limited'],
      ['code 80006', graph(400, 80006), 'rate_limited'],
      ['HTTP 429 without a code', graph(429), 'rate_limited'],
      ['HTTP 500', graph(500, 2), undefined],
      ['code 1200 (temporary send failure)', graph(400, 1200), undefined],
      ['a timeout', { network: 'timeout', message: 't' }, undefined],
      ['10/2018278 (window)', graph(400, 10, 2018278), undefined],
      ['551', graph(400, 551), undefined],
      ['100', graph(400, 100), undefined],
    ])('%s → %s', (_name, failure, reason) => {
      expect(pageProblem(failure)).toBe(reason);
    });

    it('does not take a network failure with a status for a rate limit', () => {
      expect(isRateLimit({ network: 'error', message: 'reset' })).toBe(false);
      expect(isRateLimit({ network: 'error', httpStatus: 429, message: 'body lost' })).toBe(true);
    });
  });

  describe('outcomeUnknown()', () => {
    it.each<[string, SendFailure, boolean]>([
      ['a timeout', { network: 'timeout', message: 'no answer' }, true],
      ['a reset mid-request', { network: 'error', networkCode: 'ECONNRESET', message: 'x' }, true],
      ['a socket error without a code', { network: 'error', message: 'x' }, true],
      [
        'a refused connection',
        { network: 'error', networkCode: 'ECONNREFUSED', message: 'x' },
        false,
      ],
      ['a DNS failure', { network: 'error', networkCode: 'ENOTFOUND', message: 'x' }, false],
      ["an edge 502 without Graph's body", { httpStatus: 502, message: 'HTTP 502' }, true],
      ["an edge 504 without Graph's body", { httpStatus: 504, message: 'HTTP 504' }, true],
      ["a 502 with Graph's error", { httpStatus: 502, code: 2, message: 'x' }, false],
      ['a Graph 500 code 1', { httpStatus: 500, code: 1, message: 'x' }, false],
      [
        'an error answer whose body was lost',
        { network: 'error', httpStatus: 400, message: 'x' },
        false,
      ],
    ])('says %s leaves the outcome unknown: %s', (_name, failure, unknown) => {
      expect(outcomeUnknown(failure)).toBe(unknown);
    });
  });
});
