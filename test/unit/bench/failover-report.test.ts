/**
 * The fail-over section of docs/benchmarks.md (bench/failover-report.ts):
 * written below the notes marker the first time, then replaced alone, so the
 * generated part of bench/run.mjs and the hand-written notes are kept.
 */
import {
  FAILOVER_BEGIN,
  FAILOVER_END,
  failoverSection,
  withFailoverSection,
  type FailoverPart,
  type FailoverResult,
} from '../../../bench/failover-report';
import { NOTES_MARKER } from '../../../bench/report';

const part = (signal: FailoverPart['signal']): FailoverPart => ({
  signal,
  victim: 'router-b',
  moved: ['s1', 's2'],
  victimExit: signal === 'SIGKILL' ? 'SIGKILL' : 0,
  victimExitedMs: 12,
  handovers: [
    { stream: 's1', leaseAcquiredMs: 5717, noDeliveryMs: 5919.5 },
    { stream: 's2', leaseAcquiredMs: 5727, noDeliveryMs: 6795.7 },
  ],
  streams: {
    s1: { posted: 2000, otherEvents: 1, delivered: 2000, lost: 0, duplicated: 83 },
    s2: { posted: 2000, otherEvents: 1, delivered: 1999, lost: 1, duplicated: 81 },
    s3: { posted: 2000, otherEvents: 1, delivered: 2000, lost: 0, duplicated: 0 },
  },
  drain: 'quiet 3000 ms',
});

const result: FailoverResult = {
  when: '2026-12-07T03:00:00.000Z',
  machine: { nproc: '2', cpu: 'a CPU', node: 'v20.20.2', routerNode: 'v24.21.0', kernel: '6.1' },
  loadAtStart: [7.3, 7.9, 7.4],
  loadAtEnd: [8, 8, 8],
  rate: 100,
  lease: { lease_duration: 6, renew_deadline: 4, retry_period: 1 },
  steadySeconds: 60,
  actionAt: 10,
  loadSeconds: { kill: 30, term: 20 },
  baseline: { coordination: 'none', seconds: 60.2, cpuSecondsPerMinute: 15.29 },
  providers: [
    {
      provider: 'nats',
      store: 'nats-server 2.9.10',
      counted: 'a subscription',
      cost: {
        coordination: 'nats',
        seconds: 60.1,
        cpuSecondsPerMinute: 15.46,
        writesPerSecond: { perStream: { s1: 2, s2: 2, s3: 2 }, other: 1, total: 7 },
      },
      kill: part('SIGKILL'),
      term: part('SIGTERM'),
    },
  ],
  seconds: 300,
};

describe('the fail-over section', () => {
  test('states the runtime, the load, the hand-over times, lost and duplicated per stream and the cost', () => {
    const text = failoverSection(result);
    expect(text.startsWith(FAILOVER_BEGIN)).toBe(true);
    expect(text.trimEnd().endsWith(FAILOVER_END)).toBe(true);
    expect(text).toContain('Node.js v24.21.0');
    expect(text).toContain('7.30 / 7.90 / 7.40');
    expect(text).toContain('above its 2 cores');
    expect(text).toContain(
      '| nats | SIGKILL of router-b (held s1, s2) | s1 5.72, s2 5.73 | s1 5.92, s2 6.80 | 2000 / 2000 / 2000 | 0 / 1 / 0 | 83 / 81 / 0 | quiet 3000 ms |',
    );
    expect(text).toContain('| none (checkpoint files) | 15.29 | – | – | – | 60 |');
    expect(text).toContain('| nats | 15.46 | s1 2.00, s2 2.00, s3 2.00 | 1.00 | 7.00 | 60 |');
  });

  test('goes right below the notes marker the first time, the notes after it', () => {
    const doc = `# Benchmarks\n\ngenerated\n\n${NOTES_MARKER}\n\n## Notes\n\nby hand\n`;
    expect(withFailoverSection(doc, `${FAILOVER_BEGIN}\nA\n${FAILOVER_END}\n`)).toBe(
      `# Benchmarks\n\ngenerated\n\n${NOTES_MARKER}\n\n${FAILOVER_BEGIN}\nA\n${FAILOVER_END}\n\n## Notes\n\nby hand\n`,
    );
  });

  test('replaces only its own section on the next run', () => {
    const doc = `head\n${NOTES_MARKER}\n\n${FAILOVER_BEGIN}\nA\n${FAILOVER_END}\n\n## Notes\n\nby hand\n`;
    expect(withFailoverSection(doc, `${FAILOVER_BEGIN}\nB\n${FAILOVER_END}\n`)).toBe(
      `head\n${NOTES_MARKER}\n\n${FAILOVER_BEGIN}\nB\n${FAILOVER_END}\n\n## Notes\n\nby hand\n`,
    );
  });

  test('adds the notes marker when the file has none', () => {
    expect(withFailoverSection('head\n', 'S\n')).toBe(`head\n\n${NOTES_MARKER}\n\nS\n`);
  });
});
