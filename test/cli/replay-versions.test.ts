/**
 * A dump converted to another op version replays to the same cluster as the
 * original, wherever the target version holds the same facts.
 *
 * The real 1.7 dump goes up to 1.8 … 1.13, the real 1.11 dump to 1.9, 1.10,
 * 1.12 and 1.13 (`pach-convert --to-version V`). Each stream is then replayed
 * under its own version's restore rules (`pach-filter --list --format json
 * --commits`, `pach-restore --dry-run`), and the two cluster states are
 * compared through an explicit view that leaves out only what one of the two
 * versions cannot hold (SEMANTICS §3.2, DESIGN §3) and what pachd of one of
 * the two versions makes or drops by itself (SEMANTICS §3.3, §4.3):
 *
 * - HOLDS below is what a stream of each op version can carry;
 * - PACHD below is what pachd of each version adds or clears on restore;
 * - view() is the one place that turns a listing into the compared facts.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Contents, Plan } from '../../lib/replay/report.js';
import { AUTH_DUMP, SORT_DUMP, runTool, tempDir } from '../helpers/run.js';
import { listOf, planOf } from '../helpers/streams.js';

function minor(version: string): number {
  return Number(/^1\.(\d+)$/.exec(version)![1]);
}

/**
 * What a stream of op version V can carry (SEMANTICS §2.1–2.3, §3.2):
 * - commit `started`/`finished` times: 1.10+ (BuildCommitRequest fields 10, 11);
 * - commit `origin`: 1.11+ (field 12);
 * - jobs and a pipeline's `spec_commit`: 1.9+ (1.6–1.8 extract has neither);
 * - auth and enterprise ops: 1.11+ (Op1_11 fields 11–17).
 * Everything else compared here — repos, commits with parent, size and tree,
 * branches with head and provenance, pipeline inputs, output branch, stats,
 * salt — every version from 1.7 holds. (1.7/1.8 commit provenance is a list
 * of commits, 1.9+ of (commit, branch) pairs, but neither dump has input
 * commits with provenance, and 1.7/1.8 dumps hold no output commits.)
 */
interface Holds {
  commitTimes: boolean;
  origin: boolean;
  jobsAndSpecCommits: boolean;
  auth: boolean;
}

function holds(version: string): Holds {
  const m = minor(version);
  return { commitTimes: m >= 10, origin: m >= 11, jobsAndSpecCommits: m >= 9, auth: m >= 11 };
}

/** Facts both versions hold. */
function both(a: string, b: string): Holds {
  const x = holds(a);
  const y = holds(b);
  return { commitTimes: x.commitTimes && y.commitTimes, origin: x.origin && y.origin, jobsAndSpecCommits: x.jobsAndSpecCommits && y.jobsAndSpecCommits, auth: x.auth && y.auth };
}

/**
 * What pachd of version V does by itself on restore, so what the view
 * normalises:
 * - 1.9+ makes the `__spec__` repo at startup, and for a pipeline restored
 *   without a spec commit a `__spec__@<pipeline>` branch and spec commit;
 *   its output branch then has `__spec__@<pipeline>` in its provenance.
 *   The view leaves out branches pachd made in `__spec__` and the
 *   `__spec__@…` entries of the provenance of branches pachd made.
 * - pachd 1.8 clears every restored pipeline's salt (SEMANTICS §3.3), so
 *   salt is not compared against a 1.8 stream; its own subtest says what
 *   1.8 should show.
 * - Inputs: a 1.7 `atom` input is a `pfs` input from 1.8 on (the 1.7→1.8
 *   hop); the view names both `pfs`.
 */
const PACHD = {
  makesSpecRepo: (v: string) => minor(v) >= 9,
  clearsSalt: (v: string) => minor(v) === 8,
};

/** Repos whose content the stream restores: made by a repo op, or holding restored commits or branches. */
function restoredRepos(c: Contents): Contents['repos'] {
  return c.repos.filter((r) => r.made_by === 'repo op' || (r.commit_list ?? []).length > 0 || r.branches.some((b) => b.made_by !== 'pachd'));
}

