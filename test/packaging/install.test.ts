/**
 * Installing from a clone is `npm ci` from the committed lock file, nothing else: no step
 * falls back to `npm install` (which rewrites package-lock.json and hides a
 * lock file out of sync), and the test command fails, saying so in one line,
 * when `npm ci` fails. The lock file records every platform's optional
 * binding, so that `npm ci` accepts it on any machine.
 *
 * Installing without a clone: `npm pack` gives a package that installs globally with its
 * production dependencies only and runs `validate` and a start against the simulator.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricsEntry, stdoutEntry, vcenterEntry, waitFor, writeConfig } from '../helpers/e2e';
import { postEvents, startSimulator } from '../harness/simulator';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

interface Lock {
  packages: Record<
    string,
    { version?: string; optional?: boolean; optionalDependencies?: Record<string, string> }
  >;
}

describe('installing from the lock file', () => {
  test.each(['scripts/test.sh', 'scripts/demo.sh', 'Dockerfile', 'Makefile', '.ci/run'])(
    '%s never falls back to `npm install`',
    (file) => {
      const code = read(file)
        .split('\n')
        // Comments and messages may name `npm install`; commands may not.
        .filter((l) => !/^\s*#/.test(l) && !/^\s*(die|say|echo)\b/.test(l))
        .join('\n');
      expect(code).not.toMatch(/\bnpm (install|i)\b/);
    },
  );

  test('package-lock.json records every optional dependency of every locked package', () => {
    const lock = JSON.parse(read('package-lock.json')) as Lock;
    const missing: string[] = [];
    for (const [where, pkg] of Object.entries(lock.packages)) {
      for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
        // npm resolves node_modules/a/node_modules/b, then node_modules/b.
        const nested = `${where ? where + '/' : ''}node_modules/${name}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${name}`])
          missing.push(`${name} (of ${where})`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('package-lock.json is for this package.json (same dependencies, engines)', () => {
    const pkg = JSON.parse(read('package.json')) as Record<string, unknown>;
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, Record<string, unknown>>;
    };
    const root = lock.packages[''];
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
    expect(root.engines).toEqual(pkg.engines);
  });

  test('the test command fails with one line naming npm ci when npm ci fails', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmware-event-router-npm-ci-'));
    try {
      mkdirSync(path.join(dir, 'scripts'));
      for (const f of ['test.sh', 'require-node.js'])
        copyFileSync(path.join(ROOT, 'scripts', f), path.join(dir, 'scripts', f));
      // A dependency the lock file does not have: `npm ci` refuses before downloading anything.
      writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'x', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } }),
      );
      writeFileSync(
        path.join(dir, 'package-lock.json'),
        JSON.stringify({
          name: 'x',
          version: '1.0.0',
          lockfileVersion: 3,
          requires: true,
          packages: { '': { name: 'x', version: '1.0.0' } },
        }),
      );
      const r = spawnSync('bash', [path.join(dir, 'scripts', 'test.sh')], {
        cwd: dir,
        env: {
          ...process.env,
          CI: 'true',
          NODE_VERSIONS: process.versions.node.split('.')[0],
          PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status).toBe(1);
      expect(r.stdout.trim().split('\n').pop()).toBe('0 passed, 1 failed');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^test\.sh: npm ci failed: .*in sync.*; full output in \.test-results\/npm-ci\.log/,
      );
      // Nothing was installed behind npm ci's back, and the lock file is untouched.
      expect(JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8'))).toEqual(
        expect.objectContaining({ packages: { '': { name: 'x', version: '1.0.0' } } }),
      );
      expect(() => readFileSync(path.join(dir, 'node_modules', 'left-pad', 'package.json'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});

/** Every package.json under node_modules (scoped and nested packages too). */
function installedPackages(nodeModules: string): Array<Record<string, Record<string, string> | string>> {
  const out: Array<Record<string, Record<string, string> | string>> = [];
  if (!existsSync(nodeModules)) return out;
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    const dirs = name.startsWith('@')
      ? readdirSync(path.join(nodeModules, name)).map((n) => path.join(nodeModules, name, n))
      : [path.join(nodeModules, name)];
    for (const dir of dirs) {
      const file = path.join(dir, 'package.json');
      if (!existsSync(file)) continue;
      out.push(JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | string>);
      out.push(...installedPackages(path.join(dir, 'node_modules')));
    }
  }
  return out;
}

