import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Filled at build time by scripts/write-version.js into dist/version.json. */
export function buildInfo(): { version: string; commit: string } {
  for (const p of [
    path.join(__dirname, '../../version.json'),
    path.join(__dirname, '../../dist/version.json'),
  ]) {
    try {
      const v = JSON.parse(readFileSync(p, 'utf8')) as { version?: string; commit?: string };
      return { version: v.version ?? 'unknown', commit: v.commit ?? 'unknown' };
    } catch {
      // not built: try the next location
    }
  }
  return { version: 'dev', commit: 'unknown' };
}
