/**
 * ClusterModel: the metadata of a pachd cluster, and the rules its Restore
 * applies op by op (../shared/pachyderm/SEMANTICS.md §3–5): repos, commits
 * (BuildCommit), branches (CreateBranch, with propagation to output
 * branches), pipelines (CreatePipeline: output and stats branches, spec
 * commits), jobs, objects, blocks and tags, auth and enterprise.
 *
 * It holds metadata only. Object and block bytes are hashed on the way past
 * (lib/replay/replay.ts) and forgotten; commits live in typed columns
 * (commit-table.ts). Each op is checked the way pachd of the emulated version
 * checks it; a violation becomes a Problem with pachd's meaning, and the op is
 * applied as far as it makes sense so that one bad op is reported once
 * rather than as a cascade of follow-on failures.
 */
import { CommitTable, FINISHED, HAS_TREE, SYNTHETIC } from './commit-table.js';
import { HashSet } from './hash-set.js';
import { isRedacted } from './redacted.js';
import { PROBLEMS, type Problem, type ProblemCode } from './problems.js';

/** A decoded protobufjs message (field names as in the schema, snake_case). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;

export const SPEC_REPO = '__spec__';
const VALID_NAME = /^[a-zA-Z0-9_-]+$/;
const OBJECT_HASH = /[0-9a-f]{128}/;

export interface RepoState {
  name: string;
  description: string;
  /** Branch ids by name. */
  branches: Map<string, number>;
  /** Commits restored from the stream (not counting the ones pachd would make). */
  commits: number;
  /** Who made it: an op of the stream, pachd at startup, or a pipeline (its output repo). */
  madeBy: 'repo op' | 'pachd' | 'pipeline' | 'target';
  record: number;
}

export interface BranchState {
  id: number;
  repo: string;
  name: string;
  head: number;
  /** Direct provenance, as branch ids. */
  provenance: number[];
  /** Direct subvenance: branches that name this one in their provenance. */
  subvenance: number[];
  /**
   * What made it: a branch op, a commit op's branch field, or pachd (pipeline output and stats
   * branches, provenance upserts). 'provenance' is only a name a commit's provenance used:
   * pachd has no such branch until something restores or upserts it.
   */
  madeBy: 'branch op' | 'commit op' | 'pachd' | 'provenance';
}

export interface PipelineInput {
  kind: 'pfs' | 'atom' | 'cron' | 'git';
  name: string;
  repo: string;
  branch: string;
  glob: string;
}

export interface PipelineState {
  name: string;
  record: number;
  inputs: PipelineInput[];
  outputBranch: string;
  stats: boolean;
  salt: boolean;
  specCommit: string | null;
  /** Jobs restored, by state name. */
  jobs: Map<string, number>;
  /** Distinct input commits the jobs pachd will run after the restore read (the #3864 cost). */
  recomputeInputs: Set<number>;
  /** Output commits pachd makes, per branch of the output repo (`master`, `stats`, …); those on the output branch are its jobs. */
  recomputeCommits: Map<string, number>;
}

export interface AuthState {
  enterprise: boolean;
  /** The activation code's expiry (RFC 3339, not a secret), once activated. */
  enterpriseExpiry: string | null;
  active: boolean;
  tokens: number;
  tokenSubjects: string[];
  roleBindings: Map<string, string[]>;
  config: { providers: string[] } | null;
  acls: Map<string, Array<{ username: string; scope: string }>>;
  /** Secrets replaced by pach-filter --redact placeholders, by field name. */
  redacted: Record<string, number>;
}

export interface ModelOptions {
  /** Op version of the stream (1.7 … 1.13). */
  streamVersion: string;
  /** pachd release to emulate (its minor version's rules); default: the stream's. */
  pachdVersion?: string;
  /** The time the restore runs at (seconds since the epoch), for expirations; default: now. */
  now?: number;
}

/** Where the op being applied sits in the stream. */
export interface OpContext {
  record: number;
  kind: string;
}

const ORIGIN: Record<string, number> = { USER: 0, AUTO: 1, FSCK: 2 };

/** A protobufjs Long, number or string as a number. */
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  const l = v as { toNumber?: () => number };
  return l.toNumber ? l.toNumber() : Number(v);
}

/** A google.protobuf.Timestamp as seconds, NaN when unset. */
export function seconds(t: Msg | null | undefined): number {
  if (!t) return NaN;
  return num(t.seconds) + num(t.nanos) / 1e9;
}

function minor(version: string): number {
  const m = /^1\.(\d+)/.exec(version);
  if (!m) throw new Error(`not a 1.x version: ${version}`);
  return Number(m[1]);
}

export class ClusterModel {
  /** Op version of the stream being applied (a dry run `--onto` a target applies two). */
  streamVersion: string;
  readonly pachdVersion: string;
  /** Emulated pachd minor version and the stream's. */
  private readonly v: number;
  private sv: number;
  readonly now: number;

  readonly repos = new Map<string, RepoState>();
  private readonly repoIndex = new Map<string, number>();
  private readonly repoNames: string[] = [];
  readonly commits = new CommitTable();
  readonly branches: BranchState[] = [];
  private readonly branchIds = new Map<string, number>();
  readonly pipelines = new Map<string, PipelineState>();
  readonly auth: AuthState = { enterprise: false, enterpriseExpiry: null, active: false, tokens: 0, tokenSubjects: [], roleBindings: new Map(), config: null, acls: new Map(), redacted: {} };
  readonly objects = new HashSet();
  readonly blocks = new HashSet();
  /** Bytes of the ≤ 1.8 objects and 1.9+ blocks the stream holds, the object-index entries and tags. */
  objectBytes = 0;
  blockBytes = 0;
  tags = 0;
  objectIndex = 0;

