/**
 * Pachyderm's own extract/restore tests (src/server/admin/server/admin_test.go,
 * ../shared/pachyderm/SEMANTICS.md §7), ported to the replay model where it can
 * answer them: each cluster state the Go test builds is written here as the
 * small stream pachd's Extract would write for it (SEMANTICS §2.3 op order),
 * and the real executables say what a restore of it gives — `pach-filter
 * --list/--verify` for the restored state, `pach-restore --dry-run` for what
 * pachd would compute afterwards. The two migration tests run on the real
 * dumps of etc/testing/migration (SEMANTICS §7.1).
 *
 * Expectations are derived from the streams (the branch and commit ops the
 * test wrote) or taken from Pachyderm's test and SEMANTICS, never pasted from
 * a run.
 */
import t, { type Test } from 'tap';
import { AUTH_DUMP, SORT_DUMP } from '../helpers/run.js';
import {
  blockObjects,
  branch,
  branchOf,
  commit,
  commitId,
  expectedBranches,
  expectedCommits,
  job,
  listedCommit,
  listOf,
  ndjson,
  objectHash,
  objectRefs,
  objects17,
  pipeline,
  planOf,
  repo,
  repoOf,
  verifyOf,
  type Op,
} from '../helpers/streams.js';
import type { Contents } from '../../lib/replay/report.js';

/** The 1.11 dump's enterprise code expired 2021-08-24; the dump was made 2020-12-15. */
const AUTH_AT = ['--at', '2020-12-16T00:00:00Z'];
/** Seconds: a December 2020 afternoon, for commit and job times. */
const T0 = 1608060000;

/** The stream with its objects first (blocks and object index), as Extract writes it when it has objects (1.9+). */
function withObjects(ops: Op[]): Op[] {
  return [...blockObjects(objectRefs(ops)), ...ops];
}

/**
 * Restored-state checks shared by the ports: every branch op's branch is
 * listed with the head and direct provenance the op gave it, made by the
 * branch op; every repo's commit list is the stream's commit ops, in order,
 * with their parents, provenance, sizes, times, origins.
 */
function restoredAsInStream(t: Test, got: Contents, ops: readonly Op[]): void {
  const wanted = expectedBranches(ops);
  const listed = got.repos.flatMap((r) => r.branches.filter((b) => b.made_by === 'branch op').map((b) => `${r.name}@${b.name}`));
  t.same(listed.sort(), wanted.map((b) => `${b.repo}@${b.name}`).sort(), 'the restored branches are exactly those of the branch ops');
  for (const want of wanted) {
    const b = branchOf(got, `${want.repo}@${want.name}`);
    t.same(b && { head: b.head, provenance: b.provenance, made_by: b.made_by }, { head: want.head, provenance: want.provenance, made_by: 'branch op' }, `${want.repo}@${want.name}: head and provenance as the branch op gave them`);
  }
  const repos = ops.filter((o) => o.kind === 'repo').map((o) => (o.body.repo as { name: string }).name);
  for (const name of repos) {
    const r = repoOf(got, name);
    t.same((r.commit_list ?? []).map(listedCommit), expectedCommits(ops, name), `${name}: the commit list is the stream's commits`);
  }
}

// ------------------------------------------------------------------------------------------------

t.test('TestExtractRestoreHeadlessBranches: a branch with no head comes back, alone and headless', async (t) => {
  // The Go test: CreateRepo, CreateBranch(repo, "headless", "", nil), ExtractAll(no objects), DeleteAll, Restore.
  for (const version of ['1.8', '1.9', '1.10', '1.11', '1.12', '1.13']) {
    // 1.9+ extract writes the __spec__ repo op first; 1.8 has no __spec__.
    const ops = [...(version === '1.8' ? [] : [repo('__spec__')]), repo('data'), branch('data@headless')];
    const input = { text: ndjson(version, ops) };
    const { code, contents } = await listOf(input);
    t.equal(code, 0, `${version}: --list exits 0`);
    const data = repoOf(contents, 'data');
    t.same(data.branches.map((b) => [b.name, b.head, b.commits]), [['headless', null, 0]], `${version}: exactly one branch, named headless, with no head and no commits`);
    t.equal(data.commits, 0, `${version}: the repo holds no commits`);
    const v = await verifyOf(input);
    t.equal(v.code, 0, `${version}: --verify is clean ${v.stdout}`);
  }
});

