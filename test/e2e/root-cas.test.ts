/**
 * Root CAs: a vCenter (the simulator) and processors (an OpenFaaS gateway, a
 * Knative destination) served over https with certificates a throw-away test
 * CA issued. With `insecure` false the router verifies them: with the CA in
 * the root CAs (the router entry's `options.root_cas`, or `certificates.rootCAs`
 * of a RouterConfig) events flow; without it, the log says the certificate is
 * not trusted and what to set, and the router keeps running and retrying.
 * Unusable CA files stop the start with one line naming the file.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigEntry } from '../../src/config/types';
import { buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import { startViJson, type ViJsonPeer } from '../harness/vijson';
import {
  metricsEntry,
  runCli,
  startRouterProcess,
  stdoutEntry,
  waitFor,
  writeConfig,
  type RouterProcess,
  routerReady,
} from '../helpers/e2e';
import { makeCertificates, type TestCertificates } from '../helpers/test-ca';
import { CloudEventsReceiver } from '../peers/cloudevents-receiver';
import type { EventBridgeEndpoint } from '../peers/eventbridge-endpoint';
import { OpenFaasGateway } from '../peers/openfaas-gateway';
import { entryFor, startEndpoint } from '../processor/aws_event_bridge/helpers';

let certs: TestCertificates;
let sim: Simulator;

beforeAll(async () => {
  buildHarness();
  certs = makeCertificates();
  sim = await startSimulator({ tls: true, tlsCert: { cert: certs.cert, key: certs.key } });
});

afterAll(async () => {
  await sim?.stop();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

const serverTls = (): { key: string; cert: string } => ({
  key: readFileSync(certs.key, 'utf8'),
  cert: readFileSync(certs.cert, 'utf8'),
});

/** The simulator, verified (`insecure` false) unless `insecure` is given. */
function stream(insecure = false): ConfigEntry {
  return {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: sim.url,
    auth: { method: 'user_password', secret: { username: sim.username, password: sim.password } },
    options: { insecure, call_timeout: '10', max_backoff: '1' },
  };
}

const rootCAs = (...files: string[]): ConfigEntry => ({
  type: 'router',
  provider: 'event_log',
  options: { root_cas: files },
});

const yaml = (withCA: boolean): string => `apiVersion: event-router.vmware.com/v1alpha1
kind: RouterConfig
metadata:
  name: router-config-tls
eventProvider:
  type: vcenter
  name: vc-tls
  vcenter:
    address: ${sim.url}
    insecureSSL: false
    auth:
      type: basic_auth
      basicAuth:
        username: ${sim.username}
        password: ${sim.password}
eventProcessor:
  type: knative
  name: sink-tls
  knative:
    destination:
      uri: ${receiverUrl}
${withCA ? `certificates:\n  rootCAs:\n    - ${certs.ca}\n` : ''}metricsProvider:
  type: default
  name: metrics
  default:
    bindAddress: "127.0.0.1:0"
`;
let receiverUrl = '';

/** Lines of the router's log that say the certificate of `peer` is not trusted. */
const untrustedLines = (r: RouterProcess, peer: string): string[] =>
  r
    .stderr()
    .split('\n')
    .filter((l) => l.includes(`the certificate of ${peer}`) && l.includes('is not trusted'));

