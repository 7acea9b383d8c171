import type { RouterEvent } from '../events/types';

/** Receives each event of a stream in order; awaiting it is the stream's back-pressure. */
export type EventHandler = (event: RouterEvent) => Promise<void>;

/** An event source. */
export interface Stream {
  readonly provider: string;
  /**
   * Connect and follow the source until `stop`, calling `handler` for each
   * event in order. Rejects only for a fatal start error (bad credentials on
   * the first login); later failures are retried internally.
   */
  run(handler: EventHandler): Promise<void>;
  /** Connected and following the stream (feeds `/readyz`). */
  ready(): boolean;
  /** Stop following; resolves once the session is cleaned up (collector destroyed, logged out). */
  stop(): Promise<void>;
}
