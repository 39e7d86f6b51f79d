/**
 * lib/sandbox/listing.ts: what pachd-sandbox lists after restoring the real
 * dumps (SEMANTICS.md §7.1), checked the way a user of pachctl would, and
 * every answer carried through pachd 1.13's message types and the wire.
 */
import fs from 'node:fs';
import t from 'tap';
import { envelopeOf } from '../../lib/codec/record.js';
import { messageType } from '../../lib/grpc/services.js';
import { SYNTHETIC } from '../../lib/replay/commit-table.js';
import type { Msg } from '../../lib/replay/model.js';
import { payloadType, type OpVersion } from '../../lib/schema/registry.js';
import { SandboxCluster } from '../../lib/sandbox/cluster.js';
import * as listing from '../../lib/sandbox/listing.js';
import { AUTH_DUMP, SORT_DUMP, pachctlRecords } from '../helpers/run.js';

const NOW = Date.parse('2020-12-16T00:00:00Z') / 1000;
const HEX32 = /^[0-9a-f]{32}$/;

interface Restored {
  cluster: SandboxCluster;
  /** Commit IDs of the dump's commit ops, by repo, in dump order. */
  dumpIds: Map<string, string[]>;
}

async function restore(file: string, version: OpVersion): Promise<Restored> {
  const cluster = new SandboxCluster({ version, now: NOW });
  const dumpIds = new Map<string, string[]>();
  const records = await pachctlRecords(fs.readFileSync(file));
  records.forEach((bytes, index) => {
    const rec = { bytes, index, offset: -1 };
    cluster.apply(rec, 'some-test-token');
    const env = envelopeOf(rec);
    if (env.kind !== 'commit') return;
    const op = payloadType(version, 'commit')!.decode(bytes.subarray(env.payloadStart, env.payloadEnd)) as unknown as Msg;
    const repo: string = op.parent?.repo?.name ?? '';
    dumpIds.set(repo, [...(dumpIds.get(repo) ?? []), op.ID as string]);
  });
  return { cluster, dumpIds };
}

const v111 = await restore(AUTH_DUMP, '1.11');
const v17 = await restore(SORT_DUMP, '1.7');
t.teardown(() => {
  v111.cluster.close();
  v17.cluster.close();
});

const names = (list: Msg[], at: (m: Msg) => string): string[] => list.map(at);
const ids = (list: Msg[]): string[] => list.map((c) => c.commit.id as string);
const ref = (b: Msg): string => `${b.repo.name}@${b.name}`;

/**
 * Whether everything `sent` says is in `got` (toObject with defaults): a field
 * name fromObject does not know is dropped silently, and shows up here.
 */
function lost(sent: unknown, got: unknown, at = ''): string[] {
  if (Array.isArray(sent)) {
    if (!Array.isArray(got) || got.length !== sent.length) return [`${at}: array of ${sent.length} came back as ${JSON.stringify(got)}`];
    return sent.flatMap((v, i) => lost(v, got[i], `${at}[${i}]`));
  }
  if (sent && typeof sent === 'object') {
    if (!got || typeof got !== 'object') return [`${at}: came back as ${JSON.stringify(got)}`];
    return Object.entries(sent).flatMap(([k, v]) => (k in got ? lost(v, (got as Record<string, unknown>)[k], `${at}.${k}`) : [`${at}.${k}: lost`]));
  }
  return sent === got ? [] : [`${at}: ${JSON.stringify(sent)} came back as ${JSON.stringify(got)}`];
}

function wireProblems(typeName: string, objects: Msg[]): string[] {
  const type = messageType(typeName);
  return objects.flatMap((o, i) => {
    const bytes = type.encode(type.fromObject(o)).finish();
    const back = type.toObject(type.decode(bytes), { longs: Number, enums: String, defaults: true });
    return lost(o, back, `${typeName}#${i}`);
  });
}