// ------------------------------------------------------------------------------------------------

t.test('TestExtractRestoreStats', async (t) => {
  const spec = commitId('stats/spec');
  const [d1, d2] = [commitId('stats/d1'), commitId('stats/d2')];
  const [o1, o2] = [commitId('stats/o1'), commitId('stats/o2')];
  const [s1, s2] = [commitId('stats/s1'), commitId('stats/s2')];
  const specP = ['__spec__@' + spec, '__spec__@p'] as [string, string];
  // A 1.11 dump of: data → p (enable_stats), two input commits, each with its output and stats commit.
  const ops: Op[] = withObjects([
    repo('__spec__'),
    repo('data'),
    repo('p', 'Output repo for pipeline p.'),
    commit({ repo: '__spec__', id: spec, tree: objectHash('spec p'), size: 180, started: T0, finished: T0 + 1, origin: 'USER' }),
    commit({ repo: 'data', id: d1, tree: objectHash('data 1'), size: 10, started: T0 + 2, finished: T0 + 3, origin: 'USER' }),
    commit({ repo: 'p', id: o1, trees: [objectHash('out 1')], datums: objectHash('datums 1'), size: 10, started: T0 + 3, finished: T0 + 9, origin: 'AUTO', provenance: [specP, [`data@${d1}`, 'data@master']] }),
    commit({ repo: 'p', id: s1, trees: [objectHash('stats 1')], size: 500, started: T0 + 3, finished: T0 + 9, origin: 'AUTO', provenance: [specP, [`p@${o1}`, 'p@master'], [`data@${d1}`, 'data@master']] }),
    commit({ repo: 'data', id: d2, parent: d1, tree: objectHash('data 2'), size: 20, started: T0 + 10, finished: T0 + 11, origin: 'USER' }),
    commit({ repo: 'p', id: o2, parent: o1, trees: [objectHash('out 2')], datums: objectHash('datums 2'), size: 20, started: T0 + 11, finished: T0 + 19, origin: 'AUTO', provenance: [specP, [`data@${d2}`, 'data@master']] }),
    commit({ repo: 'p', id: s2, parent: s1, trees: [objectHash('stats 2')], size: 560, started: T0 + 11, finished: T0 + 19, origin: 'AUTO', provenance: [specP, [`p@${o2}`, 'p@master'], [`data@${d2}`, 'data@master']] }),
    branch('__spec__@p', { head: spec }),
    branch('p@master', { head: o2, provenance: ['__spec__@p', 'data@master'] }),
    branch('data@master', { head: d2 }),
    branch('p@stats', { head: s2, provenance: ['p@master'] }),
    pipeline({ name: 'p', inputs: ['data@master:/*'], stats: true, salt: 'aa55aa55aa55aa55aa55aa55aa55aa55', specCommit: spec }),
    job({ pipeline: 'p', output: o2, stats: s2, state: 'JOB_SUCCESS', started: T0 + 12, finished: T0 + 19 }),
    job({ pipeline: 'p', output: o1, stats: s1, state: 'JOB_SUCCESS', started: T0 + 4, finished: T0 + 9 }),
  ]);
  const input = { text: ndjson('1.11', ops) };

  t.test('1.9+ dump with output and stats commits: restored as it was, nothing to recompute', async (t) => {
    const { contents } = await listOf(input);
    t.same(branchOf(contents, 'p@stats')?.provenance, ['p@master'], 'p@stats has provenance p@master');
    t.equal(branchOf(contents, 'p@stats')?.commits, 2, 'p@stats holds its two restored commits');
    t.equal(branchOf(contents, 'p@master')?.commits, 2, 'p@master holds its two restored commits');
    restoredAsInStream(t, contents, ops);
    const v = await verifyOf(input);
    t.equal(v.code, 0, `--verify is clean ${v.stdout}`);
    const { code, plan } = await planOf(input);
    t.equal(code, 0);
    t.equal(plan.outcome, 'ok');
    t.same(plan.recompute, [], 'the dry run recomputes nothing: every output and stats commit is in the stream');
    t.same(plan.pachd_makes, { output_repos: 0, branches: 0, spec_commits: 0 }, 'pachd makes no repo, branch or spec commit of its own');
  });

  t.test('then one more input commit: pachd runs one job (its output commit and its stats commit)', async (t) => {
    // The Go test's "flush ⇒ 2 commits (master + stats)": the job writes one commit on each.
    const d3 = commitId('stats/d3');
    // (Its tree is one the stream already holds, so the stream needs no new object.)
    const more = [...ops, commit({ repo: 'data', id: d3, parent: d2, tree: objectHash('data 2'), size: 30, started: T0 + 30, finished: T0 + 31, origin: 'USER' }), branch('data@master', { head: d3 })];
    const { plan } = await planOf({ text: ndjson('1.11', more) });
    t.equal(plan.outcome, 'ok');
    t.same(plan.recompute, [{ pipeline: 'p', jobs: 1, input_commits: 1, output_commits: { 'p@master': 1, 'p@stats': 1 } }], 'one job, over the one new input commit: a commit on master and one on stats');
  });

  // The same pipeline in a 1.7 dump: input repo and commits only (1.6–1.8 extract writes no output repo or commit).
  const trees = ['1.7 tree d1', '1.7 tree d2', '1.7 tree d3'];
  const [e1, e2, e3] = [commitId('stats17/d1'), commitId('stats17/d2'), commitId('stats17/d3')];
  const ops17: Op[] = [
    ...objects17(trees),
    repo('data'),
    pipeline({ name: 'p', inputs: ['data@master:/*'], inputKind: 'atom', stats: true, salt: 'aa55aa55aa55aa55aa55aa55aa55aa55' }),
    commit({ repo: 'data', id: e1, tree: objectHash(trees[0]!), branch: 'master' }),
    commit({ repo: 'data', id: e2, parent: e1, tree: objectHash(trees[1]!), branch: 'master' }),
    commit({ repo: 'data', id: e3, parent: e2, tree: objectHash(trees[2]!), branch: 'master' }),
    branch('data@master', { head: e3 }),
  ];
  const input17 = { text: ndjson('1.7', ops17) };

  for (const rules of [[], ['--pachd-version', '1.13']]) {
    const label = rules.length ? 'pachd 1.13' : 'pachd 1.7';
    t.test(`1.7-style dump without output commits, into ${label}: one job per input commit`, async (t) => {
      const { code, plan } = await planOf(input17, rules);
      t.equal(code, 0, plan.stops_at?.message ?? '');
      t.equal(plan.outcome, 'ok');
      t.same(plan.recompute, [{ pipeline: 'p', jobs: 3, input_commits: 3, output_commits: { 'p@master': 3, 'p@stats': 3 } }], 'p reprocesses each of the 3 commits of data@master, with a stats commit each');
      t.equal(plan.pachd_makes.output_repos, 1, 'pachd makes the output repo p');
      const { contents } = await listOf(input17, rules);
      const stats = branchOf(contents, 'p@stats');
      t.same(stats && [stats.provenance, stats.made_by], [['p@master'], 'pachd'], 'pachd makes p@stats with provenance p@master, where the 3 jobs write their stats commits');
      t.same(branchOf(contents, 'p@master')?.provenance, rules.length ? ['__spec__@p', 'data@master'] : ['data@master'], 'p@master has the input (and, from 1.9, the spec branch) as provenance');
      t.equal(contents.problems.errors + contents.problems.hazards, 0, 'no problem');
    });
  }
});

