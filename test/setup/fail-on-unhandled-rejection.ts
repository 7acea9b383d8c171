/**
 * Every test file fails when a promise rejection goes unhandled while it runs:
 * such a rejection is a crash in production (Node's default), so it must not
 * pass silently in the suite (issue 5).
 */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  if (unhandled.length > 0) {
    const first = unhandled[0];
    throw new Error(
      `${unhandled.length} unhandled promise rejection(s); first: ${first instanceof Error ? first.stack : String(first)}`,
    );
  }
});
