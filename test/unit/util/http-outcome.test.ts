/** The one classification of HTTP outcomes that OpenFaaS, Knative and EventBridge apply. */
import { isTransient, isTransientSocketError, isTransientStatus } from '../../../src/util/http-outcome';

test('408, 429 and every 5xx but 501 and 505 are worth another attempt', () => {
  for (const status of [408, 429, 500, 502, 503, 504, 507, 508, 511, 599]) {
    expect([status, isTransientStatus(status)]).toEqual([status, true]);
  }
});

test('the statuses that describe the request, not the server state, are final', () => {
  for (const status of [200, 202, 301, 302, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 501, 505]) {
    expect([status, isTransientStatus(status)]).toEqual([status, false]);
  }
});

test('socket errors of a request that may not have arrived are transient; certificate and name errors are not', () => {
  for (const code of [
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'EPIPE',
    'ETIMEDOUT',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'UND_ERR_SOCKET',
  ]) {
    expect([code, isTransientSocketError(code)]).toEqual([code, true]);
  }
  for (const code of [
    'ENOTFOUND',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'ERR_INVALID_URL',
    'error',
  ]) {
    expect([code, isTransientSocketError(code)]).toEqual([code, false]);
  }
});

test('isTransient reads a status or an error code', () => {
  expect(isTransient({ status: 503 })).toBe(true);
  expect(isTransient({ status: 400 })).toBe(false);
  expect(isTransient({ code: 'ECONNREFUSED' })).toBe(true);
  expect(isTransient({ code: 'ENOTFOUND' })).toBe(false);
});