// ------------------------------------------------------------------------------------------------

t.test('TestExtractRestoreDeferredProcessing: output branch staging, input moved staging → master', async (t) => {
  // The Go test: data; p1 (input data, output_branch "staging"); p2 (input p1@master);
  // put file on data@staging; CreateBranch data@master ← staging; flush; CreateBranch p1@master ← p1@staging.
  const [sp1, sp2] = [commitId('deferred/spec p1'), commitId('deferred/spec p2')];
  const d1 = commitId('deferred/d1');
  const o1 = commitId('deferred/p1 o1');
  const q1 = commitId('deferred/p2 q1');
  const ops: Op[] = withObjects([
    repo('__spec__'),
    repo('data'),
    repo('p1', 'Output repo for pipeline p1.'),
    repo('p2', 'Output repo for pipeline p2.'),
    commit({ repo: '__spec__', id: sp1, tree: objectHash('spec p1'), size: 200, started: T0, finished: T0 + 1 }),
    commit({ repo: '__spec__', id: sp2, tree: objectHash('spec p2'), size: 200, started: T0 + 2, finished: T0 + 3 }),
    commit({ repo: 'data', id: d1, tree: objectHash('deferred data'), size: 3, started: T0 + 4, finished: T0 + 5 }),
    commit({ repo: 'p1', id: o1, trees: [objectHash('deferred out 1')], datums: objectHash('deferred datums 1'), size: 3, started: T0 + 6, finished: T0 + 9, origin: 'AUTO', provenance: [[`__spec__@${sp1}`, '__spec__@p1'], [`data@${d1}`, 'data@master']] }),
    commit({
      repo: 'p2',
      id: q1,
      trees: [objectHash('deferred out 2')],
      datums: objectHash('deferred datums 2'),
      size: 3,
      started: T0 + 10,
      finished: T0 + 14,
      origin: 'AUTO',
      provenance: [[`__spec__@${sp1}`, '__spec__@p1'], [`__spec__@${sp2}`, '__spec__@p2'], [`data@${d1}`, 'data@master'], [`p1@${o1}`, 'p1@master']],
    }),
    branch('__spec__@p1', { head: sp1 }),
    branch('data@master', { head: d1 }),
    branch('p1@staging', { head: o1, provenance: ['__spec__@p1', 'data@master'] }),
    branch('__spec__@p2', { head: sp2 }),
    branch('p1@master', { head: o1 }),
    branch('p2@master', { head: q1, provenance: ['__spec__@p2', 'p1@master'] }),
    branch('data@staging', { head: d1 }),
    pipeline({ name: 'p1', inputs: ['data@master:/*'], outputBranch: 'staging', salt: '11111111111111111111111111111111', specCommit: sp1 }),
    job({ pipeline: 'p1', output: o1, state: 'JOB_SUCCESS', started: T0 + 6, finished: T0 + 9 }),
    pipeline({ name: 'p2', inputs: ['p1@master:/*'], salt: '22222222222222222222222222222222', specCommit: sp2 }),
    job({ pipeline: 'p2', output: q1, state: 'JOB_SUCCESS', started: T0 + 10, finished: T0 + 14 }),
  ]);
  const input = { text: ndjson('1.10', ops.map((o) => (o.kind === 'commit' ? { ...o, body: { ...o.body, origin: undefined } } : o))) };
  const input11 = { text: ndjson('1.11', ops) };

  t.test('restored branches, provenance, heads and commits are the stream\'s; verify is clean', async (t) => {
    const { contents } = await listOf(input11);
    restoredAsInStream(t, contents, ops);
    t.same(contents.pipelines.map((p) => [p.name, p.output_branch, p.inputs.map((i) => `${i.repo}@${i.branch}`)]), [['p1', 'staging', ['data@master']], ['p2', 'master', ['p1@master']]], 'p1 writes to staging; p2 reads p1@master');
    t.equal((await verifyOf(input11)).code, 0, '--verify is clean');
    t.equal((await verifyOf(input)).code, 0, 'and so is the same state as a 1.10 dump');
    const { plan } = await planOf(input11);
    t.same(plan.recompute, [], 'nothing to recompute after the restore');
  });

  t.test('deferred processing still works after the restore', async (t) => {
    // The Go test, after Restore: put file on data@staging; CreateBranch data@master ← staging;
    // CreateBranch p1@master ← p1@staging; flush. Here as ops after the dump's.
    const d2 = commitId('deferred/d2');
    const stagingOnly = [...ops, commit({ repo: 'data', id: d2, parent: d1, tree: objectHash('deferred data'), branch: 'staging', size: 6, started: T0 + 20, finished: T0 + 21 })];
    const a = await planOf({ text: ndjson('1.11', stagingOnly) });
    t.same(a.plan.recompute, [], 'a commit on data@staging alone runs nothing: p1 reads data@master');
    const masterMoved = [...stagingOnly, branch('data@master', { head: 'staging' })];
    const b = await planOf({ text: ndjson('1.11', masterMoved) });
    t.same(b.plan.recompute, [{ pipeline: 'p1', jobs: 1, input_commits: 1, output_commits: { 'p1@staging': 1 } }], 'moving data@master to staging\'s head runs p1 once, into p1@staging; p2 waits');
    const released = [...masterMoved, branch('p1@master', { head: 'staging' })];
    const c = await planOf({ text: ndjson('1.11', released) });
    t.equal(c.plan.outcome, 'ok', c.plan.stops_at?.message ?? '');
    t.same(c.plan.recompute, [{ pipeline: 'p1', jobs: 1, input_commits: 1, output_commits: { 'p1@staging': 1 } }, { pipeline: 'p2', jobs: 1, input_commits: 1, output_commits: { 'p2@master': 1 } }], 'moving p1@master to p1@staging\'s head runs p2 once');
  });
});

