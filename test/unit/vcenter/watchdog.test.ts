import { Watchdog } from '../../../src/stream/vcenter/watchdog';

describe('Watchdog', () => {
  test('reads once per interval, never with interval 0', () => {
    const w = new Watchdog(60_000, 0);
    expect(w.due(59_999)).toBe(false);
    expect(w.due(60_000)).toBe(true);
    expect(w.due(60_001)).toBe(false);
    expect(w.due(120_000)).toBe(true);
    const off = new Watchdog(0, 0);
    expect(off.due(10 ** 9)).toBe(false);
  });

  test('asks for a check when the newest key stays ahead for two intervals with nothing delivered', () => {
    const w = new Watchdog(1000, 0);
    expect(w.observe(12, 10, 5, 5)).toBe('ok');
    expect(w.observe(12, 10, 5, 5)).toBe('ok');
    expect(w.observe(12, 10, 5, 5)).toBe('check');
  });

  test('a stream that delivers, or is not behind, is left alone', () => {
    const w = new Watchdog(1000, 0);
    expect(w.observe(12, 10, 5, 5)).toBe('ok');
    expect(w.observe(13, 11, 6, 6)).toBe('ok');
    expect(w.observe(14, 12, 7, 7)).toBe('ok');
    expect(w.observe(12, 12, 7, 7)).toBe('ok');
    expect(w.observe(12, 12, 7, 7)).toBe('ok');
    expect(w.observe(undefined, 12, 7, 7)).toBe('ok');
  });

  test('keys compare in int32 serial order across the wrap', () => {
    const w = new Watchdog(1000, 0);
    const max = 2 ** 31 - 1;
    // -2147483647 comes after 2^31 - 1: behind.
    expect(w.observe(-max, max, 1, 1)).toBe('ok');
    expect(w.observe(-max, max, 1, 1)).toBe('ok');
    expect(w.observe(-max, max, 1, 1)).toBe('check');
    // 2^31 - 1 before -2147483647 delivered: not behind.
    const v = new Watchdog(1000, 0);
    for (let i = 0; i < 4; i++) expect(v.observe(max, -max, 1, 1)).toBe('ok');
  });

  test('a newest event found invisible is not looked at again, a newer one is', () => {
    const w = new Watchdog(1000, 0);
    w.observe(20, 10, 1, 1);
    w.observe(20, 10, 1, 1);
    expect(w.observe(20, 10, 1, 1)).toBe('check');
    w.invisible(20);
    for (let i = 0; i < 4; i++) expect(w.observe(20, 10, 1, 1)).toBe('ok');
    w.observe(21, 10, 1, 1);
    expect(w.observe(21, 10, 1, 1)).toBe('check');
  });

  test('two recoveries in a row without an own delivery are a fault, cleared by an own delivery', () => {
    const w = new Watchdog(1000, 0);
    expect(w.recovered(3, 'behind')).toBeUndefined();
    expect(w.recovered(3, 'behind')).toBe('behind');
    expect(w.fault).toBe('behind');
    expect(w.noteOwnDelivery(3)).toBe(false);
    expect(w.noteOwnDelivery(4)).toBe(true);
    expect(w.fault).toBeUndefined();
    // An own delivery between two recoveries: no fault.
    expect(w.recovered(4, 'behind')).toBeUndefined();
    w.noteOwnDelivery(5);
    expect(w.recovered(5, 'behind')).toBeUndefined();
  });
});
