/**
 * Pachyderm commit file trees ("hashtrees") as stored in dump objects, in the
 * two serialisations a 1.7 ↔ 1.8 conversion meets, and the conversion between
 * them (shared/pachyderm/HASHTREES.md §2, §3.1, §3.2):
 *
 *   1.7 "tree17": one proto3 HashTreeProto{version=1, fs=map<path, NodeProto>}
 *   1.8 "DB":     pbutil records: BucketHeader{"fs"}, key, NodeProto, …, "*",
 *                 BucketHeader{"changed"}, key, 0x01, …, "*"
 *
 * Both decode to the same in-memory {@link Tree}. The wire encoding is written
 * by hand (the hashtree messages are not in lib/schema) and follows gogo's
 * marshal exactly: ascending field numbers, proto3 defaults omitted, set
 * sub-messages written even when empty, map entries always with key and value.
 */
import { createHash } from 'node:crypto';

// ------------------------------------------------------------ model

/** pfs.ByteRange: the half-open byte range [lower, upper) of a block. */
export interface ByteRange {
  lower: bigint;
  upper: bigint;
}

/** pfs.BlockRef (1.8+ files): a range of a named block; either part may be absent on the wire. */
export interface BlockRef {
  /** Block.hash (the block's name); undefined when the Block message is absent. */
  block?: string;
  /** undefined when the ByteRange message is absent. */
  range?: ByteRange;
}

/** hashtree.Shared (1.8+ directories): the header and footer put around the directory's files. */
export interface Shared {
  /** Object hash of the header; undefined when absent. */
  header?: string;
  /** Object hash of the footer; undefined when absent. */
  footer?: string;
  headerSize: bigint;
  footerSize: bigint;
}

/** A file node: 1.7 has only `objects`; 1.8 adds `blockRefs` and `hasHeaderFooter`. */
export interface FileNode {
  /** Object hashes whose contents, in order, make up the file. */
  objects: string[];
  /** 1.8+ only; always empty for a tree decoded from 1.7. */
  blockRefs: BlockRef[];
  /** 1.8+ only; always false for a tree decoded from 1.7. */
  hasHeaderFooter: boolean;
}

/** A directory node: `header`/`footer` exist only in 1.7, `shared` only in 1.8+. */
export interface DirNode {
  /** Names of the direct children, sorted by UTF-8 bytes (recomputed when decoding a DB tree). */
  children: string[];
  /** 1.7 only: object hash of the header; undefined when absent. */
  header?: string;
  /** 1.7 only: object hash of the footer; undefined when absent. */
  footer?: string;
  /** 1.8+ only; undefined when absent. */
  shared?: Shared;
}

/** hashtree.NodeProto: exactly one of `file` and `dir` is set. */
export interface TreeNode {
  /** Last path component; "" for the root. */
  name: string;
  /** Node hash, raw bytes (SHA-256 for directories and object-backed files). */
  hash: Uint8Array;
  /** Bytes in the file, or in all files below the directory (int64). */
  subtreeSize: bigint;
  file?: FileNode;
  dir?: DirNode;
}

/**
 * A commit's file tree, keyed by canonical path: "" for the root, else "/a/b"
 * (leading slash, no trailing slash, no empty, "." or ".." components).
 * Iteration order matters to {@link encodeTree17}, which writes entries in it.
 */
export type Tree = Map<string, TreeNode>;

// ------------------------------------------------------------ detection and hashing

const DB_SIGNATURE = Uint8Array.of(0x04, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x02, 0x66, 0x73);

/** True if `bytes` starts like a 1.7 tree: `08 01` (version = 1). A cheap guess, not a validation. */
export function looksLikeTree17(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x08 && bytes[1] === 0x01;
}