  /** How many branches and commits the target cluster held before the restore (`settle`). */
  settled = { branches: 0, commits: 0 };
  /** Problems in stream order. */
  readonly problems: Problem[] = [];
  /** Ops pachd answers "already exists" to and Restore ignores, by kind. */
  readonly ignored: Record<string, number> = {};
  /** What the restore would create, by kind (repos, commits, branches, …). */
  readonly created: Record<string, number> = {};
  /** Commits that reference a tree or datums object, for the no-objects check. */
  private treeRefs = 0;
  private readonly tokenHashes = new Set<string>();
  private syntheticIds = 0;
  /** An activate_enterprise op failed: auth's own failure would only repeat it. */
  private enterpriseRefused = false;
  private ctx: OpContext = { record: -1, kind: '' };

  constructor(opts: ModelOptions) {
    this.streamVersion = opts.streamVersion;
    this.pachdVersion = opts.pachdVersion ?? opts.streamVersion;
    this.sv = minor(this.streamVersion);
    this.v = minor(this.pachdVersion);
    this.now = opts.now ?? Date.now() / 1000;
    // pachd 1.9+ makes the spec repo when it starts; the dump's repo op for it is then ignored.
    if (this.v >= 9) this.makeRepo(SPEC_REPO, '', 'pachd', -1);
  }

  /** pachd 1.6/1.7 skip an op they do not know instead of failing. */
  get ignoresUnknownOps(): boolean {
    return this.v <= 7;
  }

  /** The stream's ops are newer than the emulated pachd can read: nothing applies. */
  get tooNew(): boolean {
    return this.v < this.sv;
  }

  /** The next ops come from another stream, in op version `version`. */
  useStream(version: string): void {
    this.streamVersion = version;
    this.sv = minor(version);
  }

  /**
   * Everything applied so far is the target cluster as it stands (`--onto`): from now on the
   * counts, problems and recompute figures are the restore's own. Returns the target's problems.
   */
  settle(): Problem[] {
    const target = this.problems.splice(0);
    this.settled = { branches: this.branches.length, commits: this.commits.size };
    for (const bucket of [this.created, this.ignored]) for (const k of Object.keys(bucket)) delete bucket[k];
    this.objectBytes = this.blockBytes = this.objectIndex = this.tags = 0;
    for (const r of this.repos.values()) if (r.madeBy !== 'pachd') r.madeBy = 'target';
    for (const p of this.pipelines.values()) {
      p.recomputeInputs.clear();
      p.recomputeCommits.clear();
    }
    return target;
  }

  /** Sets the op the following calls apply (for problem locations). */
  at(ctx: OpContext): void {
    this.ctx = ctx;
  }

  report(code: ProblemCode, names: string[], message: string, pachd?: string): void {
    this.problems.push({ code, severity: PROBLEMS[code].severity, record: this.ctx.record, kind: this.ctx.kind, names, message, pachd });
  }

  private count(bucket: Record<string, number>, kind: string, n = 1): void {
    bucket[kind] = (bucket[kind] ?? 0) + n;
  }

  // ---------------------------------------------------------------- names

  /** pachd 1.9+ renames; older pachd refuses. Returns the name pachd would use, or undefined when it refuses. */
  private checkName(what: string, name: string): string | undefined {
    if (VALID_NAME.test(name)) return name;
    if (this.v >= 9 && name !== '') {
      const clean = name.replace(/[^a-zA-Z0-9_-]/g, '_');
      this.report('PACH_NAME_SANITIZED', [name], `${what} name ${JSON.stringify(name)} is restored as ${JSON.stringify(clean)}`, `pachd ${this.pachdVersion} replaces characters outside [a-zA-Z0-9_-] with _`);
      return clean;
    }
    this.report('PACH_INVALID_NAME', [name], `${what} name ${JSON.stringify(name)} is not valid`, `name (${name}) invalid: only alphanumeric characters, underscores, and dashes are allowed`);
    return undefined;
  }

  // ---------------------------------------------------------------- repos

  private makeRepo(name: string, description: string, madeBy: RepoState['madeBy'], record: number): RepoState {
    const repo: RepoState = { name, description, branches: new Map(), commits: 0, madeBy, record };
    this.repos.set(name, repo);
    this.repoIndex.set(name, this.repoNames.length);
    this.repoNames.push(name);
    return repo;
  }

  repoName(index: number): string {
    return this.repoNames[index]!;
  }

  private needRepo(name: string, what: string): RepoState | undefined {
    const repo = this.repos.get(name);
    if (!repo) this.report('PACH_REPO_NOT_FOUND', [name], `${what}: repo ${name} does not exist`, `/pachyderm_pfs/repos/ ${name} not found`);
    return repo;
  }

  applyRepo(op: Msg): void {
    const raw: string = op.repo?.name ?? '';
    const name = this.checkName('repo', raw);
    if (name === undefined) return;
    const existing = this.repos.get(name);
    if (existing) {
      this.count(this.ignored, 'repo');
      if (existing.madeBy !== 'pachd') {
        const by = existing.madeBy === 'target' ? 'in the target cluster' : existing.madeBy === 'pipeline' ? `made by pipeline ${name}'s creation` : `made by record ${existing.record}`;
        this.report('PACH_REPO_EXISTS', [name], `repo ${name} already exists (${by}): pachd ignores this op${(op.description ?? '') !== existing.description ? ', so its description is not applied' : ''}`, this.v >= 9 ? `repo ${name} already exists (ignored by restore)` : `cannot create "${name}" as it already exists (ignored by restore)`);
      }
      return;
    }
    this.makeRepo(name, op.description ?? '', 'repo op', this.ctx.record);
    this.count(this.created, 'repo');
  }

  // ---------------------------------------------------------------- branches

  branchKey(repo: string, name: string): string {
    return `${repo}@${name}`;
  }

