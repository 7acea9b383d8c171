/**
 * A throw-away test CA and a server certificate for 127.0.0.1 and localhost
 * that it signed (openssl), in a temporary directory: the keys never leave it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificates {
  /** The temporary directory (remove it when done). */
  dir: string;
  /** The CA certificate (PEM file): what a client must trust. */
  ca: string;
  /** The server certificate (PEM file) and its key. */
  cert: string;
  key: string;
}

/** `expired`: the server certificate's validity ended a day before it began (the CA stays valid). */
export function makeCertificates(opts: { expired?: boolean } = {}): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-test-ca-'));
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=ver-test-ca',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  run([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    opts.expired ? '-1' : '1',
    '-extfile',
    f('ext.cnf'),
  ]);
  return { dir, ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}
