/**
 * What a commit's tree object references: the object hashes and block names
 * its files (and directory headers/footers) are made of. Object pruning keeps
 * exactly these for the commits it keeps, so a tree it cannot read must stop
 * pruning, never shrink it: every byte of a tree-shaped input is walked and
 * anything that is not one of the three serialisations is an error.
 *
 *   1.7   HashTreeProto{version=1, fs=map<path, NodeProto>}, begins `08 01`  (HASHTREES.md §3.1)
 *   db    pbutil records: {"fs"}, key, NodeProto, …, "*", {"changed"}, …, "*"  (§3.2)
 *   kv    pbutil records: key, NodeProto, key, NodeProto, … to the end          (§3.3)
 *
 * The walk checks the framing and every field of every node against the
 * hashtree messages (lib/ops/hashtree.ts has the same layout, §2): a field
 * number or wire type those messages do not have is an error, since it could
 * be a reference we do not know about. It does not build the tree nor check
 * what does not bear on references (path spelling, key order, parents,
 * children lists, hashes, sizes), which keeps it several times faster than
 * decoding: pruning reads every kept commit's tree. Keys must start with byte
 * 00 (every encoded path does, the root's too): that, and values that parse
 * as NodeProtos, tell a kv tree from other pbutil-framed objects such as a
 * commit's datums object (records of hex datum hashes).
 */
import { varintAt } from '../codec/varint.js';
import { walkFields, WIRE_LEN, WIRE_VARINT } from '../codec/wire-check.js';
import { looksLikeDbTree, looksLikeTree17 } from '../ops/hashtree.js';

export interface TreeRefs {
  /** Which serialisation the bytes are in; an empty object counts as an empty 'db' tree. */
  format: '1.7' | 'db' | 'kv';
  /** Object hashes (file objects, 1.7 directory header/footer, 1.8+ Shared header/footer), first-seen order, no repeats. */
  objects: string[];
  /** Block names of file block_refs, first-seen order, no repeats. */
  blocks: string[];
}

type Version = '1.7' | '1.8';

/** Field number → the wire type it must have; any other field is an error. */
type Layout = Readonly<Record<number, number>>;

const L = WIRE_LEN;
const V = WIRE_VARINT;
// The hashtree messages (HASHTREES.md §2), as far as the walk needs them.
const HASH_TREE_17: Layout = { 1: V, 2: L };
const MAP_ENTRY: Layout = { 1: L, 2: L };
const NODE: Layout = { 1: L, 2: L, 3: V, 4: L, 5: L };
const FILE_17: Layout = { 4: L };
const FILE_18: Layout = { 4: L, 5: L, 6: V };
const DIR_17: Layout = { 3: L, 4: L, 5: L };
const DIR_18: Layout = { 3: L, 4: L };
const SHARED: Layout = { 1: L, 2: L, 3: V, 4: V };
const HASH: Layout = { 1: L };
const BLOCK_REF: Layout = { 1: L, 2: L };
const BYTE_RANGE: Layout = { 1: V, 2: V };

const BUCKET_FS = Uint8Array.of(0x0a, 0x02, 0x66, 0x73);
const BUCKET_CHANGED = Uint8Array.of(0x0a, 0x07, 0x63, 0x68, 0x61, 0x6e, 0x67, 0x65, 0x64);
const SENTINEL = 0x2a;
const utf8 = new TextDecoder();

function sameBytes(buf: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[start + i] !== want[i]) return false;
  return true;
}

/** One walk over one tree object's bytes, collecting what it references. */
class Walk {
  private readonly objects = new Set<string>();
  private readonly blocks = new Set<string>();
  private readonly view: DataView;
  /** Where the next pbutil record starts (db and kv). */
  private pos = 0;

