/**
 * No Docker engine here: the Dockerfile is parsed and checked for what the
 * image must be. Multi-stage; the build stage runs `npm run build` (the very
 * build the tests run against, so the image's dist/ is theirs); the runtime
 * stage installs production dependencies only, runs as a non-root user, and
 * starts the CLI with node's flags (src/cli/node-flags.ts) and the default
 * config path; every file it copies exists, and every runtime data file under
 * src/ (what tsc does not emit) is copied to where the code looks for it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG } from '../../src/cli/main';
import { NODE_FLAGS } from '../../src/cli/node-flags';

const ROOT = path.resolve(__dirname, '..', '..');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile → instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (line === '' || line.startsWith('#'))) return;
    if (buf && line.startsWith('#')) return;
    if (!buf) start = i + 1;
    if (line.endsWith('\\')) {
      buf += line.slice(0, -1).trimEnd() + ' ';
      return;
    }
    buf += line;
    const m = /^(\S+)\s*(.*)$/s.exec(buf.trim())!;
    out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
    buf = '';
  });
  return out;
}

function stagesOf(instructions: Instruction[]): { globalArgs: Map<string, string>; stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      const from = m[1].replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a: string, b: string) => globalArgs.get(a ?? b) ?? '',
      );
      stages.push({ from, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op === 'ARG') {
        const [k, v = ''] = ins.args.split('=');
        globalArgs.set(k, v.replace(/^"|"$/g, ''));
      }
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const { stages } = stagesOf(parseDockerfile(text));
const build = stages[0];
const runtime = stages[stages.length - 1];
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

const runs = (s: Stage): string[] => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
const ops = (s: Stage, op: string): Instruction[] => s.instructions.filter((i) => i.op === op);

function workdir(s: Stage, before: Instruction): string {
  let wd = '/';
  for (const i of s.instructions) {
    if (i === before) break;
    if (i.op === 'WORKDIR') wd = path.posix.resolve(wd, i.args);
  }
  return wd;
}

/** COPY [--from=x] src... dest, exec or shell form. */
function copyParts(ins: Instruction): { from?: string; sources: string[]; dest: string } {
  let args = ins.args;
  let from: string | undefined;
  for (let m = /^--(\w+)=(\S+)\s+/.exec(args); m; m = /^--(\w+)=(\S+)\s+/.exec(args)) {
    if (m[1] === 'from') from = m[2];
    args = args.slice(m[0].length);
  }
  const parts = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  return { from, sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
}

function globExists(rel: string): boolean {
  if (!/[*?]/.test(rel)) return existsSync(path.join(ROOT, rel));
  const dir = path.dirname(rel);
  const re = new RegExp(
    '^' + path.basename(rel).replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.') + '$',
  );
  return readdirSync(path.join(ROOT, dir)).some((f) => re.test(f));
}

/** Every file under src/ that tsc does not compile: data the running router reads. */
function runtimeDataFiles(dir = path.join(ROOT, 'src')): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) out.push(...runtimeDataFiles(p));
    else if (!f.endsWith('.ts')) out.push(path.relative(ROOT, p).split(path.sep).join('/'));
  }
  return out;
}

