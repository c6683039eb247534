// account.totp() never hands a test a code that is about to expire: a code
// with fewer than totpMinSecondsLeft seconds left is traded for the next
// one, after waiting for the period to end. These run on a stand-in for
// the REST client, without a server.

import { test, expect, currentTOTP, totpMinSecondsLeft, type TOTPCode } from '../src/fixture';

/** A client whose answers are codes, in order, and that records the calls it got. */
function clientOf(...answers: TOTPCode[]) {
  const calls: { leaseId: string; app?: string }[] = [];
  return {
    calls,
    totp: async (leaseId: string, app?: string) => {
      calls.push({ leaseId, app });
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      return next;
    },
  };
}

const code = (c: string, validFor: number, next?: string): TOTPCode => ({ code: c, valid_for: validFor, period: 30, digits: 6, next });

test('a code with time left is returned at once', async () => {
  // valid_for is rounded up: a code must say more than the minimum.
  const client = clientOf(code('123456', totpMinSecondsLeft + 1));
  const waits: number[] = [];
  const got = await currentTOTP(client, 'lease-1', 'chirp', async (ms) => void waits.push(ms));
  expect(got).toBe('123456');
  expect(waits).toEqual([]);
  expect(client.calls).toEqual([{ leaseId: 'lease-1', app: 'chirp' }]);
});

test('a code about to expire is traded for the next one, after its period ends', async () => {
  const client = clientOf(code('111111', 1, '222222'));
  const waits: number[] = [];
  const got = await currentTOTP(client, 'lease-1', undefined, async (ms) => void waits.push(ms));
  expect(got).toBe('222222');
  expect(waits).toEqual([1000]);
  expect(client.calls).toHaveLength(1);
});

test('without a next code, the code is asked for again once the period ends', async () => {
  const client = clientOf(code('111111', 1), code('333333', 30));
  const waits: number[] = [];
  const got = await currentTOTP(client, 'lease-1', 'chirp', async (ms) => void waits.push(ms));
  expect(got).toBe('333333');
  expect(waits).toEqual([1000]);
  expect(client.calls).toHaveLength(2);
});
