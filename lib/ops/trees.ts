/**
 * The commit-tree half of the 1.7 ↔ 1.8 hop. A 1.7 commit names its file
 * tree by the hash of an object holding a 1.7 HashTreeProto; 1.8 and later
 * read that object as a "DB" tree (pachyderm/HASHTREES.md §3). pachd's own
 * restore converted each tree by fetching it from its object store; offline
 * we convert the tree objects in the stream instead, in one pass (pachd
 * extracts objects before commits). It runs on 1.7 ops: before the ladder
 * going up, after it going down.
 *
 * Every tree object of the source format is kept as it is and gets a twin
 * in the target format written right after it; commits naming it are
 * pointed at the twin. Keeping the original is what makes the way back
 * exact: pachd wrote 1.7 tree entries in Go's random map order, which no
 * encoder can reproduce. The other way, a tree of the source format that
 * directly follows a target-format tree with the same entries is that
 * tree's twin from an earlier conversion: it is dropped and its commits go
 * back to the original. So 1.7 → 1.8+ → 1.7 and 1.8+ → 1.7 → 1.8+ give back
 * the bytes they started from. Restored, a kept original is an object no
 * commit names. Tags are left alone, as pachd leaves them.
 *
 * Memory: a hash map (two hashes per tree) and the one tree being read. A
 * commit whose tree object is not in the stream (a dump taken without
 * objects) keeps its hash and counts as a loss: restore such a dump as 1.7
 * ops and pachd converts the tree from its own store.
 */
import { envelopeOf, wrapPayload, type OpRecord, type RecordBatch, type RecordStream } from '../codec/record.js';
import { walkFields, WIRE_LEN } from '../codec/wire-check.js';
import { dataError } from '../errors.js';
import { payloadType } from '../schema/registry.js';
import { dbToTree17, looksLikeDbTree, looksLikeTree17, sha512Hex, tree17ToDb, type TreeConversion } from './hashtree.js';
import { loseOrThrow, type LossPolicy } from './loss.js';

/** Tree objects are written in ops of at most this many bytes, as pachd chunks objects (MaxMsgSize / 2). */
const CHUNK = 10 * 1024 * 1024;

const PutObject = payloadType('1.7', 'object')!;
const BuildCommit = payloadType('1.7', 'commit')!;

type Format = '1.7' | 'db';

/** A tree object read whole: its format, its hash, and the same tree in the other format. */
interface TreeInfo {
  format: Format;
  hash: string;
  other: TreeConversion;
  /**
   * The hash of its entries in sorted 1.7 form, equal for twins. Only asked
   * for when a tree follows one of the other format, so computed then.
   */
  entries(): string;
}

/** What `content` is, when it is a tree in either format. */
function readTree(content: Uint8Array): TreeInfo | undefined {
  try {
    if (looksLikeDbTree(content)) {
      const other = dbToTree17(content);
      return { format: 'db', hash: sha512Hex(content), other, entries: () => sha512Hex(other.bytes) };
    }
    if (looksLikeTree17(content)) {
      const other = tree17ToDb(content);
      return { format: '1.7', hash: sha512Hex(content), other, entries: () => sha512Hex(dbToTree17(other.bytes).bytes) };
    }
  } catch {
    /* an ordinary object that happens to start like a tree */
  }
  return undefined;
}

interface Direction {
  label: string;
  source: Format;
  missing: string;
}

const UP: Direction = {
  label: '1.7→1.8',
  source: '1.7',
  missing: 'its 1.7 tree object is not in the stream (extracted without objects?), so it cannot be rewritten for 1.8; restore this dump as 1.7 ops and pachd converts the tree from its object store',
};

const DOWN: Direction = {
  label: '1.8→1.7',
  source: 'db',
  missing: 'its tree object is not in the stream as an object op, so it cannot be rewritten in the 1.7 format',
};

/** An Op1_7 object op holding `value`. */
function objectOp(value: Uint8Array, like: OpRecord): OpRecord {
  const payload = PutObject.encode(value.length ? { value } : {}).finish();
  return { bytes: wrapPayload(1, 'object', payload), index: like.index, offset: like.offset };
}

/**
 * The bytes of the last length-delimited field `field` in `buf[start, end)`,
 * as [start, end), or undefined when absent; undefined too when the message
 * does not parse (the caller then decodes it properly and reports).
 */
function lengthField(buf: Uint8Array, start: number, end: number, field: number): [number, number] | undefined {
  let found: [number, number] | undefined;
  const ok = walkFields(buf, start, end, (id, wt, from, to) => {
    if (id === field && wt === WIRE_LEN) found = [from, to];
  });
  return ok ? found : undefined;
}

/** An object op's value bytes (a view), without decoding the op. */
function objectValue(rec: OpRecord): Uint8Array | undefined {
  const env = envelopeOf(rec);
  const at = lengthField(rec.bytes, env.payloadStart, env.payloadEnd, 1);
  if (at) return rec.bytes.subarray(at[0], at[1]);
  return decode<{ value?: Uint8Array }>(PutObject, rec).value;
}

/** Where a commit op's tree hash (BuildCommitRequest.tree.hash) sits in its bytes, if it has one. */
function treeHashAt(rec: OpRecord): [number, number] | undefined {
  const env = envelopeOf(rec);
  const tree = lengthField(rec.bytes, env.payloadStart, env.payloadEnd, 3);
  return tree && lengthField(rec.bytes, tree[0], tree[1], 1);
}

