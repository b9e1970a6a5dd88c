import {
  highestUsagePercent,
  parseUsageHeaders,
  regainAccessMs,
} from '../../../shared/graph/usage';

const PAGE = '1111111111';
const headers = (h: Record<string, string>) => (name: string) => h[name] ?? null;
const buc = (value: unknown) => ({ 'x-business-use-case-usage': JSON.stringify(value) });

describe('graph/usage', () => {
  describe('parseUsageHeaders()', () => {
    it('reads X-App-Usage percentages', () => {
      expect(
        parseUsageHeaders(
          headers({ 'x-app-usage': '{"call_count":28,"total_time":25,"total_cputime":12}' }),
        ),
      ).toEqual({ app: { callCount: 28, totalTime: 25, totalCputime: 12 } });
    });

    it('reads X-Business-Use-Case-Usage per business object, with the regain estimate in minutes', () => {
      const usage = parseUsageHeaders(
        headers(
          buc({
            [PAGE]: [
              {
                type: 'messenger',
                call_count: 100,
                total_cputime: 3,
                total_time: 4,
                estimated_time_to_regain_access: 12,
              },
              { type: 'pages', call_count: 40 },
            ],
          }),
        ),
      );

      expect(usage).toEqual({
        business: {
          [PAGE]: [
            {
              type: 'messenger',
              callCount: 100,
              totalCputime: 3,
              totalTime: 4,
              regainAccessMinutes: 12,
            },
            { type: 'pages', callCount: 40 },
          ],
        },
      });
    });

    it('is undefined when Graph sent no usage header', () => {
      expect(parseUsageHeaders(headers({}))).toBeUndefined();
    });

    it.each([
      ['not JSON', { 'x-app-usage': '{call_count:' }],
      ['a JSON array', { 'x-app-usage': '[1,2]' }],
      ['negative and non-numeric values', { 'x-app-usage': '{"call_count":-1,"total_time":"x"}' }],
      ['ids that are not Page ids', buc({ 'not-an-id': [{ call_count: 50 }] })],
      ['entries that are not objects', buc({ [PAGE]: [1, 'x', null] })],
      ['a header longer than 16 KB', { 'x-app-usage': `{"call_count":1${' '.repeat(17_000)}}` }],
    ])('leaves out what it cannot read: %s', (_what, h) => {
      expect(parseUsageHeaders(headers(h))).toBeUndefined();
    });

    it('keeps the readable part of a partly malformed header', () => {
      expect(
        parseUsageHeaders(
          headers({
            ...buc({ [PAGE]: [{ call_count: 'lots' }, { call_count: '90' }], x: [] }),
            'x-app-usage': 'garbage',
          }),
        ),
      ).toEqual({ business: { [PAGE]: [{ callCount: 90 }] } });
    });

    it('takes a single object where Graph documents an array', () => {
      expect(parseUsageHeaders(headers(buc({ [PAGE]: { call_count: 5 } })))).toEqual({
        business: { [PAGE]: [{ callCount: 5 }] },
      });
    });
  });

  describe('regainAccessMs()', () => {
    it('is the longest estimate of the Page and the app, in ms', () => {
      const usage = parseUsageHeaders(
        headers({
          ...buc({
            [PAGE]: [
              { type: 'messenger', estimated_time_to_regain_access: 3 },
              { type: 'pages', estimated_time_to_regain_access: 5 },
            ],
            '2222222222': [{ estimated_time_to_regain_access: 60 }],
          }),
        }),
      );

      expect(regainAccessMs(usage, PAGE)).toBe(5 * 60_000);
    });

    it('reads every entry when the header names another object than the Page', () => {
      const usage = parseUsageHeaders(
        headers(buc({ '999': [{ estimated_time_to_regain_access: 2 }] })),
      );

      expect(regainAccessMs(usage, PAGE)).toBe(2 * 60_000);
    });

    it('counts an app estimate too', () => {
      const usage = parseUsageHeaders(
        headers({ 'x-app-usage': '{"call_count":100,"estimated_time_to_regain_access":9}' }),
      );

      expect(regainAccessMs(usage, PAGE)).toBe(9 * 60_000);
    });

    it('is undefined without any estimate, and 0 when Graph says 0', () => {
      expect(regainAccessMs(undefined, PAGE)).toBeUndefined();
      expect(
        regainAccessMs(parseUsageHeaders(headers({ 'x-app-usage': '{"call_count":3}' })), PAGE),
      ).toBeUndefined();
      expect(
        regainAccessMs(
          parseUsageHeaders(headers(buc({ [PAGE]: [{ estimated_time_to_regain_access: 0 }] }))),
          PAGE,
        ),
      ).toBe(0);
    });
  });

  describe('highestUsagePercent()', () => {
    it('is the highest percentage of any limit of the Page or the app', () => {
      const usage = parseUsageHeaders(
        headers({
          ...buc({ [PAGE]: [{ call_count: 20, total_cputime: 70 }] }),
          'x-app-usage': '{"call_count":40}',
        }),
      );

      expect(highestUsagePercent(usage, PAGE)).toBe(70);
      expect(highestUsagePercent(undefined, PAGE)).toBeUndefined();
    });
  });
});
