/**
 * A hostile Knative receiver that echoes what the router sent it: its 400
 * body quotes the request headers (the Authorization header, base64 of
 * `user:password` or `Bearer <token>`), its 302 points at a Location holding
 * the token, or its reply puts the token right where a quote would be cut.
 * None of it reaches a log line or the dead-letter file, in any form the
 * router itself sends.
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/catalogue';
import type { ConfigEntry } from '../../src/config/types';
import { clearSecrets, PEER_QUOTE_CHARS } from '../../src/log/logger';
import { waitFor } from '../helpers/wait';
import { entry, event, makeContext, makeProcessor } from '../processor/knative/helpers';

jest.setTimeout(60_000);

const vcenter = {
  type: 'stream',
  provider: 'vmware_vcenter',
  address: 'https://vc.example.com/sdk',
  auth: { method: 'user_password', secret: { username: 'u', password: 'vc-pass-not-echoed' } },
};
const metrics = { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let handler: Handler;
let url: string;

beforeEach(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/default/default`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  clearSecrets();
});

/** Delivers one event against the hostile receiver; returns the log and the dead-letter file's text. */
async function deliverOnce(auth: ConfigEntry['auth']): Promise<{ log: string; deadLetters: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knative-echo-'));
  const deadLetterFile = path.join(dir, 'dead.jsonl');
  const e = entry(url, { dead_letter_file: deadLetterFile }, auth);
  // Loaded as the router loads it: the credentials are registered as secrets.
  parseConfig(JSON.stringify([vcenter, e, metrics]), 'config.json');
  const tc = makeContext();
  const p = await makeProcessor(e, tc);
  const ev = event();
  await p.process(ev);
  await waitFor(
    'the dead letter',
    () => existsSync(deadLetterFile) && readFileSync(deadLetterFile, 'utf8').includes(ev.id),
  );
  await p.stop(5000);
  const log = tc.lines.join('\n');
  expect(log).toContain(ev.id);
  return { log, deadLetters: readFileSync(deadLetterFile, 'utf8') };
}

function expectNone(texts: string[], forms: string[]): void {
  for (const t of texts) for (const f of forms) expect(t).not.toContain(f);
}

test('a 400 echoing the request headers does not show the basic auth header (base64 of user:password)', async () => {
  const password = 'kn-Pa55word';
  const base64 = Buffer.from(`knuser:${password}`).toString('base64');
  handler = (req, res) =>
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`bad request: ${JSON.stringify(req.headers)}`);
  const { log, deadLetters } = await deliverOnce({
    method: 'basic_auth',
    secret: { username: 'knuser', password },
  });
  expect(log).toContain('answered 400');
  expect(log).toContain('withheld');
  expectNone([log, deadLetters], [base64, base64.slice(0, 16), password]);
});

test('a redirect whose Location holds the token, URL-encoded, is not quoted', async () => {
  const token = 'TokSecret-4242';
  handler = (_req, res) =>
    res.writeHead(302, { Location: `http://127.0.0.1:1/next?tok=Bearer%20${token}` }).end();
  const { log, deadLetters } = await deliverOnce({ method: 'bearer', secret: { token } });
  expect(log).toContain('redirected (302)');
  expect(log).toContain('withheld');
  expectNone([log, deadLetters], [token, 'TokSecret', encodeURIComponent(token)]);
});

test('a token split by the quote cut is withheld, not shown up to its last character', async () => {
  const token = 'TokSecret-4242';
  const prefix = 'Z'.repeat(PEER_QUOTE_CHARS - 'auth was Bearer '.length - token.length + 1);
  handler = (_req, res) => res.writeHead(400).end(`${prefix}auth was Bearer ${token}`);
  const { log, deadLetters } = await deliverOnce({ method: 'bearer', secret: { token } });
  expect(log).toContain('answered 400');
  expectNone([log, deadLetters], [token.slice(0, -1), 'TokSecret']);
});
