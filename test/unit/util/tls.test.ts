/**
 * The root CAs module: the trust it hands the TLS clients keeps the default
 * CAs (Node's `ca` replaces them), and the files are read as PEM certificates.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import tls from 'node:tls';
import { loadRootCAs, trustOptions } from '../../../src/util/tls';
import { makeCertificates, type TestCertificates } from '../../helpers/test-ca';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

test('the trust adds the operator CAs to the default ones, so public endpoints stay trusted', () => {
  const roots = loadRootCAs([certs.ca]);
  expect(roots.certificates).toEqual([readFileSync(certs.ca, 'utf8').trim()]);
  const { ca } = trustOptions(roots);
  expect(ca).toEqual(expect.arrayContaining([...tls.rootCertificates, ...roots.certificates]));
});

test('without root CAs the clients keep Node defaults (no ca option at all)', () => {
  expect(trustOptions(undefined)).toEqual({});
});

test('every certificate of a bundle is read, the files in order', () => {
  const one = readFileSync(certs.ca, 'utf8');
  const server = readFileSync(certs.cert, 'utf8');
  const bundle = `${certs.dir}/bundle.pem`;
  writeFileSync(bundle, `# two CAs\n${one}\n${server}`);
  expect(loadRootCAs([bundle, certs.ca]).certificates).toEqual([one.trim(), server.trim(), one.trim()]);
});

test('NODE_EXTRA_CA_CERTS stays trusted when root_cas are added, also on a Node.js that cannot list it', () => {
  const roots = loadRootCAs([certs.ca]);
  const extra = readFileSync(certs.cert, 'utf8').trim();
  const node = tls as { getCACertificates?: unknown };
  const listing = node.getCACertificates;
  const saved = process.env.NODE_EXTRA_CA_CERTS;
  // Node before 22.15 has no tls.getCACertificates: the module reads the extra file itself there.
  node.getCACertificates = undefined;
  process.env.NODE_EXTRA_CA_CERTS = certs.cert;
  try {
    expect(trustOptions(roots).ca).toEqual([...tls.rootCertificates, extra, ...roots.certificates]);
  } finally {
    node.getCACertificates = listing;
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = saved;
  }
});
