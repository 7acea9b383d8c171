/**
 * What a failed vCenter call means for the stream: a wrong password (fatal
 * at the first login), an address that is no vCenter (fatal before the first
 * connection), an expired session (log in again at once), or an outage
 * (retried with backoff). The lifecycle (vcenter-stream.ts) acts on it; the
 * words an operator reads are here, so that each says what to fix.
 */
import { isUntrustedCertificate } from '../../util/tls';
import { VimTransportError } from './http-exchange';
import { VimFault, type Protocol } from './transport';

/** The `reason` label of `stream_reconnects_total` for a failure. */
export type ReconnectReason = 'session_expired' | 'unreachable' | 'error';

export function isInvalidLogin(err: unknown): boolean {
  return err instanceof VimFault && err.faultType === 'InvalidLogin';
}

/** The line that says the credentials were refused, and which ones to fix. */
export function invalidLoginMessage(username: string): string {
  return `rejected the login of user "${username}" (InvalidLogin): check auth.secret.username and auth.secret.password`;
}

/**
 * An expired session answers NotAuthenticated, or (govmomi's simulator, when
 * the page is read) ManagedObjectNotFound for the session's collector: both
 * need a new login, not a backoff.
 */
export function isSessionExpired(err: unknown): boolean {
  return (
    err instanceof VimFault &&
    (err.faultType === 'NotAuthenticated' || err.faultType === 'ManagedObjectNotFound')
  );
}

export function reconnectReason(err: unknown): ReconnectReason {
  if (isSessionExpired(err)) return 'session_expired';
  return err instanceof VimTransportError ? 'unreachable' : 'error';
}

/** A certificate the router does not trust: a configuration problem the line names, not an outage. */
export function isCertificateProblem(err: unknown): err is VimTransportError {
  return err instanceof VimTransportError && isUntrustedCertificate(err.code);
}

/**
 * Before the first successful connection, a reply that no vCenter sends
 * (HTTP 404 or another client error, a page that is not SOAP) means the
 * address is wrong: retrying would not help. A vCenter that is down or
 * starting (no answer, 5xx) is retried. The message, or undefined to retry.
 */
export function notAVCenterMessage(
  source: string,
  err: unknown,
  client: { protocol: Protocol; release?: string } | undefined,
): string | undefined {
  if (!(err instanceof VimTransportError)) return undefined;
  const status = /^HTTP_(\d{3})$/.exec(err.code ?? '')?.[1];
  const clientError = status !== undefined && status.startsWith('4') && status !== '408' && status !== '429';
  if (!clientError && err.code !== 'EBADREPLY') return undefined;
  const json = client?.protocol === 'vi_json';
  return (
    `${source} is not a vCenter ${json ? `VI/JSON (release ${client?.release})` : 'SOAP'} endpoint: ` +
    `${err.method} was answered with ${err.answered ?? err.message}, ` +
    `where a vCenter answers with ${json ? 'VI/JSON' : 'a SOAP envelope'}; set the stream address to the vCenter's https://HOST/sdk` +
    (json ? ' (VI/JSON needs vCenter 8.0 Update 1 or later: protocol auto falls back to SOAP)' : '')
  );
}
