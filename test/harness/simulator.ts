/**
 * Test helpers around the govmomi vCenter simulator (Debian golang-github-vmware-govmomi-dev,
 * govmomi 0.24) built by scripts/build-harness.sh into test/harness/bin/{vcsim,vctool}.
 *
 *  - vcsim  (test/harness/go/vcsim):  the simulated vCenter (VPX model: DC0, cluster DC0_C0 with
 *           3 hosts, standalone host DC0_H0, 4 VMs: DC0_H0_VM0/1, DC0_C0_RP0_VM0/1).
 *  - vctool (test/harness/go/vctool): posts events / drives VMs / reads the events back and prints
 *           govmomi's json.Marshal of them: the reference ("authority") for our converter.
 *
 * WHAT WE FOUND ABOUT THE SIMULATOR (govmomi 0.24 simulator/*.go, verified against the binary):
 *
 * Transport / session
 *  - Session cookie: `vmware_soap_session` (Set-Cookie on Login, HttpOnly, no Path, not Secure
 *    unless VCSIM_SECURE_COOKIES=true). Send it back as `Cookie: vmware_soap_session=<key>`.
 *  - SOAPAction is NOT required nor checked (any POST to /sdk with a SOAP envelope works; the
 *    method is the Body's first element). Real vCenter wants `SOAPAction: urn:vim25/<version>`,
 *    so send it anyway. GET /sdk returns 405. /sdk/vimServiceVersions.xml exists.
 *  - Faults: HTTP 500, `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>..`
 *    `</faultstring><detail><XxxFault xmlns="urn:vim25" xsi:type="Xxx">...</XxxFault></detail>`.
 *    Wrong password: faultstring "Login failure", detail `<InvalidLoginFault xsi:type="InvalidLogin">`.
 *    Calls without (or with an expired) session: faultstring "" (empty!) and detail
 *    `<NotAuthenticatedFault xsi:type="NotAuthenticated"><object type="EventManager">EventManager`
 *    `</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault>`.
 *    RetrieveServiceContent, Login and RetrieveProperties(Ex) work without a session.
 *  - Every successful Login posts a UserLoginSessionEvent, every Logout a UserLogoutSessionEvent,
 *    so every client connection adds events to the stream. vctool therefore reuses one session per
 *    simulator (-session-file, never logs out): only the first vctool call logs in.
 *  - -session-idle-timeout: a session not used for that long is deleted (checked every
 *    timeout interval, so it expires between 1x and 2x the timeout); the next call gets
 *    NotAuthenticated. The simulator forgets all sessions on restart, and its event keys restart
 *    at 1 (a new key space) with a fresh inventory (same names and refs) and the SAME instanceUuid.
 *
 *  - XML shape (see `vcsim -trace`): values carry their type as
 *    `xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="EventEx"`
 *    (Go encoding/xml invents the prefix "XMLSchema-instance"; faults use the envelope's `xsi:`).
 *    Resolve xsi:type BY NAMESPACE URI, never by the literal prefix "xsi". Types are unprefixed
 *    ("EventEx", "ArrayOfEvent") except anyType values: `XMLSchema-instance:type="xsd:int"` /
 *    "xsd:string". Events in latestPage/ArrayOfEvent are `<Event XMLSchema-instance:type=...>`
 *    elements; empty strings and nil values are omitted (e.g. no <fullFormattedMessage>).
 *    Session-scoped objects have values like `session[<session key>]<uuid>`: the
 *    EventHistoryCollector, the PropertyFilter, and a PropertyCollector from CreatePropertyCollector.
 *
 * Events
 *  - PostEvent overwrites Key (a counter from 1), ChainId (= Key), CreatedTime (time.Now(), UTC
 *    with nanoseconds: "2026-11-21T23:05:40.428605706Z") and UserName (the session's user). It
 *    also REPLACES FullFormattedMessage for every class that has a template in the simulator's
 *    esx.EventInfo (VmPoweredOnEvent, VmReconfiguredEvent, UserLoginSessionEvent, ...): the
 *    message you post is lost for those classes; EventEx/ExtendedEvent/AlarmStatusChangedEvent keep
 *    it (often ""). Posted events are stored as sent otherwise (entity args are not validated).
 *  - The model itself emits ~25 events at start (DatacenterCreatedEvent, then per VM
 *    VmBeingCreatedEvent, VmInstanceUuidAssignedEvent, VmUuidAssignedEvent, VmCreatedEvent,
 *    VmStartingEvent, VmPoweredOnEvent) with UserName "".
 *  - The EventManager keeps only the newest 1000 events (a ring); a collector's page at most 1000.
 *  - latestPage is NEWEST FIRST (like vCenter). But a freshly created collector with page size
 *    N < number of events fills its page with the newest event followed by the OLDEST N-1 events
 *    of the manager's ring (bug in fillPage: it walks the ring the wrong way). Verified: 31 events,
 *    page size 5 -> [31,4,3,2,1]; after one more event -> [32,31,4,3,2]. Page size 1 -> [newest].
 *    With page size 1000 the set is right. New matching events are pushed onto the page correctly.
 *  - ReadNextEvents does NOT read history: it reads the collector's latestPage (newest first!)
 *    from a cursor that starts at 0 at creation/RewindCollector. Verified: with 26 events,
 *    ReadNextEvents(10) x4 gives [26..17], [16..7], [6..1], []; after 3 new events it still gives
 *    [] ; ResetCollector + 2 new events: still []; RewindCollector then ReadNextEvents(5) gives the
 *    5 newest [31..27]. So on the simulator ReadNextEvents never delivers new events once at EOF,
 *    unlike vCenter. ReadPreviousEvents mirrors it. EventFilterSpec.time/userName/... are ignored
 *    (only eventTypeId and entity/recursion are applied). maxCount <= 0 and page size > 1000 give
 *    InvalidArgument faults; page size 0 means 10.
 *  - About.InstanceUuid is CONSTANT ("dbed6e0c-bd88-4ef6-b594-21283e1c677f", vpx/service_content.go;
 *    the simulator's attempt to randomize it is lost on a struct copy), also across restarts,
 *    while keys restart at 1: (instanceUuid, key) is NOT unique across simulator restarts.
 *  - -tls serves https with the httptest localhost certificate (self-signed: skip verification),
 *    or with -tls-cert/-tls-key a given certificate (one a test CA issued: verify against that CA).
 *  - WaitForUpdatesEx on EventHistoryCollector.latestPage works: the first call (version "")
 *    returns the current page (as an ArrayOfEvent, newest first) and version "-"; every later
 *    call must pass version "-" and the simulator returns "-" again (not an increasing version).
 *    A later call blocks until events arrive (polls every 250 ms) or MaxWaitSeconds passes
 *    (then an empty WaitForUpdatesExResponse: no returnval). With MaxWaitSeconds=0 it returns at
 *    the first 250 ms tick. CancelWaitForUpdates makes a pending call fail with RequestCanceled.
 *    When it returns, the ObjectUpdate has ONE PropertyChange (op "assign", name "latestPage") PER POSTED EVENT, each carrying the full
 *    latestPage as it was right after that event; the last one is the current page.
 *    `vctool wait` demonstrates it.
 *  - json of an EventEx argument: KeyAnyValue.Value is an anyType; vctool posts JSON integers as
 *    xsd:int (Go int32) and strings as xsd:string, so govmomi prints {"Key":"k","Value":5}.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const HARNESS_BIN = path.join(REPO_ROOT, 'test', 'harness', 'bin');
export const VCSIM = path.join(HARNESS_BIN, 'vcsim');
export const VCTOOL = path.join(HARNESS_BIN, 'vctool');
/**
 * TEST VARIANT of vcsim: the same source built against a copy of Debian's govmomi in which only the
 * WaitForUpdates tick (simulator/property_collector.go) is 20 ms instead of 250 ms, like newer
 * govmomi simulators. A waiting WaitForUpdatesEx answers within ~20 ms of an event.
 */
