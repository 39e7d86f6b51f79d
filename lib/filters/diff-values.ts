/**
 * Field-by-field differences between two decoded op bodies in proto3 JSON
 * (snake_case names, enums by name, 64-bit integers as strings), named by
 * JSON paths as jq spells them: `input.union[1].pfs.repo`. Secrets never
 * reach a change: bodies are masked first (each secret string replaced by
 * the SHA-256 of its value), and a change on a secret field says only that
 * it changed and whether each side had it set, redacted or not at all.
 */
import { createHash } from 'node:crypto';
import { isRedacted, SECRET_FIELDS } from '../replay/redacted.js';

/** What a masked secret holds instead of its value. */
const MASK_PREFIX = 'pach-diff-secret:sha256:';

/** How a side holds a secret: a value, a `--redact` placeholder, or nothing. */
export type SecretState = 'set' | 'redacted' | 'absent';

/** One difference: the path, and the values on each side (a key left out: the side has nothing there). */
export interface Change {
  path: string;
  old?: unknown;
  new?: unknown;
  /** A secret field: no values, only what each side holds. */
  secret?: true;
  old_state?: SecretState;
  new_state?: SecretState;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Plain = Record<string, any>;

function isPlainObject(v: unknown): v is Plain {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Replaces, in place, every secret string under `value` by the SHA-256 of it; placeholders stay as they are. */
export function maskSecrets<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const v of value) maskSecrets(v);
  } else if (isPlainObject(value)) {
    const o: Plain = value;
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v === 'string' && SECRET_FIELDS.has(k)) {
        if (!isRedacted(v)) o[k] = MASK_PREFIX + createHash('sha256').update(v).digest('hex');
      } else {
        maskSecrets(v);
      }
    }
  }
  return value;
}

function secretState(v: unknown): SecretState {
  if (v === undefined || v === '') return 'absent';
  return typeof v === 'string' && isRedacted(v) ? 'redacted' : 'set';
}

/** Structural equality of JSON values (key order does not matter). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameValue(v, b[i]));
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => sameValue(a[k], b[k]));
  }
  return false;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function child(path: string, key: string): string {
  if (!IDENT.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * The changes that turn `a` into `b`. Objects are followed key by key, and
 * arrays that hold objects index by index (`input.union[1]`); scalars and
 * arrays of scalars (`transform.cmd`) are compared whole.
 */
export function diffValues(a: unknown, b: unknown, path = ''): Change[] {
  if (sameValue(a, b)) return [];
  const key = /([A-Za-z0-9_]+)$/.exec(path)?.[1];
  if (key && SECRET_FIELDS.has(key) && (typeof a === 'string' || typeof b === 'string')) {
    return [{ path, secret: true, old_state: secretState(a), new_state: secretState(b) }];
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Change[] = [];
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    for (const k of keys) out.push(...diffValues(a[k], b[k], child(path, k)));
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].some((v) => v !== null && typeof v === 'object')) {
    const out: Change[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...diffValues(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  const change: Change = { path };
  if (a !== undefined) change.old = scrub(a);
  if (b !== undefined) change.new = scrub(b);
  return [change];
}

/** A value a change carries whole (an added identity provider, say), with each masked secret as `<secret>`. */
function scrub(v: unknown): unknown {
  if (typeof v === 'string') return v.startsWith(MASK_PREFIX) ? '<secret>' : v;
  if (Array.isArray(v)) return v.map(scrub);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
  return v;
}

/** A value as a table shows it: JSON, or `(none)` for a side that has nothing. */
export function showValue(v: unknown): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}

const SECRET_NAMES: Record<string, string> = {
  activation_code: 'activation code',
  hashed_token: 'token hash',
  github_token: 'GitHub token',
  root_token: 'root token',
  client_secret: 'client secret',
};

/** A change as a table shows it: `path old -> new`, or for a secret `activation code changed` and no value. */
export function showChange(c: Change): string {
  if (!c.secret) return `${c.path} ${showValue(c.old)} -> ${showValue(c.new)}`;
  const field = /([A-Za-z0-9_]+)$/.exec(c.path)?.[1] ?? c.path;
  const prefix = c.path.slice(0, c.path.length - field.length).replace(/\.$/, '');
  const name = `${prefix ? `${prefix} ` : ''}${SECRET_NAMES[field] ?? field}`;
  if (c.old_state === 'absent') return `${name} added${c.new_state === 'redacted' ? ' (redacted)' : ''}`;
  if (c.new_state === 'absent') return `${name} removed`;
  if (c.new_state === 'redacted' && c.old_state !== 'redacted') return `${name} changed (now redacted)`;
  if (c.old_state === 'redacted' && c.new_state !== 'redacted') return `${name} changed (was redacted)`;
  return `${name} changed`;
}
