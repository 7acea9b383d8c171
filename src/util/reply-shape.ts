/**
 * How a peer's reply or request (a vCenter's SOAP or VI/JSON, a webhook's JSON) may be shaped, checked while it is
 * parsed: its nesting depth, and how many elements (XML) or objects and
 * arrays (JSON) it holds for its size. Within the reply cap a hostile peer
 * could otherwise nest millions of levels or pack millions of empty
 * containers, and the parse would take tens of times the reply in memory;
 * vim25 replies nest a few dozen levels at most and hold one container per
 * few dozen bytes, so these bounds keep the parse a small multiple of the
 * reply.
 */

/** Deepest nesting accepted. */
export const MAX_REPLY_NESTING = 100;

/** Fewest bytes of reply per container (a real event has a few dozen); a small reply gets a floor. */
const MIN_BYTES_PER_CONTAINER = 16;
const MIN_CONTAINER_BUDGET = 10_000;

/** How many containers a reply of `length` characters may hold. */
export function containerBudget(length: number): number {
  return Math.max(MIN_CONTAINER_BUDGET, Math.floor(length / MIN_BYTES_PER_CONTAINER));
}

/** Why the shape is refused, for the error. */
export function tooDeep(): string {
  return `nested deeper than ${MAX_REPLY_NESTING} levels`;
}

export function tooManyContainers(length: number): string {
  return `more than ${containerBudget(length)} elements for its ${length} characters`;
}

/** Start tags in an XML text (an upper bound on its elements), counted before anything is built. */
export function xmlStartTags(xml: string): number {
  let count = 0;
  for (let i = xml.indexOf('<'); i >= 0; i = xml.indexOf('<', i + 1)) {
    const c = xml.charCodeAt(i + 1);
    if (c !== 47 /* / */ && c !== 33 /* ! */ && c !== 63 /* ? */) count++;
  }
  return count;
}

/**
 * Why a JSON text's shape is refused, or undefined: one pass over the text
 * (strings skipped), before JSON.parse builds anything.
 */
export function jsonShapeProblem(text: string): string | undefined {
  const budget = containerBudget(text.length);
  let depth = 0;
  let containers = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Skip the string: to the next quote not escaped.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 92 /* \ */) i++;
        else if (s === 34) break;
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > MAX_REPLY_NESTING) return tooDeep();
      if (++containers > budget) return tooManyContainers(text.length);
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return undefined;
}
