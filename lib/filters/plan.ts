/**
 * What a filter run keeps, decided on the whole stream (graph.ts) before a
 * record is written: units (input repos; pipelines with their output repo,
 * spec branch, stats branch and jobs), the dependency closure, exclusions
 * flowing downstream, history trimming, renames. docs/pach-filter.md
 * ("Filtering") is the contract this implements.
 */
import { usageError } from '../errors.js';
import { GlobSet } from './glob.js';
import type { FilterFlags } from './command.js';
import { commitKey, SPEC_REPO, type CommitFacts, type StreamGraph } from './graph.js';

/** The filter flags a plan reads, with --since as seconds since the epoch. */
export type PlanOptions = Omit<FilterFlags, 'stripAuth' | 'stripEnterprise' | 'redact' | 'since' | 'tempDir'> & { since?: number };

/** pachd's rule for repo and pipeline names. */
const NAME = /^[a-zA-Z0-9_-]+$/;

export interface Plan {
  /** Original names of everything kept. */
  repos: Set<string>;
  pipelines: Set<string>;
  commits: Set<string>;
  branches: Set<string>;
  /** Old → new, for repo references (input repos and pipelines' output repos). */
  repoNames: Map<string, string>;
  /** Old → new, for pipeline references, `__spec__` branches and `pipeline:` principals. */
  pipelineNames: Map<string, string>;
  /** Kept pipelines whose `spec_commit` is cleared (their stored spec names old names). */
  clearSpec: Set<string>;
  /** Whether object data is pruned to what kept records reference (decided by objects.ts after the tree pass). */
  prune: boolean;
  /** Tags are kept (with their objects) when a pipeline is. */
  keepTags: boolean;
  /** Whether anything is dropped at all: when not, the run needs no plan-driven changes. */
  dropsAnything: boolean;
  /** Lines for stderr with -v: what was pulled in, and the totals dropped. */
  notes: string[];
  /** Warnings (stderr unless -q): what was dropped or changed that the flags did not name, what the output lacks (--no-deps). */
  warnings: string[];
}

function parseMap(specs: string[], flag: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw usageError(`${flag} ${JSON.stringify(spec)}: expected OLD=NEW`);
    const from = spec.slice(0, eq);
    const to = spec.slice(eq + 1);
    if (!NAME.test(to) || to === SPEC_REPO) throw usageError(`${flag} ${spec}: ${JSON.stringify(to)} is not a name pachd accepts (letters, digits, _ and - only; not ${SPEC_REPO})`);
    if (map.has(from)) throw usageError(`${flag}: ${from} is renamed twice`);
    map.set(from, to);
  }
  return map;
}

const listOf = (names: Iterable<string>): string => [...names].join(', ');

