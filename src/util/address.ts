/**
 * An address as it may be shown (logs, errors, `/stats`, CloudEvent `source`):
 * any userinfo removed. The userinfo ends at the *last* `@` of the authority
 * (a password may itself hold `@`), so nothing of it is kept. The rest of the
 * string stays as written (`https://10.0.0.1:443/sdk` keeps its `:443`, as
 * the original's `source` did; `new URL()` would normalise the port away).
 */
export function withoutCredentials(address: string): string {
  return address.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
}

/** A bind address `HOST:PORT` as `listen` takes it: an empty host means every interface. */
export function bindHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(address.slice(i + 1)) };
}
