/**
 * The bounded HTTP exchange both vCenter protocols make: the deadline covers a
 * body that stalls after the headers, the caller's abort ends it, redirects are
 * refused naming the Location without credentials, the reply is capped, the
 * arrival time is kept, and an untrusted certificate names the vCenter by the
 * stream address whichever protocol asked.
 */
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  exchange,
  MAX_REPLY_BYTES,
  vcenterAgent,
  VimTransportError,
  type ExchangeRequest,
} from '../../../src/stream/vcenter/http-exchange';
import { SoapTransport } from '../../../src/stream/vcenter/soap/soap-transport';
import { ViJsonTransport } from '../../../src/stream/vcenter/vijson/vijson-transport';
import { makeCertificates } from '../../helpers/test-ca';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function serve(
  handler: Handler,
  tls?: { key: string; cert: string },
): Promise<{ url: string; stop(): Promise<void> }> {
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function request(url: string, agent: http.Agent, over: Partial<ExchangeRequest> = {}): ExchangeRequest {
  return {
    url,
    method: 'POST',
    name: 'WaitForUpdatesEx',
    protocol: 'SOAP',
    address: url,
    headers: {},
    body: Buffer.from('<x/>'),
    agent,
    timeoutMs: 5000,
    abort: new AbortController(),
    ...over,
  };
}

describe('exchange', () => {
  const agent = vcenterAgent('http://127.0.0.1/sdk', { insecure: false });
  afterAll(() => agent.destroy());

  test('a reply: status, headers, body as text, and when it arrived', async () => {
    const peer = await serve((_req, res) => res.writeHead(200, { 'X-Peer': 'yes' }).end('héllo'));
    try {
      const before = performance.now();
      const reply = await exchange(request(peer.url, agent));
      expect(reply.status).toBe(200);
      expect(reply.headers['x-peer']).toBe('yes');
      expect(reply.body).toBe('héllo');
      expect(reply.arrivedAt).toBeGreaterThanOrEqual(before);
      expect(reply.arrivedAt).toBeLessThanOrEqual(performance.now());
    } finally {
      await peer.stop();
    }
  });

  test('headers then a stalled body: ends with the call timeout', async () => {
    const peer = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.write('<soapenv:Envelope');
    });
    try {
      const err = (await exchange(request(peer.url, agent, { timeoutMs: 200 })).catch(
        (e: unknown) => e,
      )) as VimTransportError;
      expect(err).toBeInstanceOf(VimTransportError);
      expect(err.code).toBe('ETIMEDOUT');
      expect(err.message).toBe('WaitForUpdatesEx: no reply within the call timeout');
    } finally {
      await peer.stop();
    }
  });

  test("the caller's abort (shutdown) ends a call the peer never answers", async () => {
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    const peer = await serve(() => arrived());
    const abort = new AbortController();
    try {
      const pending = exchange(request(peer.url, agent, { timeoutMs: 600_000, abort }));
      await seen;
      abort.abort();
      expect(await pending.catch((e: unknown) => e)).toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      await peer.stop();
    }
  });

  test.each(['SOAP', 'VI/JSON'] as const)(
    '%s: a redirect is refused, naming the Location without its credentials',
    async (protocol) => {
      const peer = await serve((_req, res) =>
        res.writeHead(302, { Location: 'https://admin:hunter2@elsewhere.example/sdk' }).end(),
      );
      try {
        const err = (await exchange(request(peer.url, agent, { protocol })).catch(
          (e: unknown) => e,
        )) as VimTransportError;
        expect(err.code).toBe('EREDIRECT');
        expect(err.message).toBe(
          `WaitForUpdatesEx: HTTP 302 redirect to https://elsewhere.example/sdk refused (${protocol} calls never follow redirects: set the stream address to the vCenter's own https://HOST/sdk)`,
        );
        expect(err.answered).toBe('HTTP 302 redirect to https://elsewhere.example/sdk');
      } finally {
        await peer.stop();
      }
    },
  );

  test('a reply beyond the cap is refused', async () => {
    let written = 0;
    const peer = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = (): void => {
        while (written < 2 * MAX_REPLY_BYTES) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    try {
      const err = (await exchange(request(peer.url, agent)).catch((e: unknown) => e)) as VimTransportError;
      expect(err.code).toBe('ETOOLARGE');
      expect(MAX_REPLY_BYTES).toBe(16 * 1024 * 1024);
      expect(err.message).toMatch(/^WaitForUpdatesEx: reply larger than 16 MiB refused/);
      expect(written).toBeLessThan(2 * MAX_REPLY_BYTES);
    } finally {
      await peer.stop();
    }
  });
});

describe('an untrusted certificate names the vCenter by the stream address, over either protocol', () => {
  test('SOAP and VI/JSON say the same "vCenter https://HOST/sdk", without credentials', async () => {
    const certs = makeCertificates();
    const peer = await serve((_req, res) => res.writeHead(404).end(), {
      key: readFileSync(certs.key, 'utf8'),
      cert: readFileSync(certs.cert, 'utf8'),
    });
    const address = peer.url.replace('https://', 'https://user:pw@');
    const soap = new SoapTransport(address, { insecure: false, timeoutMs: 5000 });
    const json = new ViJsonTransport(address, '8.0.2.0', { insecure: false, timeoutMs: 5000 });
    try {
      const expected = `the certificate of vCenter ${peer.url} is not trusted (`;
      const viaSoap = (await soap.currentTime().catch((e: unknown) => e)) as VimTransportError;
      const viaPost = (await soap
        .waitForUpdatesEx({ type: 'PropertyCollector', value: 'p' }, '', 1, 5000)
        .catch((e: unknown) => e)) as VimTransportError;
      const viaJson = (await json.currentTime().catch((e: unknown) => e)) as VimTransportError;
      for (const err of [viaSoap, viaPost, viaJson]) {
        expect(err).toBeInstanceOf(VimTransportError);
        expect(err.message).toContain(expected);
        expect(err.message).not.toContain('pw@');
      }
    } finally {
      soap.close();
      json.close();
      await peer.stop();
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });
});