function decode<T>(type: typeof PutObject, rec: OpRecord): T {
  const env = envelopeOf(rec);
  try {
    return type.decode(Buffer.from(rec.bytes.buffer, rec.bytes.byteOffset + env.payloadStart, env.payloadEnd - env.payloadStart)) as unknown as T;
  } catch (err) {
    throw dataError('PACH_BAD_RECORD', `${env.kind} op does not parse: ${(err as Error).message}`, { record: rec.index }, err);
  }
}

/** Hash renames for commits, with how many trees each new hash stands for. */
class Renames {
  private readonly to = new Map<string, string>();
  private readonly sources = new Map<string, number>();

  add(from: string, to: string): void {
    if (this.to.has(from)) return; // the same tree object twice: the first twin stands
    this.to.set(from, to);
    this.sources.set(to, (this.sources.get(to) ?? 0) + 1);
  }

  get(from: string): string | undefined {
    return this.to.get(from);
  }

  /** Whether several distinct trees (same entries, different bytes) were renamed to `to`. */
  shared(to: string): boolean {
    return (this.sources.get(to) ?? 0) > 1;
  }
}

async function* rewriteTrees(records: RecordStream, policy: LossPolicy, dir: Direction): RecordStream {
  const renames = new Renames();
  /** The target-format tree object emitted just before, while nothing else has followed it. */
  let previous: TreeInfo | undefined;
  /** The object group being read (its records), and its bytes while it may be a tree. */
  let group: OpRecord[] = [];
  let chunks: Uint8Array[] | undefined;
  let inGroup = false;

  const finishGroup = (terminator: OpRecord, out: RecordBatch): void => {
    const held = group;
    const tree = chunks ? readTree(Buffer.concat(chunks)) : undefined;
    group = [];
    chunks = undefined;
    const before = previous;
    previous = undefined;
    if (!tree) {
      out.push(...held, terminator);
      return;
    }
    if (tree.format !== dir.source) {
      out.push(...held, terminator);
      previous = tree;
      return;
    }
    if (before && before.entries() === tree.entries()) {
      renames.add(tree.hash, before.hash); // the twin of the tree just before: drop it
      return;
    }
    out.push(...held, terminator);
    for (const what of tree.other.lost) loseOrThrow(policy, dir.label, 'object(tree)', what, held[0]!);
    const twin = tree.other.bytes;
    for (let at = 0; at < twin.length; at += CHUNK) out.push(objectOp(twin.subarray(at, Math.min(at + CHUNK, twin.length)), held[0]!));
    out.push(terminator);
    renames.add(tree.hash, sha512Hex(twin));
  };

  for await (const batch of records) {
    const out: RecordBatch = [];
    for (const rec of batch) {
      const env = envelopeOf(rec);
      if (env.version === '1.7' && env.kind === 'object') {
        const value = objectValue(rec);
        const empty = !value || value.length === 0;
        if (!inGroup && empty) {
          out.push(rec); // a lone empty op: a zero-length object
          previous = undefined;
          continue;
        }
        if (!inGroup) {
          inGroup = true;
          chunks = looksLikeTree17(value!) || looksLikeDbTree(value!) ? [] : undefined;
          if (!chunks) previous = undefined;
        }
        if (empty) {
          inGroup = false;
          finishGroup(rec, out);
        } else if (chunks) {
          // Held past this batch: a copy, since the stage before may reuse its records' memory.
          group.push({ bytes: Buffer.from(rec.bytes), index: rec.index, offset: rec.offset });
          chunks.push(Buffer.from(value!)); // a copy: the record's bytes may be reused
        } else {
          out.push(rec);
        }
        continue;
      }
      previous = undefined;
      if (inGroup) {
        // An object group cut short by another op: pass what was held on as it came.
        out.push(...group);
        group = [];
        chunks = undefined;
        inGroup = false;
      }
      out.push(env.version === '1.7' && env.kind === 'commit' ? rewriteCommit(rec, renames, policy, dir) : rec);
    }
    yield out;
  }
  if (group.length) yield group;
}

function rewriteCommit(rec: OpRecord, renames: Renames, policy: LossPolicy, dir: Direction): OpRecord {
  const at = treeHashAt(rec);
  if (!at) return rec;
  const hash = Buffer.from(rec.bytes.buffer, rec.bytes.byteOffset + at[0], at[1] - at[0]).toString('latin1');
  if (!hash) return rec;
  const to = renames.get(hash);
  if (!to) {
    loseOrThrow(policy, dir.label, 'commit.tree', dir.missing, rec);
    return rec;
  }
  if (renames.shared(to)) {
    loseOrThrow(policy, dir.label, 'commit.tree', 'another tree object has the same entries in other byte order; both convert to one object, and converting back names the first', rec);
  }
  if (to.length === hash.length) {
    // Same length (128 hex): the new hash goes over the old one, every other byte stays.
    const bytes = Buffer.from(rec.bytes);
    bytes.write(to, at[0], 'latin1');
    return { bytes, index: rec.index, offset: rec.offset };
  }
  const commit = decode<{ tree?: { hash?: string } }>(BuildCommit, rec);
  const payload = BuildCommit.encode({ ...commit, tree: { hash: to } }).finish();
  return { bytes: wrapPayload(1, 'commit', payload), index: rec.index, offset: rec.offset };
}

/** Before an upward ladder from 1.7: 1.7 trees get DB twins. */
export function treesUp(records: RecordStream, policy: LossPolicy): RecordStream {
  return rewriteTrees(records, policy, UP);
}

/** After a downward ladder to 1.7: DB trees get 1.7 twins. */
export function treesDown(records: RecordStream, policy: LossPolicy): RecordStream {
  return rewriteTrees(records, policy, DOWN);
}
