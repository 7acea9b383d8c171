/**
 * Existing deployments pass Go-style single-dash long flags (`-config FILE`,
 * `-verbose`); commander only knows GNU style. Rewrite the known long flags
 * to `--name` before commander sees them; `-config=FILE` works too.
 *
 * Mistakes are caught here too, before commander, so that each is one line
 * with its fix in the style the operator typed: `-confg` → "did you mean
 * -config?", `valdate` → "did you mean validate?".
 */
export const LONG_FLAGS = ['config', 'verbose', 'log-level', 'log-json', 'version', 'help', 'connect'];
/** Long flags followed by a value (`-config FILE`). */
const WITH_VALUE = ['config', 'log-level'];
const SHORT_FLAGS = ['-h'];
export const COMMANDS = ['validate'];

export function normalizeArgv(args: string[]): string[] {
  return args.map((a) => {
    const m = /^-([a-z][a-z-]*)(=.*)?$/.exec(a);
    if (m && LONG_FLAGS.includes(m[1])) return `--${m[1]}${m[2] ?? ''}`;
    return a;
  });
}

/** Levenshtein distance (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest of `candidates` to `word`, when close enough to be a typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = distance(word, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * The first mistake in the user's arguments (`process.argv.slice(2)`, before
 * normalizing), as one line with its fix; undefined when there is none.
 */
export function argvProblem(args: string[]): string | undefined {
  let commandSeen = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    const flag = /^(--?)([^=]+)(=.*)?$/.exec(a);
    if (flag && a !== '-') {
      const [, dashes, name, value] = flag;
      if (LONG_FLAGS.includes(name)) {
        if (WITH_VALUE.includes(name) && value === undefined) i++;
        continue;
      }
      if (dashes === '-' && SHORT_FLAGS.includes(a)) continue;
      const guess = closest(name, LONG_FLAGS);
      return `unknown option '${a}'${guess ? ` (did you mean ${dashes}${guess}?)` : ''}; see ${dashes}h`.replace(
        /see --h$/,
        'see --help',
      );
    }
    if (!commandSeen && COMMANDS.includes(a)) {
      commandSeen = true;
      continue;
    }
    const guess = commandSeen ? undefined : closest(a, COMMANDS);
    if (guess) return `unknown command '${a}' (did you mean ${guess}?)`;
    return `unexpected argument '${a}': the configuration file is given with -config FILE${commandSeen ? '' : ', and the only command is validate'}`;
  }
  return undefined;
}
