/**
 * Writes the router's Prometheus alerting rules, the same rules as a Prometheus Operator
 * `PrometheusRule`, and the Grafana dashboard into deploy/monitoring/, from the definitions in
 * this file (the one source of all three), and the table of the rules' thresholds into
 * docs/troubleshooting.md. Generated: do not edit the outputs by hand.
 *
 *   npx tsc -p . && node dist/scripts/gen-monitoring.js
 *
 * Other thresholds than the defaults: write your own copies elsewhere, e.g.
 *
 *   node dist/scripts/gen-monitoring.js -out /tmp/rules -set notConnectedFor=10m -set quietFor=3h
 *
 * test/monitoring/rules.test.ts fails when the committed files are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dump } from 'js-yaml';
import { formatLike, repoRoot } from './gen-config-schema';

const P = 'vmware_event_router_';

/** The router's series the rules and the dashboard read (src/metrics/metrics.ts defines them). */
export const SERIES = {
  streamConnected: `${P}stream_connected`,
  streamSecondsSinceLastSuccess: `${P}stream_seconds_since_last_success`,
  streamEvents: `${P}stream_events_total`,
  streamErrors: `${P}stream_events_errors_total`,
  streamEventsMissed: `${P}stream_events_missed_total`,
  streamMissedUpdates: `${P}stream_missed_updates_total`,
  streamWatchdogRecoveries: `${P}stream_watchdog_recoveries_total`,
  streamCheckpointWriteErrors: `${P}stream_checkpoint_write_errors_total`,
  streamEventsHidden: `${P}stream_events_hidden_total`,
  streamCheckpointWindowExceeded: `${P}stream_checkpoint_window_exceeded_total`,
  streamReconnects: `${P}stream_reconnects_total`,
  streamCallErrors: `${P}stream_call_errors_total`,
  invocations: `${P}processor_invocations_total`,
  processorErrors: `${P}processor_errors_total`,
  deadLettered: `${P}processor_dead_lettered_total`,
  dropped: `${P}processor_dropped_total`,
  retries: `${P}processor_retries_total`,
  processorLag: `${P}processor_lag_events`,
  deliveryLatencyBucket: `${P}delivery_latency_seconds_bucket`,
  routerLatencyBucket: `${P}router_latency_seconds_bucket`,
  logEvents: `${P}log_events`,
  logBytes: `${P}log_bytes`,
  logFullWaits: `${P}log_full_waits_total`,
  processStartTime: `${P}process_start_time_seconds`,
  residentMemory: `${P}process_resident_memory_bytes`,
  heapUsed: `${P}nodejs_heap_size_used_bytes`,
  eventLoopLagP99: `${P}nodejs_eventloop_lag_p99_seconds`,
  leasesHeld: `${P}coordination_leases_held`,
  leaseTransitions: `${P}coordination_lease_transitions_total`,
  coordinationStoreErrors: `${P}coordination_store_errors_total`,
} as const;

/**
 * Series that exist only when the configuration has a `coordination` entry (several replicas
 * sharing the streams), with their labels.
 */
export const COORDINATION_SERIES: Record<string, string[]> = {
  [SERIES.leasesHeld]: ['stream'],
  [SERIES.leaseTransitions]: ['stream', 'event'],
  [SERIES.coordinationStoreErrors]: ['operation'],
};

interface Threshold {
  value: string;
  description: string;
}

