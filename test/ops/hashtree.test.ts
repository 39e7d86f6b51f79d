/**
 * lib/ops/hashtree.ts: the 1.7 and 1.8 DB tree codecs on every real tree of
 * both dumps (byte-identical re-encoding, commit hashes, conversion both
 * ways), the DB layout byte by byte, malformed input, and random trees.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import t from 'tap';
import {
  dbToTree17,
  decodeDbTree,
  decodeTree17,
  encodeDbTree,
  encodeTree17,
  looksLikeDbTree,
  looksLikeTree17,
  sha512Hex,
  tree17ToDb,
  type Tree,
  type TreeNode,
} from '../../lib/ops/hashtree.js';
import { root } from '../../lib/schema/registry.js';
import { AUTH_DUMP, joinRaw, pachctlRecords, SORT_DUMP, splitRaw } from '../helpers/run.js';

const Op = root.lookupType('admin.Op');

/** The parts of a decoded `admin.Op` these tests read (protobufjs toObject output). */
interface OpView {
  op1_7?: { object?: { value?: Uint8Array }; commit?: { tree?: { hash?: string } } };
  op1_11?: { block?: { block?: { hash?: string }; value?: Uint8Array } };
}

function opView(record: Uint8Array): OpView {
  return Op.toObject(Op.decode(record)) as OpView;
}

// ------------------------------------------------------------ real data

/** The 1.7 dump's objects (one op with the value, then an empty one) and its commits' tree hashes. */
async function sortDump(): Promise<{ objects: Buffer[]; commitTrees: string[] }> {
  const objects: Buffer[] = [];
  const commitTrees: string[] = [];
  let parts: Buffer[] = [];
  for (const record of await pachctlRecords(fs.readFileSync(SORT_DUMP))) {
    const op = opView(record).op1_7;
    if (op?.object) {
      const value = op.object.value ?? new Uint8Array();
      if (value.length > 0) parts.push(Buffer.from(value));
      else {
        objects.push(Buffer.concat(parts));
        parts = [];
      }
    }
    if (op?.commit?.tree?.hash) commitTrees.push(op.commit.tree.hash);
  }
  return { objects, commitTrees };
}

/** The 1.11 dump's blocks that are DB trees (every object of that dump owns a whole block). */
async function authDbTrees(): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  let parts: Buffer[] = [];
  for (const record of await pachctlRecords(fs.readFileSync(AUTH_DUMP))) {
    const block = opView(record).op1_11?.block;
    if (!block) continue;
    const value = block.value ?? new Uint8Array();
    if (value.length > 0) parts.push(Buffer.from(value));
    else {
      blocks.push(Buffer.concat(parts));
      parts = [];
    }
  }
  return blocks.filter((b) => looksLikeDbTree(b));
}

const { objects, commitTrees } = await sortDump();
const trees17 = objects.filter((o) => looksLikeTree17(o));
const dbTrees = await authDbTrees();

/** The raw map entries of a 1.7 tree, read with protobufjs rather than our codec. */
function mapEntries(bytes: Uint8Array): string[] {
  const reader = protobuf.Reader.create(bytes);
  const entries: string[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 2) entries.push(Buffer.from(reader.bytes()).toString('hex'));
    else reader.skipType(tag & 7);
  }
  return entries;
}

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function isPathSorted(tree: Tree): boolean {
  const keys = [...tree.keys()];
  return keys.every((k, i) => i === 0 || byUtf8(keys[i - 1]!, k) < 0);
}

t.test('the 1.7 dump holds 154 objects, 83 of them 1.7 trees, and 6 commits', async (t) => {
  t.equal(objects.length, 154);
  t.equal(trees17.length, 83);
  t.equal(commitTrees.length, 6);
});

t.test('every 1.7 tree object in the real dump decodes and re-encodes byte for byte', async (t) => {
  for (const [i, bytes] of trees17.entries()) {
    const tree = decodeTree17(bytes);
    t.ok(tree.get('')?.dir, `tree ${i} has a root directory`);
    t.ok(Buffer.from(encodeTree17(tree)).equals(bytes), `tree ${i} (${tree.size} nodes) re-encodes identically`);
  }
});

