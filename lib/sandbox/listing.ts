/**
 * What pachd-sandbox answers the read-only calls with: the replay model's
 * repos, branches, commits, pipelines, jobs and auth as plain objects shaped
 * like pachd 1.13's response messages (protobufjs `fromObject` input:
 * snake_case fields, enums by name, timestamps as {seconds, nanos}).
 *
 * Lists come newest first, as pachd's collections list by creation revision,
 * descending. Commit IDs are always the ones clients see (`cluster.commitId`):
 * a commit the model made stands for one pachd would make, under a 32-hex ID.
 *
 * What the model does not keep is left out rather than invented: trees and
 * datums objects, commit descriptions and subvenance ranges, pipeline
 * transforms, salts and creation times, job times and datum counts.
 */
import { createHash } from 'node:crypto';
import { FINISHED, SYNTHETIC } from '../replay/commit-table.js';
import { SPEC_REPO, type BranchState, type ClusterModel, type Msg, type PipelineInput } from '../replay/model.js';
import type { SandboxCluster } from './cluster.js';

/** pfs.OriginKind by the model's origin number. */
const ORIGIN_KINDS = ['USER', 'AUTO', 'FSCK'];

/** pps.JobState values (the same names and numbers in every 1.x schema): job_counts is keyed by number. */
const JOB_STATES: Record<string, number> = {
  JOB_STARTING: 0,
  JOB_RUNNING: 1,
  JOB_FAILURE: 2,
  JOB_SUCCESS: 3,
  JOB_KILLED: 4,
  JOB_MERGING: 5,
  JOB_EGRESSING: 6,
};

const CLUSTER_ROLES = new Set(['UNDEFINED', 'SUPER', 'FS']);

// ------------------------------------------------------------------ lookups

/**
 * Lookups the model has no public form of, built once and extended as
 * commits arrive (the commit table only ever appends): repo indexes by name,
 * the children of each commit, and the client-side IDs of commits the model
 * made (clients send those back, and the table knows them by another name).
 */
interface Lookups {
  seen: number;
  repoIndex: Map<string, number>;
  children: Map<number, number[]>;
  synthetic: Map<string, number>;
}

const lookupsByModel = new WeakMap<ClusterModel, Lookups>();

function lookups(c: SandboxCluster): Lookups {
  const m = c.model;
  let l = lookupsByModel.get(m);
  if (!l) {
    l = { seen: 0, repoIndex: new Map(), children: new Map(), synthetic: new Map() };
    lookupsByModel.set(m, l);
  }
  // Repos are never removed, and the model indexes them in creation order.
  for (let i = l.repoIndex.size; i < m.repos.size; i++) l.repoIndex.set(m.repoName(i), i);
  const t = m.commits;
  for (; l.seen < t.size; l.seen++) {
    const commit = l.seen;
    const parent = t.parent(commit);
    if (parent >= 0) {
      const kids = l.children.get(parent);
      if (kids) kids.push(commit);
      else l.children.set(parent, [commit]);
    }
    if (t.flags(commit) & SYNTHETIC) l.synthetic.set(`${t.repoOf(commit)}\u0000${c.commitId(commit)}`, commit);
  }
  return l;
}

/** A branch pachd has (not a name only a commit's provenance used). */
function realBranch(m: ClusterModel, id: number): BranchState | undefined {
  const b = m.branches[id];
  return b && b.madeBy !== 'provenance' ? b : undefined;
}

/**
 * `repo@idOrBranch` as pachd resolves it: a commit ID, else a branch's head,
 * with pachd's ancestry suffixes (`master^`, `master~2`, `<id>^^`). -1 when
 * nothing matches, the branch is headless or the ancestry runs out.
 */