/** The rules' options: every number and duration an alert compares with. */
export const THRESHOLD_OPTIONS = {
  jobSelector: {
    value: 'job="vmware-event-router-metrics"',
    description:
      "Label matchers of the router's scrape target (`up{…}`); the default is the job the ServiceMonitor's Service gives it",
  },
  routerDownFor: { value: '5m', description: 'How long the scrape may fail before RouterDown fires' },
  notConnectedFor: {
    value: '5m',
    description:
      'How long no replica may have a vCenter session for a stream before StreamNotConnected fires',
  },
  notReadyAfterSeconds: {
    value: '120',
    description:
      'Seconds without a successful vCenter call after which a stream counts as not ready (StreamNotReady); a ready stream calls at least every 10 s plus its call_timeout',
  },
  notReadyFor: { value: '5m', description: 'How long a stream may be not ready before StreamNotReady fires' },
  lossWindow: {
    value: '30m',
    description:
      'EventsLost, EventsSkippedAtStart and UpdatesMissed fire while their counter grew within this window',
  },
  processorFailureWindow: {
    value: '10m',
    description: 'ProcessorFailing: deliveries that failed after their retries within this window',
  },
  processorFailureFor: {
    value: '5m',
    description: 'How long failures must go on before ProcessorFailing fires',
  },
  deadLetterWindow: {
    value: '30m',
    description:
      'ProcessorDeadLettering fires while events were written to a dead-letter file within this window',
  },
  logFullWindow: {
    value: '5m',
    description: 'EventLogFull: streams waited for a full event log within this window …',
  },
  logFullFor: { value: '10m', description: '… for this long without a break' },
  quietFor: {
    value: '2h',
    description: 'NoEvents: no event read on a stream for this long …',
  },
  usualWindow: { value: '1d', description: '… on a stream that read at least usualMinEvents in this window' },
  usualMinEvents: { value: '100', description: 'See usualWindow' },
  restartWindow: { value: '30m', description: 'RouterRestarting: restarts counted within this window …' },
  restartCount: { value: '2', description: '… fire when there were more than this many' },
  leaseFlapWindow: {
    value: '15m',
    description: 'LeasesFlapping: lease transitions (acquired or lost) of a stream within this window …',
  },
  leaseFlapCount: { value: '4', description: '… fire when there were more than this many' },
  noHolderFor: {
    value: '5m',
    description: 'How long no replica may hold a stream before StreamWithoutHolder fires',
  },
  storeErrorsWindow: {
    value: '10m',
    description: 'CoordinationStoreFailing: failed lease store operations within this window …',
  },
  storeErrorsFor: { value: '5m', description: '… for this long without a break' },
} satisfies Record<string, Threshold>;

export type ThresholdName = keyof typeof THRESHOLD_OPTIONS;
export type Thresholds = Record<ThresholdName, string>;

export function defaultThresholds(): Thresholds {
  const out = {} as Thresholds;
  for (const [k, v] of Object.entries(THRESHOLD_OPTIONS)) out[k as ThresholdName] = v.value;
  return out;
}

/** `defaults` with `name=value` settings applied; an unknown name is an error that lists the known ones. */
export function thresholdsWith(settings: string[]): Thresholds {
  const t = defaultThresholds();
  for (const s of settings) {
    const eq = s.indexOf('=');
    const name = s.slice(0, eq);
    if (eq < 1 || !(name in t))
      throw new Error(`unknown threshold "${s}": use NAME=VALUE, NAME one of ${Object.keys(t).join(', ')}`);
    t[name as ThresholdName] = s.slice(eq + 1);
  }
  return t;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: 'critical' | 'warning' | 'info' };
  annotations: { summary: string; description: string; runbook: string };
}

/** Where the runbook paragraph of an alert is: its heading in docs/troubleshooting.md. */
export function runbookAnchor(alert: string): string {
  return `docs/troubleshooting.md#${alert.toLowerCase()}`;
}

function rule(
  alert: string,
  severity: AlertRule['labels']['severity'],
  expr: string,
  forDuration: string | undefined,
  summary: string,
  description: string,
): AlertRule {
  return {
    alert,
    expr,
    ...(forDuration && forDuration !== '0s' ? { for: forDuration } : {}),
    labels: { severity },
    annotations: { summary, description, runbook: runbookAnchor(alert) },
  };
}

/**
 * An alert on a stream's counter that grew within the loss window. `what`
 * follows "Stream <name>" in the description, with `{n}` for the increase.
 */