t.test('the real 1.7 trees are not key-sorted, so the decoder keeps the entries in wire order', async (t) => {
  const unsorted = trees17.filter((b) => !isPathSorted(decodeTree17(b)));
  // Go's map iteration order is random: sorting could never reproduce these bytes.
  t.equal(unsorted.length, 62, '62 of 83 trees have their entries out of path order');
  const big = trees17.reduce((a, b) => (a.length > b.length ? a : b));
  const keys = [...decodeTree17(big).keys()];
  t.same(keys, mapEntries(big).map(entryKey), 'the Map iterates in wire order');
});

/** The key (field 1, written first by gogo) of a raw map entry in hex. */
function entryKey(hex: string): string {
  const reader = protobuf.Reader.create(Buffer.from(hex, 'hex'));
  reader.uint32();
  return reader.string();
}

t.test('every commit tree hash in the dump is the sha512Hex of one of the tree objects', async (t) => {
  const hashes = new Set(trees17.map((b) => sha512Hex(b)));
  for (const hash of commitTrees) t.ok(hashes.has(hash), `commit tree ${hash.slice(0, 16)}… is a tree object`);
  t.equal(sha512Hex(new Uint8Array()), 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e', 'SHA-512 of nothing');
});

t.test('every real 1.7 tree converts to the DB format and back with the same nodes and nothing lost', async (t) => {
  let identical = 0;
  let sorted = 0;
  for (const [i, bytes] of trees17.entries()) {
    const tree = decodeTree17(bytes);
    const db = tree17ToDb(bytes);
    t.same(db.lost, [], `tree ${i}: nothing lost going to 1.8`);
    t.ok(looksLikeDbTree(db.bytes) && !looksLikeTree17(db.bytes), `tree ${i}: DB output starts with the DB signature`);
    const fromDb = decodeDbTree(db.bytes);
    // Same paths, names, sizes, hashes, objects, and children recomputed equal to 1.7's.
    assert.deepStrictEqual(fromDb, tree);
    const back = dbToTree17(db.bytes);
    t.same(back.lost, [], `tree ${i}: nothing lost coming back`);
    t.same(mapEntries(back.bytes).sort(), mapEntries(bytes).sort(), `tree ${i}: the same map entries, byte for byte`);
    if (isPathSorted(tree)) {
      sorted++;
      if (Buffer.from(back.bytes).equals(bytes)) identical++;
    }
  }
  t.equal(identical, sorted, `the ${sorted} trees already in path order come back byte for byte`);
  t.equal(sorted, 21);
});

t.test('every DB tree in the real 1.11 dump decodes, re-encodes byte for byte and survives a trip through 1.7', async (t) => {
  t.equal(dbTrees.length, 12);
  for (const [i, bytes] of dbTrees.entries()) {
    const tree = decodeDbTree(bytes);
    t.ok(Buffer.from(encodeDbTree(tree)).equals(bytes), `DB tree ${i} (${tree.size} nodes) re-encodes identically`);
    const to17 = dbToTree17(bytes);
    t.same(to17.lost, [], `DB tree ${i}: nothing lost going to 1.7`);
    const back = tree17ToDb(to17.bytes);
    t.ok(Buffer.from(back.bytes).equals(bytes), `DB tree ${i}: 1.8 → 1.7 → 1.8 is byte-identical (DB order is canonical)`);
  }
});

// ------------------------------------------------------------ building trees by hand

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field. */
function ld(field: number, bytes: Uint8Array | string): Buffer {
  const b = Buffer.from(bytes);
  return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
}

const DIR_NODE = ld(5, ''); // NodeProto{dir_node: {}}
const FILE_NODE = ld(4, ''); // NodeProto{file_node: {}}

/** A 1.7 HashTreeProto with the given version and raw (path, NodeProto bytes) entries. */
function rawTree17(entries: Array<[string, Buffer]>, version = 1): Buffer {
  return Buffer.concat([Buffer.from([0x08, version]), ...entries.map(([path, node]) => ld(2, Buffer.concat([ld(1, path), ld(2, node)])))]);
}

function dir(name: string, children: string[], extra: Partial<TreeNode> = {}): TreeNode {
  return { name, hash: new Uint8Array(), subtreeSize: 0n, dir: { children }, ...extra };
}

function file(name: string, objects: string[], extra: Partial<TreeNode> = {}): TreeNode {
  return { name, hash: new Uint8Array(), subtreeSize: 0n, file: { objects, blockRefs: [], hasHeaderFooter: false }, ...extra };
}

/** /a/b and /a-c: "/" sorts before "-" as a DB key (00 < 2d) but after it as text (2f > 2d). */
function sampleTree(): Tree {
  return new Map<string, TreeNode>([
    ['', dir('', ['a', 'a-c', 'b'])],
    ['/a', dir('a', ['b'])],
    ['/a/b', file('b', ['h'], { hash: Uint8Array.of(1, 2), subtreeSize: 5n })],
    ['/a-c', file('a-c', [])],
    ['/b', dir('b', [])],
  ]);
}

t.test('the DB encoding has root key 00, "/a/b" as 00 61 00 62, keys in byte order, and both buckets with sentinels', async (t) => {
  const records = splitRaw(Buffer.from(encodeDbTree(sampleTree())));
  const hex = records.map((r) => r.toString('hex'));
  t.equal(hex[0], '0a026673', 'BucketHeader{bucket: "fs"}');
  t.same(
    hex.filter((_, i) => i % 2 === 1).slice(0, 5),
    ['00', '0061', '00610062', '00612d63', '0062'],
    'keys: root, /a, /a/b (right after /a), /a-c, /b',
  );
  t.equal(hex[6], '0a0162120201021805220522030a0168', '/a/b: name, hash, size, file_node{objects: [h]}, fields ascending');
  t.equal(hex[2], '2a00', 'root: a set but empty dir_node, no children');
  t.same(hex.slice(11), ['2a', Buffer.from('\n\x07changed').toString('hex'), '2a'], '"*", the empty "changed" bucket, "*"');
  t.equal(records.length, 14);
  const decoded = decodeDbTree(encodeDbTree(sampleTree()));
  assert.deepStrictEqual(decoded, sampleTree(), 'decodes to the same tree, children recomputed');
  t.same([...decoded.keys()], ['', '/a', '/a/b', '/a-c', '/b'], 'in key order');
});

t.test('an empty tree is 08 01 in 1.7 and two empty buckets in the DB format', async (t) => {
  t.equal(decodeTree17(Buffer.from('0801', 'hex')).size, 0);
  t.equal(Buffer.from(encodeTree17(new Map())).toString('hex'), '0801');
  const db = tree17ToDb(Buffer.from('0801', 'hex'));
  t.same(splitRaw(Buffer.from(db.bytes)).map((r) => r.toString('latin1')), ['\n\x02fs', '*', '\n\x07changed', '*']);
  t.equal(Buffer.from(dbToTree17(db.bytes).bytes).toString('hex'), '0801');
});

// ------------------------------------------------------------ malformed input

t.test('decodeTree17 rejects every truncation of a real tree except the bare 08 01 header', async (t) => {
  const bytes = trees17.filter((b) => b.length < 3000).reduce((a, b) => (a.length > b.length ? a : b));
  t.ok(bytes.length > 1000, `a ${bytes.length}-byte tree`);
  let rejected = 0;
  for (let cut = 0; cut < bytes.length; cut++) {
    const prefix = bytes.subarray(0, cut);
    if (cut === 2) {
      // `08 01` alone is exactly what 1.7 writes for an empty tree.
      t.equal(decodeTree17(prefix).size, 0, 'the 2-byte prefix is the empty tree');
      continue;
    }
    try {
      decodeTree17(prefix);
    } catch (err) {
      if (err instanceof Error) rejected++;
    }
  }
  t.equal(rejected, bytes.length - 1, 'every other cut throws an Error');
});

t.test('decodeDbTree rejects every truncation of a converted real tree', async (t) => {
  const bytes = Buffer.from(tree17ToDb(trees17.find((b) => decodeTree17(b).size >= 10)!).bytes);
  let rejected = 0;
  for (let cut = 0; cut < bytes.length; cut++) {
    try {
      decodeDbTree(bytes.subarray(0, cut));
    } catch (err) {
      if (err instanceof Error) rejected++;
    }
  }
  t.equal(rejected, bytes.length, `all ${bytes.length} cuts throw an Error`);
});

t.test('decodeTree17 rejects a version other than 1', async (t) => {
  const v2 = Buffer.from(trees17[0]!);
  v2[1] = 2;
  t.throws(() => decodeTree17(v2), /version 2/);
  t.throws(() => decodeTree17(rawTree17([['', DIR_NODE]], 0)), /version 0/);
  t.throws(() => decodeTree17(new Uint8Array()), /version 0/, 'empty input has no version');
});

t.test('decodeTree17 rejects non-canonical paths', async (t) => {
  for (const bad of ['a/b', '/a/', '//a', '/', '/a/./b', '/a/../b', '/a\0b']) {
    t.throws(() => decodeTree17(rawTree17([['', DIR_NODE], [bad, FILE_NODE]])), /not canonical/, JSON.stringify(bad));
  }
  t.throws(() => encodeTree17(new Map([['', dir('', ['a'])], ['a', file('a', [])]])), /not canonical/, 'the encoder checks paths too');
  t.throws(() => encodeDbTree(new Map([['', dir('', ['a'])], ['/a/', file('a', [])]])), /not canonical/);
});

t.test('decodeTree17 rejects nodes and trees that break the tree rules', async (t) => {
  t.throws(() => decodeTree17(rawTree17([['', Buffer.alloc(0)]])), /neither a file nor a directory/);
  t.throws(() => decodeTree17(rawTree17([['', Buffer.concat([FILE_NODE, DIR_NODE])]])), /both a file and a directory/);
  t.throws(() => decodeTree17(rawTree17([['', DIR_NODE], ['', DIR_NODE]])), /more than once/, 'a repeated path');
  t.throws(() => decodeTree17(rawTree17([['/a', FILE_NODE]])), /no parent/, 'no root');
  t.throws(() => decodeTree17(rawTree17([['', DIR_NODE], ['/a', FILE_NODE]])), /lists children \[\] but the tree has \[a\]/);
  t.throws(() => decodeTree17(rawTree17([['', ld(5, ld(3, 'a'))], ['/a', FILE_NODE], ['/a/b', FILE_NODE]])), /which is a file/);
  t.throws(() => decodeTree17(rawTree17([['', ld(5, Buffer.concat([ld(3, 'b'), ld(3, 'a')]))], ['/a', FILE_NODE], ['/b', FILE_NODE]])), /lists children \[b, a\]/, 'unsorted children');
  t.throws(() => decodeTree17(rawTree17([['', Buffer.concat([DIR_NODE, Buffer.from([0x30, 0x01])])]])), /unexpected field 6/);
  t.throws(() => decodeTree17(rawTree17([['', Buffer.from([0x2a, 0x00, 0x18])]])), /truncated varint/);
  t.throws(() => decodeTree17(rawTree17([['', Buffer.from([0x28, 0x01])]])), /wire type 0, expected length-delimited/);
  t.throws(() => decodeTree17(rawTree17([['', Buffer.concat([ld(1, Buffer.from([0xff])), DIR_NODE])]])), /not valid UTF-8/);
});

/** The DB records of the sample tree: [header, k, v, k, v, k, v, k, v, k, v, "*", header, "*"]. */
function sampleRecords(): Buffer[] {
  return splitRaw(Buffer.from(encodeDbTree(sampleTree())));
}

t.test('decodeDbTree rejects keys out of order or repeated', async (t) => {
  const r = sampleRecords();
  const swapped = [r[0]!, r[1]!, r[2]!, r[5]!, r[6]!, r[3]!, r[4]!, ...r.slice(7)];
  t.throws(() => decodeDbTree(joinRaw(swapped)), /out of order/);
  const repeated = [...r.slice(0, 5), r[3]!, r[4]!, ...r.slice(5)];
  t.throws(() => decodeDbTree(joinRaw(repeated)), /duplicate key/);
});

t.test('decodeDbTree rejects a missing sentinel, a wrong bucket, trailing bytes and bad keys', async (t) => {
  const r = sampleRecords();
  t.ok(decodeDbTree(joinRaw(r)).size === 5, 'the unmodified records decode');
  t.throws(() => decodeDbTree(joinRaw([...r.slice(0, 11), ...r.slice(12)])), /bucket "fs" is not ended by its "\*" sentinel/);
  t.throws(() => decodeDbTree(joinRaw(r.slice(0, 13))), /"\*" ending bucket "changed"/);
  t.throws(() => decodeDbTree(joinRaw([...r.slice(0, 12), r[0]!, r[13]!])), /expected bucket "changed"/);
  t.throws(() => decodeDbTree(joinRaw([...r, Buffer.from('*')])), /trailing bytes/);
  t.throws(() => decodeDbTree(Buffer.concat([joinRaw(r), Buffer.from([1, 2, 3])])), /trailing bytes/);
  t.throws(() => decodeDbTree(joinRaw([r[0]!, Buffer.from('/a'), r[2]!, ...r.slice(11)])), /not an encoded canonical path/);
  t.throws(() => decodeDbTree(joinRaw([r[0]!, Buffer.from([0, 0x61, 0]), r[2]!, ...r.slice(11)])), /not an encoded canonical path/);
  t.throws(() => decodeDbTree(joinRaw([r[0]!, r[1]!, ld(5, ld(3, 'a')), ...r.slice(11)])), /lists children/, 'stored children');
  t.throws(() => decodeDbTree(joinRaw([...r.slice(0, 13), r[1]!, Buffer.from([2]), r[13]!])), /single byte 01/);
  t.throws(() => decodeDbTree(joinRaw([r[0]!, r[3]!, r[4]!, ...r.slice(11)])), /no parent/, 'no root');
  const header = Buffer.from(r[0]!);
  const lying = Buffer.concat([Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0]), header]);
  t.throws(() => decodeDbTree(lying), /claims 255 bytes, 4 left/);
});