function resolve(c: SandboxCluster, repo: string, ref: string): number {
  const m = c.model;
  const l = lookups(c);
  const r = l.repoIndex.get(repo);
  if (r === undefined || !ref) return -1;
  const ancestry = /^(.+?)((?:[\^~]\d*)+)$/.exec(ref);
  const base = ancestry ? ancestry[1]! : ref;
  let up = 0;
  for (const step of ancestry?.[2]!.match(/[\^~]\d*/g) ?? []) up += step.length > 1 ? Number(step.slice(1)) : 1;
  // A commit the model made is known to clients by its cluster-side ID only, never by the model's name for it.
  let commit = m.commits.find(r, base);
  if (commit >= 0 && m.commits.flags(commit) & SYNTHETIC && c.commitId(commit) !== base) commit = -1;
  if (commit < 0) commit = l.synthetic.get(`${r}\u0000${base}`) ?? -1;
  if (commit < 0) {
    const b = m.repos.get(repo)!.branches.get(base);
    commit = b === undefined ? -1 : (realBranch(m, b)?.head ?? -1);
  }
  for (; commit >= 0 && up > 0; up--) commit = m.commits.parent(commit);
  return commit;
}

// ------------------------------------------------------------------ shapes

function timestamp(sec: number): Msg {
  let whole = Math.floor(sec);
  let nanos = Math.round((sec - whole) * 1e9);
  if (nanos === 1e9) [whole, nanos] = [whole + 1, 0];
  return { seconds: whole, nanos };
}

function commitRef(c: SandboxCluster, commit: number): Msg {
  return { repo: { name: c.model.repoName(c.model.commits.repoOf(commit)) }, id: c.commitId(commit) };
}

function branchRef(m: ClusterModel, id: number): Msg {
  const b = m.branches[id]!;
  return { repo: { name: b.repo }, name: b.name };
}

/** Branch ids reachable from `id` through `next` (provenance or subvenance), nearest first. */
function closure(m: ClusterModel, id: number, next: (b: BranchState) => number[]): number[] {
  const seen = new Set<number>();
  const queue = [...next(m.branches[id]!)];
  for (let i = 0; i < queue.length; i++) {
    const b = queue[i]!;
    if (seen.has(b)) continue;
    seen.add(b);
    queue.push(...next(m.branches[b]!));
  }
  return [...seen].filter((b) => realBranch(m, b));
}

function repoInfo(c: SandboxCluster, name: string): Msg {
  const m = c.model;
  const repo = m.repos.get(name)!;
  const branches = [...repo.branches.values()].filter((b) => realBranch(m, b));
  // pachd keeps a repo's size as that of its master head.
  const master = repo.branches.get('master');
  const head = master === undefined ? -1 : (realBranch(m, master)?.head ?? -1);
  return {
    repo: { name },
    // Restore creates every repo, so pachd would say it was created at restore time.
    created: timestamp(m.now),
    size_bytes: head >= 0 ? m.commits.sizeBytes(head) : 0,
    description: repo.description,
    branches: branches.map((b) => branchRef(m, b)),
  };
}

function branchInfo(c: SandboxCluster, id: number): Msg {
  const m = c.model;
  const b = m.branches[id]!;
  const info: Msg = { name: b.name, branch: branchRef(m, id) };
  if (b.head >= 0) info.head = commitRef(c, b.head);
  info.provenance = closure(m, id, (x) => x.provenance).map((p) => branchRef(m, p));
  info.direct_provenance = b.provenance.filter((p) => realBranch(m, p)).map((p) => branchRef(m, p));
  info.subvenance = closure(m, id, (x) => x.subvenance).map((s) => branchRef(m, s));
  return info;
}

function commitInfo(c: SandboxCluster, commit: number, l: Lookups): Msg {
  const m = c.model;
  const t = m.commits;
  const info: Msg = { commit: commitRef(c, commit) };
  const parent = t.parent(commit);
  if (parent >= 0) info.parent_commit = commitRef(c, parent);
  info.child_commits = (l.children.get(commit) ?? []).map((k) => commitRef(c, k));
  const branch = t.branch(commit);
  if (branch >= 0 && realBranch(m, branch)) info.branch = branchRef(m, branch);
  // pachd keeps a commit's provenance sorted by repo, then branch.
  const provenance = t.provenance(commit).map(([pc, pb]) => {
    const p: Msg = { commit: commitRef(c, pc) };
    if (pb >= 0) p.branch = branchRef(m, pb);
    return p;
  });
  const key = (p: Msg): string => `${p.commit.repo.name}\u0000${p.branch?.name ?? ''}`;
  info.provenance = provenance.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  // A commit the model made has no times yet: pachd would start it when the restore made it.
  const started = t.started(commit);
  info.started = timestamp(Number.isFinite(started) ? started : m.now);
  const finished = t.finished(commit);
  if (t.flags(commit) & FINISHED && Number.isFinite(finished)) info.finished = timestamp(finished);
  info.size_bytes = t.sizeBytes(commit);
  info.origin = { kind: ORIGIN_KINDS[t.origin(commit)] ?? 'USER' };
  return info;
}

