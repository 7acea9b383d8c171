/**
 * The root CAs the operator trusts besides the public ones (the router
 * entry's `options.root_cas`, a RouterConfig's `certificates.rootCAs`): read
 * once at start, here only, and handed to every TLS client of the router (the
 * vCenter SOAP client, every processor's HTTPS or TLS connection), so that a
 * vCenter or a sink behind an internal CA is verified instead of needing
 * `insecure`.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/** The trusted CAs of a running router. */
export interface RootCAs {
  /** The PEM files read (for messages). */
  files: string[];
  /** Every certificate of those files, PEM-encoded. */
  certificates: string[];
}

/** A root CA file that cannot be used: the message names the file and what to fix. */
export class RootCAError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RootCAError';
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Read PEM files of root CAs; each must hold at least one certificate Node can parse. */
export function loadRootCAs(files: string[]): RootCAs {
  const certificates: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new RootCAError(
        code === 'ENOENT'
          ? `root CA file ${file} not found`
          : `root CA file ${file} cannot be read (${code ?? (err as Error).message})`,
      );
    }
    const found = text.match(PEM_CERTIFICATE) ?? [];
    if (found.length === 0)
      throw new RootCAError(
        `root CA file ${file} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----" blocks)`,
      );
    for (const pem of found) {
      try {
        new X509Certificate(pem);
      } catch (err) {
        throw new RootCAError(
          `root CA file ${file} holds a certificate that cannot be read (${(err as Error).message})`,
        );
      }
    }
    certificates.push(...found);
  }
  return { files, certificates };
}

/**
 * The CAs Node trusts by default: its bundled roots plus NODE_EXTRA_CA_CERTS.
 * Node before 22.15 cannot list them (no tls.getCACertificates); there the
 * extra file is read here, so that adding root_cas never drops a CA the
 * operator trusted through NODE_EXTRA_CA_CERTS.
 */
function defaultCAs(): readonly string[] {
  const list = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  if (typeof list === 'function') return list('default');
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (!extra) return tls.rootCertificates;
  let text = '';
  try {
    text = readFileSync(extra, 'utf8');
  } catch {
    // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS and goes on with its roots.
  }
  return [...tls.rootCertificates, ...(text.match(PEM_CERTIFICATE) ?? [])];
}

/**
 * The TLS options that trust `roots` besides the default CAs. Node's `ca`
 * replaces the default trust store, so the default CAs are listed too: a
 * public endpoint (AWS) keeps working. Without roots: nothing (Node's default).
 */
export function trustOptions(roots: RootCAs | undefined): { ca?: string[] } {
  if (!roots) return {};
  return { ca: [...defaultCAs(), ...roots.certificates] };
}

/** OpenSSL's verification failures (and Node's host name check): the peer's certificate is not trusted. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The error is a certificate the router does not trust. */
export function isUntrustedCertificate(code: string | undefined): boolean {
  return code !== undefined && UNTRUSTED.has(code);
}

/**
 * What to do about an untrusted certificate of `peer`, for its log line;
 * `insecure` says where that peer's own switch is, when it has one.
 */
export function untrustedHint(peer: string, code: string, insecure?: string): string {
  const what =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? `the certificate of ${peer} does not name its host (${code}): use the host name the certificate was issued for`
      : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
        ? `the certificate of ${peer} is not valid now (${code}): renew it`
        : `the certificate of ${peer} is not trusted (${code}): add the PEM file of the CA that signed it to the root CAs (options.root_cas of the router entry; certificates.rootCAs in a RouterConfig)`;
  return insecure ? `${what}, or set ${insecure} to skip verification (test setups only)` : what;
}
