/**
 * A `dead_letter_file` that is not a regular file: a FIFO (whose writes block
 * until a reader comes), a directory, a path in a directory that does not
 * exist. Refused at start with a message that names the file and says why;
 * and a FIFO put in the file's place while the router runs fails the write
 * at once, logged with its reason, without holding up SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudEventsReceiver } from '../peers/cloudevents-receiver';
import {
  metricsEntry,
  runCli,
  startRouterProcess,
  waitFor,
  writeConfig,
  type RouterProcess,
} from '../helpers/e2e';

jest.setTimeout(120_000);

const webhook = { type: 'stream', provider: 'webhook', address: '127.0.0.1:0', auth: { method: 'none' } };
const knative = (url: string, deadLetterFile: string) => ({
  type: 'processor',
  provider: 'knative',
  address: url,
  options: { dead_letter_file: deadLetterFile },
});

let dir: string;
let receiver: CloudEventsReceiver;
let router: RouterProcess | undefined;
beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'dead-letter-'));
  receiver = await CloudEventsReceiver.start();
});
afterEach(async () => {
  await router?.stop();
  router = undefined;
  await receiver.close();
});

function mkfifo(p: string): void {
  execFileSync('mkfifo', [p]);
}

test.each([
  ['a FIFO', (p: string) => mkfifo(p), /is a FIFO, not a regular file/],
  ['a directory', (p: string) => execFileSync('mkdir', [p]), /is a directory, not a regular file/],
  ['in a directory that does not exist', (p: string) => p, /directory .* does not exist/],
])('a dead_letter_file that is %s is refused at start, naming the file', async (_name, make, why) => {
  const file = path.join(dir, _name.startsWith('in') ? 'missing/dead.jsonl' : 'dead.jsonl');
  make(file);
  const { code, stderr } = await runCli([
    '-config',
    writeConfig([webhook, knative(receiver.url, file), metricsEntry()]),
  ]);
  expect(code).toBe(1);
  expect(stderr).toContain(file);
  expect(stderr).toMatch(why);
});

test('a FIFO put in place of the file after the start: the write fails with its reason, SIGTERM still exits', async () => {
  const file = path.join(dir, 'dead.jsonl');
  writeFileSync(file, '');
  router = await startRouterProcess([webhook, knative(receiver.url, file), metricsEntry()]);
  const r = router;
  await waitFor('the webhook stream', () => /webhook stream listening/.test(r.stderr()));
  rmSync(file);
  mkfifo(file);
  receiver.rejectNext = 1000;
  const port = /webhook stream listening .*address=[^\s]*:(\d+)/.exec(r.stderr())![1];
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: `dl-${i}`, source: '/dl', type: 't' }),
    });
    await res.arrayBuffer();
  }
  await waitFor(
    'every write refused',
    () => (r.stderr().match(/could not write the dead-letter file/g) ?? []).length >= 20,
  );
  expect(r.stderr()).toMatch(/could not write the dead-letter file .*FIFO/);
  expect(await r.stop()).toBe(0);
  router = undefined;
});
