/**
 * What the replay tells a user, as plain JSON-ready objects: the table of
 * contents of a stream (`pach-filter --list`), its problems (`--verify`) and
 * the restore plan (`pach-restore --dry-run`). Rendering them as text is
 * render.ts's job. Secrets (token hashes, activation codes) never get here.
 */
import { FINISHED, HAS_TREE, SYNTHETIC } from './commit-table.js';
import type { BranchState, ClusterModel } from './model.js';
import type { Problem } from './problems.js';
import type { Replayer } from './replay.js';

/** Where the stream came from and whether its bytes checked out. */
export interface StreamFacts {
  input: string;
  framing: string;
  compression: string | null;
  op_version: string | null;
  written_by: string | null;
  records: number;
  bytes: number;
  /** `verified`: trailer or CRCs checked; `unchecked`: the framing carries none; `failed`: see detail. */
  integrity: { state: 'verified' | 'unchecked' | 'failed'; detail: string };
  header: unknown;
}

const ORIGINS = ['USER', 'AUTO', 'FSCK'];

export interface BranchEntry {
  name: string;
  head: string | null;
  commits: number;
  provenance: string[];
  made_by: string;
}

export interface CommitEntry {
  id: string;
  parent: string | null;
  branch: string | null;
  provenance: string[];
  finished: boolean;
  started: string | null;
  finished_at: string | null;
  size_bytes: number;
  origin: string;
  tree: boolean;
}

export interface RepoEntry {
  name: string;
  description: string;
  made_by: string;
  commits: number;
  size_bytes: number;
  branches: BranchEntry[];
  commit_list?: CommitEntry[];
}

export interface Contents {
  stream: StreamFacts;
  counts: Record<string, number>;
  repos: RepoEntry[];
  pipelines: Array<{
    name: string;
    inputs: Array<{ kind: string; repo: string; branch: string; glob: string }>;
    output_branch: string;
    stats: boolean;
    salt: boolean;
    spec_commit: string | null;
    jobs: Record<string, number>;
  }>;
  objects: { objects: number; object_bytes: number; blocks: number; block_bytes: number; object_index: number; tags: number };
  auth: {
    check_auth_token: boolean;
    activated: boolean;
    tokens: number;
    token_subjects: string[];
    role_bindings: Record<string, string[]>;
    config: { id_providers: string[] } | null;
    acls: Record<string, Array<{ username: string; scope: string }>>;
    /** Secrets pach-filter --redact replaced, by field (only when there are any). */
    redacted?: Record<string, number>;
  };
  enterprise: { activated: boolean; expires: string | null; redacted?: boolean };
  problems: { errors: number; hazards: number };
}

function iso(seconds: number): string | null {
  return Number.isNaN(seconds) ? null : new Date(Math.round(seconds * 1000)).toISOString();
}

/** The branch's head and length, counting only commits restored from the stream (not those pachd would compute). */
function restoredChain(model: ClusterModel, b: BranchState): { head: number; commits: number } {
  let c = b.head;
  while (c >= 0 && model.commits.flags(c) & SYNTHETIC) c = model.commits.parent(c);
  let n = 0;
  for (let x = c; x >= 0; x = model.commits.parent(x)) if (!(model.commits.flags(x) & SYNTHETIC)) n++;
  return { head: c, commits: n };
}

function commitEntry(model: ClusterModel, c: number): CommitEntry {
  const t = model.commits;
  const p = t.parent(c);
  return {
    id: t.id(c),
    parent: p >= 0 ? t.id(p) : null,
    branch: t.branch(c) >= 0 ? model.branchName(t.branch(c)) : null,
    provenance: t
      .provenance(c)
      .map(([pc, pb]) => `${model.repoName(t.repoOf(pc))}@${t.id(pc)}${pb >= 0 ? ` (${model.branchName(pb)})` : ''}`)
      .sort(),
    finished: !!(t.flags(c) & FINISHED),
    started: iso(t.started(c)),
    finished_at: iso(t.finished(c)),
    size_bytes: t.sizeBytes(c),
    origin: ORIGINS[t.origin(c)] ?? String(t.origin(c)),
    tree: !!(t.flags(c) & HAS_TREE),
  };
}

export function problemCounts(problems: readonly Problem[]): { errors: number; hazards: number } {
  let errors = 0;
  for (const p of problems) if (p.severity === 'error') errors++;
  return { errors, hazards: problems.length - errors };
}