function streamCounterGrew(
  t: Thresholds,
  alert: string,
  severity: AlertRule['labels']['severity'],
  series: string,
  summary: string,
  what: string,
): AlertRule {
  return rule(
    alert,
    severity,
    `increase(${series}[${t.lossWindow}]) > 0`,
    undefined,
    summary,
    'Stream {{ $labels.stream }}' +
      what.replace('{n}', '{{ $value | humanize }}') +
      ' in the last ' +
      t.lossWindow +
      '.',
  );
}

/** The alerts, one per way the router can fail its users. */
export function alertRules(t: Thresholds): AlertRule[] {
  const S = SERIES;
  // Aggregated over replicas: with several replicas only the lease holder follows a stream.
  const perStream = 'job, provider, stream';
  return [
    rule(
      'VmwareEventRouterDown',
      'critical',
      `up{${t.jobSelector}} == 0`,
      t.routerDownFor,
      'Prometheus cannot scrape the VMware Event Router',
      '{{ $labels.instance }} has not answered /metrics for ' + t.routerDownFor + '.',
    ),
    rule(
      'VmwareEventRouterRestarting',
      'warning',
      `changes(${S.processStartTime}[${t.restartWindow}]) > ${t.restartCount}`,
      undefined,
      'The VMware Event Router keeps restarting',
      '{{ $labels.instance }} restarted {{ $value }} times in ' + t.restartWindow + '.',
    ),
    rule(
      'VmwareEventRouterStreamNotConnected',
      'critical',
      `max by (${perStream}) (${S.streamConnected}) == 0`,
      t.notConnectedFor,
      'A stream has no vCenter session: no events are read',
      'Stream {{ $labels.stream }} has not been connected to its vCenter for ' + t.notConnectedFor + '.',
    ),
    rule(
      'VmwareEventRouterStreamNotReady',
      'warning',
      `min by (${perStream}) (${S.streamSecondsSinceLastSuccess}) > ${t.notReadyAfterSeconds}`,
      t.notReadyFor,
      'A stream has made no successful vCenter call for minutes',
      'Stream {{ $labels.stream }}: last successful vCenter call {{ $value | humanizeDuration }} ago.',
    ),
    streamCounterGrew(
      t,
      'VmwareEventRouterEventsLost',
      'critical',
      S.streamEventsMissed,
      'Events were lost: the vCenter no longer held them when the router read its history',
      ' missed {n} events',
    ),
    rule(
      'VmwareEventRouterEventsSkippedAtStart',
      'warning',
      `increase(${S.streamCheckpointWindowExceeded}[${t.lossWindow}]) > 0`,
      undefined,
      "A start's checkpoint was older than the replay window: older events were not delivered",
      'Stream {{ $labels.stream }} started from a checkpoint older than its replay_window.',
    ),
    streamCounterGrew(
      t,
      'VmwareEventRouterUpdatesMissed',
      'warning',
      S.streamMissedUpdates,
      'The vCenter (or a proxy) did not notify events the router then found in its page',
      ' found {n} events late',
    ),
    streamCounterGrew(
      t,
      'VmwareEventRouterStreamBehind',
      'warning',
      S.streamWatchdogRecoveries,
      "A stream was behind its vCenter's newest event while connected and idle: the watchdog caught it up",
      ' needed {n} watchdog recoveries',
    ),
    streamCounterGrew(
      t,
      'VmwareEventRouterCheckpointWritesFailing',
      'warning',
      S.streamCheckpointWriteErrors,
      'Checkpoint writes fail: a restart or a fail-over would replay more events than usual',
      ': {n} checkpoint writes failed',
    ),
    streamCounterGrew(
      t,
      'VmwareEventRouterEventsNotVisible',
      'info',
      S.streamEventsHidden,
      "Events of objects the router's vCenter user may not read were skipped (not lost)",
      ' skipped {n} events it may not see',
    ),
    rule(
      'VmwareEventRouterNoEvents',
      'warning',
      `sum by (${perStream}) (increase(${S.streamEvents}[${t.quietFor}])) == 0` +
        ` and sum by (${perStream}) (increase(${S.streamEvents}[${t.usualWindow}])) >= ${t.usualMinEvents}`,
      undefined,
      'A stream that usually reads events has read none for a long time',
      'Stream {{ $labels.stream }} read no event in ' + t.quietFor + '.',
    ),
    rule(
      'VmwareEventRouterProcessorFailing',
      'critical',
      `sum by (job, instance, processor) (increase(${S.processorErrors}[${t.processorFailureWindow}])) > 0`,
      t.processorFailureFor,
      'A processor fails to deliver events after its retries',
      'Processor {{ $labels.processor }} failed {{ $value | humanize }} deliveries in the last ' +
        t.processorFailureWindow +
        '.',
    ),
    rule(
      'VmwareEventRouterProcessorDeadLettering',
      'warning',
      `increase(${S.deadLettered}[${t.deadLetterWindow}]) > 0`,
      undefined,
      'A processor gave up on events and wrote them to its dead-letter file',
      'Processor {{ $labels.processor }} dead-lettered {{ $value | humanize }} events in the last ' +
        t.deadLetterWindow +
        '.',
    ),
    rule(
      'VmwareEventRouterEventLogFull',
      'warning',
      `increase(${S.logFullWaits}[${t.logFullWindow}]) > 0`,
      t.logFullFor,
      'The event log is full: the streams wait for the slowest processor',
      '{{ $labels.instance }}: the streams waited for a full event log for ' + t.logFullFor + '.',
    ),
    rule(
      'VmwareEventRouterLeasesFlapping',
      'warning',
      `sum by (job, stream) (increase(${S.leaseTransitions}{event=~"acquired|lost"}[${t.leaseFlapWindow}])) > ${t.leaseFlapCount}`,
      undefined,
      "A stream's lease keeps moving between replicas",
      'The lease of stream {{ $labels.stream }} changed hands {{ $value | humanize }} times in ' +
        t.leaseFlapWindow +
        '.',
    ),
    rule(
      'VmwareEventRouterStreamWithoutHolder',
      'critical',
      `sum by (job, stream) (${S.leasesHeld}) == 0`,
      t.noHolderFor,
      'No replica holds the lease of a stream: nobody reads it',
      'No replica has held stream {{ $labels.stream }} for ' + t.noHolderFor + '.',
    ),
    rule(
      'VmwareEventRouterCoordinationStoreFailing',
      'warning',
      `sum by (job, instance, operation) (increase(${S.coordinationStoreErrors}[${t.storeErrorsWindow}])) > 0`,
      t.storeErrorsFor,
      'A replica cannot reach or update the lease store',
      '{{ $labels.instance }}: lease store {{ $labels.operation }} failed {{ $value | humanize }} times in ' +
        t.storeErrorsWindow +
        '.',
    ),
  ];
}