  branchId(repo: string, name: string): number {
    return this.branchIds.get(this.branchKey(repo, name)) ?? -1;
  }

  branchName(id: number): string {
    const b = this.branches[id];
    return b ? this.branchKey(b.repo, b.name) : '';
  }

  /** The branch, made headless if it is new (pachd upserts provenance branches the same way). */
  /**
   * The branch, made headless if it is new. A branch the stream restores (`branch op`,
   * `commit op`) takes over one pachd made; one pachd upserts (`pachd`) takes over a name only
   * commit provenance used.
   */
  private ensureBranch(repo: RepoState, name: string, madeBy: BranchState['madeBy']): BranchState {
    const key = this.branchKey(repo.name, name);
    let id = this.branchIds.get(key);
    if (id === undefined) {
      id = this.branches.length;
      this.branches.push({ id, repo: repo.name, name, head: -1, provenance: [], subvenance: [], madeBy });
      this.branchIds.set(key, id);
      repo.branches.set(name, id);
      if (restored(madeBy)) this.count(this.created, 'branch');
      return this.branches[id]!;
    }
    const b = this.branches[id]!;
    if (restored(madeBy) && !restored(b.madeBy)) {
      b.madeBy = madeBy;
      this.count(this.created, 'branch');
    } else if (madeBy === 'pachd' && b.madeBy === 'provenance') {
      b.madeBy = 'pachd';
    }
    return b;
  }

  /** A branch pachd makes headless when something names it as provenance. */
  private upsertBranch(repo: RepoState, name: string): BranchState {
    return this.ensureBranch(repo, name, 'pachd');
  }

  private setProvenance(b: BranchState, provenance: number[]): void {
    for (const p of b.provenance) {
      const up = this.branches[p]!;
      up.subvenance = up.subvenance.filter((s) => s !== b.id);
    }
    b.provenance = provenance;
    for (const p of provenance) this.branches[p]!.subvenance.push(b.id);
  }

  /** Every branch upstream of `b` (its provenance, transitively). */
  private fullProvenance(b: number): Set<number> {
    const seen = new Set<number>();
    const stack = [...this.branches[b]!.provenance];
    while (stack.length) {
      const p = stack.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      stack.push(...this.branches[p]!.provenance);
    }
    return seen;
  }

  applyBranch(op: Msg): void {
    const head: Msg | null = op.head ?? null;
    let repoName: string;
    let name: string;
    if (op.branch) {
      repoName = op.branch.repo?.name ?? '';
      name = op.branch.name ?? '';
    } else {
      repoName = head?.repo?.name ?? '';
      const s = this.checkName('branch', op.s_branch ?? '');
      if (s === undefined) return;
      name = s;
    }
    const key = this.branchKey(repoName, name);
    const where = `branch ${key}`;
    const repo = this.needRepo(repoName, where);
    if (!repo) return;
    if (!VALID_NAME.test(name)) {
      this.report('PACH_INVALID_NAME', [key], `branch name ${JSON.stringify(name)} is not valid`, `branch name (${name}) invalid: only alphanumeric characters, underscores, and dashes are allowed`);
      return;
    }
    let headCommit = -1;
    if (head && head.id) {
      const headRepo: string = head.repo?.name ?? repoName;
      headCommit = this.resolveCommit(headRepo, head.id);
      if (headCommit < 0) {
        this.report('PACH_COMMIT_NOT_FOUND', [key, `${headRepo}@${head.id}`], `${where}: head commit ${headRepo}@${head.id} does not exist`, `commit ${head.id} not found in repo ${headRepo}`);
        return;
      }
    }
    // Provenance: every named branch must be in an existing repo (missing branches are upserted
    // headless once the op is accepted); the branch may not name itself.
    const named: Array<[RepoState, string]> = [];
    let refused = false;
    for (const p of (op.provenance ?? []) as Msg[]) {
      const pRepo = p.repo?.name ?? '';
      const pName = p.name ?? '';
      if (pRepo === repoName && pName === name) {
        this.report('PACH_BRANCH_SELF_PROVENANCE', [key], `${where} names itself in its provenance`, this.v <= 7 ? `provenance loop, branch ${repoName}/${name} cannot be provenance for itself` : `branch ${repoName}@${name} cannot be in its own provenance`);
        refused = true;
        continue;
      }
      const up = this.needRepo(pRepo, `${where}: provenance ${this.branchKey(pRepo, pName)}`);
      if (up) named.push([up, pName]);
      else refused = true;
    }
    // pachd 1.7 refuses a head together with provenance outright.
    if (this.v <= 7 && headCommit >= 0 && named.length) {
      this.report('PACH_BRANCH_HEAD_PROVENANCE', [key], `${where} has both a head and provenance, which pachd 1.7 refuses`, `cannot point branch "${name}" at target commit "${repoName}/${this.commits.id(headCommit)}" without clearing its provenance`);
      return;
    }
    // A head whose provenance on a provenance branch is not that branch's current head is refused.
    if (headCommit >= 0) {
      for (const [up, pName] of named) {
        const p = this.branchId(up.name, pName);
        const upHead = p < 0 ? -1 : this.branches[p]!.head;
        if (upHead < 0) continue; // not restored yet, or headless: nothing to disagree with
        const provCommit = this.commits.provenanceOn(headCommit, p);
        if (provCommit >= 0 && provCommit !== upHead) {
          const c = this.commitLabel(headCommit);
          this.report('PACH_BRANCH_HEAD_PROVENANCE', [key, c, this.branchName(p)], `${where}: head ${c} has ${this.commitLabel(provCommit)} as provenance on ${this.branchName(p)}, whose head is ${this.commitLabel(upHead)}`, `cannot create branch "${name}" with commit "${this.commits.id(headCommit)}" as head because commit has "${this.commits.id(provCommit)}" as provenance but that commit is not the head of branch "${pName}"`);
          refused = true;
        }
      }
    }
    // pachd applies nothing of a refused CreateBranch.
    if (refused) return;
    const prov = named.map(([up, pName]) => this.upsertBranch(up, pName).id);
    const isNew = this.branchId(repoName, name) < 0;
    const b = this.ensureBranch(repo, name, 'branch op');
    b.madeBy = 'branch op';
    if (op.provenance?.length || isNew) this.setProvenance(b, prov);
    const moved = headCommit >= 0 && b.head !== headCommit;
    if (headCommit >= 0) b.head = headCommit;
    this.propagateFrom(b.id, moved);
  }

