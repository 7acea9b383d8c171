/**
 * The scripts as a user with an old Node.js meets them: `npm run demo` stops at once with one
 * line saying which versions work (before installing or building anything), and `npm test`,
 * which runs everything on node@22/node@24 from the npm registry, says in one line that the
 * machine's Node.js is not the one it uses. Through npm, the demo prints no npm banner on stdout.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** A PATH whose `node` reports version 20.19.5 (the Node.js running the tests, told to say so). */
function pathWithNode20(): { PATH: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmware-event-router-node20-'));
  const preload = path.join(dir, 'node20.js');
  writeFileSync(
    preload,
    'Object.defineProperty(process.versions, "node", { value: "20.19.5" });\n' +
      'Object.defineProperty(process, "version", { value: "v20.19.5" });\n',
  );
  const shim = path.join(dir, 'node');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" -r "${preload}" "$@"\n`, { mode: 0o755 });
  return { PATH: `${dir}:${process.env.PATH ?? ''}`, dir };
}

test('the demo below Node.js 22: one line naming the versions that work, exit 1, nothing else', () => {
  const { PATH, dir } = pathWithNode20();
  try {
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'demo.sh')], {
      cwd: ROOT,
      env: { ...process.env, PATH },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'demo: Node.js 20.19.5 is not supported: run it on Node.js 22 or later (engines ">=22")\n',
    );
    expect(r.status).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the test command below Node.js 22: one line saying the tests run on node@22 and node@24 instead', () => {
  const { PATH, dir } = pathWithNode20();
  const clone = mkdtempSync(path.join(os.tmpdir(), 'vmware-event-router-old-node-'));
  try {
    mkdirSync(path.join(clone, 'scripts'));
    for (const f of ['test.sh', 'require-node.js'])
      copyFileSync(path.join(ROOT, 'scripts', f), path.join(clone, 'scripts', f));
    // engines as the project's; a dependency the lock file lacks makes `npm ci` stop the run early.
    writeFileSync(
      path.join(clone, 'package.json'),
      JSON.stringify({
        name: 'x',
        version: '1.0.0',
        engines: { node: '>=22' },
        dependencies: { 'left-pad': '1.3.0' },
      }),
    );
    writeFileSync(
      path.join(clone, 'package-lock.json'),
      JSON.stringify({ name: 'x', version: '1.0.0', lockfileVersion: 3, requires: true, packages: {} }),
    );
    const r = spawnSync('bash', [path.join(clone, 'scripts', 'test.sh')], {
      cwd: clone,
      env: { ...process.env, PATH, CI: 'true', NODE_VERSIONS: process.versions.node.split('.')[0] },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const v = process.versions.node.split('.')[0];
    expect(r.stderr.split('\n')[0]).toBe(
      `test.sh: Node.js 20.19.5 is not supported: run it on Node.js 22 or later (engines ">=22"); npm, the build and the tests run on node@${v} from the npm registry instead`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(clone, { recursive: true, force: true });
  }
});

test('`npm run --silent demo` prints no npm banner on stdout (a taken port stops it before any build)', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const r = spawnSync('npm', ['run', '--silent', 'demo'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        DEMO_METRICS_PORT: String(port),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^demo: DEMO_METRICS_PORT=${port}: 127\\.0\\.0\\.1:${port} is already in use`),
    );
    expect(r.status).toBe(1);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});
