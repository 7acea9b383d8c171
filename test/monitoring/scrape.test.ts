/**
 * Debian's Prometheus server scrapes a running router (basic auth, as the metrics entry
 * configures it) next to the simulator, with the generated alerting rules loaded. Prometheus'
 * own API shows that every series the rules and the dashboard read exists with the labels they
 * expect (names drift; this catches it), and that a stopped simulator makes the not-connected
 * alert pending.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dump } from 'js-yaml';
import { COORDINATION_SERIES, rulesFile, thresholdsWith } from '../../scripts/gen-monitoring';
import { startStack, waitFor, type Stack } from '../helpers/e2e';
import { postEvents } from '../harness/simulator';
import {
  TARGET_LABELS,
  asPromQL,
  dashboardExpressions,
  exportedSeries,
  metricNames,
  readRules,
} from './promql';

const JOB = 'vmware-event-router-metrics';
const AUTH = { username: 'prometheus', password: 'scrape-secret-4711' };

/**
 * Series the test cannot show, and why. Every other series the rules and the dashboard read
 * must be in Prometheus with its labels.
 */
const EXCLUDED: Record<string, string> = Object.fromEntries(
  Object.keys(COORDINATION_SERIES).map((s) => [
    s,
    'exists only with a coordination entry (several replicas)',
  ]),
);

/**
 * Counters of faults this set-up does not cause (a processor failing, events lost, a stale
 * checkpoint): the router exposes them (Prometheus has their metadata from the scrape) but a
 * labelled counter has no sample before its first count, so Prometheus has no series whose
 * labels could be read. rules.test.ts checks their labels against the router's definitions.
 */
const FAULT_COUNTERS = new Set([
  'vmware_event_router_stream_events_missed_total',
  'vmware_event_router_stream_missed_updates_total',
  'vmware_event_router_stream_watchdog_recoveries_total',
  'vmware_event_router_stream_checkpoint_write_errors_total',
  'vmware_event_router_stream_events_hidden_total',
  'vmware_event_router_stream_checkpoint_window_exceeded_total',
  'vmware_event_router_stream_events_errors_total',
  'vmware_event_router_processor_errors_total',
  'vmware_event_router_processor_dead_lettered_total',
  'vmware_event_router_processor_dropped_total',
  'vmware_event_router_processor_retries_total',
  'vmware_event_router_stream_reconnects_total',
  'vmware_event_router_stream_call_errors_total',
]);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface PromServer {
  url: string;
  stop(): Promise<void>;
  log(): string;
}

async function startPrometheus(dir: string, target: string, rules: string): Promise<PromServer> {
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    dump({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [rules],
      scrape_configs: [{ job_name: JOB, basic_auth: AUTH, static_configs: [{ targets: [target] }] }],
    }),
  );
  const port = await freePort();
  const proc: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (log += d));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  proc.on(
    'error',
    (err) => (log += `prometheus could not start (${err.message}): run scripts/install-prometheus.sh`),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Prometheus ready', async () => {
    if (proc.exitCode !== null || log.includes('could not start'))
      throw new Error(`prometheus exited: ${log}`);
    return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
  });
  return {
    url,
    log: () => log,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function api<T>(prom: PromServer, query: string): Promise<T> {
  const res = await fetch(`${prom.url}/api/v1/${query}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus ${query}: ${body.error}`);
  return body.data;
}

const series = (prom: PromServer, name: string) =>
  api<Array<Record<string, string>>>(prom, `series?match[]=${encodeURIComponent(`${name}{job="${JOB}"}`)}`);

describe('Prometheus scraping a running router', () => {
  let stack: Stack | undefined;
  let prom: PromServer | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ver-prometheus-'));
    stack = await startStack({ metricsAuth: AUTH });
    // A short `for:` through the rules' own threshold option: the alert is pending for 2 minutes,
    // long after the test has read it.
    const rules = path.join(dir, 'rules.yaml');
    writeFileSync(rules, dump(rulesFile(thresholdsWith([`jobSelector=job="${JOB}"`, 'notConnectedFor=2m']))));
    prom = await startPrometheus(dir, new URL(stack.router.metricsUrl).host, rules);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Prometheus scrapes /metrics with the basic auth credentials', async () => {
    await waitFor('the router target up', async () => {
      const t = await api<{
        activeTargets: Array<{ health: string; lastError: string; labels: { job: string } }>;
      }>(prom!, 'targets');
      return t.activeTargets.some((a) => a.labels.job === JOB && a.health === 'up');
    });
  });

  test('every series the rules and the dashboard read exists with the labels they expect', async () => {
    // Deliveries give the delivery counters and latency histograms their samples.
    await postEvents(stack!.sim, [{ class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM0' }]);
    await waitFor('a delivered event', () => stack!.router.stdoutLines.length > 0);

    const exported = exportedSeries();
    const used = new Set(
      [...readRules().map((r) => r.expr), ...dashboardExpressions().map((d) => d.expr)].flatMap((e) =>
        metricNames(asPromQL(e)),
      ),
    );
    const checked = [...used].filter((m) => !(m in EXCLUDED) && m !== 'up').sort();
    expect(checked.length).toBeGreaterThan(15);

    // Until each non-fault series has been scraped (after the delivery above).
    await waitFor(
      'every series in Prometheus',
      async () => {
        for (const m of checked)
          if (!FAULT_COUNTERS.has(m) && (await series(prom!, m)).length === 0) return false;
        return true;
      },
      30_000,
    ).catch(async (err: Error) => {
      const absent: string[] = [];
      for (const m of checked) if ((await series(prom!, m)).length === 0) absent.push(m);
      throw new Error(`${err.message}; absent: ${absent.filter((m) => !FAULT_COUNTERS.has(m)).join(', ')}`);
    });

    const problems: string[] = [];
    const metadata = await api<Record<string, Array<{ type: string }>>>(prom!, 'metadata');
    for (const m of checked) {
      const found = await series(prom!, m);
      if (found.length === 0) {
        // A fault counter: Prometheus read its family from the scrape.
        if (!metadata[m] && !metadata[m.replace(/_total$/, '')]) problems.push(`${m}: not exposed at all`);
        continue;
      }
      const want = [...TARGET_LABELS, ...(exported.get(m) ?? [])];
      for (const s of found) {
        const missing = want.filter((l) => !(l in s));
        if (missing.length) problems.push(`${m}: series ${JSON.stringify(s)} lacks ${missing.join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
  }, 60_000);

  test('a stopped simulator makes VmwareEventRouterStreamNotConnected pending', async () => {
    const alerts = () =>
      api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>(prom!, 'alerts').then((a) =>
        a.alerts.filter((x) => x.labels.alertname === 'VmwareEventRouterStreamNotConnected'),
      );
    expect(await alerts()).toEqual([]);
    await stack!.sim.stop();
    await waitFor(
      'the alert pending',
      async () => (await alerts()).some((a) => a.state === 'pending'),
      60_000,
    );
    const [alert] = await alerts();
    expect(alert.labels).toEqual(
      expect.objectContaining({ job: JOB, provider: 'vmware_vcenter', severity: 'critical' }),
    );
    expect(alert.labels.stream).toBeTruthy();
  }, 90_000);
});