t.test('dbToTree17 keeps the "changed" marks of an unfinished tree out and reports them', async (t) => {
  const r = sampleRecords();
  const out = dbToTree17(joinRaw([...r.slice(0, 13), r[5]!, Buffer.from([1]), r[13]!]));
  t.same(out.lost, ['unfinished-tree "changed" mark on /a/b']);
});

// ------------------------------------------------------------ conversion losses

t.test('tree17ToDb drops 1.7 directory headers and footers and reports each', async (t) => {
  const tree = sampleTree();
  tree.get('')!.dir!.header = 'H';
  tree.get('/a')!.dir!.footer = 'F';
  tree.get('/b')!.dir!.header = '';
  const out = tree17ToDb(encodeTree17(tree));
  t.same(out.lost, ['directory / header object H', 'directory /a footer object F', 'directory /b header object ']);
  const db = decodeDbTree(out.bytes);
  t.notOk([...db.values()].some((n) => n.dir?.header !== undefined || n.dir?.footer !== undefined));
  t.throws(() => encodeDbTree(tree), /1\.7 header\/footer/, 'the DB encoder refuses rather than dropping them');
});

t.test('dbToTree17 drops block refs, has_header_footer and shared and reports each', async (t) => {
  const tree = sampleTree();
  const ab = tree.get('/a/b')!;
  ab.file = { objects: ['h'], blockRefs: [{ block: 'blk', range: { lower: 0n, upper: 5n } }, {}], hasHeaderFooter: true };
  tree.get('/a')!.dir!.shared = { header: 'H', headerSize: 3n, footerSize: 0n };
  const db = encodeDbTree(tree);
  assert.deepStrictEqual(decodeDbTree(db).get('/a/b'), ab, 'the DB format keeps them');
  const out = dbToTree17(db);
  t.same(out.lost, ['directory /a shared header/footer (header H, footer none, sizes 3/0)', 'file /a/b block references (2)', 'file /a/b has_header_footer flag']);
  const back = decodeTree17(out.bytes).get('/a/b')!;
  t.same(back.file, { objects: ['h'], blockRefs: [], hasHeaderFooter: false });
  t.throws(() => encodeTree17(tree), /1\.7 cannot store/, 'the 1.7 encoder refuses rather than dropping them');
});

