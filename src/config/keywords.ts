/**
 * The two schema keywords JSON Schema cannot express: `eventPattern` (a
 * processor filter compiles in the pattern language) and `componentNames`
 * (the naming rule across entries). They are ajv "validate" keywords: the
 * validator generated at build time (entries-validator.generated.ts) requires this
 * module and calls them, each with the validation context as `this` (the
 * components, for the names rule), and reads the errors each leaves on
 * themselves (ajv's convention), in ajv's error shape.
 */
import { compilePattern, PatternError } from '../pattern';
import { type AnyDefinition, nameProblems } from './schema';

/** What every validation passes to the keywords as `this`. */
export interface KeywordContext {
  components: AnyDefinition[];
}

/** An error of these keywords, in ajv's shape (instancePath relative to the whole document). */
export interface KeywordError {
  keyword: string;
  instancePath: string;
  message: string;
  params: Record<string, never>;
}

/** The matcher's `data.Vm.Name[0]` as a JSON pointer suffix: `/data/Vm/Name/0`. */
function pointerOf(where: string): string {
  if (!where) return '';
  return (
    '/' +
    where
      .replace(/\[(\d+)\]/g, '.$1')
      .split('.')
      .filter(Boolean)
      .join('/')
  );
}

/** `eventPattern`: the entry's filter compiles; else one error at the pattern's part that does not. */
export function eventPattern(
  _schema: boolean,
  data: unknown,
  _parent?: unknown,
  ctx?: { instancePath: string },
): boolean {
  try {
    compilePattern(data as Record<string, unknown>);
    return true;
  } catch (err) {
    const where = err instanceof PatternError ? pointerOf(err.where) : '';
    const message = err instanceof PatternError ? err.problem : (err as Error).message;
    eventPattern.errors = [
      { keyword: 'eventPattern', instancePath: `${ctx?.instancePath ?? ''}${where}`, message, params: {} },
    ];
    return false;
  }
}
eventPattern.errors = undefined as KeywordError[] | undefined;

/** `componentNames`: the naming rule across the entries (see nameProblems). */
export function componentNames(this: KeywordContext, _schema: boolean, data: unknown): boolean {
  if (!Array.isArray(data)) return true;
  const problems = nameProblems(data, this.components);
  componentNames.errors = problems.map((p) => ({
    keyword: 'componentNames',
    instancePath: p.path,
    message: p.message,
    params: {},
  }));
  return problems.length === 0;
}
componentNames.errors = undefined as KeywordError[] | undefined;

/** The keywords by name, as the schema writes them. */
export const KEYWORDS = { eventPattern, componentNames } as const;
