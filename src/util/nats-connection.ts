/**
 * A connection to NATS servers from the settings every NATS client of the
 * router shares (the nats_jetstream processor, the NATS coordination store):
 * the comma-separated server URLs, an auth method, the TLS switches and the
 * router's root CAs. The client reconnects forever in the background; a first
 * connection that fails is one error saying what to fix.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { quotePeer } from '../log/logger';
import { isUntrustedCertificate, trustOptions, untrustedHint, type RootCAs } from './tls';

/** How the client authenticates: nothing, a user and password, or a token. */
export type NatsAuth =
  | { method: 'none' }
  | { method: 'basic_auth'; username: string; password: string }
  | { method: 'token'; token: string };

/** The NatsAuth of a config entry's auth method and secret fields (absent fields are empty). */
export function natsAuth(method: string | undefined, secret: Record<string, string> = {}): NatsAuth {
  if (method === 'basic_auth')
    return { method, username: secret.username ?? '', password: secret.password ?? '' };
  if (method === 'token') return { method, token: secret.token ?? '' };
  return { method: 'none' };
}

export interface NatsTlsSettings {
  /** Do not verify the server certificate (test setups only). */
  insecure?: boolean;
  /** PEM file of the CA that signed the server certificates; it replaces every other CA. */
  caFile?: string;
  /** The router's root CAs, trusted besides the default ones for `tls://` servers. */
  rootCAs?: RootCAs;
}

export interface NatsConnectionSettings {
  servers: string[];
  auth: NatsAuth;
  tls?: NatsTlsSettings;
  /** How long the first connection to each server may take. */
  connectTimeoutMs: number;
  /** Bytes of messages the client holds while reconnecting (nats.js's default when unset). */
  reconnectBufferBytes?: number;
}

/** The server URLs of a comma-separated address, trimmed. */
export function serverList(address: string): string[] {
  return address
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The servers for messages: credentials in a URL (`nats://user:pass@host`) are left out. */
export function serversForDisplay(servers: string[]): string {
  return servers.map((s) => s.replace(/\/\/[^/@]*@/, '//')).join(',');
}

/** The nats.js options of these settings. */
export function natsConnectionOptions(settings: NatsConnectionSettings): NodeConnectionOptions {
  const { servers, auth } = settings;
  const { insecure, caFile, rootCAs } = settings.tls ?? {};
  // ca_file is this client's own CA (it replaces the others, as the NATS client reads it);
  // otherwise the operator's root CAs, besides the default ones, for tls:// servers only (TLS
  // options make the client refuse a server without TLS).
  const tlsServers = servers.some((s) => s.startsWith('tls://'));
  const ca = caFile || !tlsServers ? {} : trustOptions(rootCAs);
  const tls =
    insecure || caFile || ca.ca
      ? // The node transport hands these to tls.connect (rejectUnauthorized included).
        ({
          ...(caFile ? { caFile } : ca),
          ...(insecure ? { rejectUnauthorized: false } : {}),
        } as NonNullable<NodeConnectionOptions['tls']>)
      : undefined;
  return {
    servers,
    name: 'vmware-event-router',
    ...(auth.method === 'basic_auth' ? { user: auth.username, pass: auth.password } : {}),
    ...(auth.method === 'token' ? { token: auth.token } : {}),
    ...(tls ? { tls } : {}),
    timeout: settings.connectTimeoutMs,
    // Reconnect forever, trying every server of the list (and those the cluster advertises).
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    ...(settings.reconnectBufferBytes !== undefined
      ? { reconnectBufSize: settings.reconnectBufferBytes }
      : {}),
  };
}

/** The first connection failed; `permanent` when retrying cannot help (refused credentials, an untrusted certificate). */
export class NatsConnectError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NatsConnectError';
  }
}

/** Connect; rejects with a NatsConnectError naming the servers and what to fix, never a credential. */
export async function connectNats(settings: NatsConnectionSettings): Promise<NatsConnection> {
  try {
    return await connect(natsConnectionOptions(settings));
  } catch (err) {
    const { reason, permanent } = connectFailure(err as Error, settings);
    throw new NatsConnectError(
      `could not connect to the NATS servers ${serversForDisplay(settings.servers)}: ${reason}`,
      permanent,
      { cause: err },
    );
  }
}

function connectFailure(
  err: Error,
  settings: NatsConnectionSettings,
): { reason: string; permanent: boolean } {
  const what = quotePeer(err.message);
  if (err.name === 'AuthorizationError') {
    const auth =
      settings.auth.method === 'none'
        ? 'the server requires credentials: set auth (basic_auth username and password, or token)'
        : `check the ${settings.auth.method === 'token' ? 'token' : 'username and password'} of auth`;
    return { reason: `the server refused the credentials (${what}): ${auth}`, permanent: true };
  }
  const code = tlsCode(err);
  if (code && isUntrustedCertificate(code)) {
    const caFile = settings.tls?.caFile;
    const hint =
      caFile && code !== 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `the certificate of the NATS server is not signed by the CA of ca_file ${caFile} (${code}): use the CA that signed it, or set insecure to skip verification (test setups only)`
        : `${untrustedHint('the NATS server', code, 'insecure')}; or give this entry its own CA with options.ca_file`;
    return { reason: hint, permanent: true };
  }
  return { reason: `${what} (check address, auth and TLS options)`, permanent: false };
}

/** The TLS error code of a failed connection (Node's, on the error or its cause). */
function tlsCode(err: Error): string | undefined {
  const own = (err as NodeJS.ErrnoException).code;
  if (typeof own === 'string') return own;
  const cause = (err as { cause?: unknown }).cause as NodeJS.ErrnoException | undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}