t.test('1.11: ListRepo shows the four user repos newest first, and __spec__ only to InspectRepo', async (t) => {
  const c = v111.cluster;
  const repos = listing.listRepos(c);
  // pachd's ListRepo leaves the spec repo out; the cluster still holds it.
  t.same(names(repos, (r) => r.repo.name), ['sort', 'copy', 'right', 'left']);
  t.ok(listing.inspectRepo(c, '__spec__'), 'InspectRepo finds __spec__');
  t.same(names(listing.inspectRepo(c, '__spec__')!.branches, ref), ['__spec__@copy', '__spec__@sort']);
  t.equal(listing.inspectRepo(c, 'nope'), undefined);
  const copy = listing.inspectRepo(c, 'copy')!;
  t.equal(copy.description, 'Output repo for pipeline copy.');
  t.same(names(copy.branches, ref), ['copy@master', 'copy@stats']);
  const left = listing.inspectRepo(c, 'left')!;
  const head = listing.inspectCommit(c, 'left', 'master')!;
  t.equal(left.size_bytes, head.size_bytes, "a repo's size is its master head's");
  t.same(wireProblems('pfs.RepoInfo', [...repos, listing.inspectRepo(c, '__spec__')!]), []);
});

t.test('1.11: left holds the dump\'s three commits, chained parent to child', async (t) => {
  const c = v111.cluster;
  const dump = v111.dumpIds.get('left')!;
  t.equal(dump.length, 3);
  const commits = listing.listCommits(c, { repo: 'left' });
  t.same(ids(commits), [...dump].reverse(), 'newest first');
  t.same(ids(listing.listCommits(c, { repo: 'left', reverse: true })), dump, 'reverse: oldest first');
  const [oldest, middle, newest] = listing.listCommits(c, { repo: 'left', reverse: true });
  t.notOk(oldest!.parent_commit);
  t.equal(middle!.parent_commit.id, oldest!.commit.id);
  t.equal(newest!.parent_commit.id, middle!.commit.id);
  t.same(oldest!.child_commits.map((k: Msg) => k.id), [middle!.commit.id]);
  t.same(newest!.child_commits, []);
  for (const ci of commits) {
    t.equal(ci.origin.kind, 'USER');
    t.ok(ci.started && ci.finished, 'restored finished, with times');
    t.ok(ci.finished.seconds + ci.finished.nanos / 1e9 >= ci.started.seconds + ci.started.nanos / 1e9);
    t.ok(ci.size_bytes > 0);
  }
  t.same(ids(listing.listCommits(c, { repo: 'left', number: 2 })), [dump[2], dump[1]], 'number keeps the newest');
  t.same(ids(listing.listCommits(c, { repo: 'left', number: 2, reverse: true })), [dump[1], dump[2]], 'then reverse lists those oldest first');
  t.same(listing.listCommits(c, { repo: 'nope' }), []);
  t.same(wireProblems('pfs.CommitInfo', commits), []);
});

t.test('1.11: InspectCommit takes an ID, a branch or an ancestry', async (t) => {
  const c = v111.cluster;
  const dump = v111.dumpIds.get('left')!;
  t.equal(listing.inspectCommit(c, 'left', 'master')!.commit.id, dump[2]);
  t.equal(listing.inspectCommit(c, 'left', dump[0]!)!.commit.id, dump[0]);
  t.equal(listing.inspectCommit(c, 'left', 'master^')!.commit.id, dump[1]);
  t.equal(listing.inspectCommit(c, 'left', 'master~2')!.commit.id, dump[0]);
  t.equal(listing.inspectCommit(c, 'left', `${dump[2]}^^`)!.commit.id, dump[0]);
  t.equal(listing.inspectCommit(c, 'left', 'master~3'), undefined, 'past the first commit');
  t.equal(listing.inspectCommit(c, 'left', 'nope'), undefined);
  t.equal(listing.inspectCommit(c, 'right', dump[0]!), undefined, "another repo's ID");
  t.equal(listing.inspectCommit(c, 'nope', 'master'), undefined);
});

