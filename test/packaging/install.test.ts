/**
 * Installing is `npm ci` from the committed lock file, nothing else: no step
 * falls back to `npm install` (which rewrites package-lock.json and hides a
 * lock file out of sync), and the test command fails, saying so in one line,
 * when `npm ci` fails. The lock file records every platform's optional
 * binding, so that `npm ci` accepts it on any machine.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
      copyFileSync(path.join(ROOT, 'scripts', 'test.sh'), path.join(dir, 'scripts', 'test.sh'));
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