const GROUP = 'vmware-event-router';

export function rulesFile(t: Thresholds): { groups: Array<{ name: string; rules: AlertRule[] }> } {
  return { groups: [{ name: GROUP, rules: alertRules(t) }] };
}

export function prometheusRule(t: Thresholds): Record<string, unknown> {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'vmware-event-router',
      labels: { 'app.kubernetes.io/name': 'vmware-event-router', 'app.kubernetes.io/component': 'metrics' },
    },
    spec: rulesFile(t),
  };
}

interface Target {
  expr: string;
  legendFormat: string;
}

/** Dashboard expressions use Grafana's `$job` variable and `$__rate_interval`. */
const JOB = 'job=~"$job"';
const RATE = '$__rate_interval';

function rate(series: string, by: string): string {
  return `sum by (${by}) (rate(${series}{${JOB}}[${RATE}]))`;
}

function quantile(q: number, bucket: string): string {
  return `histogram_quantile(${q}, sum by (processor, le) (rate(${bucket}{${JOB}}[${RATE}])))`;
}

interface PanelSpec {
  title: string;
  unit: string;
  description: string;
  targets: Target[];
}

function dashboardPanels(): Array<{ row: string; panels: PanelSpec[] }> {
  const S = SERIES;
  return [
    {
      row: 'Events',
      panels: [
        {
          title: 'Events read per stream',
          unit: 'ops',
          description: 'Events read from the vCenter (or the webhook) and appended to the event log',
          targets: [{ expr: rate(S.streamEvents, 'stream'), legendFormat: '{{stream}}' }],
        },
        {
          title: 'Events delivered per processor',
          unit: 'ops',
          description: 'Events each processor handed to its peer',
          targets: [{ expr: rate(S.invocations, 'processor'), legendFormat: '{{processor}}' }],
        },
        {
          title: 'Streams connected',
          unit: 'short',
          description: '1 while a replica has a vCenter session for the stream',
          targets: [{ expr: `max by (stream) (${S.streamConnected}{${JOB}})`, legendFormat: '{{stream}}' }],
        },
        {
          title: 'Seconds since the last successful vCenter call',
          unit: 's',
          description: 'Grows while a stream cannot reach its vCenter',
          targets: [
            {
              expr: `min by (stream) (${S.streamSecondsSinceLastSuccess}{${JOB}})`,
              legendFormat: '{{stream}}',
            },
          ],
        },
      ],
    },
    {
      row: 'Latency',
      panels: [
        {
          title: 'Delivery latency (vCenter createdTime to delivery)',
          unit: 's',
          description: "Includes the vCenter's own delay in publishing the event",
          targets: [
            { expr: quantile(0.5, S.deliveryLatencyBucket), legendFormat: 'p50 {{processor}}' },
            { expr: quantile(0.99, S.deliveryLatencyBucket), legendFormat: 'p99 {{processor}}' },
          ],
        },
        {
          title: "The router's own latency (reply arrival to hand-over)",
          unit: 's',
          description: 'The time the router itself adds to an event',
          targets: [
            { expr: quantile(0.5, S.routerLatencyBucket), legendFormat: 'p50 {{processor}}' },
            { expr: quantile(0.99, S.routerLatencyBucket), legendFormat: 'p99 {{processor}}' },
          ],
        },
      ],
    },
    {
      row: 'Event log',
      panels: [
        {
          title: 'Events in the event log',
          unit: 'short',
          description: 'Appended and not yet finished by every processor',
          targets: [{ expr: `sum by (instance) (${S.logEvents}{${JOB}})`, legendFormat: '{{instance}}' }],
        },
        {
          title: 'Bytes in the event log',
          unit: 'bytes',
          description: 'CloudEvent JSON held in the log',
          targets: [{ expr: `sum by (instance) (${S.logBytes}{${JOB}})`, legendFormat: '{{instance}}' }],
        },
        {
          title: 'Events each processor still owes',
          unit: 'short',
          description: 'A growing lag means the processor is slower than the vCenter',
          targets: [
            { expr: `sum by (processor) (${S.processorLag}{${JOB}})`, legendFormat: '{{processor}}' },
          ],
        },
        {
          title: 'Waits for a full event log',
          unit: 'ops',
          description: 'The streams paused because the slowest processor was a full log behind',
          targets: [{ expr: rate(S.logFullWaits, 'instance'), legendFormat: '{{instance}}' }],
        },
      ],
    },
    {
      row: 'Failures',
      panels: [
        {
          title: 'Failed deliveries and dead letters',
          unit: 'ops',
          description: 'Deliveries that failed after their retries, and events written to a dead-letter file',
          targets: [
            { expr: rate(S.processorErrors, 'processor'), legendFormat: 'failed {{processor}}' },
            { expr: rate(S.deadLettered, 'processor'), legendFormat: 'dead-lettered {{processor}}' },
          ],
        },
        {
          title: 'Retries and drops',
          unit: 'ops',
          description: 'Retried attempts per reason, and events dropped on purpose per reason',
          targets: [
            { expr: rate(S.retries, 'processor, reason'), legendFormat: 'retry {{processor}} {{reason}}' },
            { expr: rate(S.dropped, 'processor, reason'), legendFormat: 'dropped {{processor}} {{reason}}' },
          ],
        },
        {
          title: 'Stream errors',
          unit: 'ops',
          description: 'Failed vCenter calls, reconnects, events that could not be converted',
          targets: [
            { expr: rate(S.streamCallErrors, 'stream, method'), legendFormat: 'call {{stream}} {{method}}' },
            {
              expr: rate(S.streamReconnects, 'stream, reason'),
              legendFormat: 'reconnect {{stream}} {{reason}}',
            },
            { expr: rate(S.streamErrors, 'stream'), legendFormat: 'conversion {{stream}}' },
          ],
        },
        {
          title: 'Events lost or found late',
          unit: 'short',
          description:
            'Events the vCenter no longer held, and events found in the page without a notification',
          targets: [
            {
              expr: `sum by (stream) (increase(${S.streamEventsMissed}{${JOB}}[${RATE}]))`,
              legendFormat: 'lost {{stream}}',
            },
            {
              expr: `sum by (stream) (increase(${S.streamMissedUpdates}{${JOB}}[${RATE}]))`,
              legendFormat: 'late {{stream}}',
            },
          ],
        },
      ],
    },
    {
      row: 'Process',
      panels: [
        {
          title: 'Resident memory',
          unit: 'bytes',
          description: 'RSS of each router process (the Kubernetes manifest limits it to 256 MiB)',
          targets: [
            { expr: `${S.residentMemory}{${JOB}}`, legendFormat: 'rss {{instance}}' },
            { expr: `${S.heapUsed}{${JOB}}`, legendFormat: 'heap used {{instance}}' },
          ],
        },
        {
          title: 'Event loop lag (p99)',
          unit: 's',
          description: 'A busy event loop delays every delivery',
          targets: [{ expr: `${S.eventLoopLagP99}{${JOB}}`, legendFormat: '{{instance}}' }],
        },
        {
          title: 'Restarts',
          unit: 'short',
          description: 'Process starts in the last hour',
          targets: [{ expr: `changes(${S.processStartTime}{${JOB}}[1h])`, legendFormat: '{{instance}}' }],
        },
      ],
    },
    {
      row: 'Replicas (with a coordination entry)',
      panels: [
        {
          title: 'Stream leases held',
          unit: 'short',
          description: 'Per stream, the replicas holding its lease (1 when healthy)',
          targets: [{ expr: `sum by (stream) (${S.leasesHeld}{${JOB}})`, legendFormat: '{{stream}}' }],
        },
        {
          title: 'Lease transitions',
          unit: 'ops',
          description: 'Leases acquired, released and lost',
          targets: [
            { expr: rate(S.leaseTransitions, 'stream, event'), legendFormat: '{{stream}} {{event}}' },
          ],
        },
      ],
    },
  ];
}

