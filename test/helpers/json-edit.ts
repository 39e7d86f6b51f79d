/**
 * Editing streams through their JSON view (DESIGN.md §2): parse the record
 * lines of `pach-convert --to json`, change them as plain objects, and join
 * them back into NDJSON the tools read on stdin. Header and trailer lines are
 * dropped (they are optional on input) and `i` is ignored on input, so a
 * record's index is simply its position in the array.
 *
 * Records of the 1.11 auth dump hold secrets (an activation code, a hashed
 * token): never hand a record to an assertion that prints its operands.
 */

/** A JSON body: the op's payload in proto3 JSON with snake_case names. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

export interface JsonRecord {
  i?: number;
  version: string;
  kind: string;
  body: Body;
}

/** The record lines of a JSON view (header and trailer lines skipped). */
export function parseView(text: string): JsonRecord[] {
  const out: JsonRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as Partial<JsonRecord> & { header?: unknown; trailer?: unknown };
    if (o.header !== undefined || o.trailer !== undefined) continue;
    if (typeof o.kind !== 'string' || typeof o.version !== 'string') throw new Error(`not a record line: ${line.slice(0, 80)}`);
    out.push({ version: o.version, kind: o.kind, body: o.body ?? {} });
  }
  return out;
}

/** NDJSON for the tools: one record per line, no header, no trailer, no `i`. */
export function renderView(records: readonly JsonRecord[]): string {
  return records.map((r) => JSON.stringify({ version: r.version, kind: r.kind, body: r.body })).join('\n') + '\n';
}

/** A deep copy, so that a shared base stream is never edited in place. */
export function copyRecords(records: readonly JsonRecord[]): JsonRecord[] {
  return structuredClone(records) as JsonRecord[];
}

/** Index of the first record of `kind` whose body passes `pred`; throws (without printing bodies) if there is none. */
export function indexOf(records: readonly JsonRecord[], kind: string, pred: (body: Body, index: number) => boolean = () => true, what = kind): number {
  const i = records.findIndex((r, k) => r.kind === kind && pred(r.body, k));
  if (i < 0) throw new Error(`no ${what} record in the stream`);
  return i;
}

/** Index of the last such record. */
export function lastIndexOf(records: readonly JsonRecord[], kind: string, pred: (body: Body, index: number) => boolean = () => true, what = kind): number {
  for (let i = records.length - 1; i >= 0; i--) if (records[i]!.kind === kind && pred(records[i]!.body, i)) return i;
  throw new Error(`no ${what} record in the stream`);
}

/** Every index of `kind` records whose body passes `pred`. */
export function indexesOf(records: readonly JsonRecord[], kind: string, pred: (body: Body, index: number) => boolean = () => true): number[] {
  const out: number[] = [];
  records.forEach((r, i) => {
    if (r.kind === kind && pred(r.body, i)) out.push(i);
  });
  return out;
}

/** Moves the record at `from` so that it ends up at index `to` of the result; returns `to`. */
export function moveRecord(records: JsonRecord[], from: number, to: number): number {
  const [rec] = records.splice(from, 1);
  records.splice(to, 0, rec!);
  return to;
}

/** The repo of a commit op (its parent carries it). */
export function commitRepo(body: Body): string {
  return String(body.parent?.repo?.name ?? '');
}

/** The object groups of a ≤ 1.8 stream: data ops up to the empty op that ends them, with the SHA-512 of their bytes (the object's hash). */
export function objectGroups(records: readonly JsonRecord[], sha512: (bytes: Buffer) => string): Array<{ first: number; last: number; hash: string }> {
  const groups: Array<{ first: number; last: number; hash: string }> = [];
  let first = -1;
  let parts: Buffer[] = [];
  records.forEach((r, i) => {
    if (r.kind !== 'object') return;
    const value = r.body.value ? Buffer.from(String(r.body.value), 'base64') : Buffer.alloc(0);
    if (value.length) {
      if (first < 0) first = i;
      parts.push(value);
      return;
    }
    if (first >= 0) groups.push({ first, last: i, hash: sha512(Buffer.concat(parts)) });
    first = -1;
    parts = [];
  });
  return groups;
}
