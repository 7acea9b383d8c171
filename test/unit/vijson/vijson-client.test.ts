/**
 * The VI/JSON client and the protocol negotiation against a tiny Node server:
 * the session header, faults as VimFault, a reply that is not JSON, redirects
 * refused, the call timeout, and what `auto` and `vi_json` pick.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerSecret } from '../../../src/log/logger';
import { openTransport } from '../../../src/stream/vcenter/negotiate';
import { VimTransportError } from '../../../src/stream/vcenter/soap/vim-client';
import { VimFault } from '../../../src/stream/vcenter/transport';
import { SERVICE_INSTANCE } from '../../../src/stream/vcenter/transport';
import { ViJsonClient } from '../../../src/stream/vcenter/vijson/vijson-client';
import { ViJsonTransport } from '../../../src/stream/vcenter/vijson/vijson-transport';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

interface TinyServer {
  address: string;
  requests: Array<{ method: string; url: string; session?: string; body: string }>;
  stop(): Promise<void>;
}

async function tinyServer(handler: Handler): Promise<TinyServer> {
  const requests: TinyServer['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const session = req.headers['vmware-api-session-id'];
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        session: typeof session === 'string' ? session : undefined,
        body,
      });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    address: `http://127.0.0.1:${port}/sdk`,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const json = (
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
) => res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(value));

const CONTENT = {
  _typeName: 'ServiceContent',
  rootFolder: { _typeName: 'ManagedObjectReference', type: 'Folder', value: 'group-d1' },
  propertyCollector: {
    _typeName: 'ManagedObjectReference',
    type: 'PropertyCollector',
    value: 'propertyCollector',
  },
  sessionManager: { _typeName: 'ManagedObjectReference', type: 'SessionManager', value: 'SessionManager' },
  eventManager: { _typeName: 'ManagedObjectReference', type: 'EventManager', value: 'EventManager' },
  about: {
    _typeName: 'AboutInfo',
    fullName: 'VMware vCenter Server 8.0.2',
    instanceUuid: 'u-1',
    apiVersion: '8.0.2.0',
  },
};

const opts = { insecure: false, timeoutMs: 2000 };
let server: TinyServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('ViJsonTransport', () => {
  test('reads the service content, logs in with the session header, and sends it with later calls', async () => {
    server = await tinyServer((req, _body, res) => {
      if (req.url === '/sdk/vim25/8.0.2.0/ServiceInstance/ServiceInstance/content')
        return json(res, 200, CONTENT);
      if (req.url?.endsWith('/Login'))
        return json(res, 200, { _typeName: 'UserSession', key: 's' }, { 'vmware-api-session-id': 'sess-1' });
      if (req.url?.endsWith('/CurrentTime')) return json(res, 200, '2026-12-02T14:00:00.123456Z');
      if (req.url?.endsWith('/Logout')) return res.writeHead(204).end();
      json(res, 404, {});
    });
    const t = new ViJsonTransport(server.address, '8.0.2.0', opts);
    try {
      const content = await t.retrieveServiceContent();
      expect(content.eventManager).toEqual({ type: 'EventManager', value: 'EventManager' });
      expect(content.fullName).toBe('VMware vCenter Server 8.0.2');
      await t.login(content, 'administrator@vsphere.local', 'pw');
      expect(t.hasSession()).toBe(true);
      expect(await t.currentTime()).toBe('2026-12-02T14:00:00.123456Z');
      await t.logout(content, 1000);
      expect(t.hasSession()).toBe(false);
    } finally {
      t.close();
    }
    const [get, login, time, logout] = server.requests;
    expect(get).toMatchObject({ method: 'GET', session: undefined });
    expect(login.url).toBe('/sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login');
    expect(JSON.parse(login.body)).toEqual({ userName: 'administrator@vsphere.local', password: 'pw' });
    expect(time).toMatchObject({ method: 'POST', session: 'sess-1' });
    expect(logout.session).toBe('sess-1');
  });

  test('a fault (HTTP 500, JSON with _typeName) is the VimFault the SOAP client throws', async () => {
    server = await tinyServer((_req, _body, res) =>
      json(res, 500, { _typeName: 'InvalidLogin', faultCause: null, faultstring: 'Login failure' }),
    );
    const t = new ViJsonTransport(server.address, '8.0.2.0', opts);
    try {
      const err = await t.login(CONTENT_REFS, 'u', 'p').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VimFault);
      expect(err).toMatchObject({ method: 'Login', faultType: 'InvalidLogin', faultString: 'Login failure' });
    } finally {
      t.close();
    }
  });

  test('a reply that is not JSON: one clear error naming the method, a bounded excerpt, never a secret', async () => {
    registerSecret('s3cret-vijson');
    let reply = '<html><body>' + 'garbage '.repeat(100) + '</body></html>';
    server = await tinyServer((_req, _body, res) =>
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(reply),
    );
    const client = new ViJsonClient(server.address, '8.0.2.0', opts);
    try {
      const err = (await client
        .invoke(SERVICE_INSTANCE, 'CurrentTime')
        .catch((e: unknown) => e)) as VimTransportError;
      expect(err).toBeInstanceOf(VimTransportError);
      expect(err.code).toBe('EBADREPLY');
      expect(err.message).toMatch(/^CurrentTime: reply is not JSON \(HTTP 200\): <html><body>garbage/);
      expect(err.message.length).toBeLessThan(250);
      reply = '{"_typeName": "UpdateSet", "echo": "s3cret-vijson"';
      const echoed = (await client.invoke(SERVICE_INSTANCE, 'CurrentTime').catch((e: unknown) => e)) as Error;
      expect(echoed.message).toMatch(/reply is not JSON/);
      expect(echoed.message).not.toContain('s3cret-vijson');
    } finally {
      client.close();
    }
  });

  test('a fault echoing the request (the Login password) is withheld from the message', async () => {
    registerSecret('pw-echoed-by-a-peer');
    server = await tinyServer((_req, body, res) =>
      json(res, 500, { _typeName: 'SystemError', faultstring: `could not process ${body}` }),
    );
    const t = new ViJsonTransport(server.address, '8.0.2.0', opts);
    try {
      const err = (await t
        .login(CONTENT_REFS, 'u', 'pw-echoed-by-a-peer')
        .catch((e: unknown) => e)) as VimFault;
      expect(err).toBeInstanceOf(VimFault);
      expect(err.message).toMatch(
        /^Login: vCenter fault SystemError: \(peer text of \d+ characters withheld/,
      );
      expect(err.message).not.toContain('pw-echoed-by-a-peer');
    } finally {
      t.close();
    }
  });

  test('a reply beyond the cap is refused without reading it whole', async () => {
    let written = 0;
    server = await tinyServer((_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = (): void => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      res.write('{"_typeName":"RetrieveResult","pad":"');
      pump();
    });
    const client = new ViJsonClient(server.address, '8.0.2.0', { insecure: false, timeoutMs: 10_000 });
    try {
      const err = (await client
        .invoke(SERVICE_INSTANCE, 'RetrievePropertiesEx')
        .catch((e: unknown) => e)) as VimTransportError;
      expect(err.code).toBe('ETOOLARGE');
      expect(err.message).toMatch(/^RetrievePropertiesEx: reply larger than 16 MiB refused/);
      expect(written).toBeLessThan(64 * 1024 * 1024);
    } finally {
      client.close();
    }
  });

  test('a redirect is refused and named, never followed', async () => {
    let attacker = 0;
    const other = await tinyServer((_req, _body, res) => {
      attacker++;
      json(res, 200, {});
    });
    server = await tinyServer((_req, _body, res) =>
      res
        .writeHead(307, { Location: `${other.address}/vim25/8.0.2.0/SessionManager/SessionManager/Login` })
        .end(),
    );
    const t = new ViJsonTransport(server.address, '8.0.2.0', opts);
    try {
      const err = (await t.login(CONTENT_REFS, 'u', 'p').catch((e: unknown) => e)) as VimTransportError;
      expect(err).toBeInstanceOf(VimTransportError);
      expect(err.code).toBe('EREDIRECT');
      expect(err.message).toContain('HTTP 307 redirect to ' + other.address);
      expect(err.message).toContain('VI/JSON calls never follow redirects');
      expect(attacker).toBe(0);
    } finally {
      t.close();
      await other.stop();
    }
  });

  test('a stalled reply ends with the call timeout', async () => {
    server = await tinyServer((_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"_typeName":');
    });
    const client = new ViJsonClient(server.address, '8.0.2.0', { insecure: false, timeoutMs: 300 });
    try {
      const err = (await client
        .invoke(SERVICE_INSTANCE, 'CurrentTime')
        .catch((e: unknown) => e)) as VimTransportError;
      expect(err.code).toBe('ETIMEDOUT');
      expect(err.message).toBe('CurrentTime: no reply within the call timeout');
    } finally {
      client.close();
    }
  });
});

const CONTENT_REFS = {
  rootFolder: { type: 'Folder', value: 'group-d1' },
  propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' },
  sessionManager: { type: 'SessionManager', value: 'SessionManager' },
  eventManager: { type: 'EventManager', value: 'EventManager' },
  instanceUuid: '',
  apiVersion: '',
  fullName: '',
};

describe('negotiation', () => {
  /** A server with System.hello answering `release` (or 404 when null) and VI/JSON content at `serves`. */
  async function vcenter(release: string | null, serves: string[]): Promise<TinyServer> {
    return tinyServer((req, body, res) => {
      if (req.url === '/api/vcenter/system?action=hello') {
        if (release === null) return json(res, 404, { error_type: 'NOT_FOUND' });
        expect(JSON.parse(body)).toEqual({ api_releases: ['8.0.3.0', '8.0.2.0', '8.0.1.0'] });
        return json(res, 200, { api_release: release });
      }
      const m = /^\/sdk\/vim25\/([^/]+)\/ServiceInstance\/ServiceInstance\/content$/.exec(req.url ?? '');
      if (m && serves.includes(m[1])) return json(res, 200, CONTENT);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found');
    });
  }

  test.each([
    ['auto', '8.0.2.0', 'vi_json', '8.0.2.0', 'VI/JSON release 8.0.2.0 (negotiated with System.hello)'],
    ['vi_json', '8.0.3.0', 'vi_json', '8.0.3.0', 'VI/JSON release 8.0.3.0 (negotiated with System.hello)'],
    ['auto', null, 'vi_json', '8.0.1.0', 'VI/JSON release 8.0.1.0 (no System.hello)'],
    ['vi_json', null, 'vi_json', '8.0.1.0', 'VI/JSON release 8.0.1.0 (no System.hello)'],
  ] as const)('%s, System.hello answering %s: %s %s', async (option, release, protocol, at, how) => {
    server = await vcenter(release, ['8.0.1.0']);
    const n = await openTransport(server.address, option, opts);
    try {
      expect(n.transport.protocol).toBe(protocol);
      expect(n.transport.release).toBe(at);
      expect(n.how).toBe(how);
    } finally {
      n.transport.close();
    }
  });

  test('auto on a server with neither System.hello nor VI/JSON 8.0.1.0: SOAP', async () => {
    server = await vcenter(null, []);
    const n = await openTransport(server.address, 'auto', opts);
    try {
      expect(n.transport.protocol).toBe('soap');
      expect(n.how).toBe('SOAP (no System.hello, and no VI/JSON release 8.0.1.0)');
    } finally {
      n.transport.close();
    }
  });

  test('auto on a server offering only releases the router does not know: SOAP, and the log says what was offered', async () => {
    server = await vcenter('9.9.9.9', []);
    const n = await openTransport(server.address, 'auto', opts);
    try {
      expect(n.transport.protocol).toBe('soap');
      expect(n.how).toMatch(
        /^SOAP \(System.hello offered release "9.9.9.9", none of 8.0.3.0, 8.0.2.0, 8.0.1.0/,
      );
    } finally {
      n.transport.close();
    }
  });

  test('a server that does not answer is a connection error (retried), not a protocol decision', async () => {
    server = await vcenter(null, []);
    const address = server.address;
    await server.stop();
    server = undefined;
    const err = await openTransport(address, 'auto', opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VimTransportError);
    expect((err as VimTransportError).code).toBe('ECONNREFUSED');
  });

  test('a 503 from System.hello is retried too', async () => {
    server = await tinyServer((_req, _body, res) => res.writeHead(503).end('starting'));
    const err = await openTransport(server.address, 'auto', opts).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HTTP_503' });
  });
});