/** The Grafana dashboard (import it, pick the Prometheus data source). */
export function dashboard(): Record<string, unknown> {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const { row, panels: specs } of dashboardPanels()) {
    panels.push({ type: 'row', title: row, id: id++, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y } });
    y += 1;
    specs.forEach((p, i) => {
      panels.push({
        type: 'timeseries',
        id: id++,
        title: p.title,
        description: p.description,
        datasource: { type: 'prometheus', uid: '${datasource}' },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
        targets: p.targets.map((t, j) => ({
          datasource: { type: 'prometheus', uid: '${datasource}' },
          expr: t.expr,
          legendFormat: t.legendFormat,
          refId: String.fromCharCode(65 + j),
        })),
      });
    });
    y += Math.ceil(specs.length / 2) * 8;
  }
  return {
    title: 'VMware Event Router',
    uid: 'vmware-event-router',
    description: `Generated by scripts/gen-monitoring.ts; do not edit. Regenerate: ${REGENERATE}`,
    tags: ['vmware-event-router'],
    timezone: 'browser',
    schemaVersion: 39,
    editable: true,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus' },
        {
          name: 'job',
          label: 'Job',
          type: 'query',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          query: { query: `label_values(${SERIES.processStartTime}, job)`, refId: 'job' },
          includeAll: true,
          multi: true,
          refresh: 2,
        },
      ],
    },
    panels,
  };
}