// ------------------------------------------------------------------------------------------------

t.test('TestExtractRestorePipelineUpdate: old output commits keep their provenance on the old input', async (t) => {
  // The Go test: in1; pipeline p on in1; put file, flush; in2; update p to input in2; put file, flush.
  const [sp1, sp2] = [commitId('update/spec 1'), commitId('update/spec 2')];
  const c1 = commitId('update/in1 c1');
  const c2 = commitId('update/in2 c2');
  const [o1, o2] = [commitId('update/o1'), commitId('update/o2')];
  const ops: Op[] = withObjects([
    repo('__spec__'),
    repo('in1'),
    repo('p', 'Output repo for pipeline p.'),
    repo('in2'),
    commit({ repo: '__spec__', id: sp1, tree: objectHash('spec p v1'), size: 150 }),
    commit({ repo: 'in1', id: c1, tree: objectHash('in1 file'), size: 4 }),
    commit({ repo: 'p', id: o1, trees: [objectHash('p out 1')], datums: objectHash('p datums 1'), size: 4, provenance: [[`__spec__@${sp1}`, '__spec__@p'], [`in1@${c1}`, 'in1@master']] }),
    // The update: a second spec commit on __spec__@p; the output branch now reads in2, which has
    // no commit yet, so pachd makes no output commit (one with only spec provenance is never made).
    commit({ repo: '__spec__', id: sp2, parent: sp1, tree: objectHash('spec p v2'), size: 150 }),
    commit({ repo: 'in2', id: c2, tree: objectHash('in2 file'), size: 4 }),
    commit({ repo: 'p', id: o2, parent: o1, trees: [objectHash('p out 2')], datums: objectHash('p datums 2'), size: 4, provenance: [[`__spec__@${sp2}`, '__spec__@p'], [`in2@${c2}`, 'in2@master']] }),
    branch('__spec__@p', { head: sp2 }),
    branch('in1@master', { head: c1 }),
    branch('p@master', { head: o2, provenance: ['__spec__@p', 'in2@master'] }),
    branch('in2@master', { head: c2 }),
    pipeline({ name: 'p', inputs: ['in2@master:/*'], salt: '33333333333333333333333333333333', specCommit: sp2 }),
    job({ pipeline: 'p', output: o2, state: 'JOB_SUCCESS' }),
    job({ pipeline: 'p', output: o1, state: 'JOB_SUCCESS' }),
  ]);
  const input = { text: ndjson('1.9', ops) };
  const v = await verifyOf(input);
  t.equal(v.code, 0, `--verify is clean ${v.stdout}`);
  const { contents } = await listOf(input);
  restoredAsInStream(t, contents, ops);
  t.same(repoOf(contents, '__spec__').commit_list?.map((c) => [c.id, c.parent]), [[sp1, null], [sp2, sp1]], 'two spec commits on __spec__@p, the second a child of the first');
  t.same(contents.pipelines.map((p) => [p.name, p.spec_commit, p.inputs.map((i) => `${i.repo}@${i.branch}`), p.jobs]), [['p', sp2, ['in2@master'], { JOB_SUCCESS: 2 }]], 'the pipeline is its updated version, with the jobs of both versions');
  t.same(repoOf(contents, 'p').commit_list?.find((c) => c.id === o1)?.provenance, [`__spec__@${sp1} (__spec__@p)`, `in1@${c1} (in1@master)`], 'the old output commit keeps the old spec and the old input as provenance');
  const { plan } = await planOf(input);
  t.same(plan.recompute, [], 'nothing to recompute');
});

