/**
 * A webhook client that sends a new `subject` with every event: the metrics'
 * `subject` label and the /stats `invocations` keys come from a bounded set
 * (the first subjects seen, then one "other" bucket), so neither memory nor a
 * scrape grows with what a client chooses to send. Every event is counted.
 */
import { MAX_SUBJECT_LABELS, OTHER_SUBJECTS } from '../../src/metrics/metrics';
import { metricsEntry, startRouterProcess, waitFor, type RouterProcess } from '../helpers/e2e';

jest.setTimeout(180_000);

let router: RouterProcess | undefined;
afterEach(async () => router?.stop());

test('distinct subjects beyond the bound are counted under one "other" label, in /metrics and /stats', async () => {
  router = await startRouterProcess([
    { type: 'stream', provider: 'webhook', address: '127.0.0.1:0', auth: { method: 'none' } },
    { type: 'processor', provider: 'stdout' },
    metricsEntry(),
  ]);
  const r = router;
  await waitFor('the webhook stream', () => /webhook stream listening/.test(r.stderr()));
  const port = /webhook stream listening .*address=[^\s]*:(\d+)/.exec(r.stderr())![1];
  const url = `http://127.0.0.1:${port}/webhook`;
  const count = MAX_SUBJECT_LABELS + 200;
  for (let i = 0; i < count; i++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: `ev-${i}`,
        source: '/hostile',
        type: 'com.example.test',
        subject: `subject-${i}-${'x'.repeat(64)}`,
      }),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(202);
  }
  await waitFor('every event on stdout', () => r.stdoutLines.length >= count);

  const text = await (await fetch(`${r.metricsUrl}/metrics`)).text();
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('vmware_event_router_processor_invocations_total{'));
  expect(lines).toHaveLength(MAX_SUBJECT_LABELS + 1);
  expect(lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0)).toBe(count);
  expect(text).toContain(`subject="${OTHER_SUBJECTS}"} 200`);

  const stats = (await (await fetch(`${r.metricsUrl}/stats`)).json()) as {
    'vmware.event.router.stats': { stdout: { invocations: Record<string, number> } };
  };
  const invocations = stats['vmware.event.router.stats'].stdout.invocations;
  expect(Object.keys(invocations)).toHaveLength(MAX_SUBJECT_LABELS + 1);
  expect(invocations[OTHER_SUBJECTS]).toBe(200);
});