t.test('1.11: copy@master is downstream of its spec and both inputs', async (t) => {
  const c = v111.cluster;
  const branches = listing.listBranches(c, 'copy');
  t.same(names(branches, (b) => ref(b.branch)), ['copy@stats', 'copy@master'], 'newest first');
  const master = branches.find((b) => b.name === 'master')!;
  t.same(names(master.direct_provenance, ref).sort(), ['__spec__@copy', 'left@master', 'right@master']);
  t.same(names(master.provenance, ref).sort(), ['__spec__@copy', 'left@master', 'right@master']);
  t.same(names(master.subvenance, ref).sort(), ['copy@stats', 'sort@master', 'sort@stats']);
  const stats = branches.find((b) => b.name === 'stats')!;
  t.same(names(stats.direct_provenance, ref), ['copy@master']);
  t.same(names(stats.provenance, ref).sort(), ['__spec__@copy', 'copy@master', 'left@master', 'right@master'], 'provenance is transitive');

  // The head's provenance is the heads of its upstream branches.
  const head = listing.inspectCommit(c, 'copy', 'master')!;
  t.equal(head.commit.id, master.head.id);
  t.equal(head.origin.kind, 'AUTO');
  const prov = new Map<string, string>(head.provenance.map((p: Msg) => [ref(p.branch), p.commit.id]));
  t.same([...prov.keys()], ['__spec__@copy', 'left@master', 'right@master'], 'sorted by repo, then branch');
  for (const up of ['left', 'right']) t.equal(prov.get(`${up}@master`), listing.inspectCommit(c, up, 'master')!.commit.id);
  t.equal(prov.get('__spec__@copy'), listing.inspectCommit(c, '__spec__', 'copy')!.commit.id);

  t.equal(listing.listCommits(c, { repo: 'copy' }).length, 10, 'five master and five stats commits');
  t.equal(listing.listCommits(c, { repo: 'copy', to: 'master' }).length, 5, 'to: only the master chain');
  t.same(ids(listing.listCommits(c, { repo: 'copy', to: 'stats', number: 1 })), [listing.inspectCommit(c, 'copy', 'stats')!.commit.id]);
  t.same(listing.listCommits(c, { repo: 'copy', to: 'nope' }), []);

  const all = listing.listBranches(c, '');
  t.equal(all.length, 8, "the dump's eight branches");
  t.same(wireProblems('pfs.BranchInfo', all), []);
  t.same(wireProblems('pfs.CommitInfo', listing.listCommits(c, { repo: 'copy' })), []);
});

t.test('1.11: the pipelines copy and sort, with their inputs and jobs', async (t) => {
  const c = v111.cluster;
  const pipelines = listing.listPipelines(c);
  t.same(names(pipelines, (p) => p.pipeline.name), ['sort', 'copy'], 'newest first');
  const copy = listing.inspectPipeline(c, 'copy')!;
  t.same(copy.input, {
    union: [
      { pfs: { name: 'left', repo: 'left', branch: 'master', glob: '/*' } },
      { pfs: { name: 'right', repo: 'right', branch: 'master', glob: '/*' } },
    ],
  });
  const sort = listing.inspectPipeline(c, 'sort')!;
  t.same(sort.input, { pfs: { name: 'copy', repo: 'copy', branch: 'master', glob: '/' } });
  for (const p of [copy, sort]) {
    t.equal(p.output_branch, 'master');
    t.equal(p.enable_stats, true);
    t.equal(p.state, 'PIPELINE_RUNNING');
    t.same(p.job_counts, { 3: 5 }, 'five jobs in JOB_SUCCESS');
    t.same(p.spec_commit, listing.inspectCommit(c, '__spec__', p.pipeline.name)!.commit);
  }
  t.equal(listing.inspectPipeline(c, 'nope'), undefined);
  t.same(wireProblems('pps.PipelineInfo', pipelines), []);
});

t.test('1.11: ListJob lists five successful jobs per pipeline under stable IDs', async (t) => {
  const c = v111.cluster;
  const jobs = listing.listJobs(c);
  t.equal(jobs.length, 10);
  for (const name of ['copy', 'sort']) {
    const mine = listing.listJobs(c, name);
    t.equal(mine.length, 5);
    t.ok(mine.every((j) => j.pipeline.name === name && j.state === 'JOB_SUCCESS'));
  }
  const jobIds = jobs.map((j) => j.job.id as string);
  t.ok(jobIds.every((id) => HEX32.test(id)));
  t.equal(new Set(jobIds).size, 10, 'distinct');
  t.same(listing.listJobs(c).map((j) => j.job.id), jobIds, 'the same on every call');
  t.same(listing.listJobs(c, 'nope'), []);
  t.same(wireProblems('pps.JobInfo', jobs), []);
});

t.test('1.11: WhoAmI knows the cluster admins', async (t) => {
  const c = v111.cluster;
  const root = listing.whoAmI(c, 'pach:root');
  t.same(root, { username: 'pach:root', is_admin: true, cluster_roles: { roles: ['SUPER'] } });
  t.equal(listing.whoAmI(c, 'robot:test').is_admin, true, 'the dump binds robot:test to SUPER');
  t.same(listing.whoAmI(c, 'github:someone'), { username: 'github:someone', is_admin: false, cluster_roles: { roles: [] } });
  t.same(wireProblems('auth.WhoAmIResponse', [root]), []);
});

