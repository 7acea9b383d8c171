/**
 * How long the delivery runner keeps retrying a delivery that failed
 * transiently. The budget is a time (`retry_max_duration`), so that a peer
 * that is unwell for a while (a broker restarting, a receiver shedding load)
 * costs no event, whatever the backoff's steps; an explicitly set `retries`
 * caps the attempts as well, and whichever ends first ends the retries.
 */
import { type BackoffPolicy, backoffMs } from '../util/backoff';

/** A Retry-After longer than this is cut to it (a peer cannot park the runner for hours). */
export const MAX_RETRY_AFTER_MS = 60_000;

export interface RetryLimits {
  /** Time from a delivery's first attempt after which no attempt starts. */
  maxDurationMs: number;
  /** Retries at most, when set (0: never retried). */
  maxRetries?: number;
  /** The waits between attempts (doubling up to `maxMs`). */
  backoff: BackoffPolicy;
}

/** Why the runner stops retrying a delivery. */
export type GiveUpReason = 'retries' | 'retry_max_duration' | 'retry_after';

export type NextAttempt = { retryInMs: number } | { giveUp: GiveUpReason };

/**
 * After failed attempt number `attempt` (1 for the first), `elapsedMs` after
 * the first attempt started: when to try again, or why not. The wait is the
 * backoff, or the peer's Retry-After when longer; it never runs past the
 * budget (the last attempt starts at its end). A Retry-After that ends after
 * the budget gives up now: the peer said it will not take the event sooner.
 */
export function nextAttempt(
  limits: RetryLimits,
  attempt: number,
  elapsedMs: number,
  retryAfterMs?: number,
): NextAttempt {
  if (limits.maxRetries !== undefined && attempt > limits.maxRetries) return { giveUp: 'retries' };
  const leftMs = limits.maxDurationMs - elapsedMs;
  if (leftMs <= 0) return { giveUp: 'retry_max_duration' };
  const asked = Math.min(MAX_RETRY_AFTER_MS, retryAfterMs ?? 0);
  if (asked > leftMs) return { giveUp: 'retry_after' };
  return { retryInMs: Math.min(leftMs, Math.max(asked, backoffMs(attempt, limits.backoff))) };
}

/** The words of the log line for a delivery given up on after retries. */
export function giveUpText(reason: GiveUpReason, limits: RetryLimits): string {
  switch (reason) {
    case 'retries':
      return `retries ${limits.maxRetries} used up`;
    case 'retry_max_duration':
      return `retry_max_duration ${limits.maxDurationMs / 1000}s used up`;
    case 'retry_after':
      return `the peer's Retry-After ends after retry_max_duration ${limits.maxDurationMs / 1000}s`;
  }
}
