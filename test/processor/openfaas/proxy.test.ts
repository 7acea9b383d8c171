/**
 * A proxy set in the environment: the gateway's `/system` requests and the
 * invocations go through it (as they did when the sink used axios), the
 * hosts in NO_PROXY are reached directly, and the variables are read as
 * axios read them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { agentsTakeProxies, proxyEnvironment } from '../../../src/processor/openfaas/proxy';
import { DEFAULT_NAMESPACE, OpenFaasGateway } from '../../peers/openfaas-gateway';
import { event, makeContext, makeProcessor } from './helpers';

/** A forward HTTP proxy (absolute-form requests), recording what it forwarded. */
class ForwardProxy {
  readonly forwarded: Array<{ method: string; url: string; proxyAuthorization?: string }> = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<ForwardProxy> {
    const server = http.createServer();
    const proxy = new ForwardProxy(server);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      proxy.forwarded.push({
        method: req.method ?? '',
        url: req.url ?? '',
        proxyAuthorization: req.headers['proxy-authorization'],
      });
      const target = new URL(req.url ?? '');
      const headers = { ...req.headers };
      delete headers['proxy-authorization'];
      delete headers['proxy-connection'];
      const upstream = http.request(
        {
          hostname: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: req.method,
          headers,
        },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'].flatMap((n) => [
  n,
  n.toUpperCase(),
]);

describe('the proxy variables, read as axios (proxy-from-env) read them', () => {
  it('takes the scheme variable, else ALL_PROXY, lower case first; NO_PROXY only with a proxy', () => {
    expect(proxyEnvironment({})).toBeUndefined();
    expect(proxyEnvironment({ NO_PROXY: 'gateway' })).toBeUndefined();
    expect(proxyEnvironment({ HTTP_PROXY: 'http://p:3128', NO_PROXY: '.svc,10.0.0.1' })).toEqual({
      HTTP_PROXY: 'http://p:3128',
      NO_PROXY: '.svc,10.0.0.1',
    });
    expect(proxyEnvironment({ https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' })).toEqual({
      HTTPS_PROXY: 'http://lower:1',
    });
    expect(proxyEnvironment({ ALL_PROXY: 'http://all:3', http_proxy: 'http://web:4' })).toEqual({
      HTTP_PROXY: 'http://web:4',
      HTTPS_PROXY: 'http://all:3',
    });
  });

  it('gives a proxy without a scheme the scheme of the requests it carries', () => {
    expect(proxyEnvironment({ all_proxy: 'proxy.corp:3128' })).toEqual({
      HTTP_PROXY: 'http://proxy.corp:3128',
      HTTPS_PROXY: 'https://proxy.corp:3128',
    });
  });

  it('knows which Node versions apply an agent proxy', () => {
    expect(['22.20.0', '22.21.0', '23.11.0', '24.4.1', '24.5.0', '25.0.0'].map(agentsTakeProxies)).toEqual([
      false,
      true,
      false,
      false,
      true,
      true,
    ]);
  });
});

describe('an OpenFaaS gateway behind the proxy the environment sets', () => {
  let gw: OpenFaasGateway;
  let proxy: ForwardProxy;
  const saved: Record<string, string | undefined> = {};

  beforeEach(async () => {
    for (const n of PROXY_VARIABLES) {
      saved[n] = process.env[n];
      delete process.env[n];
    }
    gw = await OpenFaasGateway.start();
    proxy = await ForwardProxy.start();
    gw.deploy({ name: 'notify', annotations: { topic: 'VmPoweredOnEvent' } });
  });

  afterEach(async () => {
    for (const n of PROXY_VARIABLES) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
    await proxy.close();
    await gw.close();
  });

  /** Start a processor with the environment as it is now, deliver one event, stop. */
  async function deliverOne(): Promise<void> {
    const before = gw.delivered().length;
    const tc = makeContext();
    const proc = makeProcessor(gw, tc);
    try {
      await proc.start();
      expect(proc.ready()).toBe(true);
      await proc.process(event('VmPoweredOnEvent'));
    } finally {
      await proc.stop(10_000);
    }
    expect(
      gw
        .delivered()
        .slice(before)
        .map((i) => i.name),
    ).toEqual(['notify']);
  }

  it('HTTP_PROXY: the topic map and the invocations go through the proxy, with its credentials', async () => {
    process.env.HTTP_PROXY = `http://proxy-user:proxy-pw@127.0.0.1:${proxy.port}`;
    await deliverOne();
    const origin = new URL(gw.url).origin;
    expect(proxy.forwarded.map((f) => `${f.method} ${f.url}`)).toEqual(
      expect.arrayContaining([
        `GET ${origin}/system/namespaces`,
        `GET ${origin}/system/functions?namespace=${DEFAULT_NAMESPACE}`,
        `POST ${origin}/function/notify.${DEFAULT_NAMESPACE}`,
      ]),
    );
    const proxyAuth = 'Basic ' + Buffer.from('proxy-user:proxy-pw').toString('base64');
    expect(proxy.forwarded.every((f) => f.proxyAuthorization === proxyAuth)).toBe(true);
  });

  it('ALL_PROXY is used too; a host in NO_PROXY is reached directly', async () => {
    process.env.all_proxy = `127.0.0.1:${proxy.port}`;
    process.env.NO_PROXY = 'example.com,127.0.0.1';
    await deliverOne();
    expect(proxy.forwarded).toEqual([]);

    delete process.env.NO_PROXY;
    await deliverOne();
    expect(proxy.forwarded.map((f) => f.method)).toContain('POST');
  });
});