export const VCSIM_TICK20MS = path.join(HARNESS_BIN, 'vcsim-tick20ms');
const BUILD_SCRIPT = path.join(REPO_ROOT, 'scripts', 'build-harness.sh');

let built = false;

/** Builds vcsim and vctool (scripts/build-harness.sh) once per process; throws on failure. */
export function buildHarness(): void {
  if (built) return;
  try {
    execFileSync('bash', [BUILD_SCRIPT], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: process.env.CI ?? 'true' },
      timeout: 15 * 60 * 1000,
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`build-harness.sh failed: ${e.message}\n${e.stderr?.toString() ?? ''}`, { cause: err });
  }
  built = true;
}

// ------------------------------------------------------------------ child process bookkeeping

const children = new Set<ChildProcess>();
const simDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * The harness tools' first stdout line, `{"url": ..., "pid": N}`, once they serve; rejects when the
 * tool exits first, prints something else, or is not ready in 30 s. `stderr` names what it said.
 * Keeps stdout drained afterwards, so that the child never blocks on a full pipe.
 */
export function readyLine(child: ChildProcess, tool: string, stderr: () => string): Promise<ReadyLine> {
  return new Promise<ReadyLine>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${tool} did not become ready in 30s; stderr: ${stderr()}`));
    }, 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.stdout?.resume();
      try {
        resolve(JSON.parse(out.slice(0, nl)) as ReadyLine);
      } catch (e) {
        reject(new Error(`${tool} printed an unexpected line: ${out.slice(0, nl)} (${String(e)})`));
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      reject(new Error(`${tool} exited (code ${code}, signal ${signal}) before ready: ${stderr()}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Kill `child` when this process exits, whatever the tests did (also used for the VI/JSON peer). */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Synchronous last resort; vcsim also exits on its own when our end of its stdin closes.
    process.once('exit', () => {
      for (const c of children) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
      for (const d of simDirs) fs.rmSync(d, { recursive: true, force: true });
    });
  }
}