// ------------------------------------------------------------------------------------------------

t.test('TestExtractRestoreFailedJobs: one successful and one failed job are both restored', async (t) => {
  const sp = commitId('failed/spec');
  const [d1, d2] = [commitId('failed/d1'), commitId('failed/d2')];
  const [o1, o2] = [commitId('failed/o1'), commitId('failed/o2')];
  const ops: Op[] = withObjects([
    repo('__spec__'),
    repo('data'),
    repo('p', 'Output repo for pipeline p.'),
    commit({ repo: '__spec__', id: sp, tree: objectHash('failed spec'), size: 160, started: T0, finished: T0 + 1 }),
    commit({ repo: 'data', id: d1, tree: objectHash('good file'), size: 4, started: T0 + 2, finished: T0 + 3 }),
    commit({ repo: 'p', id: o1, trees: [objectHash('failed out 1')], datums: objectHash('failed datums 1'), size: 4, started: T0 + 3, finished: T0 + 8, provenance: [[`__spec__@${sp}`, '__spec__@p'], [`data@${d1}`, 'data@master']] }),
    commit({ repo: 'data', id: d2, parent: d1, tree: objectHash('bad file'), size: 8, started: T0 + 9, finished: T0 + 10 }),
    // The failed job's output commit is finished empty: no tree.
    commit({ repo: 'p', id: o2, parent: o1, size: 0, started: T0 + 10, finished: T0 + 15, provenance: [[`__spec__@${sp}`, '__spec__@p'], [`data@${d2}`, 'data@master']] }),
    branch('__spec__@p', { head: sp }),
    branch('p@master', { head: o2, provenance: ['__spec__@p', 'data@master'] }),
    branch('data@master', { head: d2 }),
    pipeline({ name: 'p', inputs: ['data@master:/*'], salt: '44444444444444444444444444444444', specCommit: sp }),
    job({ pipeline: 'p', output: o2, state: 'JOB_FAILURE', reason: 'datum 1 failed', started: T0 + 10, finished: T0 + 15 }),
    job({ pipeline: 'p', output: o1, state: 'JOB_SUCCESS', started: T0 + 3, finished: T0 + 8 }),
  ]);
  const input = { text: ndjson('1.10', ops) };
  const { contents } = await listOf(input);
  t.same(contents.pipelines.map((p) => [p.name, p.jobs]), [['p', { JOB_FAILURE: 1, JOB_SUCCESS: 1 }]], 'jobs: one JOB_FAILURE, one JOB_SUCCESS');
  restoredAsInStream(t, contents, ops);
  t.equal((await verifyOf(input)).code, 0, '--verify is clean');
  const { plan } = await planOf(input);
  t.same([plan.create.job, plan.create.pipeline, plan.recompute], [2, 1, []], 'the dry run creates both jobs and the pipeline, and reruns nothing');
});