  constructor(private readonly buf: Uint8Array, private readonly where: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  result(format: TreeRefs['format']): TreeRefs {
    return { format, objects: [...this.objects], blocks: [...this.blocks] };
  }

  /** Walks buf[start, end) as a message of `layout`, calling `visit` per field. */
  private fields(start: number, end: number, layout: Layout, what: string, visit: (field: number, from: number, to: number) => void): void {
    const ok = walkFields(this.buf, start, end, (field, wireType, from, to) => {
      const want = layout[field];
      if (want === undefined) throw new Error(`${this.where}: ${what}: unexpected field ${field} (wire type ${wireType}) at byte ${from}`);
      if (want !== wireType) throw new Error(`${this.where}: ${what}: field ${field} has wire type ${wireType}, expected ${want} (byte ${from})`);
      visit(field, from, to);
    });
    if (!ok) throw new Error(`${this.where}: ${what} at byte ${start}: malformed or truncated wire data`);
  }

  /** Object or Block: {hash = 1}. */
  private hash(start: number, end: number, what: string): string {
    let hash = '';
    this.fields(start, end, HASH, what, (_, from, to) => {
      hash = utf8.decode(this.buf.subarray(from, to));
    });
    return hash;
  }

  private object(start: number, end: number, what: string): void {
    const hash = this.hash(start, end, what);
    if (hash) this.objects.add(hash);
  }

  private blockRef(start: number, end: number): void {
    this.fields(start, end, BLOCK_REF, 'BlockRef', (field, from, to) => {
      if (field === 1) {
        const name = this.hash(from, to, 'Block');
        if (name) this.blocks.add(name);
      } else {
        this.fields(from, to, BYTE_RANGE, 'ByteRange', () => {});
      }
    });
  }

  /** A NodeProto in buf[start, end): exactly one of file (4) and dir (5). */
  node(start: number, end: number, version: Version): void {
    let file = -1;
    let dir = -1;
    let fileEnd = 0;
    let dirEnd = 0;
    this.fields(start, end, NODE, 'NodeProto', (field, from, to) => {
      if (field === 4) {
        if (file >= 0) throw new Error(`${this.where}: NodeProto at byte ${start}: file_node occurs more than once`);
        [file, fileEnd] = [from, to];
      } else if (field === 5) {
        if (dir >= 0) throw new Error(`${this.where}: NodeProto at byte ${start}: dir_node occurs more than once`);
        [dir, dirEnd] = [from, to];
      }
    });
    if ((file >= 0) === (dir >= 0)) {
      throw new Error(`${this.where}: NodeProto at byte ${start} is ${file >= 0 ? 'both a file and a directory' : 'neither a file nor a directory'}`);
    }
    if (file >= 0) {
      this.fields(file, fileEnd, version === '1.7' ? FILE_17 : FILE_18, `FileNodeProto (${version})`, (field, from, to) => {
        if (field === 4) this.object(from, to, 'Object');
        else if (field === 5) this.blockRef(from, to);
      });
    } else if (version === '1.7') {
      this.fields(dir, dirEnd, DIR_17, 'DirectoryNodeProto (1.7)', (field, from, to) => {
        if (field === 4 || field === 5) this.object(from, to, field === 4 ? 'header Object' : 'footer Object');
      });
    } else {
      this.fields(dir, dirEnd, DIR_18, 'DirectoryNodeProto (1.8)', (field, from, to) => {
        if (field !== 4) return;
        this.fields(from, to, SHARED, 'Shared', (f, a, b) => {
          if (f === 1 || f === 2) this.object(a, b, f === 1 ? 'Shared header' : 'Shared footer');
        });
      });
    }
  }

  // ---------------------------------------------------------------- 1.7

  tree17(): TreeRefs {
    const end = this.buf.length;
    this.fields(0, end, HASH_TREE_17, 'HashTreeProto', (field, from, to) => {
      if (field === 1) {
        const version = varintAt(this.buf, from, to);
        if (version !== 1) throw new Error(`${this.where}: unsupported HashTreeProto version ${version} (only 1 exists)`);
        return;
      }
      let value = -1;
      let valueEnd = 0;
      this.fields(from, to, MAP_ENTRY, 'fs map entry', (f, a, b) => {
        if (f === 2) [value, valueEnd] = [a, b];
      });
      if (value < 0) throw new Error(`${this.where}: fs map entry at byte ${from} has no NodeProto`);
      this.node(value, valueEnd, '1.7');
    });
    return this.result('1.7');
  }

  // ---------------------------------------------------------------- db and kv

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  /** The next pbutil record (8-byte little-endian length, then the bytes): [start, end). */
  record(what: string): [number, number] {
    const left = this.buf.length - this.pos;
    if (left === 0) throw new Error(`${this.where}: ended where ${what} should be`);
    if (left < 8) throw new Error(`${this.where}: truncated record length at byte ${this.pos}`);
    const length = this.view.getUint32(this.pos, true) + this.view.getUint32(this.pos + 4, true) * 2 ** 32;
    if (length > left - 8) throw new Error(`${this.where}: record at byte ${this.pos} claims ${length} bytes, ${left - 8} left`);
    const start = this.pos + 8;
    this.pos = start + length;
    return [start, start + length];
  }

  isSentinel([start, end]: [number, number]): boolean {
    return end - start === 1 && this.buf[start] === SENTINEL;
  }

  /** A key record: an encoded path, which begins with byte 00. */
  key([start, end]: [number, number]): void {
    if (end === start || this.buf[start] !== 0) {
      throw new Error(`${this.where}: record at byte ${start - 8} is not an encoded path (keys start with byte 00)`);
    }
  }

  db(): TreeRefs {
    for (const [name, header] of [['fs', BUCKET_FS], ['changed', BUCKET_CHANGED]] as const) {
      const [hs, he] = this.record(`the "${name}" bucket header`);
      if (!sameBytes(this.buf, hs, he, header)) throw new Error(`${this.where}: expected the "${name}" bucket header at byte ${hs - 8}`);
      for (;;) {
        const key = this.record(`a key or the "*" ending bucket "${name}"`);
        if (this.isSentinel(key)) break;
        this.key(key);
        const [vs, ve] = this.record(`the value of the key at byte ${key[0] - 8}`);
        if (name === 'fs') this.node(vs, ve, '1.8');
        else if (ve - vs !== 1 || this.buf[vs] !== 0x01) throw new Error(`${this.where}: "changed" value at byte ${vs - 8} must be the single byte 01`);
      }
    }
    if (!this.done) throw new Error(`${this.where}: ${this.buf.length - this.pos} trailing bytes after the "changed" bucket`);
    return this.result('db');
  }

  kv(): TreeRefs {
    while (!this.done) {
      const key = this.record('a key');
      this.key(key);
      const [vs, ve] = this.record(`the value of the key at byte ${key[0] - 8}`);
      this.node(vs, ve, '1.8');
    }
    return this.result('kv');
  }
}

function readRefs(bytes: Uint8Array): TreeRefs {
  if (bytes.length === 0) return { format: 'db', objects: [], blocks: [] };
  if (looksLikeDbTree(bytes)) return new Walk(bytes, 'DB tree').db();
  if (looksLikeTree17(bytes)) {
    try {
      return new Walk(bytes, '1.7 tree').tree17();
    } catch (err17) {
      // A kv tree whose first key is 264 bytes long also begins 08 01.
      try {
        return new Walk(bytes, 'kv tree').kv();
      } catch {
        throw err17;
      }
    }
  }
  return new Walk(bytes, 'kv tree').kv();
}

/**
 * The object hashes and block names a commit tree object references, for any
 * tree Pachyderm 1.x stores (1.7 HashTreeProto; 1.8+ DB format, commit field
 * `tree`; 1.8+ merged kv format, commit field `trees`). Zero bytes are an
 * empty tree (format 'db', nothing referenced). Reads the bytes once, without
 * building the tree.
 * @throws Error when the bytes are none of the three formats, naming what
 *   failed and where; callers should then stop pruning rather than guess.
 */
export function treeRefs(bytes: Uint8Array): TreeRefs {
  try {
    return readRefs(bytes);
  } catch (err) {
    throw new Error(`not a commit tree in any known format (1.7, DB, kv): ${(err as Error).message}`, { cause: err });
  }
}
