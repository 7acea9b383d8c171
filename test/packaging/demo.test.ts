/**
 * `npm run demo` (scripts/demo.sh) as a user runs it: started in its own
 * process group like a terminal's foreground job, it prints its real URLs and
 * CloudEvents on stdout; a Ctrl-C (SIGINT to the whole group) stops the router
 * first, so it logs out of the simulator without a warning, then the
 * simulator; no process is left and the work tree is as it was. A port named
 * in the environment that is taken stops the demo at once, saying so.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '..', '..');
const DEMO = path.join(ROOT, 'scripts', 'demo.sh');

/** Run what the demo spawns (`node ...`) on the Node.js running the tests. */
const ENV = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };

function gitStatus(): string {
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

/** Every live process: pid, process group, command line. */
function processes(): Array<{ pid: number; pgid: number; args: string }> {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !m[3].startsWith('Z'))
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[4] }));
}

function listen(port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

async function freePort(): Promise<number> {
  const s = await listen();
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function start(env: Record<string, string>): {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
} {
  const proc = spawn('bash', [DEMO], {
    cwd: ROOT,
    env: { ...ENV, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exited };
}

describe('npm run demo (scripts/demo.sh)', () => {
  let demo: ReturnType<typeof start> | undefined;

  afterEach(() => {
    // Safety net only: a failed test must not leave the demo running.
    if (demo?.proc.pid && demo.proc.exitCode === null) {
      try {
        process.kill(-demo.proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  test('prints its URLs and CloudEvents; Ctrl-C stops it all without a warning and leaves the tree clean', async () => {
    const before = gitStatus();
    const metricsPort = await freePort();
    demo = start({ DEMO_METRICS_PORT: String(metricsPort) });
    const pgid = demo.proc.pid!;

    await waitFor('the first CloudEvent on stdout', () => demo!.out().split('\n').length > 1, 180_000);
    const first = JSON.parse(demo.out().split('\n')[0]) as Record<string, unknown>;
    expect(first).toMatchObject({ specversion: '1.0', type: 'com.vmware.event.router/event' });

    const err = demo.err();
    const sim = /^demo: vCenter simulator: (http:\/\/127\.0\.0\.1:(\d+)\/sdk)/m.exec(err);
    expect(sim).not.toBeNull();
    expect(first.source).toBe(sim![1]);
    // The metrics port taken from the environment, and the URL printed is the one that answers.
    expect(err).toContain(`demo: metrics: http://127.0.0.1:${metricsPort}/stats`);
    const stats = await fetch(`http://127.0.0.1:${metricsPort}/stats`);
    expect(stats.status).toBe(200);

    const simPort = sim![2];
    const ours = () =>
      processes().filter((p) => p.pgid === pgid || p.args.includes(`-listen 127.0.0.1:${simPort}`));
    expect(ours().some((p) => p.args.includes('vcsim'))).toBe(true);
    expect(ours().some((p) => p.args.includes('dist/src/cli/main.js'))).toBe(true);

    // Ctrl-C: SIGINT to the terminal's foreground process group.
    process.kill(-pgid, 'SIGINT');
    const code = await demo.exited;
    expect(code).toBe(0);
    await waitFor('every process of the demo to end', () => ours().length === 0, 10_000);

    const log = demo.err();
    expect(log).toContain('collector destroyed and logged out of vCenter');
    const bad = log
      .split('\n')
      .filter((l) => /\b(WARN|ERROR)\b|npm (error|ERR!)|error:|ECONNREFUSED/i.test(l));
    expect(bad).toEqual([]);
    expect(gitStatus()).toBe(before);
  }, 240_000);

  test('a metrics port named in the environment that is taken stops the demo at once, saying so', async () => {
    const taken = await listen();
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const startedAt = Date.now();
      demo = start({ DEMO_METRICS_PORT: String(port) });
      const code = await demo.exited;
      expect(code).toBe(1);
      expect(Date.now() - startedAt).toBeLessThan(15_000);
      expect(demo.err().trim().split('\n')).toEqual([
        `demo: DEMO_METRICS_PORT=${port}: 127.0.0.1:${port} is already in use; choose another port, or unset DEMO_METRICS_PORT to let the demo pick a free one`,
      ]);
      expect(demo.out()).toBe('');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  test('a simulator port named in the environment that is taken stops it too', async () => {
    const taken = await listen();
    const port = (taken.address() as net.AddressInfo).port;
    try {
      demo = start({ DEMO_VCSIM_PORT: String(port) });
      expect(await demo.exited).toBe(1);
      expect(demo.err()).toContain(`demo: DEMO_VCSIM_PORT=${port}: 127.0.0.1:${port} is already in use`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
