/**
 * The one backoff and the one sleep of the router: every retry (sink
 * deliveries, vCenter reconnects, rule syncs) waits through these.
 */

export interface BackoffPolicy {
  /** First wait, doubled per attempt. */
  baseMs: number;
  /** Cap of the doubling. */
  maxMs: number;
}

/**
 * Capped exponential backoff with jitter: attempt 1 waits about `baseMs`,
 * attempt 2 twice that..., never more than `maxMs`. The jitter keeps the
 * upper three quarters of the step, so that retries of many events spread
 * out without ever retrying at once.
 */
export function backoffMs(attempt: number, policy: BackoffPolicy): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(step * (0.75 + Math.random() * 0.25));
}

/** Wait `ms`, or less when `signal` aborts (resolves either way, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref?.();
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A `Retry-After` header in seconds (the HTTP-date form is read too), as milliseconds. */
export function retryAfterMs(header: unknown): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
