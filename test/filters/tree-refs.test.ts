/**
 * lib/filters/tree-refs.ts: every commit tree of both real dumps is read in
 * the format its commit field implies and references only objects and
 * blocks the dump holds; the walk finds what the full codecs of
 * lib/ops/hashtree.ts find; file contents, datums objects and random bytes
 * are refused; the refs of a hand-built tree of each format, deduplicated in
 * first-seen order.
 */
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { treeRefs } from '../../lib/filters/tree-refs.js';
import { decodeDbTree, decodeTree17, encodeDbTree, encodeTree17, looksLikeDbTree, looksLikeTree17, sha512Hex, type Tree, type TreeNode } from '../../lib/ops/hashtree.js';
import { root } from '../../lib/schema/registry.js';
import { AUTH_DUMP, pachctlRecords, SORT_DUMP } from '../helpers/run.js';

const Op = root.lookupType('admin.Op');

interface Hash {
  hash?: string;
}
interface CommitView {
  parent?: { repo?: { name?: string } };
  ID?: string;
  tree?: Hash;
  trees?: Hash[];
  datums?: Hash;
}
interface OpSlot {
  object?: { value?: Uint8Array };
  block?: { block?: Hash; value?: Uint8Array };
  create_object?: { object?: Hash; block_ref?: { block?: Hash; range?: { lower?: number | string; upper?: number | string } } };
  commit?: CommitView;
  pipeline?: { pipeline?: { name?: string } };
}

function slot(record: Uint8Array, version: 'op1_7' | 'op1_11'): OpSlot | undefined {
  const op = Op.toObject(Op.decode(record), { longs: String }) as Record<string, OpSlot | undefined>;
  return op[version];
}

// ------------------------------------------------------------ the 1.7 dump: object groups named by their SHA-512

async function sortDump(): Promise<{ objects: Map<string, Buffer>; commits: CommitView[] }> {
  const objects = new Map<string, Buffer>();
  const commits: CommitView[] = [];
  let parts: Buffer[] = [];
  for (const record of await pachctlRecords(fs.readFileSync(SORT_DUMP))) {
    const op = slot(record, 'op1_7');
    if (op?.object) {
      const value = op.object.value ?? new Uint8Array();
      if (value.length > 0) parts.push(Buffer.from(value));
      else {
        const content = Buffer.concat(parts);
        objects.set(sha512Hex(content), content);
        parts = [];
      }
    }
    if (op?.commit) commits.push(op.commit);
  }
  return { objects, commits };
}

// ------------------------------------------------------------ the 1.11 dump: blocks, and objects as block ranges

interface AuthDump {
  blocks: Map<string, Buffer>;
  /** object hash → its bytes (the block range create_object names). */
  objects: Map<string, Buffer>;
  commits: CommitView[];
  pipelines: Set<string>;
}

async function authDump(): Promise<AuthDump> {
  const blocks = new Map<string, Buffer>();
  const ranges: Array<{ hash: string; block: string; lower: number; upper: number }> = [];
  const commits: CommitView[] = [];
  const pipelines = new Set<string>();
  let parts: Buffer[] = [];
  for (const record of await pachctlRecords(fs.readFileSync(AUTH_DUMP))) {
    const op = slot(record, 'op1_11');
    if (op?.block) {
      const value = op.block.value ?? new Uint8Array();
      if (value.length > 0) parts.push(Buffer.from(value));
      else {
        blocks.set(op.block.block!.hash!, Buffer.concat(parts));
        parts = [];
      }
    }
    if (op?.create_object) {
      const ref = op.create_object.block_ref!;
      ranges.push({ hash: op.create_object.object!.hash!, block: ref.block!.hash!, lower: Number(ref.range?.lower ?? 0), upper: Number(ref.range?.upper ?? 0) });
    }
    if (op?.commit) commits.push(op.commit);
    if (op?.pipeline?.pipeline?.name) pipelines.add(op.pipeline.pipeline.name);
  }
  const objects = new Map<string, Buffer>();
  for (const r of ranges) {
    const block = blocks.get(r.block);
    if (block) objects.set(r.hash, block.subarray(r.lower, r.upper));
  }
  return { blocks, objects, commits, pipelines };
}

