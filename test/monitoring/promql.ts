/**
 * What the monitoring files ask of the router: the series and labels named by PromQL
 * expressions (read with a small lexer: strings, `{…}` matchers, `[…]` ranges and grouping
 * clauses are taken apart, what remains and is not a function or keyword is a metric name), the
 * series the router exports (its RouterMetrics registry), and promtool.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { RouterMetrics } from '../../src/metrics/metrics';
import { DASHBOARD_FILE, RULES_FILE, type AlertRule } from '../../scripts/gen-monitoring';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

/** The metric names an expression reads. */
export function metricNames(expr: string): string[] {
  const bare = withoutStrings(expr)
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(GROUPING, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*/g)) {
    // A name followed by "(" is a function or an aggregation.
    const isCall = /^\s*\(/.test(bare.slice(m.index + m[0].length));
    if (!isCall && !KEYWORDS.has(m[0])) names.add(m[0]);
  }
  return [...names].sort();
}

/** The label names an expression matches on or groups by. */
export function labelNames(expr: string): string[] {
  const e = withoutStrings(expr);
  const labels = new Set<string>();
  for (const block of e.matchAll(/\{([^}]*)\}/g))
    for (const m of block[1].matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)/g)) labels.add(m[1]);
  for (const g of e.matchAll(GROUPING))
    for (const l of g[2].split(',').map((s) => s.trim())) if (l) labels.add(l);
  return [...labels].sort();
}

/** Labels Prometheus adds to every scraped series. */
export const TARGET_LABELS = ['job', 'instance'];

/**
 * Every series the router exports, with its own labels: from a RouterMetrics registry (the
 * definitions /metrics renders, default process metrics included; a histogram as its
 * _bucket, _sum and _count series; the coordination series too, though a router renders
 * them only with a `coordination` entry).
 */
export function exportedSeries(): Map<string, string[]> {
  const metrics = new RouterMetrics();
  const out = new Map<string, string[]>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    const { name, labelNames: own = [] } = m as unknown as { name: string; labelNames?: string[] };
    const type = (m as unknown as { type?: string }).type;
    if (type === 'histogram') {
      out.set(`${name}_bucket`, [...own, 'le']);
      out.set(`${name}_sum`, [...own]);
      out.set(`${name}_count`, [...own]);
    } else {
      out.set(name, [...own]);
    }
  }
  // Prometheus' own series of the scrape target.
  out.set('up', []);
  return out;
}

export function readRules(file = path.join(REPO_ROOT, RULES_FILE)): AlertRule[] {
  const doc = load(readFileSync(file, 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

interface DashboardPanel {
  title: string;
  targets?: Array<{ expr: string }>;
}

/** The dashboard's panel expressions, and the expressions of its template variables. */
export function dashboardExpressions(file = path.join(REPO_ROOT, DASHBOARD_FILE)): Array<{
  where: string;
  expr: string;
}> {
  const d = JSON.parse(readFileSync(file, 'utf8')) as {
    panels: DashboardPanel[];
    templating: { list: Array<{ name: string; query?: { query: string } | string }> };
  };
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of d.panels)
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
  for (const v of d.templating.list) {
    const q = typeof v.query === 'object' ? v.query.query : undefined;
    // label_values(SERIES, LABEL) is Grafana's, not PromQL: its series is the PromQL part.
    const m = q ? /^label_values\((.+),\s*(\w+)\)$/.exec(q) : null;
    if (m) out.push({ where: `variable $${v.name}`, expr: `group by (${m[2]}) (${m[1]})` });
  }
  return out;
}

/** A dashboard expression as plain PromQL: Grafana's variables replaced by values. */
export function asPromQL(expr: string): string {
  return expr.replace(/\$__rate_interval/g, '5m').replace(/\$job\b/g, '.+');
}

/** Run promtool (with `input` on its stdin); a missing promtool says how to install it. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, input });
  if (r.error)
    throw new Error(
      `promtool could not run (${r.error.message}): install it with scripts/install-prometheus.sh`,
    );
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
