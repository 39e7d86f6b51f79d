/**
 * Small nil-safe helpers the hop tables share: spelling a list of kept
 * fields, and copying set fields between decoded messages in move functions.
 */
import type { FieldRule, Msg } from '../mapping.js';

/** `kept('name repo glob')` → `{ name: 'kept', repo: 'kept', glob: 'kept' }`: every field is still named in the table. */
export function kept(names: string): Record<string, FieldRule> {
  const out: Record<string, FieldRule> = {};
  for (const n of names.split(/\s+/).filter(Boolean)) out[n] = 'kept';
  return out;
}

/** Whether a decoded message has `field` set (proto3 presence as protobufjs encodes it). */
export function has(m: Msg | undefined | null, field: string): boolean {
  if (!m || !Object.prototype.hasOwnProperty.call(m, field)) return false;
  const v = m[field];
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/** The sub-message at `field`, when set. */
export function sub(m: Msg | undefined | null, field: string): Msg | undefined {
  return has(m, field) ? (m![field] as Msg) : undefined;
}

/** Copies the set fields among `names` from `src` into a new object. */
export function pick(src: Msg, names: readonly string[]): Msg {
  const out: Msg = {};
  for (const n of names) if (has(src, n)) out[n] = src[n];
  return out;
}

/** A map field's entries, or undefined when it is unset or empty. */
export function mapOf(m: Msg | undefined | null, field: string): Record<string, string> | undefined {
  if (!m || !has(m, field)) return undefined;
  const v = m[field] as Record<string, string>;
  return Object.keys(v).length ? v : undefined;
}

/** A shallow copy of `m` without `field` (decoded messages are never modified in place). */
export function without(m: Msg, field: string): Msg {
  const out: Msg = {};
  for (const k of Object.keys(m)) if (k !== field) out[k] = m[k];
  return out;
}