describe('Dockerfile', () => {
  test('is multi-stage: a node:24 build stage and a node:24-slim runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.from).toBe('node:24');
    expect(build.name).toBeDefined();
    expect(runtime.from).toBe('node:24-slim');
  });

  test('the build stage installs all dependencies and runs `npm run build`, the build the tests use', () => {
    const r = runs(build);
    expect(r.some((c) => /\bnpm ci\b/.test(c) && !/--omit=dev|--production/.test(c))).toBe(true);
    const buildRun = r.find((c) => /\bnpm run build\b/.test(c));
    expect(buildRun).toBeDefined();
    // The image's dist/ comes from the package's build script, not a copy of its steps.
    expect(r.some((c) => /\btsc\b/.test(c))).toBe(false);
    expect(pkg.scripts.build).toMatch(/\btsc -p tsconfig\.json\b/);
    // dist/version.json (for -h, -version) is written by the build script from COMMIT/VERSION.
    expect(pkg.scripts.build).toMatch(/scripts\/write-version\.js/);
    expect(buildRun).toMatch(/COMMIT=/);
    expect(buildRun).toMatch(/VERSION=/);
    expect(ops(build, 'ARG').map((a) => a.args.split('=')[0])).toEqual(
      expect.arrayContaining(['COMMIT', 'VERSION']),
    );
    // The sources tsconfig.json compiles are all in the build context.
    const copied = ops(build, 'COPY').flatMap((c) => copyParts(c).sources.map((s) => s.replace(/\/$/, '')));
    expect(copied).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'scripts']),
    );
  });

  test('the runtime stage installs production dependencies only and never builds', () => {
    const r = runs(runtime);
    expect(r.some((c) => /\bnpm ci\b.*--omit=dev/.test(c))).toBe(true);
    expect(r.some((c) => /npm (ci|install)(?!.*--omit=dev)/.test(c))).toBe(false);
    expect(r.some((c) => /\b(tsc|npm run build)\b/.test(c))).toBe(false);
  });

  test('the runtime stage runs as a non-root user (65532)', () => {
    const users = ops(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const last = users[users.length - 1].args;
    const [user] = last.split(':');
    expect(user).not.toMatch(/^(root|0)$/);
    expect(user).toBe('65532');
    // Nothing after USER switches back.
    const idx = runtime.instructions.indexOf(users[users.length - 1]);
    expect(runtime.instructions.slice(idx).some((i) => i.op === 'RUN')).toBe(false);
  });

  test('ENTRYPOINT is the compiled CLI, CMD the default config path', () => {
    const [entry] = ops(runtime, 'ENTRYPOINT');
    const [cmd] = ops(runtime, 'CMD');
    expect(JSON.parse(entry.args)).toEqual(['node', ...NODE_FLAGS, '/app/dist/src/cli/main.js']);
    expect(JSON.parse(cmd.args)).toEqual(['-config', DEFAULT_CONFIG]);
    expect(DEFAULT_CONFIG).toBe('/etc/vmware-event-router/config');
    // The entry point is what the build produces from src/cli/main.ts.
    const wd = workdir(runtime, entry);
    const distCopy = ops(runtime, 'COPY')
      .map(copyParts)
      .find((c) => c.from === build.name && c.sources.some((s) => /\/dist\/src\/?$/.test(s)));
    expect(distCopy).toBeDefined();
    expect(path.posix.resolve(wd, distCopy!.dest).replace(/\/$/, '')).toBe('/app/dist/src');
    expect(existsSync(path.join(ROOT, 'src/cli/main.ts'))).toBe(true);
  });

  test('labels carry the version and the commit from build args', () => {
    const labels = ops(runtime, 'LABEL')
      .map((l) => l.args)
      .join(' ');
    expect(labels).toMatch(/org\.opencontainers\.image\.version="?\$\{?VERSION\}?"?/);
    expect(labels).toMatch(/org\.opencontainers\.image\.revision="?\$\{?COMMIT\}?"?/);
    expect(ops(runtime, 'ARG').map((a) => a.args.split('=')[0])).toEqual(
      expect.arrayContaining(['COMMIT', 'VERSION']),
    );
  });

  test('every COPY source exists (in the repository, or in the build stage output)', () => {
    const buildWd = (ins: Instruction) => workdir(build, ins);
    const firstBuildCopy = ops(build, 'COPY')[0];
    for (const stage of stages) {
      for (const ins of ops(stage, 'COPY')) {
        const { from, sources } = copyParts(ins);
        for (const src of sources) {
          let rel = src;
          if (from !== undefined) {
            expect(from).toBe(build.name);
            rel = path.posix.relative(buildWd(firstBuildCopy), src);
          }
          rel = rel.replace(/\/$/, '');
          // dist/ is the output of `npm run build` (built before the tests run).
          expect({ line: ins.line, src, exists: globExists(rel) }).toEqual({
            line: ins.line,
            src,
            exists: true,
          });
        }
      }
    }
  });

  test('every runtime data file under src/ is copied to where the code looks for it', () => {
    const data = runtimeDataFiles();
    expect(data).toEqual(expect.arrayContaining(['src/stream/vcenter/vim25/model.generated.json']));
    const copies = ops(runtime, 'COPY').map((ins) => ({ ins, ...copyParts(ins) }));
    for (const file of data) {
      const copy = copies.find((c) => c.sources.some((s) => s.endsWith('/' + file)));
      expect({ file, copied: copy !== undefined }).toEqual({ file, copied: true });
      // Beside the compiled module (dist/src/...), or at the source path above dist/ (the fallback).
      const dest = path.posix.resolve(workdir(runtime, copy!.ins), copy!.dest);
      const target = dest.endsWith('/') ? dest + path.posix.basename(file) : dest;
      expect(['/app/dist/' + file, '/app/' + file]).toContain(target);
    }
  });

  test('.dockerignore keeps node_modules, dist, .git and the harness binaries out of the context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', 'test/harness/bin']));
    // Nothing the build stage copies is ignored.
    for (const ins of ops(build, 'COPY')) {
      for (const src of copyParts(ins).sources) expect(ignored).not.toContain(src.replace(/\/$/, ''));
    }
  });

  test('the parser reads continuations and stages (self-check)', () => {
    const parsed = stagesOf(
      parseDockerfile('ARG V=1\nFROM a:${V} AS b\n# c\nRUN x \\\n  y\nFROM c\nUSER 1\n'),
    );
    expect(parsed.stages.map((s) => s.from)).toEqual(['a:1', 'c']);
    expect(parsed.stages[0].instructions).toEqual([{ op: 'RUN', args: 'x y', line: 4 }]);
  });
});