  // ---------------------------------------------------------------- commits

  /** `repo@id` for people; a commit the model made stands for what pachd would make. */
  private commitLabel(c: number): string {
    const repo = this.repoName(this.commits.repoOf(c));
    return this.commits.flags(c) & SYNTHETIC ? `${repo}@<an output commit pachd makes>` : `${repo}@${this.commits.id(c)}`;
  }

  private resolveCommit(repo: string, id: string): number {
    const r = this.repoIndex.get(repo);
    if (r === undefined) return -1;
    const c = this.commits.find(r, id);
    if (c >= 0) return c;
    // A branch name resolves to its head, as pachd resolves `repo@branch`.
    const b = this.branchIds.get(this.branchKey(repo, id));
    return b === undefined ? -1 : this.branches[b]!.head;
  }

  applyCommit(op: Msg): void {
    const parent: Msg | null = op.parent ?? null;
    if (!parent) {
      this.report('PACH_COMMIT_NO_PARENT', [op.ID ?? ''], `commit ${op.ID ?? ''} has no parent field (pachd needs at least the repo there)`, 'parent cannot be nil');
      return;
    }
    const repoName: string = parent.repo?.name ?? '';
    const id: string = op.ID || `restored-${++this.syntheticIds}`;
    const label = `${repoName}@${id}`;
    const repo = this.needRepo(repoName, `commit ${label}`);
    if (!repo) return;
    const r = this.repoIndex.get(repoName)!;
    if (this.commits.find(r, id) >= 0) {
      this.count(this.ignored, 'commit');
      return;
    }

    const firstProblem = this.problems.length;
    // pachd's own converters (1.10 → 1.11 and every hop after) drop a commit's times and
    // origin, so a stream older than the pachd restoring it keeps neither.
    const converted = this.sv < this.v;
    let finished = converted ? NaN : seconds(op.finished);
    let started = converted ? NaN : seconds(op.started);
    const hasTree = !!(op.tree?.hash || op.trees?.length);
    // Finished iff it carries a tree, trees or a finished time; from 1.10.3 restore stamps the
    // rest finished too. Either way a missing finished time is the time of the restore.
    const isFinished = hasTree || !Number.isNaN(finished) || this.v >= 10;
    if (isFinished && Number.isNaN(finished)) finished = this.now;
    if (Number.isNaN(started)) started = Number.isNaN(finished) ? this.now : finished;
    else if (!Number.isNaN(finished) && finished < started) started = finished;

    // The branch (1.7/1.8 dumps set it): upserted to this commit; its head is the default parent.
    let branch: BranchState | undefined;
    const branchName: string = op.branch ?? '';
    if (branchName) {
      if (!VALID_NAME.test(branchName)) {
        this.report('PACH_INVALID_NAME', [label], `commit ${label}: branch name ${JSON.stringify(branchName)} is not valid`, `branch name (${branchName}) invalid: only alphanumeric characters, underscores, and dashes are allowed`);
      } else {
        branch = this.ensureBranch(repo, branchName, 'commit op');
        // pachd refuses to start a commit on an output branch, before it looks at the parent.
        const specInRequest = ((op.provenance ?? []) as Msg[]).some((p) => ((this.sv >= 9 ? p.commit : p)?.repo?.name ?? '') === SPEC_REPO);
        const upstream = branch.provenance.filter((b) => this.branches[b]!.repo !== SPEC_REPO);
        if (upstream.length && !hasTree && !specInRequest) {
          this.report('PACH_OUTPUT_BRANCH_COMMIT', [label, this.branchKey(repoName, branchName)], `commit ${label} is started on ${this.branchKey(repoName, branchName)}, an output branch`, 'cannot start a commit on an output branch');
        }
      }
    }
    let parentCommit = -1;
    const parentId: string = parent.id || (branch && branch.head >= 0 ? this.commits.id(branch.head) : '');
    if (parentId) {
      parentCommit = this.resolveCommit(repoName, parentId);
      const parentLabel = parentCommit >= 0 ? this.commitLabel(parentCommit) : `${repoName}@${parentId}`;
      if (parentCommit < 0) {
        this.report('PACH_PARENT_NOT_FOUND', [label, parentLabel], `commit ${label}: parent ${parentLabel} does not exist`, `parent commit ${parentId} not found in repo ${repoName}`);
      } else if (!(this.commits.flags(parentCommit) & FINISHED)) {
        this.report('PACH_PARENT_NOT_FINISHED', [label, parentLabel], `commit ${label}: parent ${parentLabel} is open`, `parent commit ${repoName}@${parentId} has not been finished`);
      }
    }

    // Provenance: 1.7/1.8 list commits, 1.9+ (commit, branch) pairs; the full set adds theirs.
    const full: Array<[number, number]> = [];
    const seenBranch = new Map<number, number>();
    let provOk = true;
    const addProv = (c: number, b: number, direct: boolean): void => {
      if (b < 0) {
        // A 1.7/1.8 provenance commit whose branch is unknown: nothing to compare it with.
        if (!full.some(([x]) => x === c)) full.push([c, b]);
        return;
      }
      const had = seenBranch.get(b);
      if (had === undefined) {
        seenBranch.set(b, c);
        full.push([c, b]);
      } else if (had !== c && direct) {
        this.report('PACH_PROVENANCE_SAME_BRANCH', [label, this.branchName(b)], `commit ${label}: provenance holds two commits of ${this.branchName(b)} (${this.commits.id(had)} and ${this.commits.id(c)})`, 'the commit provenance contains multiple commits from the same branch');
        provOk = false;
      }
    };
    for (const p of (op.provenance ?? []) as Msg[]) {
      const commit: Msg | null = this.sv >= 9 ? (p.commit ?? null) : p;
      const pRepo: string = commit?.repo?.name ?? '';
      const pId: string = commit?.id ?? '';
      const c = this.resolveCommit(pRepo, pId);
      if (c < 0) {
        this.report('PACH_PROVENANCE_NOT_FOUND', [label, `${pRepo}@${pId}`], `commit ${label}: provenance commit ${pRepo}@${pId} does not exist`, `commit ${pId} not found in repo ${pRepo}`);
        provOk = false;
        continue;
      }
      let b = -1;
      if (this.sv >= 9 && p.branch) {
        const pr = this.repos.get(p.branch.repo?.name ?? '');
        b = pr ? this.ensureBranch(pr, p.branch.name ?? '', 'provenance').id : -1;
      } else {
        b = this.commits.branch(c);
      }
      addProv(c, b, true);
      for (const [cc, bb] of this.commits.provenance(c)) addProv(cc, bb, false);
    }
    if (branch && branch.provenance.length && provOk) {
      const upstream = this.fullProvenance(branch.id);
      for (const [c, b] of full) {
        if (b < 0 || upstream.has(b) || this.branches[b]?.repo === SPEC_REPO) continue;
        this.report('PACH_PROVENANCE_NOT_IN_BRANCH', [label, this.branchName(b)], `commit ${label}: provenance on ${this.branchName(b)}, which ${this.branchKey(repoName, branchName)} is not provenant on (commit ${this.commits.id(c)})`, 'the commit provenance contains a branch which the branch is not provenant on');
      }
    }
    // A commit pachd refuses is still kept (so its children are checked on their own), but it is not also "open".
    const refused = this.problems.slice(firstProblem).some((p) => p.severity === 'error');
    if (!isFinished && !refused) {
      this.report('PACH_OPEN_COMMIT', [label], `commit ${label} has no tree and no finished time: pachd ${this.pachdVersion} restores it open, without its data`, 'the commit stays open (#4676); commits built on it fail with "has not been finished"');
    }

    const kindOf = converted ? 0 : (op.origin?.kind ?? 0);
    const origin = typeof kindOf === 'string' ? (ORIGIN[kindOf] ?? 0) : num(kindOf);
    const c = this.commits.add({
      repo: r,
      id,
      parent: parentCommit,
      branch: branch ? branch.id : parentCommit >= 0 ? this.commits.branch(parentCommit) : -1,
      flags: (isFinished ? FINISHED : 0) | (hasTree ? HAS_TREE : 0),
      origin,
      size: num(op.size_bytes),
      started,
      finished: isFinished ? finished : NaN,
      provenance: full,
    });
    repo.commits++;
    this.count(this.created, 'commit');
    this.checkTreeObjects(op, label);
    if (branch) {
      const moved = branch.head !== c;
      branch.head = c;
      this.propagateFrom(branch.id, moved);
    }
  }

