/**
 * The order of vCenter event keys. A key is an int32 that the vCenter counts
 * up and that wraps past 2^31 - 1 to negative numbers, so "after" is
 * serial-number arithmetic on 32 bits, not `>`.
 */

/** `a` comes after `b` in int32 serial order (correct across the 2^31 wrap). */
export function keyAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** Serial-order comparator for sorting keys ascending. */
export function compareKeys(a: number, b: number): number {
  return (a - b) | 0;
}