t.test('1.7: the inputs hold the dump\'s commits, and the outputs the ones pachd would make', async (t) => {
  const c = v17.cluster;
  const m = c.model;
  t.same(names(listing.listRepos(c), (r) => r.repo.name), ['sort', 'copy', 'left', 'right'], 'right was restored first');
  t.equal(listing.inspectRepo(c, '__spec__'), undefined, 'pachd 1.7 has no spec repo');
  for (const repo of ['left', 'right']) {
    const dump = v17.dumpIds.get(repo)!;
    t.equal(dump.length, 3);
    const commits = listing.listCommits(c, { repo, reverse: true });
    t.same(ids(commits), dump, `${repo}: the dump's IDs`);
    t.ok(commits.every((ci) => ci.branch && ref(ci.branch) === `${repo}@master`), '1.7 commits name their branch');
  }

  const seen = new Set<string>();
  for (const repo of ['copy', 'sort']) {
    for (const branch of ['master', 'stats']) {
      const chain = listing.listCommits(c, { repo, to: branch });
      t.ok(chain.length > 0, `${repo}@${branch} has commits`);
      for (const ci of chain) {
        t.match(ci.commit.id, HEX32, 'a pachd-like ID');
        t.notOk(seen.has(ci.commit.id), 'unique');
        seen.add(ci.commit.id);
        t.equal(ref(ci.branch), `${repo}@${branch}`);
        t.equal(ci.origin.kind, 'AUTO');
        t.ok(ci.started, 'started when the restore made it');
        t.notOk(ci.finished, 'open: no job has run');
        t.same(listing.inspectCommit(c, repo, ci.commit.id)!.commit, ci.commit, 'InspectCommit finds it by the ID clients see');
      }
    }
  }
  // Every output commit is one the model made, listed under its client-side ID.
  let made = 0;
  for (let k = 0; k < m.commits.size; k++) {
    const repo = m.repoName(m.commits.repoOf(k));
    if (repo !== 'copy' && repo !== 'sort') continue;
    t.ok(m.commits.flags(k) & SYNTHETIC);
    t.ok(seen.has(c.commitId(k)));
    made++;
  }
  t.equal(made, seen.size);
  const internal = m.commits.id(m.branches[m.branchId('copy', 'master')]!.head);
  t.notMatch(internal, HEX32, "the model's own name for an output commit");
  t.equal(listing.inspectCommit(c, 'copy', internal), undefined, 'is not an ID clients can use');

  const head = listing.inspectCommit(c, 'copy', 'master')!;
  const prov = new Map<string, string>(head.provenance.map((p: Msg) => [ref(p.branch), p.commit.id]));
  for (const up of ['left', 'right']) t.equal(prov.get(`${up}@master`), listing.inspectCommit(c, up, 'master')!.commit.id);

  const pipelines = listing.listPipelines(c);
  t.same(names(pipelines, (p) => p.pipeline.name), ['sort', 'copy']);
  t.same(listing.inspectPipeline(c, 'copy')!.input.union.map((i: Msg) => i.pfs.repo), ['left', 'right'], 'atom inputs shown as pfs');
  t.notOk(listing.inspectPipeline(c, 'copy')!.spec_commit);
  t.same(listing.listJobs(c), [], 'a 1.7 dump holds no jobs');

  t.same(wireProblems('pfs.RepoInfo', listing.listRepos(c)), []);
  t.same(wireProblems('pfs.BranchInfo', listing.listBranches(c, '')), []);
  t.same(wireProblems('pfs.CommitInfo', ['left', 'right', 'copy', 'sort'].flatMap((repo) => listing.listCommits(c, { repo }))), []);
  t.same(wireProblems('pps.PipelineInfo', pipelines), []);
});

t.test('the wire check catches a field pachd has no name for', async (t) => {
  const problems = wireProblems('pfs.CommitInfo', [{ commit: { repo: { name: 'a' }, id: 'x' }, parentCommit: { id: 'y' } }]);
  t.same(problems, ['pfs.CommitInfo#0.parentCommit: lost']);
});