const sort = await sortDump();
const auth = await authDump();

t.test('every commit tree of the 1.7 dump is a 1.7 tree whose objects are all in the dump', async (t) => {
  t.equal(sort.commits.length, 6);
  let refs = 0;
  for (const commit of sort.commits) {
    const hash = commit.tree!.hash!;
    const bytes = sort.objects.get(hash);
    if (!bytes) {
      t.fail(`commit ${commit.ID}: tree ${hash.slice(0, 12)} is not in the dump`);
      continue;
    }
    const r = treeRefs(bytes);
    t.equal(r.format, '1.7', `commit ${commit.ID}`);
    t.same(r.blocks, [], '1.7 trees have no block refs');
    t.ok(r.objects.length > 0, `commit ${commit.ID} references objects`);
    for (const o of r.objects) t.ok(sort.objects.has(o), `commit ${commit.ID}: object ${o.slice(0, 12)} is in the dump`);
    refs += r.objects.length;
  }
  t.ok(refs > 0);
});

t.test('every commit tree of the 1.11 dump parses: tree as DB (input, __spec__), trees as kv (output, stats); all refs are in the dump', async (t) => {
  const seen = { db: 0, kv: 0, objects: 0, blocks: 0 };
  for (const commit of auth.commits) {
    const repo = commit.parent!.repo!.name!;
    const output = auth.pipelines.has(repo);
    const trees = [...(commit.tree ? [{ hash: commit.tree.hash!, want: 'db' }] : []), ...(commit.trees ?? []).map((h) => ({ hash: h.hash!, want: 'kv' }))];
    for (const { hash, want } of trees) {
      t.equal(want, output ? 'kv' : 'db', `${repo}@${commit.ID}: an ${output ? 'output' : 'input'} commit uses ${output ? 'trees' : 'tree'}`);
      const bytes = auth.objects.get(hash);
      if (!bytes) {
        t.fail(`${repo}@${commit.ID}: tree ${hash.slice(0, 12)} has no create_object/block in the dump`);
        continue;
      }
      const r = treeRefs(bytes);
      t.equal(r.format, want, `${repo}@${commit.ID} tree ${hash.slice(0, 12)}`);
      seen[r.format as 'db' | 'kv']++;
      for (const o of r.objects) t.ok(auth.objects.has(o), `${repo}@${commit.ID}: object ${o.slice(0, 12)} has a create_object and its block`);
      for (const b of r.blocks) t.ok(auth.blocks.has(b), `${repo}@${commit.ID}: block ${b} is in the dump`);
      seen.objects += r.objects.length;
      seen.blocks += r.blocks.length;
    }
  }
  t.ok(seen.db > 0 && seen.kv > 0, `read ${seen.db} DB and ${seen.kv} kv trees`);
  t.ok(seen.objects > 0 && seen.blocks > 0, `found ${seen.objects} object and ${seen.blocks} block refs`);
});

/** What the full decoder finds in a tree, in the order treeRefs reports it. */
function decodedRefs(tree: Tree): { objects: string[]; blocks: string[] } {
  const objects = new Set<string>();
  const blocks = new Set<string>();
  const add = (set: Set<string>, x: string | undefined): void => {
    if (x) set.add(x);
  };
  for (const node of tree.values()) {
    for (const o of node.file?.objects ?? []) add(objects, o);
    for (const r of node.file?.blockRefs ?? []) add(blocks, r.block);
    add(objects, node.dir?.header);
    add(objects, node.dir?.footer);
    add(objects, node.dir?.shared?.header);
    add(objects, node.dir?.shared?.footer);
  }
  return { objects: [...objects], blocks: [...blocks] };
}

