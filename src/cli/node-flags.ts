/**
 * The flags the router's `node` is started with wherever we start it: the
 * image's ENTRYPOINT, `npm start`, the demo and the README's commands carry a
 * copy that test/packaging checks against this list; the bench imports it.
 * Started without them (`npx`, `node dist/src/cli/main.js`), the router works
 * the same, with more GC work in bursts.
 *
 * `--max-semi-space-size=4`: the young generation may grow to 4 MB
 * semi-spaces under load (V8's own growth; without a size given at start,
 * src/cli/main.ts keeps it at 1 MB). A burst's objects in flight (a page of
 * events, the requests to the sinks) then mostly die young instead of being
 * copied and promoted: on the bench, 20–25 % less CPU in bursts and a lower
 * burst p99, for a few MB more RSS after a burst (docs/benchmarks.md). The
 * size can only be set when V8 starts, so it is a command-line flag, not a
 * `setFlagsFromString` in main.ts.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * Not a command-line flag: src/cli/main.ts sets it at start unless the
 * operator did, so every way of starting the router gets it (why: there).
 * Here for the probes that run node as the router runs.
 */
export const HEAP_GROWING_FLAG = '--heap-growing-percent=30';
