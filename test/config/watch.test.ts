/**
 * The config file mounted as Kubernetes mounts a Secret:
 *
 *   DIR/config -> ..data/config
 *   DIR/..data -> ..2024_01_01_00_00_00.000000001/
 *   DIR/..2024_01_01_00_00_00.000000001/config
 *
 * An update writes a new timestamped directory, swaps `..data` atomically
 * (rename of a new symlink over it) and removes the old directory.
 *
 *  - watchConfigFile notices a swap, and ignores a re-projection of the same content;
 *  - the compiled router started with `-config DIR/config` runs and delivers events;
 *    a swap to a valid new config makes it exit 0 and say why; a swap to an invalid
 *    config is logged (without the password) and the router keeps delivering; so is a
 *    YAML alias bomb, refused at once instead of expanded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESTART_MESSAGE, watchConfigFile, type ConfigChange } from '../../src/config/watch';
import { buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import { CLI, metricsEntry, stdoutEntry, vcenterEntry, waitFor } from '../helpers/e2e';

/** A directory laid out like a Kubernetes Secret volume with one key, `config`. */
class SecretVolume {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'ver-secret-'));
  readonly file = path.join(this.dir, 'config');
  private generation = 0;
  private current?: string;

  constructor(content: string) {
    this.update(content);
    symlinkSync(path.join('..data', 'config'), this.file);
  }

  /** What the kubelet does on a Secret change. */
  update(content: string): void {
    const ts = `..2024_01_01_00_00_00.${String(++this.generation).padStart(9, '0')}`;
    mkdirSync(path.join(this.dir, ts));
    writeFileSync(path.join(this.dir, ts, 'config'), content, { mode: 0o440 });
    const tmp = path.join(this.dir, '..data_tmp');
    symlinkSync(ts, tmp);
    renameSync(tmp, path.join(this.dir, '..data'));
    if (this.current) rmSync(path.join(this.dir, this.current), { recursive: true, force: true });
    this.current = ts;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('watchConfigFile', () => {
  let volume: SecretVolume;
  afterEach(() => volume?.remove());

  test('notices a ..data swap to new content, with the resolved path', async () => {
    volume = new SecretVolume('[1]');
    const changes: ConfigChange[] = [];
    const w = watchConfigFile(volume.file, (c) => changes.push(c), { intervalMs: 200, debounceMs: 50 });
    try {
      volume.update('[2]');
      await waitFor('the change', () => changes.length === 1, 5000);
      expect(changes[0].text).toBe('[2]');
      expect(changes[0].resolved).toMatch(/\.\.2024_01_01_00_00_00\.000000002[/\\]config$/);
      volume.update('[3]');
      await waitFor('the second change', () => changes.length === 2, 5000);
      expect(changes[1].text).toBe('[3]');
    } finally {
      w.close();
    }
  });

  test('the poll alone notices a swap (fs.watch on symlink swaps is unreliable)', async () => {
    volume = new SecretVolume('[1]');
    const changes: ConfigChange[] = [];
    // A debounce longer than the test: only the poll can report the change.
    const w = watchConfigFile(volume.file, (c) => changes.push(c), { intervalMs: 200, debounceMs: 60_000 });
    try {
      volume.update('[2]');
      await waitFor('the change', () => changes.length === 1, 5000);
    } finally {
      w.close();
    }
  });

  test('a re-projection of the same content is not a change', async () => {
    volume = new SecretVolume('[1]');
    const changes: ConfigChange[] = [];
    const w = watchConfigFile(volume.file, (c) => changes.push(c), { intervalMs: 100, debounceMs: 20 });
    try {
      volume.update('[1]');
      await new Promise((r) => setTimeout(r, 600));
      expect(changes).toEqual([]);
    } finally {
      w.close();
    }
  });
});

describe('the router with its config in a Secret-style ..data layout', () => {
  const PASSWORD = 'Sim-S3cret-pw-4711';
  let sim: Simulator;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator({ password: PASSWORD });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  interface Proc {
    proc: ChildProcess;
    stdout: string[];
    stderr(): string;
    exited: Promise<number | null>;
  }

  async function startRouter(file: string): Promise<Proc> {
    const proc = spawn(process.execPath, [CLI, '-config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: string[] = [];
    let partial = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      stdout.push(...lines.filter((l) => l));
    });
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const p = { proc, stdout, stderr: () => stderr, exited };
    await waitFor('the router to connect', () => {
      if (proc.exitCode !== null) throw new Error(`router exited with ${proc.exitCode}: ${stderr}`);
      return /connected to vCenter, following its events/.test(stderr);
    });
    return p;
  }

  async function delivers(r: Proc, vm: string): Promise<void> {
    const before = r.stdout.length;
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: `vm:${vm}` }]);
    await waitFor(
      `an event for ${vm}`,
      () =>
        r.stdout
          .slice(before)
          .some((l) => (JSON.parse(l) as { data?: { Vm?: { Name?: string } } }).data?.Vm?.Name === vm),
      30_000,
    );
  }

  const config = (callTimeout: string) =>
    JSON.stringify([
      { ...vcenterEntry(sim), options: { insecure: 'true', call_timeout: callTimeout, max_backoff: '2' } },
      stdoutEntry,
      metricsEntry(),
    ]);

  test('a swap to a valid new config: the router exits 0 and says why', async () => {
    const volume = new SecretVolume(config('10'));
    const r = await startRouter(volume.file);
    try {
      await delivers(r, 'DC0_H0_VM0');
      volume.update(config('11'));
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        r.exited,
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running'), 20_000))),
      ]);
      clearTimeout(timer);
      expect(code).toBe(0);
      expect(r.stderr()).toContain(RESTART_MESSAGE);
      expect(r.stderr()).toMatch(/\.\.2024_01_01_00_00_00\.000000002/);
      expect(r.stderr()).not.toContain(PASSWORD);
    } finally {
      if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
      volume.remove();
    }
  });

  test('a swap to a YAML alias bomb, or an alias naming a secret: refused at once, quoting no text, still delivering', async () => {
    const volume = new SecretVolume(config('10'));
    const r = await startRouter(volume.file);
    try {
      await delivers(r, 'DC0_H0_VM0');
      // Within the alias budget, but expanding to 4^14 nodes if followed.
      const levels = ['a0: &a0 ["lol","lol","lol","lol"]'];
      for (let i = 1; i < 14; i++)
        levels.push(
          `a${i}: &a${i} [${Array(4)
            .fill(`*a${i - 1}`)
            .join(',')}]`,
        );
      const head = 'apiVersion: event-router.vmware.com/v1alpha1\nkind: RouterConfig\nmetadata:\n  name: x\n';
      volume.update(`${head}  labels:\n${levels.map((l) => `    ${l}\n`).join('')}`);
      await waitFor('the bomb refused', () => /its aliases expand it/.test(r.stderr()), 20_000);
      await delivers(r, 'DC0_H0_VM1');
      volume.update(`${head}  labels:\n    password: *Sup3rAlias\n`);
      await waitFor('the unknown alias refused', () => /unidentified alias/.test(r.stderr()), 20_000);
      expect(r.stderr()).not.toContain('Sup3rAlias');
      expect(r.proc.exitCode).toBeNull();
    } finally {
      if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
      volume.remove();
    }
  });

  test('a swap to an invalid config: logged without the password, the router keeps running on the old one', async () => {
    const volume = new SecretVolume(config('10'));
    const r = await startRouter(volume.file);
    try {
      await delivers(r, 'DC0_H0_VM0');
      const invalid = JSON.parse(config('10')) as Array<Record<string, unknown>>;
      // A typo in an option and a misspelled secret key holding the password.
      invalid[0].options = { insecrue: 'true' };
      invalid[0].auth = { method: 'user_password', secret: { username: sim.username, pasword: PASSWORD } };
      volume.update(JSON.stringify(invalid));
      await waitFor('the validation error in the log', () => /new file is invalid/.test(r.stderr()), 20_000);
      const log = r.stderr();
      expect(log).toMatch(/insecrue.*did you mean \\?"insecure\\?"/);
      expect(log).toMatch(/pasword/);
      expect(log).toMatch(/still running with the previous configuration/);
      expect(log).not.toContain(PASSWORD);
      expect(log).not.toContain(RESTART_MESSAGE);
      expect(r.proc.exitCode).toBeNull();
      // Still delivering, on the old config.
      await delivers(r, 'DC0_H0_VM1');
      // A later valid change is still noticed.
      volume.update(config('12'));
      expect(await r.exited).toBe(0);
      expect(r.stderr()).toContain(RESTART_MESSAGE);
      expect(r.stderr()).not.toContain(PASSWORD);
    } finally {
      if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
      volume.remove();
    }
  });
});
