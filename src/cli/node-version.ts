/**
 * The Node.js versions the router supports are package.json's `engines.node` (">=N"): below
 * it, the router stops with one line instead of running on an untested runtime.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** package.json's engines.node, from dist/src/cli or src/cli. */
export function supportedNodeRange(): string | undefined {
  for (const p of [
    path.join(__dirname, '../../../package.json'),
    path.join(__dirname, '../../package.json'),
  ]) {
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; engines?: { node?: string } };
      if (pkg.name === 'vmware-event-router') return pkg.engines?.node;
    } catch {
      // not at this depth: try the next one
    }
  }
  return undefined;
}

/** One line saying which versions work, when `version` is below the range's ">=N"; else undefined. */
export function nodeVersionProblem(version: string, range: string | undefined): string | undefined {
  const min = range ? /^>=\s*(\d+)/.exec(range.trim())?.[1] : undefined;
  if (!min) return undefined;
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  if (major >= Number(min)) return undefined;
  return `Node.js ${version.replace(/^v/, '')} is not supported: run vmware-event-router on Node.js ${min} or later (engines "${range}")`;
}
