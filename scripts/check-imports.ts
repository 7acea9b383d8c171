/**
 * The import rules of docs/architecture.md, checked on the TypeScript sources
 * of src/: no module imports from a layer above its own, and no import cycle
 * (type-only and lazy `import()` edges count: a loop of types is still a loop
 * a reader must untangle). test/packaging/docs.test.ts runs it; by hand:
 * `npm run build && node dist/scripts/check-imports.js`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The layers, lowest first, by path under src/ (the longest matching prefix
 * wins). A module may import from its own layer and the ones below it.
 * The metrics counters are a low layer every component reports to; the
 * metrics server is a component like the sinks.
 */
export const LAYERS: ReadonlyArray<readonly string[]> = [
  ['log/', 'pattern/'],
  ['util/'],
  // The lease stores and the balance rule; the coordinator reports to the metrics, the
  // leased stream and the definitions sit with the streams they run.
  ['events/', 'config/', 'coordination/'],
  [
    'metrics/registry.ts',
    'metrics/default-metrics.ts',
    'metrics/metrics.ts',
    'metrics/stats.ts',
    'coordination/coordinator.ts',
  ],
  ['components/'],
  ['eventlog/'],
  ['delivery/'],
  [
    'stream/',
    'processor/',
    'metrics/server.ts',
    'metrics/definition.ts',
    'coordination/leased-stream.ts',
    'coordination/definition-parts.ts',
    'coordination/kubernetes/definition.ts',
    'coordination/nats/definition.ts',
  ],
  ['catalogue.ts'],
  ['router.ts'],
  ['cli/'],
];

/** Module path (relative to src/, with its extension) → the modules it imports. */
export type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full, base));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path.relative(base, full));
  }
  return out.sort();
}

function resolveImport(srcDir: string, from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const target = path.join(path.dirname(path.join(srcDir, from)), spec);
  for (const candidate of [`${target}.ts`, path.join(target, 'index.ts')]) {
    if (existsSync(candidate)) return path.relative(srcDir, candidate);
  }
  return undefined;
}

/** Every module of `srcDir` and the modules of `srcDir` it imports (static, type-only and lazy). */
export function importGraph(srcDir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(srcDir)) {
    const info = ts.preProcessFile(readFileSync(path.join(srcDir, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => resolveImport(srcDir, file, f.fileName))
      .filter((t): t is string => t !== undefined);
    graph.set(
      file,
      [...new Set(targets)].map((t) => t.split(path.sep).join('/')),
    );
  }
  return new Map([...graph].map(([k, v]) => [k.split(path.sep).join('/'), v]));
}

/** The layer of a module, or undefined when LAYERS does not place it. */
export function layerOf(file: string): number | undefined {
  let best: { layer: number; length: number } | undefined;
  LAYERS.forEach((prefixes, layer) => {
    for (const p of prefixes)
      if ((file === p || file.startsWith(p)) && (!best || p.length > best.length))
        best = { layer, length: p.length };
  });
  return best?.layer;
}

/** Imports that point up a layer, and modules no layer places. */
export function layerProblems(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const own = layerOf(file);
    if (own === undefined) {
      problems.push(`src/${file} is in no layer (add its folder to LAYERS in scripts/check-imports.ts)`);
      continue;
    }
    for (const t of targets) {
      const their = layerOf(t);
      if (their !== undefined && their > own) problems.push(`src/${file} imports src/${t}, a layer above it`);
    }
  }
  return problems;
}

/** The import cycles: each strongly connected group of modules (Tarjan), as a list of its modules. */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** Every problem of the sources under `srcDir`: layer violations, then cycles. */
export function importProblems(srcDir: string): string[] {
  const graph = importGraph(srcDir);
  return [
    ...layerProblems(graph),
    ...importCycles(graph).map((c) => `import cycle: ${c.map((f) => `src/${f}`).join(' ↔ ')}`),
  ];
}

if (require.main === module) {
  const srcDir = path.resolve(__dirname, '..', '..', 'src');
  const problems = importProblems(srcDir);
  for (const p of problems) console.error(p);
  console.log(problems.length === 0 ? 'imports: ok' : `imports: ${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