export function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

// ------------------------------------------------------------------ simulator

export interface SimulatorOptions {
  /** TCP port on 127.0.0.1; 0 or absent = a free port. */
  port?: number;
  username?: string;
  password?: string;
  /** Go duration, e.g. "2s", "500ms"; absent/"0" = sessions never expire. */
  sessionIdleTimeout?: string;
  /** Serve https with a self-signed certificate (or `tlsCert`). */
  tls?: boolean;
  /** With tls: serve this certificate and key (PEM files), e.g. issued by a test CA (test/helpers/test-ca.ts). */
  tlsCert?: { cert: string; key: string };
  /** Dump the SOAP traffic on the simulator's stderr (see Simulator.stderr()). */
  trace?: boolean;
  /** A standalone ESXi host (govmomi's simulator.ESX()) instead of a vCenter. */
  esx?: boolean;
  /** 'tick20ms': run the test variant vcsim-tick20ms (WaitForUpdates tick 20 ms, not 250 ms). */
  variant?: 'tick20ms';
}

export interface Simulator {
  /** e.g. http://127.0.0.1:41234/sdk (no credentials) */
  readonly url: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly pid: number;
  /** File holding vctool's session cookie for this simulator. */
  readonly sessionFile: string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** kill() then start again on the same port (new inventory, new key space, no sessions). */
  restart(): Promise<void>;
  /** The simulator's stderr so far (only interesting with trace: true). */
  stderr(): string;
}

interface ReadyLine {
  url: string;
  pid: number;
}

const STDERR_LIMIT = 1 << 20;

class SimulatorProcess implements Simulator {
  url = '';
  port = 0;
  pid = 0;
  readonly username: string;
  readonly password: string;
  readonly sessionFile: string;
  private child: ChildProcess | null = null;
  private err = '';

  constructor(
    private readonly opts: SimulatorOptions,
    private readonly dir: string,
  ) {
    this.username = opts.username ?? 'user';
    this.password = opts.password ?? 'pass';
    this.sessionFile = path.join(dir, 'session');
    this.port = opts.port ?? 0;
  }