/**
 * A pipeline's input rebuilt from the model, which keeps the flat list of its
 * leaf inputs but not how cross, union, join and group combined them: one
 * input stands alone, several are shown as one union. 1.7's atom inputs are
 * pfs inputs in 1.13's schema (pachd 1.8 converts them).
 */
function pipelineInput(inputs: PipelineInput[]): Msg | undefined {
  const leaves = inputs.map((i): Msg => {
    switch (i.kind) {
      case 'cron':
        return { cron: { name: i.name, repo: i.repo } };
      case 'git':
        return { git: { name: i.name, branch: i.branch } };
      default:
        return { pfs: { name: i.name, repo: i.repo, branch: i.branch, glob: i.glob } };
    }
  });
  if (leaves.length <= 1) return leaves[0];
  return { union: leaves };
}

function specCommit(c: SandboxCluster, name: string, stated: string | null): Msg | undefined {
  const m = c.model;
  if (!m.repos.has(SPEC_REPO)) return undefined;
  const commit = stated ? resolve(c, SPEC_REPO, stated) : resolve(c, SPEC_REPO, name);
  if (commit >= 0) return commitRef(c, commit);
  return stated ? { repo: { name: SPEC_REPO }, id: stated } : undefined;
}

function pipelineInfo(c: SandboxCluster, name: string): Msg {
  const p = c.model.pipelines.get(name)!;
  const info: Msg = { pipeline: { name } };
  const input = pipelineInput(p.inputs);
  if (input) info.input = input;
  info.output_branch = p.outputBranch;
  info.enable_stats = p.stats;
  const spec = specCommit(c, name, p.specCommit);
  if (spec) info.spec_commit = spec;
  // Restored pipelines are running as far as the sandbox knows (it runs no workers).
  info.state = 'PIPELINE_RUNNING';
  const counts: Record<string, number> = {};
  for (const [state, n] of p.jobs) {
    const code = JOB_STATES[state] ?? (/^\d+$/.test(state) ? Number(state) : undefined);
    if (code !== undefined) counts[code] = (counts[code] ?? 0) + n;
  }
  info.job_counts = counts;
  return info;
}

/** A job ID as pachd shows one (32 hex), the same for the same cluster, pipeline and position. */
function jobId(c: SandboxCluster, pipeline: string, n: number): string {
  return createHash('sha256').update(`${c.clusterId}/${pipeline}/${n}`).digest('hex').slice(0, 32);
}

// ------------------------------------------------------------------ calls

/** ListRepo: pfs.RepoInfo of every repo but `__spec__` (pachd hides it from ListRepo), newest first. */
export function listRepos(c: SandboxCluster): Msg[] {
  return [...c.model.repos.keys()]
    .filter((name) => name !== SPEC_REPO)
    .reverse()
    .map((name) => repoInfo(c, name));
}

/** InspectRepo: pfs.RepoInfo (`__spec__` included), or undefined when there is no such repo. */
export function inspectRepo(c: SandboxCluster, name: string): Msg | undefined {
  return c.model.repos.has(name) ? repoInfo(c, name) : undefined;
}

/**
 * ListBranch: pfs.BranchInfo of `repo`'s branches ('' = every repo's), newest
 * first. `provenance` and `subvenance` are transitive, `direct_provenance` as set.
 */
