/**
 * Hand-written streams for the replay tests: ops written as JSON-view lines
 * (`{"version", "kind", "body"}`, body in proto3 JSON with snake_case names,
 * 64-bit integers as strings), the way a person would write them with an
 * editor, and the reports the real executables give on them.
 *
 * A stream is built from `Op`s by small constructors that mirror what
 * pachd's Extract writes (SEMANTICS §2.2/2.3); `expected*` derive from the
 * same ops what a restore of them must show, so a test compares the tool's
 * answer with the stream it was given rather than with a pasted output.
 */
import { createHash } from 'node:crypto';
import type { CommitEntry, Contents, Plan } from '../../lib/replay/report.js';
import { runTool } from './run.js';

export type Body = Record<string, unknown>;
export interface Op {
  kind: string;
  body: Body;
}

/** The stream as NDJSON at op version `version` (no header or trailer: both are optional on input). */
export function ndjson(version: string, ops: readonly Op[]): string {
  return ops.map((o) => JSON.stringify({ version, kind: o.kind, body: o.body })).join('\n') + '\n';
}

/** A 32-hex-character commit ID (what pachd 1.x makes), derived from `seed`. */
export function commitId(seed: string): string {
  return createHash('md5').update(`commit ${seed}`).digest('hex');
}

/** A 128-hex-character object hash (SHA-512, what pachd names objects by) of `content`. */
export function objectHash(content: string): string {
  return createHash('sha512').update(content).digest('hex');
}

/** Seconds since the epoch as a google.protobuf.Timestamp. */
export function ts(seconds: number): Body {
  return { seconds: String(seconds) };
}

const ref = (repo: string, id: string): Body => ({ repo: { name: repo }, id });
const branchRef = (repo: string, name: string): Body => ({ repo: { name: repo }, name });

/** "repo@name" → [repo, name]. */
function split(at: string): [string, string] {
  const i = at.indexOf('@');
  if (i < 0) throw new Error(`expected repo@name, got ${at}`);
  return [at.slice(0, i), at.slice(i + 1)];
}

export function repo(name: string, description?: string): Op {
  return { kind: 'repo', body: description ? { repo: { name }, description } : { repo: { name } } };
}

export interface CommitSpec {
  repo: string;
  id: string;
  parent?: string;
  /** Hash of the commit's tree object (input and spec commits). */
  tree?: string;
  /** Hashes of its trees (output commits, 1.9+). */
  trees?: string[];
  datums?: string;
  size?: number;
  started?: number;
  finished?: number;
  origin?: 'USER' | 'AUTO';
  /** 1.9+ provenance: ["repo@commitID", "repo@branch"] pairs (the full provenance, as pachd lists it). */
  provenance?: Array<[string, string]>;
  /** 1.7/1.8: the branch the commit is made on. */
  branch?: string;
}

export function commit(c: CommitSpec): Op {
  const body: Body = { parent: c.parent ? ref(c.repo, c.parent) : { repo: { name: c.repo } } };
  if (c.tree) body.tree = { hash: c.tree };
  if (c.branch) body.branch = c.branch;
  body.ID = c.id;
  if (c.provenance?.length) {
    body.provenance = c.provenance.map(([commitAt, branchAt]) => {
      const [cr, cid] = split(commitAt);
      const [br, bn] = split(branchAt);
      return { commit: ref(cr, cid), branch: branchRef(br, bn) };
    });
  }
  if (c.trees?.length) body.trees = c.trees.map((hash) => ({ hash }));
  if (c.datums) body.datums = { hash: c.datums };
  if (c.size !== undefined) body.size_bytes = String(c.size);
  if (c.started !== undefined) body.started = ts(c.started);
  if (c.finished !== undefined) body.finished = ts(c.finished);
  if (c.origin) body.origin = c.origin === 'USER' ? {} : { kind: c.origin };
  return { kind: 'commit', body };
}

/** A branch op as 1.7+ extract writes it: `branch` set, head optional (headless), direct provenance as "repo@branch". */
export function branch(at: string, opts: { head?: string; provenance?: string[] } = {}): Op {
  const [r, name] = split(at);
  const body: Body = {};
  if (opts.head) body.head = ref(r, opts.head);
  body.branch = branchRef(r, name);
  if (opts.provenance?.length) body.provenance = opts.provenance.map((p) => branchRef(...split(p)));
  return { kind: 'branch', body };
}

export interface PipelineSpec {
  name: string;
  /** Inputs as "repo@branch:glob"; more than one makes a union. */
  inputs: string[];
  /** `pfs` (1.8+) or `atom` (1.7, and 1.8 still reads it). */
  inputKind?: 'pfs' | 'atom';
  outputBranch?: string;
  stats?: boolean;
  salt?: string;
  /** The `__spec__` commit holding the spec (1.9+ dumps). */
  specCommit?: string;
}

