import { matchRoute } from '../../../infra/local/api-server';
import { apiKeysOf, isAuthorized } from '../../../shared/api/auth';

const KEY = 'k'.repeat(24);

describe('api/auth', () => {
  describe('apiKeysOf()', () => {
    it('takes keys from a list or a named object, and drops keys too short to be safe', () => {
      expect(apiKeysOf([KEY, 'short'])).toEqual([KEY]);
      expect(apiKeysOf({ backend: KEY, old: 'x'.repeat(23) })).toEqual([KEY]);
      expect(apiKeysOf(undefined)).toEqual([]);
    });
  });

  describe('isAuthorized()', () => {
    it('accepts a bearer key from the list, in any header case', () => {
      expect(isAuthorized({ authorization: `Bearer ${KEY}` }, [KEY])).toBe(true);
      expect(isAuthorized({ Authorization: `bearer ${KEY}` }, ['other'.repeat(6), KEY])).toBe(true);
    });

    it.each([
      ['no header', {}],
      ['another key', { authorization: `Bearer ${'z'.repeat(24)}` }],
      ['another scheme', { authorization: `Basic ${KEY}` }],
      ['an empty bearer', { authorization: 'Bearer ' }],
    ])('refuses %s', (_name, headers) => {
      expect(isAuthorized(headers, [KEY])).toBe(false);
    });

    it('refuses everything when no key is configured', () => {
      expect(isAuthorized({ authorization: 'Bearer ' }, [])).toBe(false);
    });
  });
});

describe('local api-server', () => {
  describe('matchRoute()', () => {
    const handler = async () => ({ statusCode: 200 });
    const routes = { 'GET /messages/{id}': handler, 'POST /messages': handler };

    it('matches path parameters as API Gateway does', () => {
      expect(matchRoute(routes, 'GET', '/messages/abc%2Edef')).toMatchObject({
        routeKey: 'GET /messages/{id}',
        pathParameters: { id: 'abc.def' },
      });
      expect(matchRoute(routes, 'POST', '/messages')).toMatchObject({
        routeKey: 'POST /messages',
        pathParameters: {},
      });
    });

    it('matches neither another method nor a longer path', () => {
      expect(matchRoute(routes, 'DELETE', '/messages/abc')).toBeUndefined();
      expect(matchRoute(routes, 'GET', '/messages/abc/def')).toBeUndefined();
    });
  });
});
