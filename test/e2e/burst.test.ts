/** Issue 2, item 3: a burst of 1,000 events, each delivered exactly once, in ascending key order. */
import { burst } from '../harness/simulator';
import { startStack, waitFor, type Stack } from '../helpers/e2e';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

test('1,000 events posted as fast as the simulator takes them arrive once each, in key order', async () => {
  const result = await burst(stack.sim, 'VmPoweredOnEvent', 1000, 8);
  expect(result.posted).toBe(1000);
  await waitFor('1,000 events on stdout', () => stack.router.stdoutLines.length >= 1000, 60_000);
  await new Promise((r) => setTimeout(r, 1000)); // anything extra (a duplicate) would show up now
  const keys = stack.router.events().map((e) => (e.data as { Key: number }).Key);
  expect(keys).toHaveLength(1000);
  expect(new Set(keys).size).toBe(1000);
  for (let i = 1; i < keys.length; i++) expect(keys[i]).toBe(keys[i - 1] + 1);
  expect(stack.router.events().every((e) => e.subject === 'VmPoweredOnEvent')).toBe(true);
});