  async start(): Promise<void> {
    const args = [
      '-listen',
      `127.0.0.1:${this.port}`,
      '-username',
      this.username,
      '-password',
      this.password,
      '-session-idle-timeout',
      this.opts.sessionIdleTimeout ?? '0',
      '-exit-on-stdin-eof',
    ];
    if (this.opts.tls) args.push('-tls');
    if (this.opts.tlsCert) args.push('-tls-cert', this.opts.tlsCert.cert, '-tls-key', this.opts.tlsCert.key);
    if (this.opts.trace) args.push('-trace');
    if (this.opts.esx) args.push('-esx');
    fs.rmSync(this.sessionFile, { force: true });

    // the simulator creates its datastores under TMPDIR; keep them in our dir so they go away
    const tmp = path.join(this.dir, 'tmp');
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const child = spawn(this.opts.variant === 'tick20ms' ? VCSIM_TICK20MS : VCSIM, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: tmp },
    });
    track(child);
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.err += d.toString();
      if (this.err.length > STDERR_LIMIT) this.err = this.err.slice(-STDERR_LIMIT);
    });

    const ready = await readyLine(child, 'vcsim', () => this.err);

    this.url = ready.url;
    this.pid = ready.pid;
    this.port = Number(new URL(ready.url).port);
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await waitExit(child);
    child.stdin?.destroy();
    this.child = null;
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
    fs.rmSync(this.dir, { recursive: true, force: true });
    simDirs.delete(this.dir);
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  stderr(): string {
    return this.err;
  }
}

/** Starts vcsim and resolves when it serves. Default credentials user/pass. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  buildHarness();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcsim-'));
  simDirs.add(dir);
  const sim = new SimulatorProcess(opts, dir);
  await sim.start();
  return sim;
}

// ------------------------------------------------------------------ vctool

export interface ToolOptions {
  /** Credentials to use instead of the simulator's (e.g. to test a wrong password). */
  username?: string;
  password?: string;
  /** Do not reuse the per-simulator session (log in and out: posts login/logout events). */
  freshSession?: boolean;
  timeoutMs?: number;
}