// ------------------------------------------------------------ random trees

const nameArb = fc
  .oneof(
    fc.constantFrom('a', 'b', 'a-b', 'a.b', 'x.txt', '...', ' ', 'é', '日本', '😀', '\uFEFF', '\uFFFD', 'Z'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
  )
  .filter((n) => !n.includes('/') && !n.includes('\0') && n !== '.' && n !== '..');

const int64Arb = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const objectHashArb = fc.oneof(fc.stringMatching(/^[0-9a-f]{128}$/), fc.string({ maxLength: 5 }));
const nodeArb = fc.record({
  hash: fc.uint8Array({ maxLength: 33 }),
  subtreeSize: fc.oneof(fc.constant(0n), int64Arb),
  objects: fc.array(objectHashArb, { maxLength: 3 }),
  header: fc.option(objectHashArb, { nil: undefined }),
  footer: fc.option(objectHashArb, { nil: undefined }),
});
const entryArb = fc.record({ parts: fc.array(nameArb, { minLength: 1, maxLength: 3 }), isFile: fc.boolean(), node: nodeArb });

type Entry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

/** Builds a consistent tree from random paths: parents become directories, conflicting paths are skipped. */
function buildTree(entries: Entry[], withHeaders: boolean): Tree {
  const tree: Tree = new Map([['', dir('', [])]]);
  for (const { parts, isFile, node } of entries) {
    const path = '/' + parts.join('/');
    const ancestors = parts.slice(0, -1).map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
    if (tree.has(path) || ancestors.some((a) => tree.get(a)?.file)) continue;
    for (const a of ancestors) if (!tree.has(a)) tree.set(a, dir(a.slice(a.lastIndexOf('/') + 1), []));
    const name = parts[parts.length - 1]!;
    const base = { hash: node.hash, subtreeSize: node.subtreeSize };
    if (isFile) tree.set(path, file(name, node.objects, base));
    else {
      const d = dir(name, [], base);
      if (withHeaders && node.header !== undefined) d.dir!.header = node.header;
      if (withHeaders && node.footer !== undefined) d.dir!.footer = node.footer;
      tree.set(path, d);
    }
  }
  for (const [path, node] of tree) {
    const prefix = path + '/';
    node.dir?.children.push(...[...tree.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length)));
    node.dir?.children.sort(byUtf8);
  }
  return tree;
}

