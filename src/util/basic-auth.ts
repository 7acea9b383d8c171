/**
 * HTTP basic auth for the router's own servers (the metrics server, the
 * event_stream processor, the webhook stream): the expected `username:password` is kept as a
 * SHA-256 digest and compared in constant time, so neither the time taken
 * nor a wrong length says anything about the password.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** The user name and password a client must send. */
export interface BasicCredentials {
  username: string;
  password: string;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class BasicAuth {
  private readonly expected?: Buffer;

  /** `credentials`: what a client must send; without them no credentials are asked. */
  constructor(credentials: BasicCredentials | undefined) {
    if (credentials) this.expected = digest(`${credentials.username}:${credentials.password}`);
  }

  /** Whether credentials are asked for at all (for the start log line). */
  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /** The method name as logged: `basic_auth` or `none`. */
  get method(): string {
    return this.enabled ? 'basic_auth' : 'none';
  }

  /** Whether the request may go on (always, without basic auth configured). */
  authorized(req: http.IncomingMessage): boolean {
    if (!this.expected) return true;
    const header = req.headers.authorization ?? '';
    const m = /^Basic\s+(.+)$/i.exec(header);
    const given = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
    return timingSafeEqual(digest(given), this.expected);
  }

  /** The 401 with the challenge clients (curl, browsers) answer. */
  static challenge(
    res: http.ServerResponse,
    body: string = 'Unauthorized\n',
    contentType = 'text/plain',
  ): void {
    res
      .writeHead(401, { 'WWW-Authenticate': 'Basic realm="Restricted"', 'Content-Type': contentType })
      .end(body);
  }
}
