/**
 * Existing deployments pass Go-style single-dash long flags (`-config FILE`,
 * `-verbose`); commander only knows GNU style. Rewrite the known long flags
 * to `--name` before commander sees them; `-config=FILE` works too.
 */
export const LONG_FLAGS = ['config', 'verbose', 'log-level', 'log-json', 'version', 'help'];

export function normalizeArgv(args: string[]): string[] {
  return args.map((a) => {
    const m = /^-([a-z][a-z-]*)(=.*)?$/.exec(a);
    if (m && LONG_FLAGS.includes(m[1])) return `--${m[1]}${m[2] ?? ''}`;
    return a;
  });
}