/** The compared facts of a listing and its plan, given what both versions hold and whether salt can be compared. */
function view(c: Contents, plan: Plan, common: Holds, compareSalt: boolean) {
  const repos = restoredRepos(c);
  return {
    repos: repos.map((r) => ({ name: r.name, description: r.description, made_by: r.made_by, commits: r.commits, size_bytes: r.size_bytes })).sort(byName),
    // Branches the stream restores (a branch op or a 1.7/1.8 commit op's branch field made them).
    restored_branches: c.repos
      .flatMap((r) => r.branches.filter((b) => b.made_by !== 'pachd').map((b) => ({ name: `${r.name}@${b.name}`, head: b.head, commits: b.commits, provenance: b.provenance, made_by: b.made_by })))
      .sort(byName),
    // Branches pachd makes for the pipelines (output and stats branches), without its __spec__ bookkeeping.
    pachd_branches: c.repos
      .filter((r) => r.name !== '__spec__')
      .flatMap((r) => r.branches.filter((b) => b.made_by === 'pachd').map((b) => ({ name: `${r.name}@${b.name}`, head: b.head, commits: b.commits, provenance: b.provenance.filter((p) => !p.startsWith('__spec__@')) })))
      .sort(byName),
    commits: Object.fromEntries(
      repos.map((r) => [
        r.name,
        (r.commit_list ?? []).map((x) => ({
          id: x.id,
          parent: x.parent,
          branch: x.branch,
          provenance: x.provenance,
          finished: x.finished,
          size_bytes: x.size_bytes,
          tree: x.tree,
          ...(common.commitTimes ? { started: x.started, finished_at: x.finished_at } : {}),
          ...(common.origin ? { origin: x.origin } : {}),
        })),
      ]),
    ),
    pipelines: c.pipelines.map((p) => ({
      name: p.name,
      inputs: p.inputs.map((i) => ({ ...i, kind: i.kind === 'atom' ? 'pfs' : i.kind })),
      output_branch: p.output_branch,
      stats: p.stats,
      ...(compareSalt ? { salt: p.salt } : {}),
      ...(common.jobsAndSpecCommits ? { spec_commit: p.spec_commit, jobs: p.jobs } : {}),
    })),
    ...(common.auth ? { auth: c.auth, enterprise: c.enterprise } : {}),
    // What pachd would compute after the restore.
    recompute: plan.recompute,
    problems: c.problems,
  };
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

interface Replayed {
  contents: Contents;
  plan: Plan;
}

async function replay(file: string, at: string[]): Promise<Replayed> {
  const [listed, planned] = await Promise.all([listOf({ file }, at), planOf({ file }, at)]);
  if (listed.code !== 0) throw new Error(`--list ${file}: exit ${listed.code}: ${listed.stderr}`);
  return { contents: listed.contents, plan: planned.plan };
}

const FAMILIES = [
  { name: 'the 1.7 dump', file: SORT_DUMP, version: '1.7', targets: ['1.8', '1.9', '1.10', '1.11', '1.12', '1.13'], at: [] as string[] },
  // The 1.11 dump's enterprise code expired 2021-08-24: replay it as of the day after it was made.
  { name: 'the 1.11 dump', file: AUTH_DUMP, version: '1.11', targets: ['1.9', '1.10', '1.12', '1.13'], at: ['--at', '2020-12-16T00:00:00Z'] },
];

for (const family of FAMILIES) {
  t.test(`${family.name} converted to another version replays to the same cluster`, async (t) => {
    const dir = tempDir(t);
    const original = await replay(family.file, family.at);
    t.same(original.contents.problems, { errors: 0, hazards: 0 }, `${family.name} replays clean under ${family.version} rules`);

    for (const target of family.targets) {
      t.test(`${family.version} → ${target}`, async (t) => {
        const out = path.join(dir, `${target}.native`);
        const conv = await runTool('pach-convert', ['--to-version', target, '-q', family.file, '-o', out]);
        t.equal(conv.code, 0, `pach-convert --to-version ${target}: exit 0 ${conv.stderr}`);
        t.ok(fs.existsSync(out));
        const converted = await replay(out, family.at);
        t.equal(converted.contents.stream.op_version, target, `the converted stream is a ${target} stream, replayed under ${target} rules`);
        const common = both(family.version, target);
        const compareSalt = !PACHD.clearsSalt(family.version) && !PACHD.clearsSalt(target);
        t.same(view(converted.contents, converted.plan, common, compareSalt), view(original.contents, original.plan, common, compareSalt), `same repos, branches, commits, pipelines${common.jobsAndSpecCommits ? ', jobs' : ''}${common.auth ? ', auth' : ''} and recompute (times: ${common.commitTimes}, origin: ${common.origin})`);

        // What the target cannot hold is gone, not invented.
        const h = holds(target);
        const commits = converted.contents.repos.flatMap((r) => r.commit_list ?? []);
        if (!h.origin) t.same([...new Set(commits.map((c) => c.origin))], ['USER'], `${target} holds no origin: every commit is USER, pachd's default`);
        if (!h.commitTimes && holds(family.version).commitTimes) {
          const had = new Set(original.contents.repos.flatMap((r) => r.commit_list ?? []).flatMap((c) => [c.started, c.finished_at]));
          t.notOk(commits.some((c) => had.has(c.started) || had.has(c.finished_at)), `${target} holds no commit times: none of the dump's times is listed`);
        }
        if (!h.auth) {
          t.same([converted.contents.auth.activated, converted.contents.auth.check_auth_token, converted.plan.needs_token, converted.contents.enterprise.activated], [false, false, false, false], `${target} holds no auth or enterprise op: none restored, no token needed`);
        }
        // Where pachd of the target makes __spec__ and the original's pachd did not.
        if (PACHD.makesSpecRepo(target) && !PACHD.makesSpecRepo(family.version)) {
          const pipelines = converted.contents.pipelines.map((p) => p.name);
          const spec = converted.contents.repos.find((r) => r.name === '__spec__');
          t.same(spec && [spec.made_by, spec.branches.map((b) => [b.name, b.made_by])], ['pachd', pipelines.map((p) => [p, 'pachd'])], `pachd ${target} makes __spec__ with a branch per pipeline`);
          for (const p of converted.contents.pipelines) {
            const ob = converted.contents.repos.find((r) => r.name === p.name)?.branches.find((b) => b.name === p.output_branch);
            t.ok(ob?.provenance.includes(`__spec__@${p.name}`), `${p.name}@${p.output_branch} has __spec__@${p.name} in its provenance`);
          }
          t.equal(converted.plan.pachd_makes.spec_commits, pipelines.length, 'and a spec commit per pipeline');
        }
      });
    }
  });
}

t.test('pachd 1.8 clears the salt of the pipelines it restores (SEMANTICS §3.3), so the 1.8 comparison leaves salt out', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, '1.8.native');
  t.equal((await runTool('pach-convert', ['--to-version', '1.8', '-q', SORT_DUMP, '-o', out])).code, 0);
  const { contents } = await listOf({ file: out });
  t.same(contents.pipelines.map((p) => [p.name, p.salt]), [['copy', false], ['sort', false]], 'copy and sort restored without their salt (new datum hashes)');
});