  /** Trees and datums point at objects; the stream should hold them (or the target's object store must). */
  private checkTreeObjects(op: Msg, label: string): void {
    const refs: string[] = [];
    if (op.tree?.hash) refs.push(op.tree.hash);
    for (const t of (op.trees ?? []) as Msg[]) if (t.hash) refs.push(t.hash);
    if (op.datums?.hash) refs.push(op.datums.hash);
    if (!refs.length) return;
    this.treeRefs++;
    const missing = refs.filter((h) => !this.objects.has(h));
    if (!missing.length) return;
    if (this.objects.size === 0 && this.blocks.size === 0) return; // reported once for the stream (see finish)
    // pachd 1.7 and 1.8 read the tree in BuildCommit, and every release from 1.8 reads a 1.7 tree to convert it.
    if (op.tree?.hash && missing.includes(op.tree.hash) && (this.sv === 7 || this.v === 8)) {
      const why = this.sv === 7 && this.v >= 8 ? 'reads it to convert the 1.7 tree' : 'reads it to build the commit';
      this.report('PACH_TREE_NOT_FOUND', [label], `commit ${label}: its tree object ${short(op.tree.hash)} is not in the stream, and pachd ${this.pachdVersion} ${why}`, `error creating commit: objectInfoGetter: object ${op.tree.hash} not found`);
      return;
    }
    this.report('PACH_MISSING_OBJECT', [label, ...missing.map(short)], `commit ${label}: ${missing.length} tree/datums object(s) not in the stream (${missing.map(short).join(', ')}); its files will not be readable unless the target's object store holds them`, 'accepted; reading the commit later fails with "object not found"');
  }

  // ---------------------------------------------------------------- propagation

  /**
   * After `from`'s head is set, pachd gives every downstream branch whose head
   * does not yet descend from the current upstream heads a new output commit
   * (a job to run). Restored 1.9+ dumps already hold those commits, so nothing
   * is made; 1.6–1.8 dumps hold no output commits, so every input commit is.
   */
  private propagateFrom(from: number, moved: boolean): void {
    if (!this.branches[from]!.subvenance.length) return;
    // Downstream branches in an order where each comes after its upstreams.
    const down = new Set<number>();
    const stack = [...this.branches[from]!.subvenance];
    while (stack.length) {
      const d = stack.pop()!;
      if (down.has(d)) continue;
      down.add(d);
      stack.push(...this.branches[d]!.subvenance);
    }
    const done = new Set<number>();
    const order: number[] = [];
    const visit = (d: number): void => {
      if (done.has(d)) return;
      done.add(d);
      for (const p of this.branches[d]!.provenance) if (down.has(p)) visit(p);
      order.push(d);
    };
    for (const d of down) visit(d);
    for (const d of order) this.propagateTo(d, moved);
  }

