import type { RouterEvent } from '../events/types';

/**
 * The stream could not start and retrying would not help (a wrong password,
 * an address that is not a vCenter): the router exits 1 with
 * `vmware-event-router could not start: MESSAGE`.
 */
export class StreamStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamStartError';
  }
}

/**
 * Receives each event of a stream in key order; awaiting it is the stream's back-pressure.
 * `arrivedAt`: when the reply that carried the event arrived (performance.now() ms), if known.
 */
export type EventHandler = (event: RouterEvent, key: number, arrivedAt?: number) => Promise<void>;

/** The newest event of the stream every processor acknowledged (for checkpoints). */
export type AcknowledgedSource = () => { key: number; time: string } | undefined;

/** An event source. */
export interface Stream {
  readonly provider: string;
  /** The entry's name (its provider when unnamed): metrics label, /stats and /readyz key. */
  readonly name: string;
  /** The address shown for it (no credentials). */
  readonly source: string;
  /**
   * `validate -connect`: reach the source once (log in and out) and describe
   * what answered; rejects with a message that says what to fix.
   */
  check?(): Promise<string>;
  /** Why it is not ready, for /readyz details (undefined when ready). */
  details?(): Record<string, unknown>;
  /**
   * Connect and follow the source until `stop`, calling `handler` for each
   * event in order. Rejects only with a StreamStartError (bad credentials on
   * the first login, an address that is not a vCenter); later failures are
   * retried internally.
   */
  run(handler: EventHandler, acknowledged?: AcknowledgedSource): Promise<void>;
  /** Write the checkpoint now, if the stream keeps one (at shutdown, after the processors stopped). */
  saveCheckpoint?(): Promise<void>;
  /** Connected and following the stream (feeds `/readyz`). */
  ready(): boolean;
  /** Stop following; resolves once the session is cleaned up (collector destroyed, logged out). */
  stop(): Promise<void>;
}
