/**
 * What a commit's tree object references: the object hashes and block names
 * its files (and directory headers/footers) are made of. Object pruning keeps
 * exactly these for the commits it keeps, so a tree it cannot read must stop
 * pruning, never shrink it: every tree-shaped input is read in full and
 * anything that is not one of the three serialisations is an error.
 *
 *   1.7   HashTreeProto, begins `08 01`           (HASHTREES.md §3.1)  decodeTree17
 *   db    BucketHeader{"fs"} … "*" … "*" records  (§3.2)               decodeDbTree
 *   kv    key, NodeProto, key, NodeProto, …       (§3.3)               read here
 *
 * The kv format has no signature; a key record starting with 0x00 (an
 * encoded path) followed by a value that parses as a 1.8 NodeProto is what
 * tells it from other pbutil-framed objects, such as a commit's datums
 * object (records of hex datum hashes).
 */
import { decodeDbTree, decodeNode, decodeTree17, looksLikeDbTree, looksLikeTree17, type Tree, type TreeNode } from '../ops/hashtree.js';

export interface TreeRefs {
  /** Which serialisation the bytes are in; an empty object counts as an empty 'db' tree. */
  format: '1.7' | 'db' | 'kv';
  /** Object hashes (file objects, 1.7 directory header/footer, 1.8+ Shared header/footer), first-seen order, no repeats. */
  objects: string[];
  /** Block names of file block_refs, first-seen order, no repeats. */
  blocks: string[];
}

/** Collects hashes once each, in the order first met. */
class Refs {
  private readonly objectSet = new Set<string>();
  private readonly blockSet = new Set<string>();

  object(hash: string | undefined): void {
    if (hash) this.objectSet.add(hash);
  }

  block(name: string | undefined): void {
    if (name) this.blockSet.add(name);
  }

  node(node: TreeNode): void {
    if (node.file) {
      for (const o of node.file.objects) this.object(o);
      for (const r of node.file.blockRefs) this.block(r.block);
    }
    if (node.dir) {
      this.object(node.dir.header);
      this.object(node.dir.footer);
      this.object(node.dir.shared?.header);
      this.object(node.dir.shared?.footer);
    }
  }

  result(format: TreeRefs['format']): TreeRefs {
    return { format, objects: [...this.objectSet], blocks: [...this.blockSet] };
  }
}

function fromTree(tree: Tree, format: TreeRefs['format']): TreeRefs {
  const refs = new Refs();
  for (const node of tree.values()) refs.node(node);
  return refs.result(format);
}

/**
 * Reads a merged kv tree: pbutil records alternating key and NodeProto, to
 * the end of the bytes. Keys must be encoded paths (first byte 0x00, as
 * every key including the root's is); their order and the tree's shape are
 * not checked, since a shard of a sharded tree need not hold its parents and
 * neither matters to what is referenced.
 */
function kvRefs(bytes: Uint8Array): TreeRefs {
  const where = 'kv tree';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const refs = new Refs();
  let pos = 0;
  const nextRecord = (what: string): Uint8Array => {
    if (bytes.length - pos < 8) {
      throw new Error(`${where}: ${pos === bytes.length ? `ended where ${what} should be` : `truncated record length at byte ${pos}`}`);
    }
    const length = view.getBigInt64(pos, true);
    if (length < 0n || length > BigInt(bytes.length - pos - 8)) {
      throw new Error(`${where}: record at byte ${pos} claims ${length} bytes, ${bytes.length - pos - 8} left`);
    }
    const record = bytes.subarray(pos + 8, pos + 8 + Number(length));
    pos += 8 + Number(length);
    return record;
  };
  while (pos < bytes.length) {
    const keyAt = pos;
    const key = nextRecord('a key');
    if (key.length === 0 || key[0] !== 0) {
      throw new Error(`${where}: record at byte ${keyAt} is not an encoded path (keys start with byte 00)`);
    }
    const valueAt = pos;
    refs.node(decodeNode(nextRecord('the value of the key at byte ' + keyAt), `${where}: value at byte ${valueAt}`, '1.8'));
  }
  return refs.result('kv');
}

/**
 * The object hashes and block names a commit tree object references, for any
 * tree Pachyderm 1.x stores (1.7 HashTreeProto; 1.8+ DB format, commit field
 * `tree`; 1.8+ merged kv format, commit field `trees`). Zero bytes are an
 * empty tree (format 'db', nothing referenced). A 1.7 or DB tree must pass
 * its codec's full validation; a kv tree must be whole records of encoded
 * paths and valid 1.8 NodeProtos.
 * @throws Error when the bytes are none of the three formats, naming what
 *   failed; callers should then stop pruning rather than guess.
 */
export function treeRefs(bytes: Uint8Array): TreeRefs {
  try {
    return readRefs(bytes);
  } catch (err) {
    throw new Error(`not a commit tree in any known format (1.7, DB, kv): ${(err as Error).message}`, { cause: err });
  }
}

function readRefs(bytes: Uint8Array): TreeRefs {
  if (bytes.length === 0) return { format: 'db', objects: [], blocks: [] };
  if (looksLikeDbTree(bytes)) return fromTree(decodeDbTree(bytes), 'db');
  if (looksLikeTree17(bytes)) {
    try {
      return fromTree(decodeTree17(bytes), '1.7');
    } catch (err17) {
      // A kv tree whose first key is 264 bytes long also begins 08 01.
      try {
        return kvRefs(bytes);
      } catch {
        throw err17;
      }
    }
  }
  return kvRefs(bytes);
}