/** Decides what to keep. Usage errors (renames that cannot apply) are thrown before anything is written. */
export function makePlan(graph: StreamGraph, opts: PlanOptions): Plan {
  const notes: string[] = [];
  const warnings: string[] = [];
  const pipelines = graph.pipelines;
  const isPipeline = (name: string): boolean => pipelines.has(name);
  const inputRepos = [...graph.repos].filter((r) => r !== SPEC_REPO && !isPipeline(r));

  // ---------------------------------------------------------------- renames
  const repoMap = parseMap(opts.mapRepo, '--map-repo');
  const pipelineMap = parseMap(opts.mapPipeline, '--map-pipeline');
  for (const [from, to] of repoMap) {
    if (from === SPEC_REPO) throw usageError(`--map-repo ${from}=${to}: ${SPEC_REPO} is pachd's own repo and keeps its name`);
    if (isPipeline(from)) throw usageError(`--map-repo ${from}=${to}: ${from} is the output repo of pipeline ${from}; rename it with --map-pipeline ${from}=${to}`);
    if (!graph.repos.has(from)) throw usageError(`--map-repo ${from}=${to}: the stream has no repo ${from}`);
  }
  for (const [from, to] of pipelineMap) if (!isPipeline(from)) throw usageError(`--map-pipeline ${from}=${to}: the stream has no pipeline ${from}`);
  const repoNames = new Map([...repoMap, ...pipelineMap]);
  const finalNames = new Map<string, string>();
  for (const name of new Set([...graph.repos, ...pipelines.keys()])) {
    const to = repoNames.get(name) ?? name;
    const clash = finalNames.get(to);
    if (clash !== undefined) {
      const flag = repoMap.has(name) || repoMap.has(clash) ? '--map-repo' : '--map-pipeline';
      throw usageError(`${flag}: ${to} would name two repos (${clash} and ${name}): it is already in the stream`);
    }
    finalNames.set(to, name);
  }

  // ---------------------------------------------------------------- units
  const repoGlob = new GlobSet(opts.repo, '--repo');
  const pipelineGlob = new GlobSet(opts.pipeline, '--pipeline');
  const exRepo = new GlobSet(opts.excludeRepo, '--exclude-repo');
  const exPipeline = new GlobSet(opts.excludePipeline, '--exclude-pipeline');
  const all = repoGlob.empty && pipelineGlob.empty;
  const keptRepos = new Set(inputRepos.filter((r) => all || repoGlob.matches(r)));
  const keptPipelines = new Set([...pipelines.keys()].filter((p) => all || pipelineGlob.matches(p) || repoGlob.matches(p)));
  const excluded = new Set<string>([...inputRepos.filter((r) => exRepo.matches(r)), ...[...pipelines.keys()].filter((p) => exPipeline.matches(p) || exRepo.matches(p))]);
  for (const name of excluded) {
    keptRepos.delete(name);
    keptPipelines.delete(name);
  }

  if (opts.deps) {
    // An exclusion flows downstream: a pipeline cannot be created without its inputs.
    for (let changed = true; changed; ) {
      changed = false;
      for (const p of pipelines.values()) {
        if (excluded.has(p.name)) continue;
        const gone = p.inputs.find((i) => excluded.has(i));
        if (gone === undefined) continue;
        excluded.add(p.name);
        changed = true;
        const selected = keptPipelines.delete(p.name);
        warnings.push(`pipeline ${p.name} dropped: it reads ${gone}, which is ${exRepo.matches(gone) || exPipeline.matches(gone) ? 'excluded' : 'dropped'}${selected && !all ? ' (it was selected: an exclusion wins)' : ''}`);
      }
    }
    // A kept pipeline keeps its inputs, transitively.
    const work = [...keptPipelines];
    while (work.length) {
      const p = pipelines.get(work.pop()!)!;
      for (const input of p.inputs) {
        if (isPipeline(input)) {
          if (!keptPipelines.has(input)) {
            keptPipelines.add(input);
            work.push(input);
            if (!all) notes.push(`pipeline ${input} kept: pipeline ${p.name} reads it`);
          }
        } else if (!keptRepos.has(input) && graph.repos.has(input)) {
          keptRepos.add(input);
          if (!all) notes.push(`repo ${input} kept: pipeline ${p.name} reads it`);
        }
      }
    }
  } else {
    for (const p of keptPipelines) {
      for (const input of pipelines.get(p)!.inputs) {
        if (!keptRepos.has(input) && !keptPipelines.has(input)) warnings.push(`pipeline ${p}: input repo ${input} is not in the output`);
      }
    }
  }
  const repos = new Set([...keptRepos, ...keptPipelines]);
  if (keptPipelines.size && graph.repos.has(SPEC_REPO)) repos.add(SPEC_REPO);

  // ---------------------------------------------------------------- branches and commits
  const trim = opts.keepLast !== undefined || opts.since !== undefined;
  const commits = new Set<string>();
  const branches = new Set<string>();
  const onKeptBranch = new Set<string>();
  for (const [key, b] of graph.branches) {
    if (!repos.has(b.repo) || (b.repo === SPEC_REPO && !keptPipelines.has(b.name))) continue;
    branches.add(key);
    let c: CommitFacts | undefined = graph.commits.get(commitKey(b.repo, b.head));
    for (let pos = 0, guard = graph.commits.size; c && guard >= 0; pos++, guard--) {
      const k = commitKey(c.repo, c.id);
      onKeptBranch.add(k);
      if (trim) {
        // From the head back: N commits, and none from the first one older than --since on (the head always).
        if (opts.keepLast !== undefined && pos >= opts.keepLast) break;
        if (opts.since !== undefined && pos > 0 && c.time < opts.since) break;
        commits.add(k);
      }
      c = c.parent ? graph.commits.get(commitKey(c.repo, c.parent)) : undefined;
    }
  }
  if (!trim) {
    for (const [key, c] of graph.commits) if (c.repo === SPEC_REPO ? onKeptBranch.has(key) : repos.has(c.repo)) commits.add(key);
  }
  if (opts.since !== undefined && graph.untimedCommits > 0) warnings.push(`--since: ${graph.untimedCommits} commits carry no time (streams before 1.10) and are kept`);
  if (opts.deps) {
    const work = [...commits];
    const keep = (key: string): void => {
      if (commits.has(key) || !graph.commits.has(key)) return;
      commits.add(key);
      work.push(key);
    };
    for (const p of keptPipelines) {
      const spec = pipelines.get(p)!.specCommit;
      if (spec) keep(commitKey(SPEC_REPO, spec));
    }
    while (work.length) {
      const c = graph.commits.get(work.pop()!)!;
      for (const p of c.provenance) {
        const repo = p.slice(0, p.lastIndexOf('@'));
        if (repo === SPEC_REPO || repos.has(repo)) keep(p);
      }
      if (!trim && c.parent) keep(commitKey(c.repo, c.parent));
    }
  }
  let dangling = 0;
  for (const key of commits) for (const p of graph.commits.get(key)!.provenance) if (!commits.has(p)) dangling++;
  let danglingBranches = 0;
  for (const key of branches) for (const p of graph.branches.get(key)!.provenance) if (!branches.has(p)) danglingBranches++;
  if (dangling) warnings.push(`${dangling} commit provenance entries name commits that are not in the output; they are removed (pachd would refuse them)`);
  if (danglingBranches) warnings.push(`${danglingBranches} branch provenance entries name branches that are not in the output; they are removed`);

  // ---------------------------------------------------------------- what a rename changes in stored specs
  const clearSpec = new Set<string>();
  for (const p of keptPipelines) {
    const facts = pipelines.get(p)!;
    if (!facts.specCommit) continue;
    const renamedInput = facts.inputs.find((i) => repoNames.has(i));
    if (pipelineMap.has(p) || renamedInput !== undefined) {
      clearSpec.add(p);
      warnings.push(`pipeline ${pipelineMap.get(p) ?? p}: spec_commit cleared, because ${pipelineMap.has(p) ? `it was renamed from ${p}` : `its input ${renamedInput} is renamed`}; pachd writes a new spec commit on restore and runs it once`);
    }
  }

  const droppedRepos = [...graph.repos].filter((r) => !repos.has(r));
  const droppedPipelines = [...pipelines.keys()].filter((p) => !keptPipelines.has(p));
  // Every kept commit is one of the stream's (walks and the closure only reach those).
  const droppedCommits = graph.commits.size - commits.size;
  const droppedBranches = graph.branches.size - branches.size;
  if (droppedRepos.length) notes.push(`dropped ${droppedRepos.length} repos: ${listOf(droppedRepos)}`);
  if (droppedPipelines.length) notes.push(`dropped ${droppedPipelines.length} pipelines: ${listOf(droppedPipelines)}`);
  const dropsAnything = droppedRepos.length + droppedPipelines.length + droppedCommits + droppedBranches > 0;
  return {
    repos,
    pipelines: keptPipelines,
    commits,
    branches,
    repoNames,
    pipelineNames: pipelineMap,
    clearSpec,
    prune: opts.prune ?? dropsAnything,
    keepTags: !(opts.prune ?? dropsAnything) || keptPipelines.size > 0,
    dropsAnything,
    notes,
    warnings,
  };
}