describe('negotiation: redirects mean "no VI/JSON here", never followed', () => {
  /** A server whose System.hello and/or 8.0.1.0 content answer with a redirect to `other`. */
  async function redirecting(other: TinyServer, on: { hello: boolean; probe: boolean }) {
    return tinyServer((req, _body, res) => {
      if (req.url === '/api/vcenter/system?action=hello') {
        if (on.hello)
          return res.writeHead(302, { Location: `http://u:pw@${new URL(other.address).host}/hello` }).end();
        return json(res, 404, { error_type: 'NOT_FOUND' });
      }
      if (req.url === '/sdk/vim25/8.0.1.0/ServiceInstance/ServiceInstance/content' && on.probe)
        return res.writeHead(301, { Location: `${other.address}/vim25/8.0.1.0/content` }).end();
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found');
    });
  }

  test('auto, System.hello and the 8.0.1.0 probe redirected: SOAP, saying which redirect (no credentials shown)', async () => {
    const other = await tinyServer((_req, _body, res) => json(res, 200, {}));
    server = await redirecting(other, { hello: true, probe: true });
    try {
      const n = await openTransport(server.address, 'auto', opts);
      try {
        expect(n.transport.protocol).toBe('soap');
        expect(n.how).toBe(
          `SOAP (System.hello answered HTTP 302 redirect to http://${new URL(other.address).host}/hello, not followed, ` +
            `and release 8.0.1.0 answered HTTP 301 redirect to ${other.address}/vim25/8.0.1.0/content, not followed)`,
        );
      } finally {
        n.transport.close();
      }
      expect(other.requests).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  test('auto, only the 8.0.1.0 probe redirected (no System.hello): SOAP, saying so', async () => {
    const other = await tinyServer((_req, _body, res) => json(res, 200, CONTENT));
    server = await redirecting(other, { hello: false, probe: true });
    try {
      const n = await openTransport(server.address, 'auto', opts);
      try {
        expect(n.transport.protocol).toBe('soap');
        expect(n.how).toBe(
          `SOAP (no System.hello, and release 8.0.1.0 answered HTTP 301 redirect to ${other.address}/vim25/8.0.1.0/content, not followed)`,
        );
      } finally {
        n.transport.close();
      }
      expect(other.requests).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  test('vi_json, System.hello redirected: release 8.0.1.0, saying why', async () => {
    const other = await tinyServer((_req, _body, res) => json(res, 200, {}));
    server = await redirecting(other, { hello: true, probe: false });
    try {
      const n = await openTransport(server.address, 'vi_json', opts);
      try {
        expect(n.transport.protocol).toBe('vi_json');
        expect(n.transport.release).toBe('8.0.1.0');
        expect(n.how).toMatch(/^VI\/JSON release 8\.0\.1\.0 \(System\.hello answered HTTP 302 redirect to /);
      } finally {
        n.transport.close();
      }
      expect(other.requests).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe('negotiation: the stop signal ends it', () => {
  /** A server that accepts each request and never answers the ones `silent` picks; `seen`: the first arrived. */
  async function silentOn(silent: (url: string) => boolean): Promise<{ seen: Promise<void> }> {
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    server = await tinyServer((req, _body, res) => {
      if (silent(req.url ?? '')) return arrived();
      json(res, 404, { error_type: 'NOT_FOUND' });
    });
    return { seen };
  }
  const long = { insecure: false, timeoutMs: 600_000 };

  test.each([
    ['System.hello', (url: string) => url.startsWith('/api/')],
    ['the 8.0.1.0 probe', (url: string) => url.startsWith('/sdk/vim25/')],
  ])(
    'a peer that never answers %s: the stop ends the negotiation with an error saying so',
    async (_what, silent) => {
      const { seen } = await silentOn(silent);
      const stop = new AbortController();
      const negotiating = openTransport(server!.address, 'auto', long, stop.signal);
      await seen;
      stop.abort();
      const err = (await negotiating.catch((e: unknown) => e)) as VimTransportError;
      expect(err).toBeInstanceOf(VimTransportError);
      expect(err.code).toBe('ESTOPPED');
    },
  );

  test('an already stopped stream does not negotiate', async () => {
    await silentOn(() => true);
    const stop = new AbortController();
    stop.abort();
    const err = await openTransport(server!.address, 'auto', long, stop.signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ESTOPPED' });
    expect(server!.requests).toEqual([]);
  });
});

describe('peer text in the negotiation', () => {
  test('an offered release is quoted through quotePeer: cut like every peer text, withheld when it holds a secret', async () => {
    registerSecret('offered-secret');
    let offered = 'x'.repeat(500);
    server = await tinyServer((req, _body, res) => {
      if (req.url === '/api/vcenter/system?action=hello') return json(res, 200, { api_release: offered });
      res.writeHead(404).end();
    });
    const first = await openTransport(server.address, 'auto', opts);
    first.transport.close();
    expect(first.how).toContain(`System.hello offered release "${'x'.repeat(199)}..., none of`);
    offered = 'echo offered-secret';
    const second = await openTransport(server.address, 'auto', opts);
    second.transport.close();
    expect(second.how).toMatch(/System\.hello offered release \(peer text of \d+ characters withheld/);
    expect(second.how).not.toContain('offered-secret');
  });
});
