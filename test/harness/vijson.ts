/**
 * Test helpers around the VI/JSON test peer test/harness/bin/vijson (test/harness/go/vijson, built
 * by scripts/build-harness.sh): a VI/JSON server (vCenter 8.0U1+'s /sdk/vim25/{release}/...) in
 * front of a govmomi simulator (./simulator.ts), which it calls over SOAP. The wire format it
 * speaks (faults, anyType boxing, omitted members, dateTime, numbers) is documented in the header
 * of test/harness/go/vijson/main.go.
 *
 *  - `startViJson({ target: sim, hello })` starts one peer; `peer.url` (http://127.0.0.1:P/sdk)
 *    serves BOTH protocols: SOAP at /sdk (reverse-proxied to the simulator unchanged) and VI/JSON
 *    at /sdk/vim25/{release}/..., plus POST /api/vcenter/system?action=hello (404 with
 *    hello: false, like a vCenter 8.0.1, which then serves only release 8.0.1.0).
 *  - `peer.stats()` counts the calls per protocol (vijson_calls, soap_calls, by_method) so a test
 *    can assert that the router's calls went over VI/JSON.
 *  - `viJson(peer, ...)` makes one VI/JSON call (fetch) and returns status, headers and body.
 */
import { spawn } from 'child_process';
import * as path from 'path';

import { buildHarness, HARNESS_BIN, readyLine, Simulator, track, waitExit } from './simulator';

export const VIJSON = path.join(HARNESS_BIN, 'vijson');

export interface ViJsonOptions {
  /** The simulator (or its SOAP URL, e.g. http://127.0.0.1:P/sdk) to put the peer in front of. */
  target: Simulator | string;
  /** Serve the hello negotiation (default true); false: 404, a vCenter 8.0.1. */
  hello?: boolean;
  /** VI/JSON releases served (default 8.0.1.0, 8.0.2.0, 8.0.3.0; only 8.0.1.0 when hello is false). */
  releases?: string[];
  /** Serve https with a self-signed localhost certificate. */
  tls?: boolean;
  /** With tls: serve this certificate (PEM files, e.g. one a test CA issued) instead. */
  tlsCert?: { cert: string; key: string };
}

export interface ViJsonStats {
  vijson_calls: number;
  soap_calls: number;
  hello_calls: number;
  /** VI/JSON calls by method; GETs of properties as "GET <MoType>.<property>". */
  by_method: Record<string, number>;
  /** Proxied SOAP calls by method (the SOAP Body's first element). */
  by_soap_method: Record<string, number>;
}

export interface ViJsonPeer {
  /** e.g. http://127.0.0.1:41234/sdk: SOAP here, VI/JSON under `${url}/vim25/{release}/`. */
  readonly url: string;
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  readonly pid: number;
  stats(): Promise<ViJsonStats>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** The peer's stderr so far. */
  stderr(): string;
}

export async function startViJson(opts: ViJsonOptions): Promise<ViJsonPeer> {
  buildHarness();
  const target = typeof opts.target === 'string' ? opts.target : opts.target.url;
  const args = [
    '-target',
    target,
    '-listen',
    '127.0.0.1:0',
    `-hello=${opts.hello ?? true}`,
    '-exit-on-stdin-eof',
  ];
  if (opts.releases) args.push('-releases', opts.releases.join(','));
  if (opts.tls) args.push('-tls');
  if (opts.tlsCert) args.push('-tls-cert', opts.tlsCert.cert, '-tls-key', opts.tlsCert.key);
  const child = spawn(VIJSON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 1 << 20) err = err.slice(-(1 << 20));
  });
  const ready = await readyLine(child, 'vijson', () => err);
  const origin = new URL(ready.url).origin;
  return {
    url: ready.url,
    origin,
    pid: ready.pid,
    async stats(): Promise<ViJsonStats> {
      const res = await fetch(`${origin}/vijson-stats`);
      return (await res.json()) as ViJsonStats;
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await waitExit(child);
      child.stdin?.destroy();
    },
    stderr: () => err,
  };
}

export interface ViJsonResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON body; undefined for an empty body (204). */
  body: unknown;
  text: string;
}

/**
 * One VI/JSON call: POST (body given, possibly {}) or GET (body undefined) of
 * `${peer.url}/vim25/${release}/${moType}/${moId}/${name}`; moId is percent-encoded.
 */
export async function viJson(
  peer: Pick<ViJsonPeer, 'url'>,
  call: {
    release?: string;
    moType: string;
    moId: string;
    name: string;
    body?: unknown;
    session?: string;
    method?: 'GET' | 'POST';
  },
): Promise<ViJsonResponse> {
  const release = call.release ?? '8.0.1.0';
  const url = `${peer.url}/vim25/${release}/${call.moType}/${encodeURIComponent(call.moId)}/${call.name}`;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (call.session) headers['vmware-api-session-id'] = call.session;
  const method = call.method ?? (call.body === undefined ? 'GET' : 'POST');
  if (method === 'POST') headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: method === 'POST' ? JSON.stringify(call.body ?? {}) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text), text };
}
