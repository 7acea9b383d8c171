/**
 * The one classification of an HTTP delivery's outcome that every HTTP sink
 * (OpenFaaS, Knative, EventBridge) applies: is a failed request worth another
 * attempt? Transient means the peer did not take the request now but may
 * later (overloaded, restarting, a proxy in front of it without a backend)
 * or the request never got through; anything else is the peer's answer for
 * good and a retry would get the same.
 */

/**
 * Statuses that say "not now": 408 (the server timed the request out), 429
 * (rate limited), and every 5xx but the two that describe the request rather
 * than the server's state: 501 (method not implemented) and 505 (HTTP
 * version not supported).
 */
export function isTransientStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/**
 * Socket errors after which the request may not have arrived: refused, reset
 * or broken connections (a peer restarting, a stale keep-alive socket), name
 * lookups that failed for now, unreachable hosts or networks, connect timeouts.
 */
const TRANSIENT_SOCKET_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

export function isTransientSocketError(code: string): boolean {
  return TRANSIENT_SOCKET_ERRORS.has(code);
}

/** A request's outcome: the status the peer answered, or the error code when it did not answer. */
export type HttpAttempt = { status: number } | { code: string };

/** Whether a failed request is worth another attempt (a 2xx is not a failure: false). */
export function isTransient(attempt: HttpAttempt): boolean {
  return 'status' in attempt ? isTransientStatus(attempt.status) : isTransientSocketError(attempt.code);
}