t.test('a restored commit without times gets the restore time (pachd 1.10+ sets finished = now)', async (t) => {
  // SEMANTICS §3.3: 1.10+ "if finished is nil set finished=now"; §4.1: "only finished ⇒ started=finished".
  const dir = tempDir(t);
  for (const target of ['1.10', '1.13']) {
    const out = path.join(dir, `${target}.native`);
    t.equal((await runTool('pach-convert', ['--to-version', target, '-q', SORT_DUMP, '-o', out])).code, 0);
    const { contents } = await listOf({ file: out }, ['--at', '2022-01-01T00:00:00Z']);
    const commits = contents.repos.flatMap((r) => r.commit_list ?? []);
    t.equal(commits.length, 6);
    t.same([...new Set(commits.map((c) => `${c.started} ${c.finished_at}`))], ['2022-01-01T00:00:00.000Z 2022-01-01T00:00:00.000Z'], `${target}: the 6 commits of the 1.7 dump start and finish at restore time`);
  }
});

t.test('the comparison sees one changed fact, and only that one', async (t) => {
  // Control: the 1.11 dump at 1.13 with the size of left's head commit changed (150 → 151 bytes).
  const dir = tempDir(t);
  const json = await runTool('pach-convert', ['--to-version', '1.13', '--to', 'json', '-q', AUTH_DUMP]);
  t.equal(json.code, 0, json.stderr);
  const records = json.stdout.toString().trimEnd().split('\n').filter((l) => l.includes('"kind"'));
  const head = records.findIndex((l) => l.includes('"ID":"37460f1a7b244791881e8f92b7c30898"'));
  t.match(records[head], /"size_bytes":"150"/, 'left\'s head commit is 150 bytes in the dump');
  records[head] = records[head]!.replace('"size_bytes":"150"', '"size_bytes":"151"');
  const file = path.join(dir, 'edited.json');
  fs.writeFileSync(file, records.join('\n') + '\n');
  const at = ['--at', '2020-12-16T00:00:00Z'];
  const [original, edited] = await Promise.all([replay(AUTH_DUMP, at), replay(file, at)]);
  const common = both('1.11', '1.13');
  const a = view(original.contents, original.plan, common, true) as Record<string, unknown>;
  const b = view(edited.contents, edited.plan, common, true) as Record<string, unknown>;
  const differ = Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  t.same(differ, ['repos', 'commits'], 'the views differ in left\'s size and in that commit, nowhere else');
});