export function listBranches(c: SandboxCluster, repo: string): Msg[] {
  const m = c.model;
  const out: Msg[] = [];
  for (let id = m.branches.length - 1; id >= 0; id--) {
    const b = m.branches[id]!;
    if (b.madeBy === 'provenance' || (repo && b.repo !== repo)) continue;
    out.push(branchInfo(c, id));
  }
  return out;
}

export interface CommitQuery {
  repo: string;
  /** A branch name or commit ID (ancestry suffixes allowed): only that commit and its ancestors. */
  to?: string;
  /** At most this many (0 or absent: all). */
  number?: number;
  /** Oldest first. */
  reverse?: boolean;
}

/**
 * ListCommit: pfs.CommitInfo, newest first; with `to`, that commit and its
 * ancestors. `number` keeps the newest ones, and `reverse` then lists those
 * oldest first, as pachd limits before it reverses. Unknown repo or `to`: [].
 */
export function listCommits(c: SandboxCluster, req: CommitQuery): Msg[] {
  const m = c.model;
  const l = lookups(c);
  const r = l.repoIndex.get(req.repo);
  if (r === undefined) return [];
  const limit = req.number && req.number > 0 ? req.number : Infinity;
  const picked: number[] = [];
  if (req.to) {
    for (let commit = resolve(c, req.repo, req.to); commit >= 0 && picked.length < limit; commit = m.commits.parent(commit)) picked.push(commit);
  } else {
    for (let commit = m.commits.size - 1; commit >= 0 && picked.length < limit; commit--) {
      if (m.commits.repoOf(commit) === r) picked.push(commit);
    }
  }
  if (req.reverse) picked.reverse();
  return picked.map((commit) => commitInfo(c, commit, l));
}

/** InspectCommit: pfs.CommitInfo of a commit ID or a branch's head (ancestry suffixes allowed), or undefined. */
export function inspectCommit(c: SandboxCluster, repo: string, idOrBranch: string): Msg | undefined {
  const commit = resolve(c, repo, idOrBranch);
  return commit < 0 ? undefined : commitInfo(c, commit, lookups(c));
}

/**
 * ListPipeline: pps.PipelineInfo, newest first: name, input (see
 * pipelineInput), output branch, stats, spec commit, state and job_counts
 * (keyed by pps.JobState number, as the schema's map<int32, int32> is).
 */
export function listPipelines(c: SandboxCluster): Msg[] {
  return [...c.model.pipelines.keys()].reverse().map((name) => pipelineInfo(c, name));
}

export function inspectPipeline(c: SandboxCluster, name: string): Msg | undefined {
  return c.model.pipelines.has(name) ? pipelineInfo(c, name) : undefined;
}

/**
 * ListJob: pps.JobInfo, one per job the model counted (it keeps counts by
 * state, not the jobs), of one pipeline or all (newest pipeline first). A
 * job's ID is the first 32 hex digits of sha256(`clusterId/pipeline/n`), n
 * counting the pipeline's jobs from 0, so it is stable for a cluster.
 */
export function listJobs(c: SandboxCluster, pipeline?: string): Msg[] {
  const names = pipeline === undefined ? [...c.model.pipelines.keys()].reverse() : c.model.pipelines.has(pipeline) ? [pipeline] : [];
  const out: Msg[] = [];
  for (const name of names) {
    let n = 0;
    for (const [state, count] of c.model.pipelines.get(name)!.jobs) {
      const known = state in JOB_STATES ? state : /^\d+$/.test(state) ? Number(state) : 'JOB_STARTING';
      for (let i = 0; i < count; i++) out.push({ job: { id: jobId(c, name, n++) }, pipeline: { name }, state: known });
    }
  }
  return out;
}

/** WhoAmI: auth.WhoAmIResponse for `subject`; an admin holds the SUPER cluster role. */
export function whoAmI(c: SandboxCluster, subject: string): Msg {
  const roles = (c.model.auth.roleBindings.get(subject) ?? []).filter((r) => CLUSTER_ROLES.has(r));
  return { username: subject, is_admin: roles.includes('SUPER'), cluster_roles: { roles } };
}