/** True if `bytes` starts like a 1.8+ DB tree: the record holding BucketHeader{"fs"}. A cheap guess, not a validation. */
export function looksLikeDbTree(bytes: Uint8Array): boolean {
  return bytes.length >= DB_SIGNATURE.length && DB_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Lowercase hex SHA-512 of `bytes`: the name Pachyderm gives an object with these contents. */
export function sha512Hex(bytes: Uint8Array): string {
  return createHash('sha512').update(bytes).digest('hex');
}

// ------------------------------------------------------------ paths and byte order

const utf8Encoder = new TextEncoder();
// fatal: a string that is not UTF-8 could not be re-encoded to the same bytes.
// ignoreBOM: a leading U+FEFF is part of the name, not a marker to strip.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new Error(`${where}: string is not valid UTF-8`);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** Sorts strings as Go does (by UTF-8 bytes), which differs from JS's UTF-16 order for astral characters. */
function sortUtf8(strings: string[]): string[] {
  return strings
    .map((s) => ({ s, bytes: utf8Encoder.encode(s) }))
    .sort((x, y) => compareBytes(x.bytes, y.bytes))
    .map((x) => x.s);
}

/** Why `path` is not canonical, or undefined if it is. */
function pathProblem(path: string): string | undefined {
  if (path === '') return undefined;
  if (!path.startsWith('/')) return 'does not start with "/"';
  if (path.includes('\0')) return 'contains a NUL byte';
  for (const part of path.slice(1).split('/')) {
    if (part === '') return 'has an empty component';
    if (part === '.' || part === '..') return `has a "${part}" component`;
  }
  return undefined;
}

function checkPath(path: string, where: string): void {
  const problem = pathProblem(path);
  if (problem) throw new Error(`${where}: path ${JSON.stringify(path)} is not canonical: it ${problem}`);
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The path as people write it: the root is "/". */
function showPath(path: string): string {
  return path === '' ? '/' : path;
}

/** DB key of a canonical path: every "/" becomes 0x00, and the root is the single byte 0x00. */
function dbKey(path: string): Uint8Array {
  if (path === '') return Uint8Array.of(0);
  // UTF-8 never uses 0x2f or 0x00 inside a multi-byte sequence, so a byte swap is exact.
  return utf8Encoder.encode(path).map((b) => (b === 0x2f ? 0 : b));
}

function pathOfDbKey(key: Uint8Array, where: string): string {
  if (key.length === 1 && key[0] === 0) return '';
  const path = decodeUtf8(key.map((b) => (b === 0 ? 0x2f : b)), where);
  // A raw "/" byte cannot come from the encoding, which turns every "/" into 0x00.
  if (path === '' || key.includes(0x2f) || pathProblem(path)) {
    const hex = Array.from(key, (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${where}: key ${hex || '(empty)'} is not an encoded canonical path`);
  }
  return path;
}

/** Direct children of every path that has any, as sorted name lists. */
function childrenByParent(paths: Iterable<string>): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const path of paths) {
    if (path === '') continue;
    const parent = parentOf(path);
    const list = names.get(parent);
    if (list) list.push(baseOf(path));
    else names.set(parent, [baseOf(path)]);
  }
  for (const [parent, list] of names) names.set(parent, sortUtf8(list));
  return names;
}

/**
 * The tree-wide rules every tree Pachyderm writes obeys: canonical paths, one
 * node type each, the root and every parent present as directories (both
 * versions create missing parents up to the root; only an empty tree has no
 * root), and, in 1.7, `children` listing exactly the direct children, sorted.
 * Checking them is also what catches a 1.7 tree cut at an entry boundary.
 */
function checkShape(tree: Tree, where: string, checkChildren: boolean): void {
  const children = childrenByParent(tree.keys());
  for (const [path, node] of tree) {
    checkPath(path, where);
    if ((node.file === undefined) === (node.dir === undefined)) {
      throw new Error(`${where}: node ${showPath(path)} must be exactly one of file or directory`);
    }
    if (path !== '') {
      const parent = tree.get(parentOf(path));
      if (!parent) throw new Error(`${where}: ${showPath(path)} has no parent node ${showPath(parentOf(path))}`);
      if (!parent.dir) throw new Error(`${where}: ${showPath(path)} is under ${showPath(parentOf(path))}, which is a file`);
    }
    if (checkChildren && node.dir) {
      const want = children.get(path) ?? [];
      if (node.dir.children.length !== want.length || node.dir.children.some((c, i) => c !== want[i])) {
        throw new Error(`${where}: directory ${showPath(path)} lists children [${node.dir.children.join(', ')}] but the tree has [${want.join(', ')}]`);
      }
    }
  }
}

// ------------------------------------------------------------ wire format

const VARINT = 0;
const LENGTH_DELIMITED = 2;

/** Which fields a message may have, and of which wire type; anything else is rejected. */
interface MessageSpec {
  name: string;
  varint: number[];
  bytes: number[];
  repeated: number[];
}

/** A message split into its fields: varints as bigint, length-delimited fields as bytes. */
class WireMessage {
  private readonly fields = new Map<number, Array<bigint | Uint8Array>>();

  constructor(bytes: Uint8Array, spec: MessageSpec, where: string) {
    const at = `${where}: ${spec.name}`;
    let pos = 0;
    const readVarint = (): bigint => {
      let value = 0n;
      // Like gogo's generated Unmarshal: at most 10 bytes, bits past 64 dropped.
      for (let i = 0; i < 10; i++) {
        if (pos >= bytes.length) throw new Error(`${at}: truncated varint at byte ${pos}`);
        const b = bytes[pos++]!;
        value |= BigInt(b & 0x7f) << BigInt(7 * i);
        if (b < 0x80) return BigInt.asUintN(64, value);
      }
      throw new Error(`${at}: varint longer than 10 bytes at byte ${pos}`);
    };
    while (pos < bytes.length) {
      const start = pos;
      const tag = readVarint();
      const field = Number(tag >> 3n);
      const wireType = Number(tag & 7n);
      let value: bigint | Uint8Array;
      if (spec.varint.includes(field)) {
        if (wireType !== VARINT) throw new Error(`${at}: field ${field} has wire type ${wireType}, expected varint (byte ${start})`);
        value = readVarint();
      } else if (spec.bytes.includes(field)) {
        if (wireType !== LENGTH_DELIMITED) throw new Error(`${at}: field ${field} has wire type ${wireType}, expected length-delimited (byte ${start})`);
        const length = readVarint();
        if (length > BigInt(bytes.length - pos)) {
          throw new Error(`${at}: truncated: field ${field} needs ${length} bytes, ${bytes.length - pos} left (byte ${start})`);
        }
        value = bytes.subarray(pos, pos + Number(length));
        pos += Number(length);
      } else {
        // An unknown field could not be written back, so re-encoding would silently lose it.
        throw new Error(`${at}: unexpected field ${field} (wire type ${wireType}) at byte ${start}`);
      }
      const seen = this.fields.get(field);
      if (!seen) this.fields.set(field, [value]);
      else if (spec.repeated.includes(field)) seen.push(value);
      else throw new Error(`${at}: field ${field} occurs more than once`);
    }
  }

  has(field: number): boolean {
    return this.fields.has(field);
  }

  /** The varint field's value; 0 when absent (proto3 default). */
  varint(field: number): bigint {
    const value = this.fields.get(field)?.[0];
    return typeof value === 'bigint' ? value : 0n;
  }

  /** Every occurrence of a length-delimited field, in wire order. */
  all(field: number): Uint8Array[] {
    return (this.fields.get(field) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array);
  }

  /** The length-delimited field's bytes; undefined when absent. */
  bytes(field: number): Uint8Array | undefined {
    return this.all(field)[0];
  }
}

/** Builds one message in gogo's layout; callers add fields in ascending number order. */
class WireWriter {
  private buf = new Uint8Array(64);
  private length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  private rawVarint(value: bigint): void {
    // Negative int64s go out as their 64-bit two's complement (10 bytes), as in Go.
    let v = BigInt.asUintN(64, value);
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.length++] = Number(v);
  }

  /** A varint field, omitted when 0. */
  varint(field: number, value: bigint): this {
    if (value === 0n) return this;
    this.rawVarint(BigInt((field << 3) | VARINT));
    this.rawVarint(value);
    return this;
  }

  /** A bool field, omitted when false. */
  bool(field: number, value: boolean): this {
    return this.varint(field, value ? 1n : 0n);
  }

  /** A length-delimited field written even when empty: a set sub-message, a repeated element, a map entry's key. */
  always(field: number, bytes: Uint8Array): this {
    this.rawVarint(BigInt((field << 3) | LENGTH_DELIMITED));
    this.rawVarint(BigInt(bytes.length));
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** A proto3 bytes field, omitted when empty. */
  bytes(field: number, bytes: Uint8Array): this {
    return bytes.length === 0 ? this : this.always(field, bytes);
  }

  /** A proto3 string field, omitted when empty. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8Encoder.encode(value));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// ------------------------------------------------------------ messages shared by both versions

const OBJECT: MessageSpec = { name: 'Object', varint: [], bytes: [1], repeated: [] };
const BLOCK: MessageSpec = { name: 'Block', varint: [], bytes: [1], repeated: [] };
const BYTE_RANGE: MessageSpec = { name: 'ByteRange', varint: [1, 2], bytes: [], repeated: [] };
const BLOCK_REF: MessageSpec = { name: 'BlockRef', varint: [], bytes: [1, 2], repeated: [] };
const NODE: MessageSpec = { name: 'NodeProto', varint: [3], bytes: [1, 2, 4, 5], repeated: [] };
const FILE_17: MessageSpec = { name: 'FileNodeProto (1.7)', varint: [], bytes: [4], repeated: [4] };
const DIR_17: MessageSpec = { name: 'DirectoryNodeProto (1.7)', varint: [], bytes: [3, 4, 5], repeated: [3] };
const FILE_18: MessageSpec = { name: 'FileNodeProto (1.8)', varint: [6], bytes: [4, 5], repeated: [4, 5] };
const DIR_18: MessageSpec = { name: 'DirectoryNodeProto (1.8)', varint: [], bytes: [3, 4], repeated: [3] };
const SHARED: MessageSpec = { name: 'Shared', varint: [3, 4], bytes: [1, 2], repeated: [] };
const HASH_TREE_17: MessageSpec = { name: 'HashTreeProto', varint: [1], bytes: [2], repeated: [2] };
const MAP_ENTRY: MessageSpec = { name: 'fs map entry', varint: [], bytes: [1, 2], repeated: [] };
const BUCKET_HEADER: MessageSpec = { name: 'BucketHeader', varint: [], bytes: [1], repeated: [] };

/** Object and Block are both {hash=1 string}. */
function decodeHashMessage(bytes: Uint8Array, spec: MessageSpec, where: string): string {
  const m = new WireMessage(bytes, spec, where);
  return decodeUtf8(m.bytes(1) ?? new Uint8Array(), `${where}: ${spec.name}.hash`);
}

function encodeHashMessage(hash: string): Uint8Array {
  return new WireWriter().string(1, hash).finish();
}

/** Optional sub-message holding only a hash (header, footer): undefined when absent. */
function decodeOptionalObject(bytes: Uint8Array | undefined, where: string): string | undefined {
  return bytes === undefined ? undefined : decodeHashMessage(bytes, OBJECT, where);
}

function decodeBlockRef(bytes: Uint8Array, where: string): BlockRef {
  const m = new WireMessage(bytes, BLOCK_REF, where);
  const ref: BlockRef = {};
  const block = m.bytes(1);
  if (block) ref.block = decodeHashMessage(block, BLOCK, where);
  const range = m.bytes(2);
  if (range) {
    const r = new WireMessage(range, BYTE_RANGE, where);
    ref.range = { lower: r.varint(1), upper: r.varint(2) };
  }
  return ref;
}

function encodeBlockRef(ref: BlockRef): Uint8Array {
  const w = new WireWriter();
  if (ref.block !== undefined) w.always(1, encodeHashMessage(ref.block));
  if (ref.range) w.always(2, new WireWriter().varint(1, ref.range.lower).varint(2, ref.range.upper).finish());
  return w.finish();
}

/** NodeProto's common fields (1–3); the node's version decides how fields 4 and 5 are read. */
function decodeNode(bytes: Uint8Array, where: string, version: '1.7' | '1.8'): TreeNode {
  const m = new WireMessage(bytes, NODE, where);
  const node: TreeNode = {
    name: decodeUtf8(m.bytes(1) ?? new Uint8Array(), `${where}: NodeProto.name`),
    // A copy: Buffer's slice() would alias the input.
    hash: new Uint8Array(m.bytes(2) ?? []),
    subtreeSize: BigInt.asIntN(64, m.varint(3)),
  };
  const file = m.bytes(4);
  const dir = m.bytes(5);
  if ((file === undefined) === (dir === undefined)) {
    throw new Error(`${where}: NodeProto is ${file ? 'both a file and a directory' : 'neither a file nor a directory'}`);
  }
  if (file) node.file = version === '1.7' ? decodeFile17(file, where) : decodeFile18(file, where);
  if (dir) node.dir = version === '1.7' ? decodeDir17(dir, where) : decodeDir18(dir, where);
  return node;
}

function encodeNode(node: TreeNode, body: { file?: Uint8Array; dir?: Uint8Array }): Uint8Array {
  const w = new WireWriter().string(1, node.name).bytes(2, node.hash).varint(3, node.subtreeSize);
  if (body.file) w.always(4, body.file);
  if (body.dir) w.always(5, body.dir);
  return w.finish();
}

// ------------------------------------------------------------ 1.7 nodes

function decodeFile17(bytes: Uint8Array, where: string): FileNode {
  const m = new WireMessage(bytes, FILE_17, where);
  return { objects: m.all(4).map((o) => decodeHashMessage(o, OBJECT, where)), blockRefs: [], hasHeaderFooter: false };
}

function decodeDir17(bytes: Uint8Array, where: string): DirNode {
  const m = new WireMessage(bytes, DIR_17, where);
  const dir: DirNode = { children: m.all(3).map((c) => decodeUtf8(c, `${where}: child name`)) };
  const header = decodeOptionalObject(m.bytes(4), `${where}: header`);
  const footer = decodeOptionalObject(m.bytes(5), `${where}: footer`);
  if (header !== undefined) dir.header = header;
  if (footer !== undefined) dir.footer = footer;
  return dir;
}

function encodeNode17(path: string, node: TreeNode): Uint8Array {
  if (node.file) {
    // Encoders never drop data silently: the conversions strip and report it first.
    if (node.file.blockRefs.length > 0 || node.file.hasHeaderFooter) {
      throw new Error(`1.7 tree: file ${showPath(path)} has block_refs or has_header_footer, which 1.7 cannot store (use dbToTree17)`);
    }
    const w = new WireWriter();
    for (const o of node.file.objects) w.always(4, encodeHashMessage(o));
    return encodeNode(node, { file: w.finish() });
  }
  const dir = node.dir!;
  if (dir.shared) throw new Error(`1.7 tree: directory ${showPath(path)} has a shared header/footer, which 1.7 cannot store (use dbToTree17)`);
  const w = new WireWriter();
  for (const c of dir.children) w.always(3, utf8Encoder.encode(c));
  if (dir.header !== undefined) w.always(4, encodeHashMessage(dir.header));
  if (dir.footer !== undefined) w.always(5, encodeHashMessage(dir.footer));
  return encodeNode(node, { dir: w.finish() });
}

// ------------------------------------------------------------ 1.8 nodes

function decodeFile18(bytes: Uint8Array, where: string): FileNode {
  const m = new WireMessage(bytes, FILE_18, where);
  return {
    objects: m.all(4).map((o) => decodeHashMessage(o, OBJECT, where)),
    blockRefs: m.all(5).map((r) => decodeBlockRef(r, where)),
    hasHeaderFooter: m.varint(6) !== 0n,
  };
}

function decodeDir18(bytes: Uint8Array, where: string): DirNode {
  const m = new WireMessage(bytes, DIR_18, where);
  // DB trees never store children (readers derive them from the keys); stored
  // ones would be lost on re-encoding, so they count as malformed.
  if (m.has(3)) throw new Error(`${where}: DirectoryNodeProto lists children, which DB trees leave empty`);
  const dir: DirNode = { children: [] };
  const shared = m.bytes(4);
  if (shared) {
    const s = new WireMessage(shared, SHARED, where);
    dir.shared = { headerSize: BigInt.asIntN(64, s.varint(3)), footerSize: BigInt.asIntN(64, s.varint(4)) };
    const header = decodeOptionalObject(s.bytes(1), `${where}: shared header`);
    const footer = decodeOptionalObject(s.bytes(2), `${where}: shared footer`);
    if (header !== undefined) dir.shared.header = header;
    if (footer !== undefined) dir.shared.footer = footer;
  }
  return dir;
}

function encodeNode18(path: string, node: TreeNode): Uint8Array {
  if (node.file) {
    const w = new WireWriter();
    for (const o of node.file.objects) w.always(4, encodeHashMessage(o));
    for (const r of node.file.blockRefs) w.always(5, encodeBlockRef(r));
    w.bool(6, node.file.hasHeaderFooter);
    return encodeNode(node, { file: w.finish() });
  }
  const dir = node.dir!;
  if (dir.header !== undefined || dir.footer !== undefined) {
    throw new Error(`DB tree: directory ${showPath(path)} has a 1.7 header/footer, which the DB format cannot store (use tree17ToDb)`);
  }
  const w = new WireWriter();
  if (dir.shared) {
    const s = new WireWriter();
    if (dir.shared.header !== undefined) s.always(1, encodeHashMessage(dir.shared.header));
    if (dir.shared.footer !== undefined) s.always(2, encodeHashMessage(dir.shared.footer));
    s.varint(3, dir.shared.headerSize).varint(4, dir.shared.footerSize);
    w.always(4, s.finish());
  }
  return encodeNode(node, { dir: w.finish() });
}

// ------------------------------------------------------------ 1.7 trees

/**
 * Decodes a 1.7 tree object (HashTreeProto). The returned Map keeps the
 * entries in wire order, so {@link encodeTree17} gives back the same bytes.
 * `08 01` alone is a valid, empty tree (what 1.7 writes for no files).
 * @throws Error on malformed wire data, version ≠ 1, a non-canonical or
 *   repeated path, a node that is not exactly one of file/dir, or a tree whose
 *   parents or children lists do not match its paths.
 */
export function decodeTree17(bytes: Uint8Array): Tree {
  const where = '1.7 tree';
  const m = new WireMessage(bytes, HASH_TREE_17, where);
  const version = BigInt.asIntN(32, m.varint(1));
  if (version !== 1n) throw new Error(`${where}: unsupported HashTreeProto version ${version} (only 1 exists)`);
  const tree: Tree = new Map();
  m.all(2).forEach((entryBytes, i) => {
    const entry = new WireMessage(entryBytes, MAP_ENTRY, `${where}: entry ${i}`);
    const path = decodeUtf8(entry.bytes(1) ?? new Uint8Array(), `${where}: entry ${i} key`);
    const at = `${where}: entry ${i} (${showPath(path)})`;
    checkPath(path, at);
    if (tree.has(path)) throw new Error(`${at}: path occurs more than once`);
    tree.set(path, decodeNode(entry.bytes(2) ?? new Uint8Array(), at, '1.7'));
  });
  checkShape(tree, where, true);
  return tree;
}

/**
 * Encodes a tree as a 1.7 HashTreeProto. Entries are written in the Map's
 * iteration order: 1.7 wrote them in Go's random map order, so no order is
 * canonical, and keeping the decoded order is what makes a decoded real tree
 * re-encode byte for byte.
 * @throws Error if the tree breaks the rules {@link decodeTree17} checks, or
 *   holds 1.8-only data (block refs, has_header_footer, shared).
 */
export function encodeTree17(tree: Tree): Uint8Array {
  checkShape(tree, '1.7 tree', true);
  const w = new WireWriter().varint(1, 1n);
  for (const [path, node] of tree) {
    const entry = new WireWriter().always(1, utf8Encoder.encode(path)).always(2, encodeNode17(path, node)).finish();
    w.always(2, entry);
  }
  return w.finish();
}

// ------------------------------------------------------------ DB trees

const SENTINEL = 0x2a; // '*', ends a bucket
const BUCKETS = ['fs', 'changed'] as const;

function isSentinel(record: Uint8Array): boolean {
  return record.length === 1 && record[0] === SENTINEL;
}

/** A DB tree's contents: the fs nodes, and the paths the (normally empty) "changed" bucket marks. */
interface DbContents {
  tree: Tree;
  changed: string[];
}

function readDbTree(bytes: Uint8Array): DbContents {
  const where = 'DB tree';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const nextRecord = (what: string): Uint8Array => {
    if (pos === bytes.length) throw new Error(`${where}: ended where ${what} should be (truncated?)`);
    if (bytes.length - pos < 8) throw new Error(`${where}: truncated record length at byte ${pos}`);
    const length = view.getBigInt64(pos, true);
    if (length < 0n || length > BigInt(bytes.length - pos - 8)) {
      throw new Error(`${where}: record at byte ${pos} claims ${length} bytes, ${bytes.length - pos - 8} left (truncated?)`);
    }
    const record = bytes.subarray(pos + 8, pos + 8 + Number(length));
    pos += 8 + Number(length);
    return record;
  };

  const tree: Tree = new Map();
  const changed: string[] = [];
  for (const [i, bucket] of BUCKETS.entries()) {
    const nextHeader = i + 1 < BUCKETS.length ? encodeHashMessage(BUCKETS[i + 1]!) : undefined;
    const headerAt = pos;
    const name = decodeHashMessage(nextRecord(`the "${bucket}" bucket header`), BUCKET_HEADER, `${where}: bucket header at byte ${headerAt}`);
    if (name !== bucket) throw new Error(`${where}: expected bucket "${bucket}" at byte ${headerAt}, found ${JSON.stringify(name)}`);
    let previous: Uint8Array | undefined;
    for (;;) {
      const keyAt = pos;
      const key = nextRecord(`a key or the "*" ending bucket "${bucket}"`);
      if (isSentinel(key)) break;
      if (nextHeader && compareBytes(key, nextHeader) === 0) {
        throw new Error(`${where}: bucket "${bucket}" is not ended by its "*" sentinel before the next bucket header (byte ${keyAt})`);
      }
      const path = pathOfDbKey(key, `${where}: bucket "${bucket}" at byte ${keyAt}`);
      const at = `${where}: bucket "${bucket}" key ${showPath(path)}`;
      if (previous) {
        const order = compareBytes(previous, key);
        if (order === 0) throw new Error(`${at}: duplicate key`);
        if (order > 0) throw new Error(`${at}: keys out of order (each key must sort after the one before it)`);
      }
      previous = key;
      const value = nextRecord(`the value of key ${showPath(path)}`);
      if (bucket === 'fs') {
        tree.set(path, decodeNode(value, at, '1.8'));
      } else {
        if (value.length !== 1 || value[0] !== 0x01) throw new Error(`${at}: "changed" value must be the single byte 01`);
        changed.push(path);
      }
    }
  }
  if (pos !== bytes.length) throw new Error(`${where}: ${bytes.length - pos} trailing bytes after the "changed" bucket`);

  const children = childrenByParent(tree.keys());
  for (const [path, node] of tree) {
    if (node.dir) node.dir.children = children.get(path) ?? [];
  }
  checkShape(tree, where, false);
  return { tree, changed };
}

/**
 * Decodes a 1.8+ DB tree (the bolt export of HASHTREES.md §3.2). Directory
 * `children`, which the DB format leaves empty, are recomputed from the keys,
 * so the result looks like a decoded 1.7 tree. Entries come in key order.
 * Entries of the "changed" bucket (only in unfinished trees) are checked
 * and otherwise ignored.
 * @throws Error on a truncated or overlong record, a wrong bucket header, a
 *   missing "*" sentinel, trailing bytes, keys that are not encoded canonical
 *   paths or not strictly ascending, malformed NodeProto values, stored
 *   children, or parents missing.
 */
export function decodeDbTree(bytes: Uint8Array): Tree {
  return readDbTree(bytes).tree;
}

function record(bytes: Uint8Array): Uint8Array[] {
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigInt64(0, BigInt(bytes.length), true);
  return [length, bytes];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/**
 * Encodes a tree in the 1.8+ DB format: the "fs" bucket with keys in
 * ascending byte order, then an empty "changed" bucket (as in a finished
 * tree). Directory `children` are not written, as in Pachyderm.
 * @throws Error if the tree breaks the path/parent rules or holds 1.7-only
 *   directory headers/footers.
 */
export function encodeDbTree(tree: Tree): Uint8Array {
  checkShape(tree, 'DB tree', false);
  const entries = [...tree].map(([path, node]) => ({ path, node, key: dbKey(path) }));
  entries.sort((a, b) => compareBytes(a.key, b.key));
  const sentinel = Uint8Array.of(SENTINEL);
  const parts: Uint8Array[] = [];
  parts.push(...record(encodeHashMessage('fs')));
  for (const { path, node, key } of entries) parts.push(...record(key), ...record(encodeNode18(path, node)));
  parts.push(...record(sentinel));
  parts.push(...record(encodeHashMessage('changed')));
  parts.push(...record(sentinel));
  return concat(parts);
}

// ------------------------------------------------------------ conversion

/** The result of converting one tree object: its bytes in the target format, and what could not be carried. */
export interface TreeConversion {
  bytes: Uint8Array;
  /** One human-readable line per dropped item, e.g. "directory /a header object"; empty when nothing was lost. */
  lost: string[];
}

/**
 * Converts a 1.7 tree object to the 1.8 DB format. Paths, names, hashes,
 * sizes and file object lists carry over. Directory header/footer objects
 * are dropped and reported: 1.8's Shared needs their sizes, which the tree
 * does not know, and 1.8 applies only the parent's header where 1.7 applied
 * every ancestor's.
 * @throws Error if `bytes` is not a valid 1.7 tree.
 */
export function tree17ToDb(bytes: Uint8Array): TreeConversion {
  const tree = decodeTree17(bytes);
  const lost: string[] = [];
  for (const [path, node] of tree) {
    const dir = node.dir;
    if (!dir) continue;
    if (dir.header !== undefined) lost.push(`directory ${showPath(path)} header object ${dir.header}`);
    if (dir.footer !== undefined) lost.push(`directory ${showPath(path)} footer object ${dir.footer}`);
    node.dir = { children: dir.children };
  }
  return { bytes: encodeDbTree(tree), lost };
}

/**
 * Converts a 1.8 DB tree object to a 1.7 tree. Paths, names, hashes, sizes
 * and file object lists carry over; children are recomputed. Block refs,
 * has_header_footer, directory Shared headers/footers and "changed" marks
 * have no 1.7 field: they are dropped and reported. Entries are written
 * sorted by path bytes, the order Go's deterministic marshal would use.
 * @throws Error if `bytes` is not a valid DB tree.
 */
export function dbToTree17(bytes: Uint8Array): TreeConversion {
  const { tree, changed } = readDbTree(bytes);
  const lost: string[] = [];
  const sorted: Tree = new Map();
  for (const path of sortUtf8([...tree.keys()])) {
    const node = tree.get(path)!;
    const shown = showPath(path);
    if (node.file) {
      const n = node.file.blockRefs.length;
      if (n > 0) lost.push(`file ${shown} block references (${n})`);
      if (node.file.hasHeaderFooter) lost.push(`file ${shown} has_header_footer flag`);
      node.file = { objects: node.file.objects, blockRefs: [], hasHeaderFooter: false };
    }
    if (node.dir?.shared) {
      const s = node.dir.shared;
      lost.push(`directory ${shown} shared header/footer (header ${s.header ?? 'none'}, footer ${s.footer ?? 'none'}, sizes ${s.headerSize}/${s.footerSize})`);
      node.dir = { children: node.dir.children };
    }
    sorted.set(path, node);
  }
  for (const path of changed) lost.push(`unfinished-tree "changed" mark on ${showPath(path)}`);
  return { bytes: encodeTree17(sorted), lost };
}