export const REGENERATE = 'npx tsc -p . && node dist/scripts/gen-monitoring.js';
export const MONITORING_DIR = 'deploy/monitoring';
export const RULES_FILE = `${MONITORING_DIR}/vmware-event-router.rules.yaml`;
export const PROMETHEUS_RULE_FILE = `${MONITORING_DIR}/prometheus-rule.yaml`;
export const DASHBOARD_FILE = `${MONITORING_DIR}/grafana-dashboard.json`;
export const DOCS_FILE = 'docs/troubleshooting.md';
const TABLE_BEGIN = '<!-- thresholds: generated by scripts/gen-monitoring.ts -->';
const TABLE_END = '<!-- end of thresholds -->';

function yamlText(header: string, value: unknown): string {
  return `# ${header}\n# Generated by scripts/gen-monitoring.ts; do not edit. Regenerate: ${REGENERATE}\n${dump(value, { lineWidth: -1, noRefs: true })}`;
}

/** The generated files (path relative to the repository root, content), for the given thresholds. */
export function generateMonitoring(t: Thresholds = defaultThresholds()): Array<[string, string]> {
  const root = repoRoot();
  const fmt = (file: string, text: string) => formatLike(path.join(root, file), text);
  const settings = Object.entries(t)
    .filter(([k, v]) => THRESHOLD_OPTIONS[k as ThresholdName].value !== v)
    .map(([k, v]) => `${k}=${v}`);
  const note = settings.length ? ` (thresholds: ${settings.join(' ')})` : '';
  return [
    [
      RULES_FILE,
      fmt(RULES_FILE, yamlText(`Prometheus alerting rules of the VMware Event Router${note}.`, rulesFile(t))),
    ],
    [
      PROMETHEUS_RULE_FILE,
      fmt(
        PROMETHEUS_RULE_FILE,
        yamlText(
          `The alerting rules for the Prometheus Operator${note}: kubectl -n vmware create -f ${PROMETHEUS_RULE_FILE}`,
          prometheusRule(t),
        ),
      ),
    ],
    [DASHBOARD_FILE, fmt(DASHBOARD_FILE, JSON.stringify(dashboard(), null, 2) + '\n')],
  ];
}

