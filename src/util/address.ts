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