/** The table of contents: what the stream holds, as its replay sees it. */
export function contentsOf(replayer: Replayer, stream: StreamFacts, opts: { commits?: boolean } = {}): Contents {
  const model = replayer.model;
  const commitsByRepo = new Map<string, number[]>();
  if (opts.commits) {
    for (let c = 0; c < model.commits.size; c++) {
      if (model.commits.flags(c) & SYNTHETIC) continue;
      const name = model.repoName(model.commits.repoOf(c));
      let list = commitsByRepo.get(name);
      if (!list) commitsByRepo.set(name, (list = []));
      list.push(c);
    }
  }
  const repos: RepoEntry[] = [...model.repos.values()].map((r) => {
    const branches = [...r.branches.values()]
      .map((id) => model.branches[id]!)
      .filter((b) => b.madeBy !== 'provenance')
      .map((b) => {
        const chain = restoredChain(model, b);
        return {
          name: b.name,
          head: chain.head >= 0 ? model.commits.id(chain.head) : null,
          commits: chain.commits,
          provenance: b.provenance.map((p) => model.branchName(p)),
          made_by: b.madeBy,
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const master = r.branches.get('master');
    const head = master === undefined ? -1 : restoredChain(model, model.branches[master]!).head;
    const entry: RepoEntry = {
      name: r.name,
      description: r.description,
      made_by: r.madeBy,
      commits: r.commits,
      size_bytes: head >= 0 ? model.commits.sizeBytes(head) : 0,
      branches,
    };
    if (opts.commits) entry.commit_list = (commitsByRepo.get(r.name) ?? []).map((c) => commitEntry(model, c));
    return entry;
  });
  const auth = model.auth;
  return {
    stream,
    counts: sortedCounts(replayer.counts),
    repos,
    pipelines: [...model.pipelines.values()].map((p) => ({
      name: p.name,
      inputs: p.inputs.map((i) => ({ kind: i.kind, repo: i.repo, branch: i.branch, glob: i.glob })),
      output_branch: p.outputBranch,
      stats: p.stats,
      salt: p.salt,
      spec_commit: p.specCommit,
      jobs: Object.fromEntries([...p.jobs.entries()].sort()),
    })),
    objects: { objects: model.created.object ?? 0, object_bytes: model.objectBytes, blocks: model.created.block ?? 0, block_bytes: model.blockBytes, object_index: model.objectIndex, tags: model.tags },
    auth: {
      check_auth_token: replayer.needsToken,
      activated: auth.active,
      tokens: auth.tokens,
      token_subjects: auth.tokenSubjects,
      role_bindings: Object.fromEntries(auth.roleBindings),
      config: auth.config ? { id_providers: auth.config.providers } : null,
      acls: Object.fromEntries(auth.acls),
      ...(Object.keys(auth.redacted).length ? { redacted: { ...auth.redacted } } : {}),
    },
    enterprise: { activated: auth.enterprise, expires: auth.enterpriseExpiry, ...(auth.redacted.activation_code ? { redacted: true } : {}) },
    problems: problemCounts(model.problems),
  };
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The target cluster a dry run started from (`--onto`). */
export interface OntoFacts {
  input: string;
  op_version: string | null;
  records: number;
  /** Problems its own replay found (set aside; `pach-filter --verify` lists them). */
  problems: number;
}

export interface Plan {
  stream: StreamFacts;
  /** The target's state the plan starts from, or null for an empty cluster. */
  onto: OntoFacts | null;
  pachd_version: string;
  /** `ok`: the restore would run to the end; `fails`: it stops at `stops_at`. */
  outcome: 'ok' | 'fails';
  stops_at: Problem | null;
  /** Records after the stop that would not be applied. */
  not_applied: number;
  create: Record<string, number>;
  bytes: { objects: number; blocks: number };
  already_exist: Record<string, number>;
  pachd_makes: { output_repos: number; branches: number; spec_commits: number };
  /** Per pipeline: the jobs pachd will run, the input commits they read, and the output commits it makes per branch. */
  recompute: Array<{ pipeline: string; jobs: number; input_commits: number; output_commits: Record<string, number> }>;
  needs_token: boolean;
  problems: Problem[];
}

export function planOf(replayer: Replayer, stream: StreamFacts, onto: OntoFacts | null = null): Plan {
  const model = replayer.model;
  const stop = model.problems.find((p) => p.severity === 'error') ?? null;
  let branchesByPachd = 0;
  // Only what the restore makes: a target cluster's own (`--onto`) was there before.
  for (const b of model.branches.slice(model.settled.branches)) if (b.madeBy === 'pachd') branchesByPachd++;
  let specCommits = 0;
  let outputRepos = 0;
  for (const r of model.repos.values()) if (r.madeBy === 'pipeline') outputRepos++;
  for (let c = model.settled.commits; c < model.commits.size; c++) {
    const f = model.commits.flags(c);
    if (f & SYNTHETIC && f & FINISHED) specCommits++;
  }
  return {
    stream,
    onto,
    pachd_version: model.pachdVersion,
    outcome: stop ? 'fails' : 'ok',
    stops_at: stop,
    not_applied: stop ? Math.max(0, replayer.records - 1 - stop.record) : 0,
    create: sortedCounts(model.created),
    bytes: { objects: model.objectBytes, blocks: model.blockBytes },
    already_exist: sortedCounts(model.ignored),
    pachd_makes: { output_repos: outputRepos, branches: branchesByPachd, spec_commits: specCommits },
    recompute: [...model.pipelines.values()]
      .filter((p) => p.recomputeCommits.size > 0)
      .map((p) => ({
        pipeline: p.name,
        jobs: p.recomputeCommits.get(p.outputBranch) ?? 0,
        input_commits: p.recomputeInputs.size,
        output_commits: Object.fromEntries([...p.recomputeCommits].map(([b, n]) => [`${p.name}@${b}`, n])),
      })),
    needs_token: replayer.needsToken,
    problems: model.problems,
  };
}