/** docs/troubleshooting.md with its thresholds table regenerated from THRESHOLD_OPTIONS. */
export function generateDocs(current: string): string {
  const begin = current.indexOf(TABLE_BEGIN);
  const end = current.indexOf(TABLE_END);
  if (begin < 0 || end < begin)
    throw new Error(`${DOCS_FILE} lacks the markers ${TABLE_BEGIN} … ${TABLE_END}`);
  const rows = Object.entries(THRESHOLD_OPTIONS).map(
    ([k, v]) => `| \`${k}\` | \`${v.value}\` | ${v.description.replace(/\|/g, '\\|')} |`,
  );
  const table = ['| option | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
  const text = `${current.slice(0, begin)}${TABLE_BEGIN}\n\n${table}\n\n${current.slice(end)}`;
  return formatLike(path.join(repoRoot(), DOCS_FILE), text);
}

function main(argv: string[]): void {
  let out: string | undefined;
  const settings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i].replace(/^--?/, '');
    if (a === 'out' && argv[i + 1]) out = argv[++i];
    else if (a === 'set' && argv[i + 1]) settings.push(argv[++i]);
    else throw new Error(`unknown argument "${argv[i]}": use [-out DIR] [-set NAME=VALUE]...`);
  }
  const t = thresholdsWith(settings);
  const root = repoRoot();
  for (const [file, text] of generateMonitoring(t)) {
    const target = out ? path.join(out, path.basename(file)) : path.join(root, file);
    writeFileSync(target, text);
    process.stdout.write(`wrote ${target}\n`);
  }
  if (!out) {
    const docs = path.join(root, DOCS_FILE);
    writeFileSync(docs, generateDocs(readFileSync(docs, 'utf8')));
    process.stdout.write(`wrote ${docs}\n`);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`gen-monitoring: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
