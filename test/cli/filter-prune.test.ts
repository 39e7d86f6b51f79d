/**
 * Object pruning, checked from the outside: after a pach-filter run that
 * drops something, the output holds exactly the objects, blocks, object-index
 * entries and tags its kept records reference (every commit tree read back
 * out of the output itself), so nothing a kept commit needs was dropped and
 * nothing unreferenced was kept. On both real dumps and a generated 1.12
 * history with real trees.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { treeRefs } from '../../lib/filters/tree-refs.js';
import { sha512Hex } from '../../lib/ops/hashtree.js';
import { root } from '../../lib/schema/registry.js';
import { AUTH_DUMP, ROOT, runShell, runTool, SORT_DUMP, splitRaw, tempDir } from '../helpers/run.js';

const Op = root.lookupType('admin.Op');

/* eslint-disable @typescript-eslint/no-explicit-any */
type Body = any;

interface Held {
  /** Objects the stream holds, with their bytes: ≤ 1.8 object groups, 1.9+ create_object ranges. */
  objects: Map<string, Buffer>;
  blocks: Map<string, Buffer>;
  /** 1.9+: the block each indexed object lives in. */
  objectBlock: Map<string, string>;
  tags: string[];
  commits: Body[];
}

/** Reads a raw-framed stream's data and commits. */
function holdings(raw: Buffer): Held {
  const held: Held = { objects: new Map(), blocks: new Map(), objectBlock: new Map(), tags: [], commits: [] };
  const ranges: Array<{ hash: string; block: string; lower: number; upper: number }> = [];
  let parts: Buffer[] | null = null;
  let block = '';
  for (const record of splitRaw(raw)) {
    const op = Op.toObject(Op.decode(record), { longs: Number }) as Record<string, Record<string, Body>>;
    const slot = Object.values(op)[0]!;
    const [kind, body] = Object.entries(slot)[0]!;
    const value: Buffer = body.value ? Buffer.from(body.value) : Buffer.alloc(0);
    if (kind === 'object') {
      if (value.length) (parts ??= []).push(value);
      else {
        const content = Buffer.concat(parts ?? []);
        held.objects.set(sha512Hex(content), content);
        parts = null;
      }
    } else if (kind === 'block') {
      if (!parts) {
        block = body.block?.hash ?? '';
        if (!value.length) {
          held.blocks.set(block, Buffer.alloc(0));
          continue;
        }
        parts = [];
      }
      if (value.length) parts.push(value);
      else {
        held.blocks.set(block, Buffer.concat(parts));
        parts = null;
      }
    } else if (kind === 'create_object') {
      ranges.push({ hash: body.object.hash, block: body.block_ref?.block?.hash ?? '', lower: body.block_ref?.range?.lower ?? 0, upper: body.block_ref?.range?.upper ?? 0 });
    } else if (kind === 'tag') held.tags.push(body.object.hash);
    else if (kind === 'commit') held.commits.push(body);
  }
  for (const r of ranges) {
    const bytes = held.blocks.get(r.block);
    held.objects.set(r.hash, bytes ? bytes.subarray(r.lower, r.upper) : Buffer.alloc(0));
    held.objectBlock.set(r.hash, r.block);
  }
  return held;
}

function checkExact(t: Test, raw: Buffer, label: string): void {
  const held = holdings(raw);
  const wantObjects = new Set<string>();
  const wantBlocks = new Set<string>();
  const trees: string[] = [];
  for (const c of held.commits) {
    for (const o of [c.tree, ...(c.trees ?? [])]) if (o?.hash) trees.push(o.hash);
    if (c.datums?.hash) wantObjects.add(c.datums.hash);
  }
  trees.push(...held.tags);
  let missing = 0;
  for (const hash of trees) {
    wantObjects.add(hash);
    const bytes = held.objects.get(hash);
    if (!bytes) {
      missing++;
      continue;
    }
    const refs = treeRefs(bytes);
    for (const o of refs.objects) wantObjects.add(o);
    for (const b of refs.blocks) wantBlocks.add(b);
  }
  t.equal(missing, 0, `${label}: every kept commit's tree and every tag's object is in the output`);
  const absentObjects = [...wantObjects].filter((o) => !held.objects.has(o));
  t.same(absentObjects, [], `${label}: every object a kept tree names is in the output`);
  // 1.9+: an object lives in the block its index entry names.
  for (const o of wantObjects) if (held.objectBlock.has(o)) wantBlocks.add(held.objectBlock.get(o)!);
  const absentBlocks = [...wantBlocks].filter((b) => !held.blocks.has(b));
  t.same(absentBlocks, [], `${label}: every block a kept tree names is in the output`);
  const extraObjects = [...held.objects.keys()].filter((o) => !wantObjects.has(o));
  t.same(extraObjects, [], `${label}: no object that nothing kept references`);
  const extraBlocks = [...held.blocks.keys()].filter((b) => !wantBlocks.has(b) && !(b.endsWith('-index') && wantBlocks.has(b.slice(0, -'-index'.length))));
  t.same(extraBlocks, [], `${label}: no block that nothing kept references (a kept block's -index sidecar aside)`);
}

async function filtered(args: string[], input: string): Promise<Buffer> {
  const out = await runTool('pach-filter', [...args, '--to', 'raw', input]);
  if (out.code !== 0) throw new Error(`pach-filter ${args.join(' ')} ${input}: exit ${out.code}: ${out.stderr}`);
  return out.stdout;
}

const CASES: string[][] = [['--repo', 'left'], ['--exclude-repo', 'right'], ['--keep-last', '1'], ['--pipeline', 'sort', '--prune'], ['--exclude-pipeline', 'sort']];

for (const [name, dump] of [['1.7', SORT_DUMP], ['1.11', AUTH_DUMP]] as const) {
  t.test(`${name} dump: pruned outputs hold exactly what their records reference`, async (t) => {
    const before = holdings(await filtered([], dump));
    for (const args of CASES) {
      const raw = await filtered(args, dump);
      checkExact(t, raw, `${name} ${args.join(' ')}`);
      const after = holdings(raw);
      t.ok(after.objects.size < before.objects.size, `${name} ${args.join(' ')}: objects were pruned (${before.objects.size} → ${after.objects.size})`);
    }
  });
}

t.test('a generated 1.12 history with real trees: selection prunes file data, exactly', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'history.raw');
  const gen = await runShell(`node ${JSON.stringify(path.join(ROOT, 'dist/bench/history.js'))} --repos 12 --commits 300 --blocks 8MiB --real-trees --seed 5 > ${JSON.stringify(file)}`);
  t.equal(gen.code, 0, 'the generator ran');
  const list = JSON.parse((await runTool('pach-filter', ['--list', '--format', 'json', file])).stdout.toString());
  const inputs: string[] = list.repos.map((r: { name: string }) => r.name).filter((n: string) => n !== '__spec__' && !list.pipelines.some((p: { name: string }) => p.name === n));
  const before = fs.statSync(file).size;
  for (const args of [['--repo', inputs[0]!], ['--exclude-repo', inputs[1]!], ['--keep-last', '2'], ['--pipeline', list.pipelines[0].name]]) {
    const raw = await filtered(args, file);
    checkExact(t, raw, `history ${args.join(' ')}`);
    const verify = await runTool('pach-filter', ['--verify', '--from', 'raw', '-'], { input: raw });
    t.equal(verify.code, 0, `history ${args.join(' ')}: the output verifies`);
    t.ok(raw.length < before, `history ${args.join(' ')}: smaller than the input (${before} → ${raw.length} bytes)`);
  }
});
