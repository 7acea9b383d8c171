/**
 * Bounds the deliveries a processor has in flight. `run` resolves as soon as
 * the task has *started*, so the stream moves on while the delivery goes on;
 * once `max` tasks are running, `run` waits for one to finish. That wait is
 * the back-pressure that reaches the stream: memory stays bounded by `max`
 * events whatever the peer does.
 */
export class InFlight {
  private running = 0;
  private waiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`in-flight bound must be at least 1, got ${max}`);
  }

  get size(): number {
    return this.running;
  }

  /** Start `task` when there is room; resolves once it has started. `task` must not reject. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.running >= this.max) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.running++;
    void task().finally(() => {
      this.running--;
      this.waiters.shift()?.();
      if (this.running === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
  }

  /** Wait until nothing is in flight, or `deadlineMs` passes; resolves true when drained. */
  async drain(deadlineMs: number): Promise<boolean> {
    if (this.running === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    });
    try {
      return await Promise.race([drained, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