export function pipeline(p: PipelineSpec): Op {
  const kind = p.inputKind ?? 'pfs';
  const inputs = p.inputs.map((i) => {
    const [at, glob] = i.split(':') as [string, string];
    const [r, b] = split(at);
    return { [kind]: { name: r, repo: r, branch: b, glob } };
  });
  const body: Body = {
    pipeline: { name: p.name },
    transform: { image: 'ubuntu:16.04', cmd: ['/bin/bash'], stdin: ['cp -r /pfs/*/* /pfs/out'] },
    parallelism_spec: { constant: '1' },
    output_branch: p.outputBranch ?? 'master',
    input: inputs.length === 1 ? inputs[0] : { union: inputs },
  };
  if (p.stats) body.enable_stats = true;
  if (p.salt) body.salt = p.salt;
  if (p.specCommit) body.spec_commit = ref('__spec__', p.specCommit);
  return { kind: 'pipeline', body };
}

export interface JobSpec {
  pipeline: string;
  output: string;
  stats?: string;
  state: string;
  reason?: string;
  started?: number;
  finished?: number;
}

export function job(j: JobSpec): Op {
  const body: Body = { pipeline: { name: j.pipeline }, output_commit: ref(j.pipeline, j.output) };
  if (j.stats) body.stats_commit = ref(j.pipeline, j.stats);
  body.state = j.state;
  if (j.reason) body.reason = j.reason;
  if (j.started !== undefined) body.started = ts(j.started);
  if (j.finished !== undefined) body.finished = ts(j.finished);
  return { kind: 'job', body };
}

/**
 * 1.9+ object ops for `hashes`: one empty block, then one create_object per
 * hash pointing into it (what Extract writes before repos when it has
 * objects), so the commits' trees and datums are in the stream.
 */
export function blockObjects(hashes: readonly string[]): Op[] {
  const block = createHash('md5').update(hashes.join(',')).digest('hex');
  return [
    { kind: 'block', body: { block: { hash: block } } },
    ...hashes.map((hash) => ({ kind: 'create_object', body: { object: { hash }, block_ref: { block: { hash: block }, range: {} } } })),
  ];
}

/** ≤ 1.8 object ops: each content as one data op plus the empty closing op; its hash is objectHash(content). */
export function objects17(contents: readonly string[]): Op[] {
  return contents.flatMap((c) => [
    { kind: 'object', body: { value: Buffer.from(c).toString('base64') } },
    { kind: 'object', body: {} },
  ]);
}

