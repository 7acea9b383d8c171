/**
 * The seed's curl + jq session (vsphere-event-streaming README), run with the
 * real curl and jq against the router's event_stream processor fed by the
 * simulator: range, one event by offset, the newest page, a watch from an
 * offset that replays every held event in key order, and a watch from now
 * that receives only later events.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '../../helpers/e2e';
import { postEvents, startSimulator, type Simulator } from '../../harness/simulator';
import {
  getJson,
  isMarker,
  postMarker,
  startEventStreamRouter,
  type CloudEventJson,
  type EventStreamRouter,
} from './helpers';

const sh = promisify(execFile);

/** Run a shell pipeline (curl | jq) to completion. */
async function run(cmd: string): Promise<string> {
  const { stdout } = await sh('bash', ['-o', 'pipefail', '-c', cmd], { maxBuffer: 16 << 20 });
  return stdout;
}

/** A watch pipeline that runs until killed; its output lines as they come. */
function runWatch(cmd: string): { lines: string[]; proc: ChildProcess; kill(): void } {
  const proc = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const lines: string[] = [];
  let partial = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    partial += d;
    const ls = partial.split('\n');
    partial = ls.pop() ?? '';
    lines.push(...ls.filter((l) => l !== ''));
  });
  return {
    lines,
    proc,
    kill: () => {
      if (proc.exitCode === null && proc.pid) process.kill(-proc.pid, 'SIGTERM');
    },
  };
}

describe('the seed curl + jq session against the event_stream processor', () => {
  let sim: Simulator;
  let es: EventStreamRouter;
  let api: string;

  beforeAll(async () => {
    sim = await startSimulator();
    es = await startEventStreamRouter(sim);
    api = es.api;
    await postEvents(sim, [
      { class: 'UserLoginSessionEvent', fields: { UserName: 'user', IpAddress: '172.17.0.1' } },
      { class: 'VmStoppingEvent', entities: 'vm:DC0_H0_VM0' },
      { class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM0' },
    ]);
    await postMarker(sim, 'setup');
    await waitFor('the marker in the newest page', async () =>
      ((await getJson(`${api}/api/v1/events`)).body as CloudEventJson[]).some((e) => isMarker(e, 'setup')),
    );
  });

  afterAll(async () => {
    await es?.router.stop();
    await sim?.stop();
  });

  it('range, one event by offset, the newest page, and a watch from an offset replay what is held in key order', async () => {
    // $ curl -N -s localhost:8081/api/v1/range | jq .
    const range = JSON.parse(await run(`curl -N -s ${api}/api/v1/range | jq .`)) as {
      earliest: number;
      latest: number;
    };
    expect(Object.keys(range).sort()).toEqual(['earliest', 'latest']);
    expect(range.latest).toBeGreaterThanOrEqual(range.earliest);

    // $ curl -N -s localhost:8081/api/v1/events/$EARLIEST | jq .
    const first = JSON.parse(
      await run(`curl -N -s ${api}/api/v1/events/${range.earliest} | jq .`),
    ) as CloudEventJson;
    expect(first).toMatchObject({ specversion: '1.0', data: { Key: range.earliest } });

    // $ curl -N -s localhost:8081/api/v1/events | jq -c '[.[] | .data.Key]'   (the newest page_size, 50)
    const newestKeys = JSON.parse(
      await run(`curl -N -s ${api}/api/v1/events | jq -c '[.[] | .data.Key]'`),
    ) as number[];
    expect(newestKeys.length).toBeLessThanOrEqual(50);
    expect(newestKeys[newestKeys.length - 1]).toBe(range.latest);
    // Everything held fits in one page here: the page is the whole history, in key order.
    expect(newestKeys[0]).toBe(range.earliest);
    expect(newestKeys).toEqual([...newestKeys].sort((a, b) => a - b));

    // The last three before the marker are the seed's: login, stopping, powered off.
    const page = JSON.parse(await run(`curl -N -s ${api}/api/v1/events`)) as CloudEventJson[];
    expect(page.slice(-4, -1).map((e) => e.subject)).toEqual([
      'UserLoginSessionEvent',
      'VmStoppingEvent',
      'VmPoweredOffEvent',
    ]);

    // $ curl -N -s localhost:8081/api/v1/events\?watch=true\&offset=$EARLIEST | jq '(.data.Key|tostring)+" "+.subject'
    const watch = runWatch(
      `curl -N -s "${api}/api/v1/events?watch=true&offset=${range.earliest}" | jq --unbuffered '(.data.Key|tostring)+" "+.subject'`,
    );
    try {
      await waitFor('the watch to replay every held event', () => watch.lines.length >= newestKeys.length);
      expect(watch.lines).toEqual(page.map((e) => JSON.stringify(`${e.data.Key} ${e.subject}`)));
    } finally {
      watch.kill();
    }
  });

  it('a watch from now receives only the events that come after it started', async () => {
    const before = (await getJson(`${api}/api/v1/range`)).body as { latest: number };
    // $ curl -N -s localhost:8081/api/v1/events\?watch=true | jq '(.data.Key|tostring)+" "+.subject'
    const watch = runWatch(
      `curl -N -s "${api}/api/v1/events?watch=true" | jq --unbuffered -c '[.data.Key, .subject, .data.Message]'`,
    );
    try {
      await waitFor('the watch to be open', async () => (await es.details()).watchers === 1);
      await postEvents(sim, [
        { class: 'VmStartingEvent', entities: 'vm:DC0_H0_VM0' },
        { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
      ]);
      await postMarker(sim, 'now');
      await waitFor('the marker', () => watch.lines.some((l) => l.includes('"now"')));
      const got = watch.lines.map((l) => JSON.parse(l) as [number, string, string | null]);
      expect(got.map(([, subject]) => subject)).toEqual([
        'VmStartingEvent',
        'VmPoweredOnEvent',
        'com.example.event-stream.marker',
      ]);
      expect(got[0][0]).toBe(before.latest + 1);
      expect(got.map(([k]) => k)).toEqual([before.latest + 1, before.latest + 2, before.latest + 3]);
    } finally {
      watch.kill();
    }
  });
});
