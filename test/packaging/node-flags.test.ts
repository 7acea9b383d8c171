/**
 * Wherever a command line of ours starts the router's node, it gets the
 * flags of src/cli/node-flags.ts and no others: `npm start`, the demo and the
 * README's commands here,
 * the image's ENTRYPOINT with the rest of the Dockerfile (dockerfile.test.ts).
 * The bench imports the list itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NODE_FLAGS } from '../../src/cli/node-flags';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const CLI = 'dist/src/cli/main.js';

/** The words between `node` and the CLI in a command line that starts the router. */
function flagsBeforeCli(command: string): string[] {
  const words = command.trim().split(/\s+/);
  expect(words[0]).toBe('node');
  const cli = words.indexOf(CLI);
  expect(cli).toBeGreaterThan(0);
  return words.slice(1, cli);
}

test('the flags are V8 options node accepts on its command line', () => {
  expect(NODE_FLAGS.length).toBeGreaterThan(0);
  for (const flag of NODE_FLAGS)
    expect(process.allowedNodeEnvironmentFlags.has(flag.split('=')[0])).toBe(true);
});

test('npm start runs the CLI with them', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  expect(flagsBeforeCli(scripts.start)).toEqual(NODE_FLAGS);
});

test('the demo starts the router with them', () => {
  const lines = read('scripts/demo.sh')
    .split('\n')
    .filter((l) => l.includes(CLI));
  expect(lines).toHaveLength(1);
  expect(flagsBeforeCli(lines[0])).toEqual(NODE_FLAGS);
});

test('the README starts the router from a clone with them', () => {
  const starts = read('README.md')
    .split('\n')
    .map((l) => /node [^`]*dist\/src\/cli\/main\.js -config \S+/.exec(l)?.[0])
    .filter((c): c is string => c !== undefined);
  expect(starts.length).toBeGreaterThanOrEqual(2);
  for (const command of starts) expect(flagsBeforeCli(command)).toEqual(NODE_FLAGS);
});