/** Every object hash the commits of `ops` point at (tree, trees, datums). */
export function objectRefs(ops: readonly Op[]): string[] {
  const out: string[] = [];
  for (const o of ops) {
    if (o.kind !== 'commit') continue;
    const b = o.body as { tree?: { hash: string }; trees?: Array<{ hash: string }>; datums?: { hash: string } };
    if (b.tree) out.push(b.tree.hash);
    for (const t of b.trees ?? []) out.push(t.hash);
    if (b.datums) out.push(b.datums.hash);
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------- what a restore of the ops must show

export interface ExpectedBranch {
  repo: string;
  name: string;
  head: string | null;
  provenance: string[];
}

/** The branches the branch ops restore (the last op for a branch wins: CreateBranch upserts). */
export function expectedBranches(ops: readonly Op[]): ExpectedBranch[] {
  const out = new Map<string, ExpectedBranch>();
  for (const o of ops) {
    if (o.kind !== 'branch') continue;
    const b = o.body as { head?: { id: string }; branch: { repo: { name: string }; name: string }; provenance?: Array<{ repo: { name: string }; name: string }> };
    const key = `${b.branch.repo.name}@${b.branch.name}`;
    out.set(key, { repo: b.branch.repo.name, name: b.branch.name, head: b.head?.id ?? null, provenance: (b.provenance ?? []).map((p) => `${p.repo.name}@${p.name}`) });
  }
  return [...out.values()];
}

/** A commit as `--list --commits` shows it, from the commit op (1.9+ provenance pairs; times where the op has them). */
export interface ExpectedCommit {
  id: string;
  parent: string | null;
  provenance: string[];
  size_bytes: number;
  started: string | null;
  finished_at: string | null;
  origin: string;
  tree: boolean;
}


/**
 * The time every run here restores at (`--at`, unless a test gives its own): pachd stamps a
 * restored commit without a finished time with the time of the restore.
 */
export const RESTORE_AT = '2020-12-16T00:00:00Z';

function iso(t: { seconds?: string } | undefined): string {
  return new Date(t?.seconds === undefined ? Date.parse(RESTORE_AT) : Number(t.seconds) * 1000).toISOString();
}

/** `args`, with `--at RESTORE_AT` unless they set the time themselves. */
function timed(args: string[]): string[] {
  return args.includes('--at') ? args : ['--at', RESTORE_AT, ...args];
}

/** The commit ops of `repoName`, in stream order, as the commit list must show them (missing times are the restore's). */
export function expectedCommits(ops: readonly Op[], repoName: string): ExpectedCommit[] {
  const out: ExpectedCommit[] = [];
  for (const o of ops) {
    if (o.kind !== 'commit') continue;
    const b = o.body as {
      parent: { repo: { name: string }; id?: string };
      ID: string;
      tree?: unknown;
      trees?: unknown[];
      size_bytes?: string;
      started?: { seconds?: string };
      finished?: { seconds?: string };
      origin?: { kind?: string };
      provenance?: Array<{ commit: { repo: { name: string }; id: string }; branch: { repo: { name: string }; name: string } }>;
    };
    if (b.parent.repo.name !== repoName) continue;
    out.push({
      id: b.ID,
      parent: b.parent.id ?? null,
      provenance: (b.provenance ?? []).map((p) => `${p.commit.repo.name}@${p.commit.id} (${p.branch.repo.name}@${p.branch.name})`).sort(),
      size_bytes: Number(b.size_bytes ?? 0),
      started: iso(b.started ?? b.finished),
      finished_at: iso(b.finished),
      origin: b.origin?.kind ?? 'USER',
      tree: !!(b.tree || b.trees?.length),
    });
  }
  return out;
}

/** The fields of a listed commit that ExpectedCommit names. */
export function listedCommit(c: CommitEntry): ExpectedCommit {
  return { id: c.id, parent: c.parent, provenance: c.provenance, size_bytes: c.size_bytes, started: c.started, finished_at: c.finished_at, origin: c.origin, tree: c.tree };
}

// ---------------------------------------------------------------- running the tools on a stream

/** A file operand, or the stream's text (then fed on stdin as `-`). */
export type Input = { file: string } | { text: string };

function operand(input: Input): { arg: string; stdin?: string } {
  return 'file' in input ? { arg: input.file } : { arg: '-', stdin: input.text };
}

export interface Listed {
  code: number | null;
  stderr: string;
  contents: Contents;
}

/** `pach-filter --list --format json --commits [args] INPUT`. */
export async function listOf(input: Input, args: string[] = []): Promise<Listed> {
  const { arg, stdin } = operand(input);
  const r = await runTool('pach-filter', ['--list', '--format', 'json', '--commits', ...timed(args), arg], stdin === undefined ? {} : { input: stdin });
  if (r.code !== 0 && r.stdout.length === 0) throw new Error(`pach-filter --list exited ${r.code}: ${r.stderr}`);
  return { code: r.code, stderr: r.stderr, contents: JSON.parse(r.stdout.toString()) as Contents };
}

export interface Planned {
  code: number | null;
  stderr: string;
  plan: Plan;
}

/** `pach-restore --dry-run --format json [args] INPUT`. */
export async function planOf(input: Input, args: string[] = []): Promise<Planned> {
  const { arg, stdin } = operand(input);
  const r = await runTool('pach-restore', ['--dry-run', '--format', 'json', ...timed(args), arg], stdin === undefined ? {} : { input: stdin });
  if (r.stdout.length === 0) throw new Error(`pach-restore --dry-run exited ${r.code} with no plan: ${r.stderr}`);
  return { code: r.code, stderr: r.stderr, plan: JSON.parse(r.stdout.toString()) as Plan };
}

/** `pach-filter --verify [args] INPUT`: exit code and the problem lines. */
export async function verifyOf(input: Input, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { arg, stdin } = operand(input);
  const r = await runTool('pach-filter', ['--verify', ...timed(args), arg], stdin === undefined ? {} : { input: stdin });
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
}

/** The repo `name` of a listing, or a failure naming what is there. */
export function repoOf(c: Contents, name: string): Contents['repos'][number] {
  const r = c.repos.find((x) => x.name === name);
  if (!r) throw new Error(`no repo ${name} in the listing (repos: ${c.repos.map((x) => x.name).join(', ')})`);
  return r;
}

/** The branch `repo@name` of a listing, or undefined. */
export function branchOf(c: Contents, at: string): Contents['repos'][number]['branches'][number] | undefined {
  const [r, n] = split(at);
  return c.repos.find((x) => x.name === r)?.branches.find((b) => b.name === n);
}

