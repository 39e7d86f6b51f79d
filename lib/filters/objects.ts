/**
 * Object pruning: which objects and blocks kept records reference. Commits
 * name their trees by object hash; the trees name the file objects and
 * blocks. Objects come first in a stream, so the trees are read in a pass of
 * their own (up to the last data record), after the plan has said which
 * commits stay. Only the tree being read is held in memory.
 */
import { envelopeOf, type RecordStream } from '../codec/record.js';
import { commitKey, decodeBody, type StreamGraph } from './graph.js';
import type { Plan } from './plan.js';
import { treeRefs } from './tree-refs.js';

/** The objects (by hash) and blocks (by name) a run keeps. */
export interface ObjectKeep {
  objects: Set<string>;
  blocks: Set<string>;
}

/** What a kept record references directly: trees to read, and objects kept without reading. */
function roots(graph: StreamGraph, plan: Plan): { trees: Set<string>; leaves: Set<string> } {
  const trees = new Set<string>();
  const leaves = new Set<string>();
  for (const key of plan.commits) {
    const c = graph.commits.get(key);
    if (!c) continue;
    for (const t of c.trees) trees.add(t);
    if (c.datums) leaves.add(c.datums);
  }
  // A tag points at a datum's output tree (the pipelines' datum cache).
  if (plan.keepTags) for (const t of graph.taggedObjects) trees.add(t);
  return { trees, leaves };
}

/**
 * Reads the kept commits' trees from `records` (a fresh pass over the
 * stream) and returns what to keep. Null means do not prune: a tree the
 * stream does not hold, or one that does not parse, would leave data
 * unaccounted for; `warn` says which.
 */
export async function objectsToKeep(records: RecordStream, graph: StreamGraph, plan: Plan, warn: (message: string) => void): Promise<ObjectKeep | null> {
  const { trees, leaves } = roots(graph, plan);
  const keep: ObjectKeep = { objects: new Set([...trees, ...leaves]), blocks: new Set() };
  const v19 = graph.objectGroups.length === 0;
  // Where each tree is: an object group's ordinal (≤ 1.8), or a block range (1.9+).
  const byOrdinal = new Map<number, string>();
  const byBlock = new Map<string, Array<{ hash: string; lower: number; upper: number }>>();
  if (!v19) {
    graph.objectGroups.forEach((hash, i) => {
      if (trees.has(hash)) byOrdinal.set(i, hash);
    });
  } else {
    for (const hash of trees) {
      const at = graph.objectIndex.get(hash);
      if (!at) continue;
      let list = byBlock.get(at.block);
      if (!list) byBlock.set(at.block, (list = []));
      list.push({ hash, ...at });
    }
  }
  const located = v19 ? [...byBlock.values()].reduce((n, l) => n + l.length, 0) : byOrdinal.size;
  if (located < trees.size) {
    const missing = [...trees].find((h) => (v19 ? !graph.objectIndex.has(h) : !graph.objectGroups.includes(h)))!;
    const who = whoNames(graph, plan, missing);
    warn(`objects are not pruned: ${who}'s tree ${missing.slice(0, 12)}… is not in the stream, so what it references cannot be known`);
    return null;
  }

  let failed: string | null = null;
  const read = (hash: string, bytes: Uint8Array): void => {
    try {
      const refs = treeRefs(bytes);
      for (const o of refs.objects) keep.objects.add(o);
      for (const b of refs.blocks) keep.blocks.add(b);
    } catch (err) {
      failed ??= `${whoNames(graph, plan, hash)}'s tree ${hash.slice(0, 12)}… does not parse (${(err as Error).message})`;
    }
  };

  let ordinal = 0;
  let group: { block: string; chunks: Uint8Array[] | null } | null = null;
  const finish = (g: { block: string; chunks: Uint8Array[] | null }): void => {
    if (!g.chunks) return;
    const bytes = Buffer.concat(g.chunks);
    if (!v19) read(byOrdinal.get(ordinal)!, bytes);
    else for (const at of byBlock.get(g.block) ?? []) read(at.hash, bytes.subarray(at.lower, at.upper));
  };
  outer: for await (const batch of records) {
    for (const rec of batch) {
      if (rec.index > graph.lastDataRecord) break outer;
      const kind = envelopeOf(rec).kind;
      if (kind !== 'object' && kind !== 'block') continue;
      const body = decodeBody(rec);
      const value: Uint8Array = body.value ?? new Uint8Array(0);
      if (!group) {
        const wanted = kind === 'object' ? byOrdinal.has(ordinal) : byBlock.has(body.block?.hash ?? '');
        group = { block: body.block?.hash ?? '', chunks: wanted ? [] : null };
      }
      if (value.length && group.chunks) group.chunks.push(Buffer.from(value));
      if (!value.length) {
        finish(group);
        group = null;
        if (kind === 'object') ordinal++;
      }
    }
  }
  if (failed) {
    warn(`objects are not pruned: ${failed}`);
    return null;
  }
  // Objects live in blocks (1.9+); a merged tree's block has an index sidecar.
  for (const o of keep.objects) {
    const at = graph.objectIndex.get(o);
    if (at?.block) keep.blocks.add(at.block);
  }
  for (const b of [...keep.blocks]) keep.blocks.add(`${b}-index`);
  return keep;
}

/** A name for whoever references an object, for messages. */
function whoNames(graph: StreamGraph, plan: Plan, hash: string): string {
  for (const key of plan.commits) {
    const c = graph.commits.get(key);
    if (c && c.trees.includes(hash)) return `commit ${commitKey(c.repo, c.id)}`;
  }
  return 'a tag';
}