describe('the npm package, installed globally without a clone', () => {
  // The Node.js that runs this test runs npm and the installed router.
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const pkg = JSON.parse(read('package.json')) as {
    name: string;
    version: string;
    bin: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  let dir: string;
  let files: string[];
  let installed: string;
  let bin: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ver-package-'));
    const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed.files.map((f) => f.path);
    const prefix = path.join(dir, 'prefix');
    const install = spawnSync(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        path.join(dir, packed.filename),
      ],
      { cwd: dir, env, encoding: 'utf8', timeout: 300_000 },
    );
    if (install.status !== 0) throw new Error(`npm install -g failed: ${install.stderr}`);
    installed = path.join(prefix, 'lib', 'node_modules', pkg.name);
    bin = path.join(prefix, 'bin', Object.keys(pkg.bin)[0]);
  }, 420_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the package holds what runs (compiled code, its data files, schema, examples, README, LICENSE) and nothing else', () => {
    for (const f of files)
      expect({
        f,
        shipped:
          /^dist\/src\/.+\.js$/.test(f) ||
          /^config-examples\/[^/]+\.(json|ya?ml)$/.test(f) ||
          [
            'package.json',
            'README.md',
            'LICENSE',
            'config.schema.json',
            'dist/version.json',
            'src/stream/vcenter/vim25/model.generated.json',
          ].includes(f),
      }).toEqual({ f, shipped: true });
    expect(files).toEqual(
      expect.arrayContaining([pkg.bin[Object.keys(pkg.bin)[0]], 'LICENSE', 'config.schema.json']),
    );
    expect(read('LICENSE')).toMatch(/Apache License\s+Version 2\.0/);
  });

  test('the install has production dependencies only', () => {
    const packages = installedPackages(path.join(installed, 'node_modules'));
    expect(packages.length).toBeGreaterThan(0);
    // A devDependency may be present only as a dependency of a production package.
    const required = new Set(
      packages.flatMap((p) =>
        ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((k) =>
          Object.keys((p[k] as Record<string, string> | undefined) ?? {}),
        ),
      ),
    );
    const names = new Set(packages.map((p) => p.name as string));
    const dev = Object.keys(pkg.devDependencies).filter((d) => names.has(d) && !required.has(d));
    expect(dev).toEqual([]);
    expect(names.has('typescript')).toBe(false);
    expect(names.has('jest')).toBe(false);
  });

  test('`vmware-event-router validate` checks a shipped example', () => {
    const example = path.join(installed, 'config-examples', 'simulator.json');
    const r = spawnSync(bin, ['validate', '-config', example], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/configuration is valid/);
  });

  test('`vmware-event-router -config FILE` follows the simulator and delivers a CloudEvent', async () => {
    const sim = await startSimulator();
    const file = writeConfig([vcenterEntry(sim), stdoutEntry, metricsEntry()]);
    const proc = spawn(bin, ['-config', file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      let port = '';
      await waitFor('the installed router ready', async () => {
        if (proc.exitCode !== null) throw new Error(`router exited ${proc.exitCode}: ${stderr}`);
        port ||= /metrics server listening address=[^\s]*:(\d+)/.exec(stderr)?.[1] ?? '';
        return port !== '' && (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
      });
      await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM0' }]);
      await waitFor('the CloudEvent on stdout', () => stdout.includes('VmPoweredOffEvent'));
      const event = JSON.parse(stdout.split('\n').find((l) => l.includes('VmPoweredOffEvent'))!) as Record<
        string,
        unknown
      >;
      expect(event).toEqual(expect.objectContaining({ specversion: '1.0', source: expect.any(String) }));
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
      await sim.stop();
    }
  }, 120_000);
});