/** A kv tree as the DB tree with the same entries: the "fs" header before it, an empty "changed" bucket after. */
function dbOfKv(kv: Uint8Array): Buffer {
  const rec = (hex: string): Buffer => {
    const body = Buffer.from(hex, 'hex');
    const len = Buffer.alloc(8);
    len.writeBigInt64LE(BigInt(body.length));
    return Buffer.concat([len, body]);
  };
  return Buffer.concat([rec('0a026673'), kv, rec('2a'), rec('0a076368616e676564'), rec('2a')]);
}

t.test('on every tree object of both dumps, the walk finds what the full codecs decode', async (t) => {
  let n17 = 0;
  for (const bytes of sort.objects.values()) {
    if (!looksLikeTree17(bytes)) continue;
    t.same(treeRefs(bytes), { format: '1.7', ...decodedRefs(decodeTree17(bytes)) });
    n17++;
  }
  let db = 0;
  let kv = 0;
  for (const bytes of auth.objects.values()) {
    if (looksLikeDbTree(bytes)) {
      t.same(treeRefs(bytes), { format: 'db', ...decodedRefs(decodeDbTree(bytes)) });
      db++;
    } else if (bytes.length > 0 && bytes[0] === 1 && bytes[8] === 0) {
      t.same(treeRefs(bytes), { format: 'kv', ...decodedRefs(decodeDbTree(dbOfKv(bytes))) });
      kv++;
    }
  }
  t.equal(n17, 83, 'the 1.7 dump holds 83 1.7 trees');
  t.ok(db >= 8 && kv >= 20, `${db} DB and ${kv} kv trees in the 1.11 dump, deleted commits' included`);
});

t.test('datums objects and file contents are not trees', async (t) => {
  const datums = auth.commits.flatMap((c) => (c.datums?.hash ? [c.datums.hash] : []));
  t.ok(datums.length > 0);
  for (const hash of datums) {
    const bytes = auth.objects.get(hash)!;
    if (bytes.length === 0) continue;
    t.throws(() => treeRefs(bytes), /not a commit tree/, `datums ${hash.slice(0, 12)}`);
  }
  // Every non-empty file content the real trees reference.
  const contents: Buffer[] = [];
  for (const c of sort.commits) for (const o of treeRefs(sort.objects.get(c.tree!.hash!)!).objects) contents.push(sort.objects.get(o)!);
  for (const c of auth.commits) {
    for (const h of [c.tree, ...(c.trees ?? [])]) {
      const bytes = h?.hash ? auth.objects.get(h.hash) : undefined;
      if (!bytes) continue;
      const r = treeRefs(bytes);
      for (const o of r.objects) contents.push(auth.objects.get(o)!);
      for (const b of r.blocks) contents.push(auth.blocks.get(b)!);
    }
  }
  const nonEmpty = contents.filter((c) => c.length > 0);
  t.ok(nonEmpty.length > 50);
  let refused = 0;
  for (const c of nonEmpty) {
    try {
      treeRefs(c);
    } catch {
      refused++;
    }
  }
  t.equal(refused, nonEmpty.length, 'every file content is refused');
});

t.test('random bytes are refused, also behind the first bytes of each format', async (t) => {
  const prefixes = ['', '0801', '0400000000000000' + '0a026673', '0100000000000000' + '00'];
  const accepted = new Map<string, number>(prefixes.map((p) => [p, 0]));
  let seed = Buffer.from('tree-refs');
  for (let i = 0; i < 500; i++) {
    seed = createHash('sha512').update(seed).digest();
    const length = 1 + (seed[0]! << 4) + (seed[1]! & 15);
    const parts: Buffer[] = [];
    let block = seed;
    for (let n = 0; n < length; n += 64) parts.push((block = createHash('sha512').update(block).digest()));
    const bytes = Buffer.concat(parts).subarray(0, length);
    for (const prefix of prefixes) {
      try {
        treeRefs(Buffer.concat([Buffer.from(prefix, 'hex'), bytes]));
        accepted.set(prefix, accepted.get(prefix)! + 1);
      } catch (err) {
        if (!/^not a commit tree/.test((err as Error).message)) throw err;
      }
    }
  }
  for (const [prefix, n] of accepted) t.equal(n, 0, `500 random samples behind prefix ${prefix || '(none)'}`);
  t.throws(() => treeRefs(Buffer.from('hello, world\n')), /not a commit tree/);
});

