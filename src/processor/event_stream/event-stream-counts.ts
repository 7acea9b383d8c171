/**
 * The event_stream processor's counters: one object that /readyz shows and
 * /metrics reads (one source of truth), incremented by the history and by the
 * API, each for what it does.
 */
import { Counter, type Registry } from '../../metrics/registry';
import { METRIC_PREFIX } from '../../metrics/metrics';

export function newEventStreamCounts() {
  return {
    /** Events served (appended to the history). */
    events: 0,
    /** Events over max_record_bytes, skipped. */
    oversize_skipped: 0,
    /** Watchers ended because their next event was purged. */
    watchers_fell_behind: 0,
    /** Watches refused with 503 (max_watchers open). */
    watchers_refused: 0,
    /** Listings and single-event requests refused with 503 (MAX_REPLY_BYTES_IN_FLIGHT taken). */
    requests_refused_busy: 0,
    /** Watches opened in all. */
    watches: 0,
    /** Times the vCenter started a new key space and the history started afresh. */
    key_space_restarts: 0,
  };
}

export type EventStreamCounts = ReturnType<typeof newEventStreamCounts>;

/**
 * The processor's counters on /metrics, read from the same object /readyz
 * shows (one source of truth): `vmware_event_router_event_stream_<count>_total{processor}`.
 */
export function exposeCounts(registry: Registry, processor: string, counts: Record<string, number>): void {
  for (const name of Object.keys(counts)) {
    const metric = `${METRIC_PREFIX}event_stream_${name}_total`;
    const existing = registry.getSingleMetric(metric) as
      (Counter<'processor'> & { sources?: Map<string, Record<string, number>> }) | undefined;
    const counter =
      existing ??
      Object.assign(
        new Counter({
          name: metric,
          help: `event_stream processor: ${name.replace(/_/g, ' ')}`,
          labelNames: ['processor'],
          registers: [registry],
          collect() {
            this.reset();
            for (const [p, c] of counter.sources!) this.inc({ processor: p }, c[name]);
          },
        }),
        { sources: new Map<string, Record<string, number>>() },
      );
    counter.sources!.set(processor, counts);
  }
}
