/**
 * The marked placeholders `pach-filter --redact` writes in place of a
 * secret: `pach-filter-redacted:<field>:<n>`. The replay model knows them, so
 * a redacted stream verifies, and listings can say what is redacted.
 */
export const REDACTED_PREFIX = 'pach-filter-redacted:';

/** The placeholder for the n-th (from 1) secret of `field` in a stream. */
export function placeholder(field: string, n: number): string {
  return `${REDACTED_PREFIX}${field}:${n}`;
}

export function isRedacted(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(REDACTED_PREFIX);
}

/** Field names whose string values are secrets, in every auth and enterprise op. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['activation_code', 'hashed_token', 'github_token', 'root_token', 'client_secret', 'token']);
