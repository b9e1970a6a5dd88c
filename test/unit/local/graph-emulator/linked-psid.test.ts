import { HOUR_MS, OTHER_PAGE_ID, OTHER_PAGE_TOKEN, PAGE_ID } from '../../../helpers/factories';
import { DAY_MS, LOGIN, T0, useEmulator } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, update, optin, userMessage, toPsid, post } = useEmulator();

  describe('POST /{version}/me/messages after the first login_id message', () => {
    /** Opts in at T0 and sends the first message; answers the linked PSID. */
    async function firstMessageSent(): Promise<string> {
      optin(LOGIN, PAGE_ID, T0);
      const first = await post(update());
      if (first.status !== 200) throw new Error(`first message refused: ${first.status}`);
      return String(first.body.recipient_id);
    }

    it('makes the recipient_id of a login_id send known: tagged sends pass, UPDATE has no window', async () => {
      // Arrange
      const linked = await firstMessageSent();
      t.clock = T0 + 3 * DAY_MS;

      // Act
      const tagged = await post(toPsid(linked, 'MESSAGE_TAG'));
      const untagged = await post(toPsid(linked));
      const onOtherPage = await post(toPsid(linked, 'MESSAGE_TAG'), OTHER_PAGE_TOKEN);

      // Assert
      expect(tagged.body).toEqual({ recipient_id: linked, message_id: expect.any(String) });
      expect(untagged.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(onOtherPage.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(t.emulator.state().psids).toEqual([{ psid: linked, pageId: PAGE_ID, loginId: LOGIN }]);
    });

    it('refuses an UPDATE to a known PSID with no user message even inside the opt-in 24 h', async () => {
      // Arrange
      const linked = await firstMessageSent();

      // Act
      const toPsidUpdate = await post(toPsid(linked));
      const toLoginUpdate = await post(update());

      // Assert
      expect(toPsidUpdate.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(toLoginUpdate.status).toBe(200);
    });

    it('refuses an UPDATE to the login_id after 24 h unless the linked PSID messaged within 24 h', async () => {
      // Arrange
      const linked = await firstMessageSent();
      t.clock = T0 + 25 * HOUR_MS;

      // Act
      const stale = await post(update());
      userMessage(2 * HOUR_MS, linked);
      const reopened = await post(update());
      const reopenedResponse = await post({ ...update(), messaging_type: 'RESPONSE' });
      t.clock += 23 * HOUR_MS;
      const closedAgain = await post(update());
      const tagged = await post({
        ...update(),
        messaging_type: 'MESSAGE_TAG',
        tag: 'ACCOUNT_UPDATE',
      });

      // Assert
      expect(stale.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(reopened.status).toBe(200);
      expect(reopened.body.recipient_id).toBe(linked);
      expect(reopenedResponse.status).toBe(200);
      expect(closedAgain.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(tagged.status).toBe(200);
      expect(t.emulator.messages({ loginId: LOGIN }).map((m) => m.messagingType)).toEqual([
        'UPDATE',
        'UPDATE',
        'RESPONSE',
        'MESSAGE_TAG',
      ]);
    });

    it('does not re-open the login_id window for a user message from another PSID or Page', async () => {
      // Arrange
      const linked = await firstMessageSent();
      t.clock = T0 + 25 * HOUR_MS;
      userMessage(HOUR_MS);
      userMessage(HOUR_MS, linked, OTHER_PAGE_ID);

      // Act
      const answer = await post(update());

      // Assert
      expect(answer.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
    });

    it('refuses the login_id and its linked PSID alike once either is opted out', async () => {
      // Arrange
      const linked = await firstMessageSent();
      optin('login-2', PAGE_ID, T0);
      const second = await post(update('login-2'));
      const linked2 = String(second.body.recipient_id);
      t.emulator.registerOptout({ loginId: LOGIN });
      t.emulator.registerOptout({ psid: linked2 });

      // Act
      const viaPsid = await post(toPsid(linked, 'MESSAGE_TAG'));
      const viaLogin = await post(update('login-2'));

      // Assert
      expect(viaPsid.body.error).toMatchObject({ code: 551 });
      expect(viaLogin.body.error).toMatchObject({ code: 551 });
    });
  });
});