// ------------------------------------------------------------------------------------------------

t.test('TestMigrateFrom1_7: the real 1.7 dump', async (t) => {
  const dump = { file: SORT_DUMP };
  const { code, contents } = await listOf(dump);
  t.equal(code, 0);
  // ListRepo of pachd 1.9+ does not show __spec__; the 1.7 stream has none anyway.
  t.same(contents.repos.map((r) => r.name).filter((n) => n !== '__spec__').sort(), ['copy', 'left', 'right', 'sort'], 'repos: left, right, copy, sort');
  for (const name of ['left', 'right']) {
    t.equal(repoOf(contents, name).commits, 3, `${name} has 3 commits`);
    t.equal(branchOf(contents, `${name}@master`)?.commits, 3, `${name}@master reaches all 3`);
  }

  // The Go test is in admin_test.go from 1.8.8 on; pachd 1.9+ also makes a __spec__ branch and spec commit per pipeline.
  for (const pachd of ['1.13', '1.12', '1.9', '1.8']) {
    t.test(`restored into pachd ${pachd}: copy and sort recompute every input commit`, async (t) => {
      const { code, plan } = await planOf(dump, ['--pachd-version', pachd]);
      t.equal(code, 0, plan.stops_at?.message ?? '');
      t.equal(plan.outcome, 'ok');
      t.same(plan.recompute, [
        { pipeline: 'copy', jobs: 6, input_commits: 6, output_commits: { 'copy@master': 6, 'copy@stats': 6 } },
        { pipeline: 'sort', jobs: 6, input_commits: 6, output_commits: { 'sort@master': 6, 'sort@stats': 6 } },
      ], 'copy runs once per commit of left and right (6), sort once per copy commit (6): sort@stats gets 6 commits, as the Go test expects');
      const spec = pachd === '1.8' ? 0 : 2;
      t.same(plan.pachd_makes, { output_repos: 2, branches: 4 + spec, spec_commits: spec }, `pachd makes copy and sort, their master and stats branches${spec ? ', __spec__@copy and __spec__@sort with a spec commit each' : ''}`);
      t.equal(plan.needs_token, false, 'no token needed');
      const listed = await listOf(dump, ['--pachd-version', pachd]);
      for (const p of ['copy', 'sort']) {
        t.same(branchOf(listed.contents, `${p}@stats`)?.provenance, [`${p}@master`], `${p}@stats has provenance ${p}@master (a stats commit per job)`);
        t.equal(listed.contents.pipelines.find((x) => x.name === p)?.salt, false, `${p}: pachd's 1.7→1.8 conversion drops the salt`);
      }
    });
  }
});

