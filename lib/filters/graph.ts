/**
 * The first pass of a filter run: what the stream holds and how it hangs
 * together, kept as small facts (names, ids, hashes), never object bytes.
 * Repos, branches (head, provenance), commits (parent, provenance, trees,
 * times, the 1.7 branch), pipelines (inputs, spec commit), jobs, and where
 * objects and blocks are: that is all the plan (plan.ts) needs to decide.
 */
import { createHash, type Hash } from 'node:crypto';
import { envelopeOf, type OpEnvelope, type OpRecord } from '../codec/record.js';
import { dataError } from '../errors.js';
import { seconds } from '../replay/model.js';
import { typeOf } from '../replay/replay.js';
import type { OpVersion } from '../schema/registry.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

export const SPEC_REPO = '__spec__';

/** A commit reference `repo@id`, the key of every commit map here. */
export function commitKey(repo: string, id: string): string {
  return `${repo}@${id}`;
}

export interface CommitFacts {
  repo: string;
  id: string;
  /** Parent id; "" for a root. */
  parent: string;
  /** Provenance commits as keys (1.7/1.8: Commit; 1.9+: CommitProvenance.commit). */
  provenance: string[];
  /** ≤ 1.8: the branch the commit was made on. */
  branch: string;
  /** Tree objects the commit names: `tree` and `trees`. */
  trees: string[];
  /** Its `datums` object (a list of datum hashes, not a tree); "" when none. */
  datums: string;
  /** finished, else started, in seconds; NaN when the commit carries no time. */
  time: number;
}

export interface BranchFacts {
  repo: string;
  name: string;
  head: string;
  provenance: string[];
}

export interface PipelineFacts {
  name: string;
  /** Repos named by the input tree (pfs, atom, cron, git), in order. */
  inputs: string[];
  specCommit: string;
}

/** Walks a pps Input of any version for the repos it reads. */
export function inputRepos(input: Msg, out: string[] = []): string[] {
  if (!input) return out;
  for (const leaf of [input.pfs, input.atom, input.cron]) if (leaf?.repo && !out.includes(leaf.repo)) out.push(leaf.repo);
  if (input.git?.name && !out.includes(input.git.name)) out.push(input.git.name);
  for (const list of [input.cross, input.union, input.join, input.group]) for (const i of list ?? []) inputRepos(i, out);
  return out;
}

/** Decodes a record's payload (a view, no copy); a payload that does not parse is a data error naming the record. */
export function decodeBody(rec: OpRecord, env: OpEnvelope = envelopeOf(rec)): Msg {
  const b = rec.bytes;
  try {
    return typeOf(env.version, env.kind).decode(Buffer.from(b.buffer, b.byteOffset + env.payloadStart, env.payloadEnd - env.payloadStart));
  } catch (err) {
    throw dataError('PACH_BAD_RECORD', `${env.kind} op does not decode as op${env.version.replace('.', '_')}: ${(err as Error).message}`, { record: rec.index, offset: rec.offset >= 0 ? rec.offset : undefined }, err);
  }
}

/** The kinds that carry object data or point at it; everything else is metadata. */
export const DATA_KINDS: ReadonlySet<string> = new Set(['object', 'block', 'create_object', 'tag']);

export class StreamGraph {
  version: OpVersion | undefined;
  records = 0;
  readonly counts: Record<string, number> = {};
  /** Repos in the order their first op named them. */
  readonly repos = new Set<string>();
  readonly commits = new Map<string, CommitFacts>();
  readonly branches = new Map<string, BranchFacts>();
  readonly pipelines = new Map<string, PipelineFacts>();
  /** ≤ 1.8 object groups in stream order: the SHA-512 (hex) of each. */
  readonly objectGroups: string[] = [];
  /** 1.9+ object index: object hash → where its bytes are. */
  readonly objectIndex = new Map<string, { block: string; lower: number; upper: number }>();
  /** Object hashes tags point at. */
  readonly taggedObjects = new Set<string>();
  /** Index of the last object/block/create_object/tag record (-1: none). */
  lastDataRecord = -1;
  /** Commits in stream order whose time is unknown (streams before 1.10). */
  untimedCommits = 0;

  private group: { hash: Hash | null } | null = null;

  add(rec: OpRecord): void {
    const env = envelopeOf(rec);
    if (this.version === undefined) this.version = env.version;
    else if (env.version !== this.version) throw dataError('PACH_MIXED_VERSIONS', `a ${env.version} op in a ${this.version} stream`, { record: rec.index });
    this.records++;
    this.counts[env.kind] = (this.counts[env.kind] ?? 0) + 1;
    if (DATA_KINDS.has(env.kind)) this.lastDataRecord = rec.index;
    // Every op is decoded, block data too (a view, no copy): a record that does not parse stops the run before anything is written.
    const body = decodeBody(rec, env);
    switch (env.kind) {
      case 'object':
        return this.object(body);
      case 'create_object': {
        const hash: string = body.object?.hash ?? '';
        const ref = body.block_ref;
        if (hash) this.objectIndex.set(hash, { block: ref?.block?.hash ?? '', lower: Number(ref?.range?.lower ?? 0), upper: Number(ref?.range?.upper ?? 0) });
        return;
      }
      case 'tag':
        if (body.object?.hash) this.taggedObjects.add(body.object.hash);
        return;
      case 'repo':
        if (body.repo?.name) this.repos.add(body.repo.name);
        return;
      case 'commit':
        return this.commit(body);
      case 'branch':
        return this.branch(body);
      case 'pipeline': {
        const name: string = body.pipeline?.name ?? '';
        if (name) this.pipelines.set(name, { name, inputs: inputRepos(body.input), specCommit: body.spec_commit?.id ?? '' });
        return;
      }
    }
  }

  private object(body: Msg): void {
    const value: Uint8Array = body.value ?? new Uint8Array(0);
    if (value.length) {
      (this.group ??= { hash: createHash('sha512') }).hash!.update(value);
      return;
    }
    const hash = (this.group?.hash ?? createHash('sha512')).digest('hex');
    this.objectGroups.push(hash);
    this.group = null;
  }

  private commit(body: Msg): void {
    const repo: string = body.parent?.repo?.name ?? '';
    const id: string = body.ID ?? '';
    if (!repo || !id) return;
    this.repos.add(repo);
    const provenance: string[] = [];
    for (const p of body.provenance ?? []) {
      const c = p.commit ?? p; // 1.9+: CommitProvenance{commit, branch}; ≤ 1.8: Commit
      if (c?.repo?.name && c.id) provenance.push(commitKey(c.repo.name, c.id));
    }
    const trees: string[] = [];
    for (const o of [body.tree, ...(body.trees ?? [])]) if (o?.hash) trees.push(o.hash);
    const time = seconds(body.finished ?? body.started);
    if (Number.isNaN(time)) this.untimedCommits++;
    this.commits.set(commitKey(repo, id), { repo, id, parent: body.parent?.id ?? '', provenance, branch: body.branch ?? '', trees, datums: body.datums?.hash ?? '', time });
  }

  private branch(body: Msg): void {
    const repo: string = body.branch?.repo?.name ?? body.head?.repo?.name ?? '';
    const name: string = body.branch?.name ?? body.s_branch ?? '';
    if (!repo || !name) return;
    this.repos.add(repo);
    const provenance = (body.provenance ?? []).map((b: Msg) => `${b.repo?.name ?? ''}@${b.name ?? ''}`);
    this.branches.set(`${repo}@${name}`, { repo, name, head: body.head?.id ?? '', provenance });
  }
}
