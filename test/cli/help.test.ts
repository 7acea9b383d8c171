/**
 * `-h` lists the subcommands and every stream and processor the router has; the router stops
 * with one line below the supported Node.js.
 */
import { spawnSync } from 'node:child_process';
import { nodeVersionProblem, supportedNodeRange } from '../../src/cli/node-version';
import { sinks as processors, streams } from '../../src/catalogue';
import { CLI, runCli } from '../helpers/e2e';

describe('-h', () => {
  test('lists the validate command and every stream and processor provider', async () => {
    const r = await runCli(['-h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Commands:\n {2}validate /m);
    const streamSection = r.stdout.slice(r.stdout.indexOf('Streams'), r.stdout.indexOf('Processors'));
    const processorSection = r.stdout.slice(r.stdout.indexOf('Processors'));
    for (const d of streams) expect(streamSection).toMatch(new RegExp(`^ {2}${d.provider} +\\S`, 'm'));
    for (const d of processors) expect(processorSection).toMatch(new RegExp(`^ {2}${d.provider} +\\S`, 'm'));
    expect(r.stdout).not.toMatch(/OpenFaaS, AWS EventBridge or stdout/);
  });
});

describe('supported Node.js', () => {
  test('package.json engines is the range', () => {
    expect(supportedNodeRange()).toBe('>=22');
  });

  test('below the range: one line naming the versions that work; within it: nothing', () => {
    expect(nodeVersionProblem('20.19.5', '>=22')).toBe(
      'Node.js 20.19.5 is not supported: run vmware-event-router on Node.js 22 or later (engines ">=22")',
    );
    expect(nodeVersionProblem('22.0.0', '>=22')).toBeUndefined();
    expect(nodeVersionProblem('24.21.0', '>=22')).toBeUndefined();
  });

  test('the router started on Node.js 20 stops with that line before anything else, exit 1', () => {
    // The running Node.js made to report 20.1.0 (-r runs before the router's first line).
    const r = spawnSync(
      process.execPath,
      ['-r', require.resolve('./fixtures/node-20'), CLI, 'validate', '-config', '/nonexistent'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'vmware-event-router: Node.js 20.1.0 is not supported: run vmware-event-router on Node.js 22 or later (engines ">=22")\n',
    );
  });
});
