/**
 * Wherever a command line of ours starts the router's node, it gets the
 * flags of src/cli/node-flags.ts and no others: `npm start`, the demo, and the
 * commands of the README and docs/ here,
 * the image's ENTRYPOINT with the rest of the Dockerfile (dockerfile.test.ts).
 * The bench imports the list itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NODE_FLAGS } from '../../src/cli/node-flags';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const CLI = 'dist/src/cli/main.js';

/** The Markdown files under `dir` (relative to the repository), recursively. */
function mdFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? mdFiles(path.join(dir, e.name))
      : e.name.endsWith('.md')
        ? [path.join(dir, e.name)]
        : [],
  );
}

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

test('the README and the docs start the router with them', () => {
  const files = ['README.md', ...mdFiles('docs')];
  const starts = files.flatMap((file) =>
    read(file)
      .split('\n')
      .map((l) => /node [^`]*dist\/src\/cli\/main\.js -config \S+/.exec(l)?.[0])
      .filter((c): c is string => c !== undefined)
      .map((command) => ({ file, command })),
  );
  // README (from a clone, against the simulator), the event_stream page, the bench's report.
  expect(starts.length).toBeGreaterThanOrEqual(4);
  for (const { file, command } of starts)
    expect({ file, flags: flagsBeforeCli(command) }).toEqual({ file, flags: NODE_FLAGS });
});
