/**
 * The one bounded HTTP exchange of the HTTP sinks, against real local
 * servers: whole-exchange deadline (a stalled body too), reply cap, no
 * redirect followed, the error codes the sinks classify.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  basicAuthorization,
  errorCode,
  getOnce,
  postOnce,
  REPLY_TOO_LARGE,
  requestError,
  type ExchangeRequest,
} from '../../../src/util/http-post';

interface Server {
  url: URL;
  /** Requests received: method, path, headers. */
  seen: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders }>;
  close: () => Promise<void>;
}

async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Server> {
  const seen: Server['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const servers: Server[] = [];
const agent = new http.Agent({ keepAlive: true });

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => agent.destroy());

async function started(handler: Parameters<typeof serve>[0]): Promise<Server> {
  const s = await serve(handler);
  servers.push(s);
  return s;
}

function request(s: Server, over: Partial<ExchangeRequest> = {}): ExchangeRequest {
  return {
    url: s.url,
    path: '/list',
    agent,
    headers: { Accept: 'application/json' },
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    maxReplyBytes: 1024,
    timeoutError: () => requestError('deadline passed', 'ECONNABORTED'),
    abortedError: () => requestError('cut off', 'ERR_BAD_RESPONSE'),
    ...over,
  };
}

/** The code a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return errorCode(err);
  }
  throw new Error('expected a rejection');
}

test('GET reads the whole reply, sends the given headers and no body', async () => {
  const s = await started((_req, res) => res.writeHead(200, { 'X-Id': '7' }).end('[{"name":"a"}]'));
  const reply = await getOnce(request(s, { path: '/list?namespace=ns' }));
  expect(reply.status).toBe(200);
  expect(reply.headers['x-id']).toBe('7');
  expect(reply.body.toString()).toBe('[{"name":"a"}]');
  expect(s.seen).toHaveLength(1);
  expect(s.seen[0].method).toBe('GET');
  expect(s.seen[0].path).toBe('/list?namespace=ns');
  expect(s.seen[0].headers.accept).toBe('application/json');
  expect(s.seen[0].headers['content-length']).toBeUndefined();
});

test('GET refuses a reply past the cap and stops reading it', async () => {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const chunks = 1024; // 64 MiB if read to the end; the client's cap is 1 KiB
  let written = 0;
  let closed!: () => void;
  const replyClosed = new Promise<void>((resolve) => (closed = resolve));
  const s = await started((_req, res) => {
    res.writeHead(200);
    res.on('close', closed);
    const more = (): void => {
      while (written < chunks && !res.destroyed) {
        written++;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  await expect(rejection(getOnce(request(s)))).resolves.toBe(REPLY_TOO_LARGE);
  // The client closed the connection: the server stopped long before the end (socket buffers aside).
  await replyClosed;
  expect(written).toBeLessThan(chunks);
});

test('a reply exactly at the cap is read whole', async () => {
  const s = await started((_req, res) => res.end(Buffer.alloc(1024, 'y')));
  expect((await getOnce(request(s))).body.length).toBe(1024);
});

test('POST keeps the status and the start of a reply past the cap', async () => {
  const s = await started((_req, res) => res.writeHead(200).end(Buffer.alloc(10_000, 'z')));
  const reply = await postOnce({ ...request(s), body: Buffer.from('{}'), headChars: 5 });
  expect(reply.status).toBe(200);
  expect(reply.head).toBe('zzzzz');
  expect(s.seen[0].method).toBe('POST');
  expect(s.seen[0].headers['content-length']).toBe('2');
});

test('the deadline covers a body that stalls after the headers', async () => {
  const s = await started((_req, res) => {
    res.writeHead(200);
    res.write('[');
    // and nothing more
  });
  await expect(rejection(getOnce(request(s, { timeoutMs: 200 })))).resolves.toBe('ECONNABORTED');
});

test('a redirect is returned as it is, never followed: the credentials stay with the configured host', async () => {
  const elsewhere = await started((_req, res) => res.end('[]'));
  const s = await started((_req, res) =>
    res.writeHead(302, { Location: `${elsewhere.url.origin}/list` }).end(),
  );
  const auth = basicAuthorization('admin', 'pw');
  const reply = await getOnce(request(s, { headers: { Authorization: auth } }));
  expect(reply.status).toBe(302);
  expect(reply.headers.location).toBe(`${elsewhere.url.origin}/list`);
  expect(elsewhere.seen).toEqual([]);
  expect(s.seen[0].headers.authorization).toBe(auth);
});

test('an aborted signal rejects with ERR_CANCELED; a refused connection with its socket code', async () => {
  const s = await started(() => undefined);
  const abort = new AbortController();
  const pending = rejection(getOnce(request(s, { signal: abort.signal })));
  abort.abort();
  await expect(pending).resolves.toBe('ERR_CANCELED');

  const gone = await serve(() => undefined);
  await gone.close();
  await expect(rejection(getOnce(request(gone)))).resolves.toBe('ECONNREFUSED');
});

test('errorCode: the error code, else its name', () => {
  expect(errorCode(requestError('x', 'ETIMEDOUT'))).toBe('ETIMEDOUT');
  expect(errorCode(new TypeError('x'))).toBe('TypeError');
  expect(errorCode({ code: 5 })).toBe('error');
  expect(errorCode(null)).toBe('error');
});

test('basicAuthorization encodes user and password as UTF-8', () => {
  expect(basicAuthorization('admin', 'pässwörd:1')).toBe(
    'Basic ' + Buffer.from('admin:pässwörd:1', 'utf8').toString('base64'),
  );
  expect(Buffer.from(basicAuthorization('', '').slice(6), 'base64').toString()).toBe(':');
});