  private propagateTo(d: number, moved: boolean): void {
    const b = this.branches[d]!;
    const upstream = [...this.fullProvenance(d)];
    const heads = upstream.map((p) => [this.branches[p]!.head, p] as [number, number]).filter(([h]) => h >= 0);
    if (!heads.length) return;
    if (b.head >= 0) {
      const stale = heads.some(([h, p]) => this.commits.provenanceOn(b.head, p) !== h);
      if (!stale) return;
    } else if (!moved && !heads.some(([, p]) => this.branches[p]!.repo !== SPEC_REPO)) {
      return;
    }
    const c = this.commits.add({
      repo: this.repoIndex.get(b.repo)!,
      id: `propagated-${++this.syntheticIds}`,
      parent: b.head,
      branch: d,
      flags: SYNTHETIC,
      origin: ORIGIN.AUTO!,
      size: 0,
      started: NaN,
      finished: NaN,
      provenance: heads,
    });
    b.head = c;
    const pipeline = this.pipelines.get(b.repo);
    if (pipeline) pipeline.recomputeCommits.set(b.name, (pipeline.recomputeCommits.get(b.name) ?? 0) + 1);
    if (pipeline && b.name === pipeline.outputBranch) {
      for (const p of b.provenance) {
        const h = this.branches[p]!.head;
        if (h >= 0 && this.branches[p]!.repo !== SPEC_REPO) pipeline.recomputeInputs.add(h);
      }
    }
  }

  // ---------------------------------------------------------------- pipelines

  private inputsOf(input: Msg | null | undefined, pipeline: string, out: PipelineInput[]): void {
    if (!input) return;
    for (const kind of ['pfs', 'atom'] as const) {
      const i = input[kind];
      if (i) out.push({ kind, name: i.name || i.repo || '', repo: i.repo ?? '', branch: i.branch || 'master', glob: i.glob ?? '' });
    }
    if (input.cron) out.push({ kind: 'cron', name: input.cron.name ?? '', repo: input.cron.repo || `${pipeline}_${input.cron.name ?? ''}`, branch: 'master', glob: '/*' });
    if (input.git) out.push({ kind: 'git', name: input.git.name ?? '', repo: input.git.name ?? '', branch: input.git.branch || 'master', glob: '/' });
    for (const group of ['cross', 'union', 'join', 'group']) for (const i of (input[group] ?? []) as Msg[]) this.inputsOf(i, pipeline, out);
  }

  applyPipeline(op: Msg): void {
    const raw: string = op.pipeline?.name ?? '';
    const name = this.checkName('pipeline', raw);
    if (name === undefined) return;
    if (this.pipelines.has(name)) {
      this.count(this.ignored, 'pipeline');
      return;
    }
    const inputs: PipelineInput[] = [];
    this.inputsOf(op.input, name, inputs);
    let ok = true;
    for (const i of inputs) {
      if (i.kind === 'cron' || i.kind === 'git') {
        if (!this.repos.has(i.repo)) this.makeRepo(i.repo, '', 'pipeline', this.ctx.record);
        continue;
      }
      if (this.v >= 9) {
        const repo = this.checkName('input repo', i.repo);
        const branch = this.checkName('input branch', i.branch);
        if (repo === undefined || branch === undefined) ok = false;
        else Object.assign(i, { repo, branch });
      }
      if (!this.repos.has(i.repo)) {
        this.report('PACH_PIPELINE_INPUT_NOT_FOUND', [name, i.repo], `pipeline ${name}: input repo ${i.repo} does not exist`, `error creating pipeline: /pachyderm_pfs/repos/ ${i.repo} not found`);
        ok = false;
      }
    }
    const outputBranch: string = op.output_branch || 'master';
    let specCommit: string | null = null;
    if (op.spec_commit?.id) {
      specCommit = op.spec_commit.id as string;
      if (this.resolveCommit(op.spec_commit.repo?.name || SPEC_REPO, specCommit) < 0) {
        this.report('PACH_SPEC_COMMIT_NOT_FOUND', [name, `${SPEC_REPO}@${specCommit}`], `pipeline ${name}: spec commit ${SPEC_REPO}@${specCommit} does not exist`, `error inspecting spec commit: commit ${specCommit} not found in repo ${SPEC_REPO}`);
        ok = false;
      } else if ((this.branches[this.branchId(name, outputBranch)]?.madeBy ?? 'provenance') === 'provenance') {
        // With a spec commit pachd reuses the restored output branch, so it must be there.
        const ob = outputBranch;
        this.report('PACH_OUTPUT_BRANCH_NOT_FOUND', [name, this.branchKey(name, ob)], `pipeline ${name} names a spec commit, but its output branch ${this.branchKey(name, ob)} was not restored before it`, `could not create/update output branch: unable to inspect ${name}@${ob}: /pachyderm_pfs/branches/${name}/ ${ob} not found`);
        ok = false;
      }
    }
    if (!ok) return;

    const state: PipelineState = {
      name,
      record: this.ctx.record,
      inputs,
      outputBranch,
      stats: !!op.enable_stats,
      // 1.7 pipelines lose their salt in the 1.7→1.8 conversion, and pachd 1.8 clears every salt.
      salt: !!op.salt && !(this.sv === 7 && this.v >= 8) && this.v !== 8,
      specCommit,
      jobs: new Map(),
      recomputeInputs: new Set(),
      recomputeCommits: new Map(),
    };
    this.pipelines.set(name, state);
    this.count(this.created, 'pipeline');

    // The spec commit and branch (1.9+): reused when the dump names one, made otherwise.
    const provenance: number[] = [];
    if (this.v >= 9) {
      const spec = this.repos.get(SPEC_REPO) ?? this.makeRepo(SPEC_REPO, '', 'pachd', -1);
      const sb = this.upsertBranch(spec, name);
      if (!specCommit) {
        const parent = sb.head;
        sb.head = this.commits.add({ repo: this.repoIndex.get(SPEC_REPO)!, id: `spec-${++this.syntheticIds}`, parent, branch: sb.id, flags: FINISHED | SYNTHETIC, origin: 0, size: 0, started: this.now, finished: this.now, provenance: [] });
      }
      provenance.push(sb.id);
    }
    for (const i of inputs) {
      const repo = this.repos.get(i.repo);
      if (repo) provenance.push(this.upsertBranch(repo, i.branch).id);
    }
    let out = this.repos.get(name);
    if (!out) out = this.makeRepo(name, `Output repo for pipeline ${name}.`, 'pipeline', this.ctx.record);
    const spout = !!op.spout;
    const ob = this.upsertBranch(out, state.outputBranch);
    this.setProvenance(ob, spout ? [] : provenance);
    if (state.stats) {
      const sb = this.upsertBranch(out, 'stats');
      this.setProvenance(sb, [ob.id]);
    }
    for (const p of provenance) this.propagateFrom(p, false);
  }