const SPECS = [
  { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
  { class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM0' },
];

describe('a vCenter behind a test CA (insecure false)', () => {
  test('JSON array: trusted through the router entry root_cas, the events are delivered', async () => {
    const r = await startRouterProcess([stream(), stdoutEntry, metricsEntry(), rootCAs(certs.ca)]);
    try {
      await routerReady(r);
      await postEvents(sim, SPECS);
      await waitFor('the posted events on stdout', () =>
        ['VmPoweredOnEvent', 'VmPoweredOffEvent'].every((c) => r.events().some((e) => e.subject === c)),
      );
      expect(untrustedLines(r, 'vCenter')).toEqual([]);
    } finally {
      await r.stop();
    }
  });

  test('JSON array: without the CA, one line per attempt says the certificate is not trusted and what to set; the router keeps retrying', async () => {
    const r = await startRouterProcess([stream(), stdoutEntry, metricsEntry()]);
    try {
      await waitFor(
        'two attempts refused for the certificate',
        () => untrustedLines(r, 'vCenter').length >= 2,
      );
      const [line] = untrustedLines(r, 'vCenter');
      expect(line).toMatch(/ ERROR /);
      expect(line).toContain(`the certificate of vCenter ${sim.url} is not trusted (`);
      expect(line).toContain('options.root_cas of the router entry; certificates.rootCAs in a RouterConfig');
      expect(line).toContain('or set the stream option insecure');
      expect(line).toContain('retrying');
      expect(r.proc.exitCode).toBeNull();
      expect((await fetch(`${r.metricsUrl}/readyz`)).status).toBe(503);
      expect(r.stdoutLines).toEqual([]);
    } finally {
      expect(await r.stop()).toBe(0);
    }
  });
});

describe('a VI/JSON vCenter behind a test CA (the VI/JSON peer serving the CA-issued certificate, insecure false)', () => {
  let peer: ViJsonPeer;
  beforeAll(async () => {
    peer = await startViJson({ target: sim, tls: true, tlsCert: { cert: certs.cert, key: certs.key } });
  });
  afterAll(async () => peer?.stop());

  const viJsonStream = (): ConfigEntry => ({
    ...stream(),
    address: peer.url,
    options: { ...stream().options, protocol: 'vi_json' },
  });

  test('with the CA in root_cas: VI/JSON negotiated over verified TLS, events delivered', async () => {
    const r = await startRouterProcess([viJsonStream(), stdoutEntry, metricsEntry(), rootCAs(certs.ca)]);
    try {
      await routerReady(r);
      expect(r.stderr()).toContain(
        'vCenter calls go over VI/JSON release 8.0.3.0 (negotiated with System.hello)',
      );
      await postEvents(sim, [{ class: 'VmMigratedEvent', entities: 'vm:DC0_H0_VM0' }]);
      await waitFor('the posted event on stdout', () =>
        r.events().some((e) => e.subject === 'VmMigratedEvent'),
      );
      expect(untrustedLines(r, 'vCenter')).toEqual([]);
    } finally {
      expect(await r.stop()).toBe(0);
    }
  });

  test('without the CA: the same line as over SOAP, naming the vCenter by its stream address https://HOST/sdk', async () => {
    const r = await startRouterProcess([viJsonStream(), stdoutEntry, metricsEntry()]);
    try {
      await waitFor(
        'two attempts refused for the certificate',
        () => untrustedLines(r, 'vCenter').length >= 2,
      );
      const [line] = untrustedLines(r, 'vCenter');
      expect(peer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/sdk$/);
      expect(line).toMatch(/ ERROR /);
      expect(line).toContain(`the certificate of vCenter ${peer.url} is not trusted (`);
      expect(line).toContain('options.root_cas of the router entry; certificates.rootCAs in a RouterConfig');
      expect(line).toContain('or set the stream option insecure');
      expect(line).toContain('retrying');
      expect(r.proc.exitCode).toBeNull();
      expect(r.stdoutLines).toEqual([]);
    } finally {
      expect(await r.stop()).toBe(0);
    }
  });
});

describe('processors over https with a test CA', () => {
  let gateway: OpenFaasGateway;
  let receiver: CloudEventsReceiver;

  beforeAll(async () => {
    gateway = await OpenFaasGateway.start({ tls: serverTls() });
    gateway.deploy({ name: 'on-power', annotations: { topic: 'VmPoweredOnEvent' } });
    receiver = await CloudEventsReceiver.start(0, serverTls());
    receiverUrl = receiver.url;
  });

  afterAll(async () => {
    await gateway?.close();
    await receiver?.close();
  });

  const openfaas = (): ConfigEntry => ({
    type: 'processor',
    provider: 'openfaas',
    address: gateway.url,
    auth: { method: 'basic_auth', secret: gateway.credentials },
    options: { topic_refresh_interval: '1' },
  });

  test('OpenFaaS: with the CA the topic map is read and functions invoked; without it the log says what to set and the router keeps running', async () => {
    const before = gateway.delivered('on-power').length;
    const r = await startRouterProcess([stream(), openfaas(), metricsEntry(), rootCAs(certs.ca)]);
    try {
      await routerReady(r);
      await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM1' }]);
      await waitFor('the function invoked over https', () => gateway.delivered('on-power').length > before);
    } finally {
      await r.stop();
    }

    // The vCenter stays trusted through insecure: only the gateway's certificate is in question.
    const without = await startRouterProcess([stream(true), openfaas(), metricsEntry()]);
    try {
      await waitFor(
        'two topic map reads refused',
        () => untrustedLines(without, 'OpenFaaS gateway').length >= 2,
      );
      const [line] = untrustedLines(without, 'OpenFaaS gateway');
      expect(line).toContain(`the certificate of OpenFaaS gateway ${gateway.url} is not trusted (`);
      expect(line).toContain('options.root_cas of the router entry');
      expect(without.proc.exitCode).toBeNull();
    } finally {
      expect(await without.stop()).toBe(0);
    }
  });

  test('v1alpha1 YAML: certificates.rootCAs trusts the vCenter and the Knative destination; without it both are refused with what to set', async () => {
    const r = await startRouterProcess(yaml(true));
    const first = receiver.received.length;
    try {
      await routerReady(r);
      await postEvents(sim, [{ class: 'VmSuspendedEvent', entities: 'vm:DC0_H0_VM1' }]);
      await waitFor('the event at the https destination', () =>
        receiver.received.slice(first).some((e) => e.event.subject === 'VmSuspendedEvent'),
      );
    } finally {
      await r.stop();
    }

    const without = await startRouterProcess(yaml(false));
    try {
      await waitFor(
        'the vCenter refused for its certificate',
        () => untrustedLines(without, 'vCenter').length >= 1,
      );
      expect(untrustedLines(without, 'vCenter')[0]).toContain('certificates.rootCAs in a RouterConfig');
      expect(without.proc.exitCode).toBeNull();
    } finally {
      expect(await without.stop()).toBe(0);
    }
    // The destination alone (the stream trusted through insecure): each delivery refused, saying why.
    const destinationOnly = await startRouterProcess(
      yaml(false).replace('insecureSSL: false', 'insecureSSL: true'),
    );
    const count = receiver.received.length;
    try {
      await routerReady(destinationOnly);
      await postEvents(sim, [{ class: 'VmResumingEvent', entities: 'vm:DC0_H0_VM1' }]);
      await waitFor(
        'the delivery refused for the certificate',
        () => untrustedLines(destinationOnly, 'Knative destination').length >= 1,
      );
      const [line] = untrustedLines(destinationOnly, 'Knative destination');
      expect(line).toContain(`the certificate of Knative destination ${receiver.url} is not trusted (`);
      expect(line).toContain('or set options.insecure');
      expect(receiver.received.length).toBe(count);
    } finally {
      expect(await destinationOnly.stop()).toBe(0);
    }
  });

  test('EventBridge: with the CA the rule is read and the events put; without it the start fails saying what to set', async () => {
    const ep: EventBridgeEndpoint = await startEndpoint(undefined, serverTls());
    try {
      const r = await startRouterProcess([stream(), entryFor(ep), metricsEntry(), rootCAs(certs.ca)]);
      try {
        await routerReady(r);
        await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM1' }]);
        await waitFor('the event put over https', () =>
          ep.entries.some((e) => e.Detail.includes('VmPoweredOffEvent')),
        );
      } finally {
        await r.stop();
      }

      const config = writeConfig([stream(true), entryFor(ep), metricsEntry()]);
      const without = await runCli(['-config', config]);
      expect(without.code).toBe(1);
      const lines = without.stderr.split('\n').filter((l) => l.includes('could not start'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`the certificate of EventBridge endpoint ${ep.url} is not trusted (`);
      expect(lines[0]).toContain('options.root_cas of the router entry');
      // an untrusted CA needs a configuration change: no retry
      expect(without.stderr).not.toContain('reading the EventBridge rule failed, retrying');
    } finally {
      await ep.close();
    }
  });

  test('EventBridge: a certificate outside its validity (from a trusted CA) is retried before the start gives up', async () => {
    const expired = makeCertificates({ expired: true });
    const ep: EventBridgeEndpoint = await startEndpoint(undefined, {
      key: readFileSync(expired.key, 'utf8'),
      cert: readFileSync(expired.cert, 'utf8'),
    });
    try {
      const config = writeConfig([stream(true), entryFor(ep), metricsEntry(), rootCAs(expired.ca)]);
      const run = await runCli(['-config', config]);
      expect(run.code).toBe(1);
      // a renewed certificate (or a clock put right) needs no configuration change: retried
      expect(run.stderr).toContain('reading the EventBridge rule failed, retrying');
      const lines = run.stderr.split('\n').filter((l) => l.includes('could not start'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(
        `the certificate of EventBridge endpoint ${ep.url} is not valid now (CERT_HAS_EXPIRED): renew it`,
      );
    } finally {
      await ep.close();
      rmSync(expired.dir, { recursive: true, force: true });
    }
  });

  test('validate -connect uses the root CAs: ok with them, FAIL with what to set without them', async () => {
    const entries = (extra: ConfigEntry[]): unknown[] => [
      stream(),
      {
        type: 'processor',
        provider: 'knative',
        address: receiver.url,
      },
      metricsEntry(),
      ...extra,
    ];
    const ok = await runCli(['validate', '-connect', '-config', writeConfig(entries([rootCAs(certs.ca)]))]);
    expect(ok.stdout).toMatch(/^ok {4}stream vmware_vcenter .*logged in as "user"/m);
    expect(ok.stdout).toMatch(/^ok {4}processor knative .*destination accepts TLS connections/m);
    expect(ok.code).toBe(0);

    const fail = await runCli(['validate', '-connect', '-config', writeConfig(entries([]))]);
    expect(fail.stdout).toMatch(
      /^FAIL {2}stream vmware_vcenter .*the certificate of vCenter .* is not trusted/m,
    );
    expect(fail.stdout).toMatch(
      /^FAIL {2}processor knative .*the certificate of Knative destination .* is not trusted .*options\.root_cas/m,
    );
    expect(fail.code).toBe(1);
  });
});

describe('unusable root CA files', () => {
  test('a config change to a missing CA file is refused while running: logged naming the file, the router goes on', async () => {
    const r = await startRouterProcess([stream(true), stdoutEntry, metricsEntry()]);
    try {
      await routerReady(r);
      const file = /starting vmware-event-router .*config=(\S+)/.exec(r.stderr())![1];
      const missing = path.join(path.dirname(file), 'gone.pem');
      writeFileSync(file, JSON.stringify([stream(), stdoutEntry, metricsEntry(), rootCAs(missing)]));
      await waitFor('the refused change in the log', () => /new file is invalid/.test(r.stderr()));
      const line = r
        .stderr()
        .split('\n')
        .find((l) => /new file is invalid/.test(l))!;
      expect(line).toContain(`root CA file ${missing} not found`);
      const count = r.events().length;
      await postEvents(sim, SPECS);
      await waitFor('events still delivered', () => r.events().length >= count + SPECS.length);
      expect(r.proc.exitCode).toBeNull();
    } finally {
      expect(await r.stop()).toBe(0);
    }
  });

  test('a missing file or one without a PEM certificate: one line naming the file, exit 1 (start and validate)', async () => {
    const dir = path.dirname(writeConfig([]));
    const notPem = path.join(dir, 'not-a-ca.pem');
    writeFileSync(notPem, 'this is not a certificate\n');
    const broken = path.join(dir, 'broken.pem');
    writeFileSync(
      broken,
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    const missing = path.join(dir, 'missing.pem');
    for (const [file, why] of [
      [missing, `root CA file ${missing} not found`],
      [notPem, `root CA file ${notPem} holds no PEM certificate`],
      [broken, `root CA file ${broken} holds a certificate that cannot be read`],
    ]) {
      const config = writeConfig([stream(), stdoutEntry, metricsEntry(), rootCAs(certs.ca, file)]);
      const start = await runCli(['-config', config]);
      expect(start.code).toBe(1);
      const lines = start.stderr.split('\n').filter((l) => l.includes(file));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`vmware-event-router could not start: ${why}`);

      const validate = await runCli(['validate', '-config', config]);
      expect(validate.code).toBe(1);
      expect(validate.stderr.trim().split('\n')).toHaveLength(1);
      expect(validate.stderr).toContain(`invalid configuration ${config}: ${why}`);
    }
  });
});
