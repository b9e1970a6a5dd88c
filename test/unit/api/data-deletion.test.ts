import { deleteUserData, derivedLoginIds } from '../../../shared/api/data-deletion';
import { signRequest } from '../../../shared/facebook/signed-request';
import { loginIdFor } from '../../../shared/login-connect/login-id';
import { tombstoneId } from '../../../shared/login-connect/tombstone';
import { type AppSecrets, parseAppSecrets } from '../../../shared/secrets';
import type { Erasure, PersonStore } from '../../../shared/store/person-store';

const NOW = 1_795_000_000_000;
const LOGIN_APP = { appId: '555', clientToken: 'client-token', appSecret: 'login-app-secret' };
const secrets = (overrides: Partial<AppSecrets> = {}) =>
  parseAppSecrets(
    {
      appSecret: 'messenger-app-secret',
      verifyToken: 'v',
      pages: { '111': { accessToken: 'a' }, '222': { accessToken: 'b' } },
      loginApp: LOGIN_APP,
      ...overrides,
    },
    'test',
  );

function fakePeople(erasure: Erasure) {
  const calls: string[] = [];
  const people = {
    bury: jest.fn(async () => {
      calls.push('bury');
    }),
    erase: jest.fn(async () => {
      calls.push('erase');
      return erasure;
    }),
    recordDeletion: jest.fn(async () => {}),
  } as unknown as jest.Mocked<PersonStore>;
  return { people, calls };
}
const found: Erasure = {
  ids: [{ kind: 'asid', id: '42' }],
  deleted: { optin: 1 },
};
const request = (secret: string) =>
  signRequest({ algorithm: 'HMAC-SHA256', issued_at: NOW / 1000, user_id: '42' }, secret);

describe('api/data-deletion', () => {
  describe('derivedLoginIds()', () => {
    it('derives the login_id of every configured Page with the Login app', () => {
      expect(derivedLoginIds('42', secrets())).toEqual(
        ['111', '222'].map((pageId) => ({
          kind: 'login',
          id: loginIdFor({ asid: '42', pageId, ...LOGIN_APP }),
        })),
      );
    });

    it('derives nothing without a Login app', () => {
      expect(derivedLoginIds('42', secrets({ loginApp: undefined }))).toEqual([]);
    });
  });

  describe('deleteUserData()', () => {
    it("verifies with the Login app's secret in the two-app setup, not the Messenger app's", async () => {
      const { people } = fakePeople(found);

      const withLoginSecret = await deleteUserData(
        request(LOGIN_APP.appSecret),
        { secrets: secrets(), people },
        NOW,
      );
      const withMessengerSecret = await deleteUserData(
        request('messenger-app-secret'),
        { secrets: secrets(), people },
        NOW,
      );

      expect(withLoginSecret).toMatchObject({ ok: true, status: 'completed' });
      expect(withMessengerSecret).toMatchObject({ ok: false });
    });

    it("verifies with the Messenger app's secret when the Login app has none of its own", async () => {
      const { people } = fakePeople(found);
      const single = secrets({ loginApp: { appId: '555', clientToken: 'client-token' } });

      const result = await deleteUserData(
        request('messenger-app-secret'),
        { secrets: single, people },
        NOW,
      );

      expect(result).toMatchObject({ ok: true });
    });

    it('tombstones the ASID and every derived login_id before it erases anything', async () => {
      const { people, calls } = fakePeople(found);
      const s = secrets();

      await deleteUserData(request(LOGIN_APP.appSecret), { secrets: s, people }, NOW);

      expect(calls[0]).toBe('bury');
      expect(calls[1]).toBe('erase');
      const hashes = (people.bury.mock.calls[0] as unknown as [string[]])[0];
      expect(hashes).toEqual([
        tombstoneId({ kind: 'asid', id: '42' }, s),
        ...derivedLoginIds('42', s).map((id) => tombstoneId(id, s)),
      ]);
      expect(hashes.join()).not.toContain('42');
    });

    it.each([
      ['not_found when nothing was stored', { ...found, deleted: {} }, secrets(), 'not_found'],
      ['partial without a Login app', found, secrets({ loginApp: undefined }), 'partial'],
    ] as Array<[string, Erasure, AppSecrets, string]>)('says %s', async (_, erasure, s, status) => {
      const { people } = fakePeople(erasure);

      const result = await deleteUserData(
        request(s.loginApp?.appSecret ?? s.appSecret),
        { secrets: s, people },
        NOW,
      );

      expect(result).toMatchObject({ ok: true, status });
    });
  });
});