const treeArb = fc.array(entryArb, { maxLength: 12 }).map((e) => buildTree(e, false));
const headedTreeArb = fc.array(entryArb, { maxLength: 12 }).map((e) => buildTree(e, true));

function pathSorted(tree: Tree): Tree {
  return new Map([...tree].sort(([a], [b]) => byUtf8(a, b)));
}

t.test('random trees survive encodeTree17 → decodeTree17 unchanged, in the same order', async (t) => {
  fc.assert(
    fc.property(headedTreeArb, (tree) => {
      const decoded = decodeTree17(encodeTree17(tree));
      assert.deepStrictEqual([...decoded.keys()], [...tree.keys()]);
      assert.deepStrictEqual(decoded, tree);
    }),
  );
  t.pass('property held');
});

t.test('random trees survive tree17ToDb → dbToTree17 byte for byte with nothing lost', async (t) => {
  fc.assert(
    fc.property(treeArb, (tree) => {
      const bytes = encodeTree17(pathSorted(tree));
      const db = tree17ToDb(bytes);
      assert.deepStrictEqual(db.lost, []);
      assert.deepStrictEqual(decodeDbTree(db.bytes), tree);
      const back = dbToTree17(db.bytes);
      assert.deepStrictEqual(back.lost, []);
      assert.ok(Buffer.from(back.bytes).equals(bytes), 'identical 1.7 bytes');
      assert.ok(Buffer.from(encodeDbTree(decodeDbTree(db.bytes))).equals(db.bytes), 'identical DB bytes');
    }),
  );
  t.pass('property held');
});

t.test('random trees with directory headers report each header and footer as lost in tree17ToDb', async (t) => {
  fc.assert(
    fc.property(headedTreeArb, (tree) => {
      const expected: string[] = [];
      for (const [path, node] of tree) {
        const shown = path === '' ? '/' : path;
        if (node.dir?.header !== undefined) expected.push(`directory ${shown} header object ${node.dir.header}`);
        if (node.dir?.footer !== undefined) expected.push(`directory ${shown} footer object ${node.dir.footer}`);
      }
      const db = tree17ToDb(encodeTree17(tree));
      assert.deepStrictEqual(db.lost, expected);
      const stripped = new Map([...tree].map(([p, n]) => [p, n.dir ? { ...n, dir: { children: n.dir.children } } : n]));
      assert.deepStrictEqual(decodeDbTree(db.bytes), stripped);
    }),
  );
  t.pass('property held');
});