// ------------------------------------------------------------ built trees

const dir = (): TreeNode => ({ name: '', hash: new Uint8Array(), subtreeSize: 0n, dir: { children: [] } });
const file = (objects: string[], blocks: string[] = []): TreeNode => ({
  name: 'f',
  hash: new Uint8Array(),
  subtreeSize: 1n,
  file: { objects, blockRefs: blocks.map((block) => ({ block, range: { lower: 0n, upper: 1n } })), hasHeaderFooter: false },
});

/** A kv tree: key, NodeProto, … (keys "/" → 00) from DB tree bytes, without the buckets. */
function kvOf(db: Uint8Array): Buffer {
  const records: Buffer[] = [];
  const buf = Buffer.from(db);
  let pos = 0;
  while (pos < buf.length) {
    const n = Number(buf.readBigInt64LE(pos));
    records.push(buf.subarray(pos, pos + 8 + n));
    pos += 8 + n;
  }
  // header "fs", key/value pairs, "*", header "changed", "*": keep the pairs.
  return Buffer.concat(records.slice(1, records.indexOf(records.find((r, i) => i > 0 && r.length === 9 && r[8] === 0x2a)!)));
}

t.test('refs of built trees in each format: objects, blocks, headers and footers, deduplicated in first-seen order', async (t) => {
  const tree18: Tree = new Map([
    ['', { ...dir(), dir: { children: [], shared: { header: 'h', footer: 'f', headerSize: 1n, footerSize: 1n } } }],
    ['/a', file(['o1', 'o2'], ['b1'])],
    ['/b', file(['o2', 'o3'], ['b1', 'b2'])],
  ]);
  const db = encodeDbTree(tree18);
  t.same(treeRefs(db), { format: 'db', objects: ['h', 'f', 'o1', 'o2', 'o3'], blocks: ['b1', 'b2'] });
  t.same(treeRefs(kvOf(db)), { format: 'kv', objects: ['h', 'f', 'o1', 'o2', 'o3'], blocks: ['b1', 'b2'] });

  const tree17: Tree = new Map([
    ['', { ...dir(), dir: { children: ['a', 'd'], header: 'h' } }],
    ['/a', file(['o1', 'h'])],
    ['/d', { ...dir(), name: 'd', dir: { children: [], footer: 'f' } }],
  ]);
  t.same(treeRefs(encodeTree17(tree17)), { format: '1.7', objects: ['h', 'o1', 'f'], blocks: [] });
});

// ------------------------------------------------------------ random trees

const hashArb = fc.oneof(fc.stringMatching(/^[0-9a-f]{128}$/), fc.string({ maxLength: 5 }));
const optHash = fc.option(hashArb, { nil: undefined });
const entryArb = fc.record({
  dir: fc.constantFrom('a', 'b', 'c', 'é'),
  file: fc.constantFrom('x', 'y', 'z', '日本'),
  atRoot: fc.boolean(),
  objects: fc.array(hashArb, { maxLength: 3 }),
  blockRefs: fc.array(fc.record({ block: optHash, range: fc.option(fc.record({ lower: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), upper: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }), { nil: undefined }) }), { maxLength: 3 }),
  header: optHash,
  footer: optHash,
});
type Entry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