// ------------------------------------------------------------------------------------------------

/** SEMANTICS §7.1: the 8 branches of auth.metadata and their direct provenance. */
const AUTH_BRANCHES: Record<string, string[]> = {
  '__spec__@copy': [],
  'copy@master': ['__spec__@copy', 'left@master', 'right@master'],
  'left@master': [],
  'right@master': [],
  'copy@stats': ['copy@master'],
  '__spec__@sort': [],
  'sort@master': ['__spec__@sort', 'copy@master'],
  'sort@stats': ['sort@master'],
};

t.test('TestMigrateAuthFrom1_11: the real 1.11 dump (at 2020-12-16, before its enterprise code expired)', async (t) => {
  const dump = { file: AUTH_DUMP };
  // The Go test runs at v1.12.5 and v1.13.4; the dump's own 1.11 rules first.
  for (const rules of [[], ['--pachd-version', '1.12'], ['--pachd-version', '1.13']]) {
    const label = rules.length ? `pachd ${rules[1]}` : 'pachd 1.11';
    t.test(label, async (t) => {
      const { code, contents } = await listOf(dump, [...AUTH_AT, ...rules]);
      t.equal(code, 0);
      t.same(contents.problems, { errors: 0, hazards: 0 }, 'no problem');
      const sortAcl = contents.auth.acls['sort'] ?? [];
      t.ok(sortAcl.some((e) => e.username === 'pipeline:sort' && e.scope === 'WRITER'), 'ACL of sort: pipeline:sort WRITER');
      t.ok(sortAcl.some((e) => e.username === 'robot:test' && e.scope === 'OWNER'), 'ACL of sort: robot:test OWNER');
      t.same(contents.auth.role_bindings['robot:test'], ['SUPER'], 'robot:test is SUPER');
      t.same(contents.auth.role_bindings['pach:root'], ['SUPER'], 'pach:root is SUPER (the restoring caller\'s token is the root token)');
      // "As above" (TestMigrateFrom1_7): the same four repos, left and right with 3 commits each.
      t.same(contents.repos.map((r) => r.name).filter((n) => n !== '__spec__').sort(), ['copy', 'left', 'right', 'sort'], 'repos: left, right, copy, sort');
      t.same(['left', 'right'].map((n) => branchOf(contents, `${n}@master`)?.commits), [3, 3], 'left and right have 3 commits each');
      t.equal(branchOf(contents, 'sort@stats')?.commits, 5, 'sort@stats has 5 commits');
      t.equal(contents.repos.reduce((n, r) => n + (r.commit_list?.length ?? 0), 0), 28, '28 commits');
      const restored: Record<string, string[]> = {};
      for (const r of contents.repos) for (const b of r.branches) if (b.made_by === 'branch op') restored[`${r.name}@${b.name}`] = b.provenance;
      t.same(restored, AUTH_BRANCHES, '8 restored branches, with the provenance of SEMANTICS §7.1');
      const { plan } = await planOf(dump, [...AUTH_AT, ...rules]);
      t.equal(plan.outcome, 'ok');
      t.same(plan.recompute, [], 'no recompute: every output is in the dump');
    });
  }

  t.test('run today, the restore fails at activate_enterprise: the code expired 2021-08-24', async (t) => {
    const { code, plan } = await planOf(dump, ['--at', '2021-08-25T00:00:00Z']);
    t.equal(code, 65);
    t.same(plan.stops_at && [plan.stops_at.code, plan.stops_at.kind], ['PACH_ACTIVATION_EXPIRED', 'activate_enterprise']);
  });

  t.test('pachd 1.12 and 1.13 lose commit origin and times of a 1.11 dump (their 1.11→1.12 converter drops them)', async (t) => {
    for (const pachd of ['1.12', '1.13']) {
      const { contents } = await listOf(dump, [...AUTH_AT, '--pachd-version', pachd]);
      const commits = contents.repos.flatMap((r) => r.commit_list ?? []);
      t.same([...new Set(commits.map((c) => c.origin))], ['USER'], `${pachd}: every commit restored with origin USER (the default)`);
      t.same([...new Set(commits.map((c) => c.finished_at))], ['2020-12-16T00:00:00.000Z'], `${pachd}: every commit finished at restore time`);
    }
  });
});

// ------------------------------------------------------------------------------------------------

t.test('TestExtractRestoreNoToken analogue: which dump needs a token to restore', async (t) => {
  const auth = await planOf({ file: AUTH_DUMP }, AUTH_AT);
  t.equal(auth.plan.needs_token, true, 'the 1.11 dump starts with check_auth_token: a tokenless restore fails before writing anything');
  const sort = await planOf({ file: SORT_DUMP });
  t.equal(sort.plan.needs_token, false, 'the 1.7 dump needs none');
  const hand = await planOf({ text: ndjson('1.12', [{ kind: 'check_auth_token', body: {} }, repo('a')]) });
  t.equal(hand.plan.needs_token, true, 'any stream that begins with check_auth_token does');
});
