/**
 * `protocol: auto` against the three kinds of server: a vCenter with
 * System.hello (VI/JSON at the release it picks), a vCenter 8.0.1 without it
 * (VI/JSON at 8.0.1.0), and a SOAP-only server (Debian's simulator: SOAP).
 * The log says which in one line, and /readyz names protocol and release.
 */
import https from 'node:https';
import {
  about,
  buildHarness,
  postEvents,
  referenceEvents,
  startSimulator,
  type Simulator,
} from '../harness/simulator';
import { startViJson, type ViJsonPeer } from '../harness/vijson';
import {
  metricsEntry,
  runCli,
  startRouterProcess,
  startStack,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  writeConfig,
  type RouterProcess,
  type Stack,
} from '../helpers/e2e';

jest.setTimeout(120_000);

const vm = 'vm:DC0_H0_VM0';

async function streamDetails(stack: Stack): Promise<Record<string, unknown>> {
  const body = (await (await fetch(`${stack.router.metricsUrl}/readyz`)).json()) as {
    details: { streams: Record<string, Record<string, unknown>> };
  };
  return body.details.streams.vmware_vcenter;
}

/** One event posted now arrives, with govmomi's data. */
async function expectEventFlows(stack: Stack): Promise<void> {
  await postEvents(stack.sim, [{ class: 'VmSuspendedEvent', entities: vm }]);
  await waitFor('the posted event', () =>
    stack.router.events().some((e) => e.subject === 'VmSuspendedEvent'),
  );
  const got = stack.router.events().filter((e) => e.subject === 'VmSuspendedEvent');
  expect(got).toHaveLength(1);
  const key = (got[0].data as { Key: number }).Key;
  expect(got[0].data).toEqual((await referenceEvents(stack.sim)).get(key)!.json);
}

const negotiationLines = (stack: Stack) =>
  stack.router
    .stderr()
    .split('\n')
    .filter((l) => l.includes('vCenter calls go over'));

describe.each([
  [
    'a vCenter with System.hello',
    true,
    'vCenter calls go over VI/JSON release 8.0.3.0 (negotiated with System.hello)',
    '8.0.3.0',
  ],
  [
    'a vCenter 8.0.1 (System.hello answers 404)',
    false,
    'vCenter calls go over VI/JSON release 8.0.1.0 (no System.hello)',
    '8.0.1.0',
  ],
])('auto on %s', (_name, hello, line, release) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ protocol: 'auto', hello });
  });
  afterAll(async () => stack?.stop());

  test(`VI/JSON at ${release}: the log and /readyz say so, events flow, no SOAP call`, async () => {
    const lines = negotiationLines(stack);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(line);
    expect(await streamDetails(stack)).toMatchObject({ protocol: 'vi_json', api_release: release });
    await expectEventFlows(stack);
    const stats = await stack.peer!.stats();
    expect(stats.soap_calls).toBe(0);
    expect(stats.hello_calls).toBe(1);
  });
});

describe('auto on a SOAP-only server (the simulator itself)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      stream: (sim) => ({
        ...vcenterEntry(sim),
        options: { ...vcenterEntry(sim).options, protocol: 'auto' },
      }),
    });
  });
  afterAll(async () => stack?.stop());

  test('SOAP: the log and /readyz say so, events flow', async () => {
    const lines = negotiationLines(stack);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      'vCenter calls go over SOAP (no System.hello, and no VI/JSON release 8.0.1.0)',
    );
    const details = await streamDetails(stack);
    expect(details.protocol).toBe('soap');
    expect(details).not.toHaveProperty('api_release');
    await expectEventFlows(stack);
  });
});

describe('auto over https (the peer with a self-signed certificate, insecure: true)', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  let router: RouterProcess;
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    peer = await startViJson({ target: sim, tls: true });
    const entry = vcenterEntry(sim);
    router = await startRouterProcess([
      { ...entry, address: peer.url, options: { ...entry.options, protocol: 'auto' } },
      stdoutEntry,
      metricsEntry(),
    ]);
    await waitFor('router ready', async () => (await fetch(`${router.metricsUrl}/readyz`)).status === 200);
  });
  afterAll(async () => {
    await router?.stop();
    await peer?.stop();
    await sim?.stop();
  });

  test('System.hello and the calls go over TLS: VI/JSON at 8.0.3.0, events flow', async () => {
    expect(peer.url).toMatch(/^https:/);
    expect(router.stderr()).toContain(
      'vCenter calls go over VI/JSON release 8.0.3.0 (negotiated with System.hello)',
    );
    await postEvents(sim, [{ class: 'VmSuspendedEvent', entities: vm }]);
    await waitFor('the posted event', () => router.events().some((e) => e.subject === 'VmSuspendedEvent'));
    // The test's own fetch would refuse the self-signed certificate.
    const stats = await new Promise<{ soap_calls: number; vijson_calls: number }>((resolve, reject) =>
      https
        .get(`${peer.origin}/vijson-stats`, { rejectUnauthorized: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve(JSON.parse(body) as { soap_calls: number; vijson_calls: number }));
        })
        .on('error', reject),
    );
    expect(stats.soap_calls).toBe(0);
    expect(stats.vijson_calls).toBeGreaterThan(0);
  });
});

describe('the vsphere_source dialect with its application/xml data (written from SOAP replies)', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    peer = await startViJson({ target: sim });
  });
  afterAll(async () => {
    await peer?.stop();
    await sim?.stop();
  });

  const entry = (protocol: string) => {
    const e = vcenterEntry(sim);
    return {
      ...e,
      address: peer.url,
      options: { ...e.options, protocol, cloudevent_format: 'vsphere_source' },
    };
  };

  test('protocol vi_json: a start error that says what to set, exit 1', async () => {
    const { code, stderr } = await runCli([
      '-config',
      writeConfig([entry('vi_json'), stdoutEntry, metricsEntry()]),
    ]);
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n').pop()).toContain(
      'could not start: protocol vi_json cannot give the vsphere_source application/xml data (it is written from SOAP replies): set vsphere_source_payload_encoding to application/json, or protocol to auto or soap',
    );
  });

  test('protocol auto: stays on SOAP and says why; events flow', async () => {
    const router = await startRouterProcess([entry('auto'), stdoutEntry, metricsEntry()]);
    try {
      await waitFor('router ready', async () => (await fetch(`${router.metricsUrl}/readyz`)).status === 200);
      expect(router.stderr()).toContain(
        'vCenter calls go over SOAP (protocol auto: the vsphere_source application/xml data is written from SOAP replies)',
      );
      await postEvents(sim, [{ class: 'VmSuspendedEvent', entities: vm }]);
      await waitFor('the posted event', () =>
        router.events().some((e) => String(e.type).includes('VmSuspendedEvent')),
      );
      const stats = await peer.stats();
      expect(stats.hello_calls).toBe(0);
      expect(stats.vijson_calls).toBe(0);
    } finally {
      await router.stop();
    }
  });
});