/** A consistent tree: directories /d with files /d/f or /f; 1.7 gets directory headers, 1.8 Shared and block refs. */
function randomTree(entries: Entry[], version: '1.7' | '1.8'): Tree {
  const tree: Tree = new Map([['', dir()]]);
  for (const e of entries) {
    const d = `/${e.dir}`;
    const f = e.atRoot ? `/${e.file}` : `${d}/${e.file}`;
    // Directory and file names are disjoint, so no path is both.
    if (!tree.has(d)) {
      const node: TreeNode = { ...dir(), name: e.dir };
      if (version === '1.7') node.dir = { children: [], ...(e.header !== undefined && { header: e.header }), ...(e.footer !== undefined && { footer: e.footer }) };
      else if (e.header !== undefined || e.footer !== undefined) node.dir = { children: [], shared: { ...(e.header !== undefined && { header: e.header }), ...(e.footer !== undefined && { footer: e.footer }), headerSize: 1n, footerSize: 2n } };
      tree.set(d, node);
    }
    if (tree.has(f)) continue;
    const blockRefs = version === '1.7' ? [] : e.blockRefs.map((r) => ({ ...(r.block !== undefined && { block: r.block }), ...(r.range && { range: r.range }) }));
    tree.set(f, { name: e.file, hash: new Uint8Array(), subtreeSize: 1n, file: { objects: e.objects, blockRefs, hasHeaderFooter: false } });
  }
  for (const [path, node] of tree) {
    if (!node.dir) continue;
    const prefix = path + '/';
    node.dir.children = [...tree.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }
  return tree;
}

t.test('on random trees of each format, the walk finds what the full codecs decode', async (t) => {
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 10 }), (entries) => {
      const t17 = encodeTree17(randomTree(entries, '1.7'));
      assert.deepStrictEqual(treeRefs(t17), { format: '1.7', ...decodedRefs(decodeTree17(t17)) });
      const db = encodeDbTree(randomTree(entries, '1.8'));
      const refs = decodedRefs(decodeDbTree(db));
      assert.deepStrictEqual(treeRefs(db), { format: 'db', ...refs });
      assert.deepStrictEqual(treeRefs(kvOf(db)), { format: 'kv', ...refs });
    }),
  );
  t.pass('property held');
});

t.test('empty input is an empty DB tree; empty trees of each format reference nothing', async (t) => {
  t.same(treeRefs(new Uint8Array()), { format: 'db', objects: [], blocks: [] });
  t.same(treeRefs(Buffer.from('0801', 'hex')), { format: '1.7', objects: [], blocks: [] });
  t.same(treeRefs(encodeDbTree(new Map())), { format: 'db', objects: [], blocks: [] });
});

t.test('a kv tree whose first key is 264 bytes long (so it begins 08 01) is read as kv', async (t) => {
  const name = '/' + 'x'.repeat(263);
  const tree: Tree = new Map([['', dir()], [name, file(['o'])]]);
  const kv = kvOf(encodeDbTree(tree));
  const withoutRoot = kv.subarray(8 + 1 + 8 + Number(kv.readBigInt64LE(9)));
  t.equal(withoutRoot.subarray(0, 2).toString('hex'), '0801');
  t.same(treeRefs(withoutRoot), { format: 'kv', objects: ['o'], blocks: [] });
});

t.test('truncated and damaged trees are refused', async (t) => {
  const db = encodeDbTree(new Map([['', dir()], ['/a', file(['o1'], ['b1'])]]));
  t.throws(() => treeRefs(db.subarray(0, db.length - 1)), /not a commit tree.*DB tree/);
  const kv = kvOf(db);
  t.throws(() => treeRefs(kv.subarray(0, kv.length - 1)), /not a commit tree.*kv tree/);
  // A kv value that is not a NodeProto (field 9).
  const bad = Buffer.concat([Buffer.from('0100000000000000' + '00' + '0200000000000000' + '4801', 'hex')]);
  t.throws(() => treeRefs(bad), /not a commit tree.*NodeProto/);
});