export class VctoolError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Runs vctool against the simulator; resolves with its stdout. */
export function runVctool(
  sim: Simulator,
  args: string[],
  input?: string,
  opts: ToolOptions = {},
): Promise<string> {
  buildHarness();
  const global = [
    '-url',
    sim.url,
    '-username',
    opts.username ?? sim.username,
    '-password',
    opts.password ?? sim.password,
  ];
  if (!opts.freshSession) global.push('-session-file', sim.sessionFile);
  return new Promise((resolve, reject) => {
    const child = spawn(VCTOOL, [...global, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    track(child);
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString());
      else
        reject(
          new VctoolError(
            `vctool ${args[0] ?? ''} failed (code ${code}, signal ${signal}): ${err.trim()}`,
            code,
            err,
          ),
        );
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

export interface EventSpec {
  /** vim25 event class, e.g. "VmPoweredOnEvent", "EventEx". */
  class: string;
  /** Fields by govmomi's JSON names, e.g. {Vm: {Name: 'x', Vm: {Type: 'VirtualMachine', Value: 'vm-54'}}}. */
  fields?: object;
  /** "vm:NAME": fill Datacenter/ComputeResource/Host/Vm args from the simulator's inventory. */
  entities?: string;
}

/** Posts the events in order with EventManager.PostEvent. */
export async function postEvents(sim: Simulator, specs: EventSpec[]): Promise<void> {
  const input = specs.map((s) => JSON.stringify(s)).join('\n') + '\n';
  const out = await runVctool(sim, ['post'], input);
  const res = JSON.parse(out) as { posted: number };
  if (res.posted !== specs.length) throw new Error(`posted ${res.posted} of ${specs.length} events`);
}

export interface BurstResult {
  posted: number;
  seconds: number;
}

/** Posts `count` events of class `cls` (entity args of the first VM) as fast as possible. */
export async function burst(
  sim: Simulator,
  cls: string,
  count: number,
  concurrency = 4,
  /** Events per second (a steady load); absent: as fast as possible. */
  rate?: number,
): Promise<BurstResult> {
  const out = await runVctool(sim, [
    'burst',
    '-class',
    cls,
    '-count',
    String(count),
    '-concurrency',
    String(concurrency),
    ...(rate ? ['-rate', String(rate)] : []),
  ]);
  return JSON.parse(out) as BurstResult;
}

export type VmOp = 'create' | 'poweron' | 'poweroff' | 'reconfigure' | 'destroy' | 'suspend' | 'reset';

/**
 * Makes the simulator emit its own events: create (VmBeingCreatedEvent, VmInstanceUuidAssignedEvent,
 * VmUuidAssignedEvent, VmCreatedEvent), poweron (VmStartingEvent, VmPoweredOnEvent), poweroff
 * (VmStoppingEvent, VmPoweredOffEvent), reconfigure (VmReconfiguredEvent), destroy (VmRemovedEvent).
 */
export async function vmOp(
  sim: Simulator,
  op: VmOp,
  name: string,
  reconfig?: { cpus?: number; memoryMB?: number; annotation?: string },
): Promise<void> {
  const args = ['vm', '-op', op, '-name', name];
  if (reconfig?.cpus !== undefined) args.push('-cpus', String(reconfig.cpus));
  if (reconfig?.memoryMB !== undefined) args.push('-memory', String(reconfig.memoryMB));
  if (reconfig?.annotation !== undefined) args.push('-annotation', reconfig.annotation);
  await runVctool(sim, args);
}

export interface ReferenceEvent {
  class: string;
  /** JSON.parse of govmomi's json.Marshal of the event. */
  json: unknown;
  /** govmomi's json.Marshal output, byte for byte. */
  raw: string;
  /** Go's encoding/xml.Marshal of the event (a Go CloudEvents SDK's application/xml data). */
  xml: string;
}

/**
 * The events the simulator holds (a collector over the root folder, recursion all, page size
 * 1000, its latestPage), by key, inserted in ascending key order. At most 1000 (the newest).
 */
export async function referenceEvents(
  sim: Simulator,
  sinceKey?: number,
): Promise<Map<number, ReferenceEvent>> {
  const args = ['events'];
  if (sinceKey !== undefined) args.push('-since-key', String(sinceKey));
  const out = await runVctool(sim, args);
  const events = new Map<number, ReferenceEvent>();
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const parsed = JSON.parse(line) as { key: number; class: string; xml: string; json: unknown };
    const marker = ',"json":';
    const at = line.indexOf(marker);
    const raw = line.slice(at + marker.length, line.lastIndexOf('}'));
    events.set(parsed.key, { class: parsed.class, json: parsed.json, raw, xml: parsed.xml });
  }
  return events;
}

/** ServiceContent.About as govmomi prints it. */
export interface AboutInfo {
  Name: string;
  FullName: string;
  Vendor: string;
  Version: string;
  Build: string;
  LocaleVersion: string;
  LocaleBuild: string;
  OsType: string;
  ProductLineId: string;
  ApiType: string;
  ApiVersion: string;
  InstanceUuid: string;
  LicenseProductName: string;
  LicenseProductVersion: string;
}

export async function about(sim: Simulator): Promise<AboutInfo> {
  return JSON.parse(await runVctool(sim, ['about'])) as AboutInfo;
}

// ------------------------------------------------------------------ every event class

export interface FillResult {
  seed: number;
  /** Every Event class of govmomi's type registry (sorted). */
  classes: string[];
  /** Registry names of another type (other than the Base* interfaces). */
  aliases: Record<string, string>;
  /** Classes PostEvent failed on, and why. */
  rejected: Array<{ class: string; error: string }>;
  /** Classes posted but not read back, and why. */
  missing: Array<{ class: string; error: string }>;
  /** Events the simulator (or govmomi's XML round trip) changed: first differing path. */
  mangled: Array<{ class: string; path: string; posted: string; readBack: string }>;
  /** Concrete types chosen per polymorphic interface ("BaseMethodFault", "AnyType", ...). */
  chosen: Record<string, string[]>;
  /** govmomi's json.Marshal of each event read back, as text (int64 digits intact), and Go's xml.Marshal. */
  events: Array<{ key: number; class: string; json: string; xml: string }>;
}

/**
 * `vctool fill`: one event of every Event class in govmomi's registry, every
 * field filled from `seed`, posted and read back (test/harness/go/vctool/fill.go).
 */
export async function fillEvents(sim: Simulator, seed: number, classes?: string[]): Promise<FillResult> {
  const args = ['fill', '-seed', String(seed)];
  if (classes) args.push('-classes', classes.join(','));
  return JSON.parse(await runVctool(sim, args)) as FillResult;
}
