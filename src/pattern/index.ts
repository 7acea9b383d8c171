export { compilePattern, PatternError } from './matcher';
export type { EventMatcher } from './matcher';
