import net from 'node:net';
import tls from 'node:tls';

/**
 * A connection to the host of an http(s) address, within `timeoutMs`: TCP for
 * http; for https also the TLS handshake, verified with `tlsOptions` as the
 * sink's requests are (so that a certificate the router does not trust fails
 * here too, with its code).
 */
export function reach(
  address: string,
  timeoutMs: number,
  tlsOptions: { rejectUnauthorized?: boolean; ca?: string[] } = {},
): Promise<void> {
  const url = new URL(address);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...tlsOptions })
      : net.connect({ host, port });
    const timer = setTimeout(
      () => socket.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
