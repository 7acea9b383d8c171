/**
 * Bounds the sends a delivery runner has in flight. `run` resolves as soon as
 * the task has *started*, so the runner moves on while the send goes on; once
 * `max` tasks are running, `run` waits for one to finish. That wait is the
 * back-pressure that reaches the event log (and, when the log is full, the
 * streams): memory stays bounded whatever the peer does.
 */
export class InFlight {
  private running = 0;
  private waiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`in-flight bound must be at least 1, got ${max}`);
  }

  get size(): number {
    return this.running;
  }

  /**
   * Start `task` when there is room; resolves true once it has started, or
   * false (without running it) when `close` was called meanwhile. `task` must
   * not reject.
   */
  async run(task: () => Promise<void>): Promise<boolean> {
    while (this.running >= this.max && !this.closed) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) return false;
    this.running++;
    void task().finally(() => {
      this.running--;
      this.waiters.shift()?.();
      if (this.running === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
    return true;
  }

  /** Refuse new tasks and release everyone waiting for room (they get false). */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until nothing is in flight, or `deadlineMs` passes; resolves true when drained. */
  async drain(deadlineMs: number): Promise<boolean> {
    if (this.running === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, deadlineMs));
    });
    try {
      return await Promise.race([drained, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
