/**
 * A failed start says so: one error-level line `vmware-event-router could
 * not start: …` (as docs/troubleshooting.md lists them), exit 1, and no
 * "shutting down"/"stopped" lines that read like a clean stop. An address
 * that answers but is not a vCenter (404, a web page) fails at once, saying
 * what answered and what was expected; a vCenter that is down or starting
 * (no answer, 503) is retried.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { buildHarness, startSimulator, type Simulator } from '../harness/simulator';
import {
  REPO_ROOT,
  runCli,
  startRouterProcess,
  waitFor,
  writeConfig,
  type RouterProcess,
} from '../helpers/e2e';

function config(address: string, password = 'pass') {
  return [
    {
      type: 'stream',
      provider: 'vmware_vcenter',
      address,
      auth: { method: 'user_password', secret: { username: 'user', password } },
      options: { call_timeout: '3', max_backoff: '1' },
    },
    { type: 'processor', provider: 'stdout' },
    { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } },
  ];
}

/** An HTTP server that answers every request with `status`, `type` and `body`; counts requests. */
async function webServer(
  status: number,
  type: string,
  body: string,
): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    req.resume();
    res.writeHead(status, { 'Content-Type': type });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/sdk`,
    requests: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const lines = (text: string) => text.trimEnd().split('\n');

describe('a wrong vCenter password', () => {
  let sim: Simulator;
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
  });
  afterAll(async () => sim?.stop());

  test('ends with one error line "vmware-event-router could not start: …" and exit 1', async () => {
    const { code, stdout, stderr } = await runCli(['-config', writeConfig(config(sim.url, 'wrong'))]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const last = lines(stderr).pop()!;
    expect(last).toMatch(
      /^\S+ ERROR vmware-event-router could not start: vCenter http:\/\/127\.0\.0\.1:\d+\/sdk rejected the login of user "user" \(InvalidLogin\): check auth\.secret\.username and auth\.secret\.password$/,
    );
    expect(stderr).not.toMatch(/shutting down|INFO\s+stopped|vmware-event-router stopped/);
    expect(stderr).not.toContain('wrong');
  });

  test('as a JSON line with level "error" under -log-json', async () => {
    const { code, stderr } = await runCli(['-config', writeConfig(config(sim.url, 'wrong')), '-log-json']);
    expect(code).toBe(1);
    const last = JSON.parse(lines(stderr).pop()!) as { level: string; msg: string };
    expect(last.level).toBe('error');
    expect(last.msg).toMatch(/^vmware-event-router could not start: vCenter .* rejected the login/);
  });
});

describe('an address that is not a vCenter', () => {
  test('HTTP 404 at /sdk: exit 1 at once, naming what answered and what was expected', async () => {
    const web = await webServer(404, 'text/html; charset=utf-8', '<html><body>Not Found</body></html>');
    try {
      const started = Date.now();
      const { code, stdout, stderr } = await runCli(['-config', writeConfig(config(web.url))]);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(web.requests()).toBe(1);
      expect(lines(stderr).pop()).toMatch(
        new RegExp(
          `^\\S+ ERROR vmware-event-router could not start: ${web.url.replace(/[./]/g, '\\$&')} is not a vCenter SOAP endpoint: ` +
            `RetrieveServiceContent was answered with HTTP 404 \\(text/html\\), where a vCenter answers with a SOAP envelope; ` +
            `set the stream address to the vCenter's https://HOST/sdk$`,
        ),
      );
      expect(stderr).not.toMatch(/reconnecting/);
    } finally {
      await web.close();
    }
  });

  test('a web page (HTTP 200, not SOAP) at /sdk: exit 1 at once', async () => {
    const web = await webServer(200, 'text/plain', 'hello, this is not vCenter');
    try {
      const { code, stderr } = await runCli(['-config', writeConfig(config(web.url))]);
      expect(code).toBe(1);
      expect(lines(stderr).pop()).toMatch(
        /ERROR vmware-event-router could not start: .* is not a vCenter SOAP endpoint: RetrieveServiceContent was answered with HTTP 200 \(text\/plain\), a body that is not a SOAP envelope, where a vCenter answers with a SOAP envelope/,
      );
    } finally {
      await web.close();
    }
  });

  test('a vCenter still starting (HTTP 503) is retried, not refused', async () => {
    const web = await webServer(503, 'text/html', '<html>Service Unavailable</html>');
    let router: RouterProcess | undefined;
    try {
      router = await startRouterProcess(config(web.url));
      await waitFor('two retried attempts', () => web.requests() >= 2);
      expect(router.proc.exitCode).toBeNull();
      expect(router.stderr()).toMatch(/WARN\s+vCenter stream interrupted, reconnecting .*HTTP 503/);
      expect(router.stderr()).not.toContain('could not start');
    } finally {
      await router?.stop();
      await web.close();
    }
  });
});

test('docs/troubleshooting.md lists these start errors under "could not start"', () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'troubleshooting.md'), 'utf8');
  const start = doc.indexOf('## Start errors: `vmware-event-router could not start: …`');
  expect(start).toBeGreaterThan(0);
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  expect(section).toContain('rejected the login of user "USER" (InvalidLogin)');
  expect(section).toContain('is not a vCenter SOAP endpoint');
  expect(doc).not.toContain('vmware-event-router stopped: …` (exit 1)');
});
