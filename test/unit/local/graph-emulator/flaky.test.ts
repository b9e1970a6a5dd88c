import { PAGE_TOKEN } from '../../../helpers/factories';
import { sleep, useEmulator } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, update, send, optin, call } = useEmulator();

  describe('flaky', () => {
    /** `n` sends to registered opt-ins; the HTTP status of each (499 when the client gave up). */
    async function statuses(n: number, timeoutMs = 2000): Promise<number[]> {
      const out: number[] = [];
      for (let i = 0; i < n; i += 1) {
        const loginId = `flaky-${i}`;
        optin(loginId);
        const outcome = await send(update(loginId), PAGE_TOKEN, timeoutMs);
        out.push(outcome.ok ? 200 : (outcome.failure.httpStatus ?? 499));
      }
      return out;
    }

    it('answers about `rate` of the sends with its faults, the rest normally', async () => {
      // Arrange
      t.emulator.setFlaky({
        rate: 0.3,
        seed: 7,
        faults: [{ kind: 'server_error' }, { kind: 'rate_limit', weight: 2 }],
      });

      // Act
      const seen = await statuses(400);

      // Assert: 120 expected; 3 standard deviations of a binomial(400, 0.3) is ±28.
      const faulted = seen.filter((status) => status !== 200);
      expect(faulted.length).toBeGreaterThan(92);
      expect(faulted.length).toBeLessThan(148);
      const rateLimited = faulted.filter((status) => status === 400).length;
      expect(rateLimited / faulted.length).toBeGreaterThan(0.5);
      expect(t.emulator.messages()).toHaveLength(400 - faulted.length);
      const flagged = t.emulator.requests().filter((r) => r.flaky);
      expect(flagged).toHaveLength(faulted.length);
      expect(new Set(flagged.map((r) => r.error?.code))).toEqual(new Set([2, 613]));
    });

    it('draws the same answers again from the same seed', async () => {
      // Arrange
      const run = async () => {
        t.emulator.reset();
        t.emulator.setFlaky({ rate: 0.5, seed: 42, faults: [{ kind: 'server_error' }] });
        return statuses(40);
      };

      // Act
      const first = await run();
      const second = await run();

      // Assert
      expect(second).toEqual(first);
      expect(first).toContain(500);
      expect(first).toContain(200);
    });

    it("defaults to the issue's mix: 500 code 1 or 2, 613, and a 25 s hang", () => {
      // Act
      const setting = t.emulator.setFlaky({ rate: 0.3 });

      // Assert
      expect(setting.faults).toEqual([
        expect.objectContaining({
          weight: 1,
          delayMs: 0,
          reply: expect.objectContaining({
            status: 500,
            error: expect.objectContaining({ code: 1 }),
          }),
        }),
        expect.objectContaining({
          weight: 1,
          delayMs: 0,
          reply: expect.objectContaining({
            status: 500,
            error: expect.objectContaining({ code: 2 }),
          }),
        }),
        expect.objectContaining({
          weight: 1,
          delayMs: 0,
          reply: expect.objectContaining({
            status: 400,
            error: expect.objectContaining({ code: 613 }),
          }),
        }),
        expect.objectContaining({
          kind: 'hang',
          weight: 1,
          delayMs: 25_000,
          reply: expect.objectContaining({ status: 500 }),
        }),
      ]);
      expect(setting.seed).toEqual(expect.any(Number));
      expect(t.emulator.state().flaky).toEqual(setting);
    });

    it('lets queued faults answer first, without drawing', async () => {
      // Arrange
      t.emulator.setFlaky({ rate: 1, faults: [{ kind: 'rate_limit' }] });
      t.emulator.addFault({ kind: 'server_error' });

      // Act
      const seen = await statuses(2);

      // Assert
      expect(seen).toEqual([500, 400]);
      expect(t.emulator.requests().map((r) => [r.faultId !== undefined, r.flaky ?? false])).toEqual(
        [
          [true, false],
          [false, true],
        ],
      );
    });

    it('is turned off by DELETE /_emulator/flaky and by reset', async () => {
      // Arrange
      const set = await call('/_emulator/flaky', { json: { rate: 1 } });

      // Act
      const cleared = await call('/_emulator/flaky', { method: 'DELETE' });
      const again = await call('/_emulator/flaky', { method: 'DELETE' });
      t.emulator.setFlaky({ rate: 1 });
      t.emulator.reset();

      // Assert
      expect(set.status).toBe(201);
      expect(set.body).toMatchObject({ rate: 1 });
      expect(cleared.body).toEqual({ cleared: true });
      expect(again.body).toEqual({ cleared: false });
      expect(t.emulator.state().flaky).toBeNull();
      expect(await statuses(3)).toEqual([200, 200, 200]);
    });

    it('refuses a rate outside 0 to 1 with 400', async () => {
      expect((await call('/_emulator/flaky', { json: { rate: 1.5 } })).status).toBe(400);
      expect((await call('/_emulator/flaky', { json: { rate: 0.2, faults: [] } })).status).toBe(
        400,
      );
    });

    it('hangs, then answers 500 and delivers nothing; a client that gave up gets nothing either', async () => {
      // Arrange
      optin();
      t.emulator.addFault({ kind: 'hang', delayMs: 150, times: 2 });

      // Act
      const waited = await send(update(), PAGE_TOKEN, 2000);
      const gaveUp = await send(update(), PAGE_TOKEN, 50);
      await sleep(200);

      // Assert
      expect(waited).toMatchObject({ ok: false, failure: { httpStatus: 500, code: 2 } });
      expect(gaveUp).toMatchObject({ ok: false, failure: { network: 'timeout' } });
      expect(t.emulator.messages()).toEqual([]);
    });
  });
});
