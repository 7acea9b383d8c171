/** When the delivery runner tries a failed delivery again, and when it gives up. */
import { MAX_RETRY_AFTER_MS, nextAttempt, type RetryLimits } from '../../../src/delivery/retry-budget';

const limits = (over: Partial<RetryLimits> = {}): RetryLimits => ({
  maxDurationMs: 120_000,
  backoff: { baseMs: 200, maxMs: 10_000 },
  ...over,
});

/** The wait, or fail the test naming why there is none. */
function wait(next: ReturnType<typeof nextAttempt>): number {
  if (!('retryInMs' in next)) throw new Error(`gave up: ${next.giveUp}`);
  return next.retryInMs;
}

test('the wait doubles from the first backoff up to retry_max_backoff (jitter keeps the upper quarter)', () => {
  const l = limits();
  expect(wait(nextAttempt(l, 1, 0))).toBeGreaterThanOrEqual(150);
  expect(wait(nextAttempt(l, 1, 0))).toBeLessThanOrEqual(200);
  expect(wait(nextAttempt(l, 3, 1000))).toBeGreaterThanOrEqual(600);
  expect(wait(nextAttempt(l, 3, 1000))).toBeLessThanOrEqual(800);
  for (const attempt of [7, 20, 1000]) {
    const w = wait(nextAttempt(l, attempt, 5000));
    expect(w).toBeGreaterThanOrEqual(7500);
    expect(w).toBeLessThanOrEqual(10_000);
  }
});

test('without retries set, only the time budget ends the retries, whatever the attempt count', () => {
  expect(wait(nextAttempt(limits(), 500, 119_000))).toBeGreaterThan(0);
  expect(nextAttempt(limits(), 2, 120_000)).toEqual({ giveUp: 'retry_max_duration' });
  expect(nextAttempt(limits(), 2, 130_000)).toEqual({ giveUp: 'retry_max_duration' });
});

test('an explicit retries caps the attempts too: whichever ends first', () => {
  const l = limits({ maxRetries: 3 });
  expect(wait(nextAttempt(l, 3, 1000))).toBeGreaterThan(0);
  expect(nextAttempt(l, 4, 1000)).toEqual({ giveUp: 'retries' });
  expect(nextAttempt(l, 2, 120_000)).toEqual({ giveUp: 'retry_max_duration' });
  expect(nextAttempt(limits({ maxRetries: 0 }), 1, 0)).toEqual({ giveUp: 'retries' });
  expect(nextAttempt(limits({ maxDurationMs: 0 }), 1, 0)).toEqual({ giveUp: 'retry_max_duration' });
});

test('the last wait ends with the budget: the final attempt starts at its end', () => {
  expect(nextAttempt(limits(), 10, 119_500)).toEqual({ retryInMs: 500 });
});

test("a peer's Retry-After is waited for even past the backoff cap, up to 60 s", () => {
  expect(nextAttempt(limits(), 1, 0, 30_000)).toEqual({ retryInMs: 30_000 });
  expect(nextAttempt(limits(), 1, 0, 3_600_000)).toEqual({ retryInMs: MAX_RETRY_AFTER_MS });
});

test('a Retry-After that ends after the budget gives up now rather than retry early', () => {
  expect(nextAttempt(limits(), 4, 100_000, 30_000)).toEqual({ giveUp: 'retry_after' });
});