  applyJob(op: Msg): void {
    const name: string = op.pipeline?.name ?? '';
    const pipeline = this.pipelines.get(name);
    if (!pipeline) {
      this.report('PACH_PIPELINE_NOT_FOUND', [name], `job of pipeline ${name}, which does not exist`, `/pachyderm_pps/pipelines/ ${name} not found`);
      return;
    }
    const state = typeof op.state === 'string' ? op.state : String(op.state ?? 'JOB_STARTING');
    pipeline.jobs.set(state, (pipeline.jobs.get(state) ?? 0) + 1);
    this.count(this.created, 'job');
  }

  // ---------------------------------------------------------------- objects, blocks, tags

  addObject(hash: string, bytes: number): void {
    this.objects.add(hash);
    this.objectBytes += bytes;
    this.count(this.created, 'object');
  }

  addBlock(hash: string, bytes: number): void {
    this.blocks.add(hash);
    this.blockBytes += bytes;
    this.count(this.created, 'block');
  }

  applyCreateObject(op: Msg): void {
    const hash: string = op.object?.hash ?? '';
    const block: string = op.block_ref?.block?.hash ?? '';
    this.objectIndex++;
    this.objects.add(hash);
    if (block && this.blocks.size > 0 && !this.blocks.has(block)) {
      this.report('PACH_MISSING_OBJECT', [short(hash), block], `object ${short(hash)} is indexed into block ${block}, which the stream does not hold`, 'accepted; reading the object later fails');
    }
    this.count(this.created, 'create_object');
  }

  applyTag(op: Msg): void {
    const hash: string = op.object?.hash ?? '';
    if (!OBJECT_HASH.test(hash)) {
      this.report('PACH_INVALID_OBJECT_HASH', [hash], `tag target ${JSON.stringify(hash)} is not a 128-character hex hash`, 'invalid object hash in op');
      return;
    }
    if (!this.objects.has(hash)) {
      // TagObject checks the object exists, and extract writes every object before the tags.
      const tags = (op.tags ?? []).map((t: Msg) => t.name).join(', ');
      this.report('PACH_TAG_OBJECT_NOT_FOUND', [short(hash)], `tag ${tags} points at object ${short(hash)}, which the stream does not hold before it (pachd refuses it unless its object store already has the object)`, `error tagging object: object hash:"${hash}" does not exist`);
      return;
    }
    this.tags += (op.tags ?? []).length || 1;
    this.count(this.created, 'tag');
  }

  // ---------------------------------------------------------------- auth and enterprise

  applyActivateEnterprise(op: Msg): void {
    if (isRedacted(op.activation_code)) {
      // pach-filter --redact: the code is not in the stream to check; whoever restores supplies it.
      this.noteRedacted('activation_code');
      this.auth.enterprise = true;
      this.count(this.created, 'activate_enterprise');
      return;
    }
    const code = checkActivationCode(String(op.activation_code ?? ''), this.now);
    if (code.problem) {
      this.enterpriseRefused = true;
      this.report(code.problem, [], code.message, `error activating enterprise license: error validating activation code: ${code.pachd}`);
      return;
    }
    this.auth.enterprise = true;
    this.auth.enterpriseExpiry = code.expiry ?? null;
    this.count(this.created, 'activate_enterprise');
  }

  applyActivateAuth(): void {
    if (this.auth.active) {
      this.report('PACH_AUTH_ACTIVE', [], 'auth is activated a second time', 'already activated');
      return;
    }
    if (!this.auth.enterprise && !this.enterpriseRefused) {
      this.report('PACH_ENTERPRISE_INACTIVE', [], 'auth is activated but no activate_enterprise op came before it (fine only if the target cluster already has enterprise active)', 'Pachyderm Enterprise is not active in this cluster, and the Pachyderm auth API is an Enterprise-level feature');
    }
    this.auth.active = true;
    // The restoring caller's token becomes the root token: pach:root is a cluster admin.
    this.auth.roleBindings.set('pach:root', ['SUPER']);
    this.count(this.created, 'activate_auth');
  }

  private noteRedacted(field: string): void {
    this.auth.redacted[field] = (this.auth.redacted[field] ?? 0) + 1;
  }

  private needAuth(what: string): boolean {
    if (this.auth.active) return true;
    this.report('PACH_AUTH_INACTIVE', [], `${what} before activate_auth`, 'the auth service is not activated');
    return false;
  }

