/**
 * Shell-style patterns on whole names (repos, pipelines): `*`, `?`, `[abc]`,
 * `[!abc]`, `[a-z]`. Names have no path separators, so no `**` and no
 * special `/`. A few lines of our own instead of a path-glob library, whose
 * rules for `/` and dotfiles do not apply to names.
 */
import { usageError } from '../errors.js';

function escape(ch: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(ch) ? `\\${ch}` : ch;
}

/** The RegExp a pattern stands for; a usage error names `flag` when the pattern is malformed. */
export function globToRegExp(pattern: string, flag: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw usageError(`${flag} ${JSON.stringify(pattern)}: a "[" without its "]"`);
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${[...body].map((c) => (c === '-' ? '-' : /[\\\]^[]/.test(c) ? `\\${c}` : c)).join('')}]`;
      i = close;
    } else out += escape(ch);
  }
  try {
    return new RegExp(`^(?:${out})$`, 'u');
  } catch (err) {
    throw usageError(`${flag} ${JSON.stringify(pattern)}: not a valid pattern (${(err as Error).message})`);
  }
}

/** Several patterns of one flag; `matches` is true when any matches. */
export class GlobSet {
  private readonly res: RegExp[];
  constructor(patterns: readonly string[], flag: string) {
    this.res = patterns.map((p) => globToRegExp(p, flag));
  }
  get empty(): boolean {
    return this.res.length === 0;
  }
  matches(name: string): boolean {
    return this.res.some((re) => re.test(name));
  }
}
