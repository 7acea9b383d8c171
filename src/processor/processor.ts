import type { RouterEvent } from '../events/types';

/**
 * A sink for CloudEvents. The router hands events over one at a time, in the
 * stream's order, and awaits `process`: a processor makes the stream wait
 * (back-pressure) by not resolving until it has room, instead of buffering
 * without limit.
 *
 * Delivery is at-most-once from the stream's point of view: `process` never
 * rejects because a delivery failed; the processor logs, counts (and, where
 * its protocol allows, retries a bounded number of times) by itself.
 */
export interface Processor {
  readonly provider: string;
  /** Called once before the stream starts; a rejection is a fatal start error (exit 1). */
  start(): Promise<void>;
  /** Accept one event; resolves once the processor has taken it (delivery may still be in flight). */
  process(event: RouterEvent): Promise<void>;
  /** Whether the processor can deliver now (feeds `/readyz`). */
  ready(): boolean;
  /** Stop: finish in-flight deliveries, waiting at most `deadlineMs`. */
  stop(deadlineMs: number): Promise<void>;
}