  applyRestoreAuthToken(op: Msg): void {
    if (!this.needAuth('restore_auth_token')) return;
    const token: Msg = op.token ?? {};
    const subject: string = token.token_info?.subject ?? '';
    const expiration = seconds(token.expiration);
    if (!Number.isNaN(expiration) && expiration <= this.now) {
      this.report('PACH_TOKEN_EXPIRED', [subject], `token of ${subject || 'an unnamed subject'} expired at ${new Date(expiration * 1000).toISOString()}`, 'token is expired');
      return;
    }
    const hash: string = token.hashed_token ?? '';
    if (isRedacted(hash)) this.noteRedacted('hashed_token');
    if (this.tokenHashes.has(hash)) {
      this.report('PACH_TOKEN_EXISTS', [subject], `a token of ${subject || 'an unnamed subject'} is restored twice (same hash)`, 'cannot overwrite existing token with same hash');
      return;
    }
    this.tokenHashes.add(hash);
    this.auth.tokens++;
    if (subject && !this.auth.tokenSubjects.includes(subject)) this.auth.tokenSubjects.push(subject);
    this.count(this.created, 'restore_auth_token');
  }

  /** Whether a token with this hash is restored (pach-restore's resume checks an op in doubt). */
  hasToken(hash: string): boolean {
    return this.tokenHashes.has(hash);
  }

  applyRoleBinding(op: Msg): void {
    if (!this.needAuth('set_cluster_role_binding')) return;
    const roles = ((op.roles?.roles ?? []) as unknown[]).map((r) => String(r));
    if (roles.length) this.auth.roleBindings.set(op.principal ?? '', roles);
    else this.auth.roleBindings.delete(op.principal ?? '');
    this.count(this.created, 'set_cluster_role_binding');
  }

  applyAuthConfig(op: Msg): void {
    if (!this.needAuth('set_auth_config')) return;
    const version = num(op.configuration?.live_config_version);
    if (version !== 0) {
      this.report('PACH_AUTH_CONFIG_VERSION', [], `auth config has live_config_version ${version}; extract writes 0 so that pachd assigns the next one`, `expected live config version ${version}, but new live config has version 2`);
      return;
    }
    const providers = ((op.configuration?.id_providers ?? []) as Msg[]).map((p) => String(p.name ?? ''));
    this.auth.config = { providers };
    this.count(this.created, 'set_auth_config');
  }

  applyAcl(op: Msg): void {
    if (!this.needAuth('set_acl')) return;
    // A cluster admin's SetACL skips the repo check (the restoring caller is one).
    const repo: string = op.repo ?? '';
    this.auth.acls.set(repo, ((op.entries ?? []) as Msg[]).map((e) => ({ username: String(e.username ?? ''), scope: String(e.scope ?? 'NONE') })));
    this.count(this.created, 'set_acl');
  }

  // ---------------------------------------------------------------- end of stream

  /** Checks that need the whole stream. */
  finish(): void {
    if (this.treeRefs > 0 && this.objects.size === 0 && this.blocks.size === 0) {
      this.at({ record: -1, kind: '' });
      const into17 = this.sv === 7 && this.v >= 8 ? `; pachd ${this.pachdVersion} reads every 1.7 tree to convert it, so they must be in its object store` : '';
      this.report('PACH_NO_OBJECTS', [], `${this.treeRefs} commits point at trees, and the stream holds no objects (extracted with --no-objects): restore it only onto the object store it was extracted from${into17}`, 'accepted; commits whose objects are missing cannot be read (#4677)');
    }
  }

}

interface CodeCheck {
  problem?: 'PACH_BAD_ACTIVATION_CODE' | 'PACH_ACTIVATION_EXPIRED';
  message: string;
  pachd?: string;
  expiry?: string;
}

/**
 * What pachd checks of an activation code offline, short of its signature:
 * base64 JSON {token, signature} whose token is JSON with an RFC 3339 expiry
 * in the future. The code itself never appears in a message.
 */
export function checkActivationCode(code: string, now: number): CodeCheck {
  const bad = (pachd: string): CodeCheck => ({ problem: 'PACH_BAD_ACTIVATION_CODE', message: `the enterprise activation code is malformed (${pachd})`, pachd });
  if (!code || !/^[A-Za-z0-9+/=_-]+$/.test(code)) return bad('activation code is not base64 encoded');
  let outer: { token?: unknown; signature?: unknown };
  try {
    outer = JSON.parse(Buffer.from(code, 'base64').toString('utf8')) as typeof outer;
  } catch {
    return bad('activation code is not valid JSON');
  }
  if (typeof outer.signature !== 'string' || !/^[A-Za-z0-9+/=]*$/.test(outer.signature)) return bad('signature is not base64 encoded');
  let token: { expiry?: unknown };
  try {
    token = JSON.parse(String(outer.token)) as typeof token;
  } catch {
    return bad('token is not valid JSON');
  }
  const expiry = typeof token.expiry === 'string' ? token.expiry : '';
  const at = Date.parse(expiry);
  if (!expiry || Number.isNaN(at)) return bad('expiration is not valid ISO 8601 string');
  if (at / 1000 <= now) {
    return { problem: 'PACH_ACTIVATION_EXPIRED', message: `the enterprise activation code expired at ${expiry} (checked at ${new Date(now * 1000).toISOString()}; --at sets that time)`, pachd: 'the activation code has expired', expiry };
  }
  return { message: '', expiry };
}

/** A branch the stream restores, as opposed to one pachd makes or a name provenance uses. */
function restored(madeBy: BranchState['madeBy']): boolean {
  return madeBy === 'branch op' || madeBy === 'commit op';
}

function short(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 12)}…` : hash;
}
