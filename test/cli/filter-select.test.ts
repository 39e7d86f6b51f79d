/**
 * pach-filter's filter mode on the two real dumps, as a user runs it:
 * select (`--pipeline sort`), exclude (`--exclude-repo right`), rename
 * (`--map-repo left=left2`), trim (`--keep-last 1`, `--since`), redact and
 * strip secrets; read the output back with `--list --format json --commits`,
 * the JSON view and `--verify`; a pipe against a file operand and the spill
 * directory; usage and data errors (docs/pach-filter.md, "Filtering").
 *
 * The 1.11 dump holds an activation code and a robot token hash: they are
 * looked for with booleans, never printed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Contents } from '../../lib/replay/report.js';
import {
  AT, branchesOf, commitsOf, diffPaths, entriesIn, exit0, filesBelow, filtered, firstProblem, generateHistory, historyBreaches,
  historyOf, listing, occurrences, pachFilter, pipelineNames, rawOf, repoNames, runOn, verify, view, walkStrings, why, type Src,
} from '../helpers/filter.js';
import { objectGroups, type Body, type JsonRecord } from '../helpers/json-edit.js';
import { AUTH_DUMP, DUMPS, SORT_DUMP, binPath, lines, nodeCommand, runShell, sh, tempDir, testEnv } from '../helpers/run.js';

const is111 = (file: string): boolean => file === AUTH_DUMP;

/** The listing of each dump, read once. */
const listings = new Map<string, Promise<Contents>>();
const listingOf = (file: string): Promise<Contents> => {
  if (!listings.has(file)) listings.set(file, listing(file));
  return listings.get(file)!;
};

/** The commit IDs of `repo` in a listing, sorted. */
function commitIds(c: Contents, repo: string): string[] {
  return (c.repos.find((r) => r.name === repo)?.commit_list ?? []).map((e) => e.id).sort();
}

/** Branch `repo@name` → head, for every branch of a listing. */
function heads(c: Contents): Record<string, string | null> {
  return Object.fromEntries([...branchesOf(c)].map(([at, b]) => [at, b.head]));
}

/** Asserts `--verify` of SRC exits 0, naming the first problem if not. */
async function verifies(t: Test, src: Src, what: string): Promise<void> {
  const v = await verify(src);
  t.equal(v.code, 0, `${what}: pach-filter --verify ${AT.join(' ')} passes${v.code === 0 ? '' : ` (got ${v.code}: ${firstProblem(v.report)})`}`);
}

/** The objects a commit op names: its tree, trees and datums. */
function treeHashes(body: Body): string[] {
  return [body.tree?.hash, ...((body.trees ?? []) as Body[]).map((x) => x.hash), body.datums?.hash].filter((h): h is string => typeof h === 'string' && h.length > 0);
}

/**
 * The breaches of "every kept commit's trees are in the stream": for ≤ 1.8,
 * an object group whose bytes hash to the name; for 1.9+, an object-index
 * entry whose block is there.
 */
function missingTrees(records: readonly JsonRecord[]): string[] {
  const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');
  const objects = new Set(objectGroups(records, sha512).map((g) => g.hash));
  const index = new Map<string, string>();
  const blocks = new Set<string>();
  for (const r of records) {
    if (r.kind === 'create_object') index.set(String(r.body.object?.hash), String(r.body.block_ref?.block?.hash));
    if (r.kind === 'block') blocks.add(String(r.body.block?.hash));
  }
  const out: string[] = [];
  for (const r of records) {
    if (r.kind !== 'commit') continue;
    for (const h of treeHashes(r.body)) {
      if (objects.has(h)) continue;
      const block = index.get(h);
      if (block === undefined) out.push(`commit ${r.body.parent?.repo?.name}@${r.body.ID}: object ${h.slice(0, 12)}… is not in the output`);
      else if (!blocks.has(block)) out.push(`commit ${r.body.parent?.repo?.name}@${r.body.ID}: block ${block} of object ${h.slice(0, 12)}… is not in the output`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// 1. Selection with its closure
// ---------------------------------------------------------------------------

for (const dump of DUMPS) {
  t.test(`${dump.name}: --pipeline sort keeps sort and everything it needs (copy, left, right, their commits, spec and stats), and verifies`, async (t) => {
    const r = await pachFilter(['--pipeline', 'sort'], dump.file);
    t.equal(r.code, 0, exit0(r));
    const before = await listingOf(dump.file);
    const after = await listing(r.stdout);
    const expectRepos = is111(dump.file) ? ['__spec__', 'copy', 'left', 'right', 'sort'] : ['copy', 'left', 'right', 'sort'];
    t.same(repoNames(after), expectRepos, 'sort, its input copy, and copy\'s inputs left and right');
    t.same(pipelineNames(after), ['copy', 'sort'], 'sort and the pipeline that writes its input');
    for (const repo of expectRepos) t.same(commitIds(after, repo), commitIds(before, repo), `every commit of ${repo} is kept`);
    t.same(heads(after), heads(before), 'every branch, with its head');
    t.same(after.pipelines, before.pipelines, 'the pipelines, their inputs, spec commits and jobs');
    if (is111(dump.file)) {
      t.same([...branchesOf(after).keys()].filter((b) => b.startsWith('__spec__@')).sort(), ['__spec__@copy', '__spec__@sort'], '__spec__ keeps the branches of copy and sort');
      t.equal(commitIds(after, 'copy').length, 10, 'copy: 5 output and 5 stats commits');
      t.equal(commitIds(after, 'sort').length, 10, 'sort: 5 output and 5 stats commits');
      t.same(after.pipelines.map((p) => p.jobs), [{ JOB_SUCCESS: 5 }, { JOB_SUCCESS: 5 }], 'every job');
      t.ok(after.pipelines.every((p) => p.spec_commit !== null), 'both spec commits');
    } else {
      t.same(['left', 'right'].map((x) => commitIds(after, x).length), [3, 3], '1.7: left and right keep their 3 commits each (no output commits in 1.7)');
    }
    t.same(after.counts, before.counts, 'every unit is in sort\'s closure: nothing is dropped');
    t.ok((await rawOf(r.stdout)).equals(await rawOf(dump.file)), 'so every record comes out byte for byte as it came in');
    await verifies(t, r.stdout, dump.name);
  });

  t.test(`${dump.name}: --pipeline copy keeps copy and its inputs, and drops sort with its spec, stats, jobs and ACL`, async (t) => {
    const r = await pachFilter(['--pipeline', 'copy'], dump.file);
    t.equal(r.code, 0, exit0(r));
    const before = await listingOf(dump.file);
    const after = await listing(r.stdout);
    t.same(repoNames(after), is111(dump.file) ? ['__spec__', 'copy', 'left', 'right'] : ['copy', 'left', 'right']);
    t.same(pipelineNames(after), ['copy']);
    for (const repo of ['copy', 'left', 'right']) t.same(commitIds(after, repo), commitIds(before, repo), `every commit of ${repo} is kept`);
    t.notOk([...branchesOf(after).keys()].some((b) => b.startsWith('sort@') || b === '__spec__@sort'), 'no sort branch, no __spec__@sort');
    t.equal(after.counts.tag, before.counts.tag, 'tags (the datum cache) stay while a pipeline is kept');
    if (is111(dump.file)) {
      t.same(commitIds(after, '__spec__'), [before.pipelines.find((p) => p.name === 'copy')!.spec_commit], '__spec__ holds only copy\'s spec commit');
      t.same(after.pipelines[0]!.jobs, { JOB_SUCCESS: 5 }, 'copy\'s jobs');
      t.equal(after.counts.job, 5, 'sort\'s jobs are gone');
      t.same(Object.keys(after.auth.acls).sort(), ['__spec__', 'copy', 'left', 'right'], 'sort\'s ACL is gone');
      t.notOk(Object.values(after.auth.acls).flat().some((e) => e.username === 'pipeline:sort'), 'and so is every ACL entry of pipeline:sort');
    }
    await verifies(t, r.stdout, dump.name);
  });
}

// ---------------------------------------------------------------------------
// 2. An exclusion flows downstream
// ---------------------------------------------------------------------------

for (const dump of DUMPS) {
  t.test(`${dump.name}: --exclude-repo right drops right, copy (a union over left and right) and sort; left stays whole`, async (t) => {
    const r = await pachFilter(['--exclude-repo', 'right'], dump.file);
    t.equal(r.code, 0, exit0(r));
    t.match(r.stderr, /pipeline copy dropped: it reads right, which is excluded/, 'stderr says why copy goes');
    t.match(r.stderr, /pipeline sort dropped: it reads (copy|right)\b/, 'stderr says why sort goes');
    const before = await listingOf(dump.file);
    const after = await listing(r.stdout);
    const records = (await view(r.stdout)).records;
    t.same(records.filter((x) => x.kind === 'repo').map((x) => x.body.repo?.name), ['left'], 'one repo op, left\'s: no pipeline is left to need __spec__');
    t.same(repoNames(after).filter((n) => n !== '__spec__'), ['left'], 'the listing shows left (and, 1.9+, the __spec__ repo pachd makes itself)');
    const spec = after.repos.find((x) => x.name === '__spec__');
    t.ok(!spec || (spec.branches.length === 0 && commitIds(after, '__spec__').length === 0), 'with no spec branch or commit');
    t.same(pipelineNames(after), []);
    t.same(commitIds(after, 'left'), commitIds(before, 'left'), 'left keeps all its commits');
    t.same(heads(after), { 'left@master': heads(before)['left@master'] ?? null }, 'and its branch');
    t.notOk(after.counts.tag, 'no pipeline is kept, so no tag (the datum cache) is');
    t.notOk(after.counts.job, 'no job');
    const objects = (c: Contents): number => c.objects.objects + c.objects.blocks + c.objects.object_index;
    t.ok(objects(after) < objects(before), 'objects and blocks nothing kept references are pruned');
    t.same(missingTrees(records), [], 'every tree a kept commit names is still in the output');
    if (is111(dump.file)) {
      t.same(Object.keys(after.auth.acls), ['left'], 'the ACLs of dropped repos are gone');
      t.same(after.auth.acls.left, [{ username: 'robot:test', scope: 'OWNER' }], 'and pipeline:copy\'s entry in left\'s ACL');
      t.same(after.auth.role_bindings, before.auth.role_bindings, 'role bindings of users and robots stay');
    }
    await verifies(t, r.stdout, dump.name);
  });
}

t.test('--pipeline sort --exclude-repo right: the exclusion wins, nothing of sort is kept, and stderr says so', async (t) => {
  const r = await pachFilter(['--pipeline', 'sort', '--exclude-repo', 'right'], AUTH_DUMP);
  t.equal(r.code, 0, exit0(r));
  t.match(r.stderr, /\bsort\b/, 'stderr names sort');
  const after = await listing(r.stdout);
  t.same(pipelineNames(after), []);
  t.notOk(repoNames(after).some((n) => ['sort', 'copy', 'right'].includes(n)), 'no sort, copy or right');
  await verifies(t, r.stdout, 'exclusion over selection');
});

t.test('1.11: --no-deps --pipeline sort keeps exactly sort, says what it lacks, drops dangling provenance, and --verify says what pachd refuses', async (t) => {
  const r = await pachFilter(['--no-deps', '--pipeline', 'sort'], AUTH_DUMP);
  t.equal(r.code, 0, exit0(r));
  t.match(r.stderr, /pipeline sort: input repo copy is not in the output/, 'stderr names the missing input');
  const after = await listing(r.stdout);
  const records = (await view(r.stdout)).records;
  t.same(records.filter((x) => x.kind === 'pipeline').map((x) => x.body.pipeline?.name), ['sort'], 'one pipeline op: sort\'s (the listing, a restore\'s view, cannot create it)');
  t.same(records.filter((x) => x.kind === 'repo').map((x) => x.body.repo?.name).sort(), ['__spec__', 'sort'], 'no copy, left or right');
  t.same(historyBreaches(after), [], 'provenance entries naming commits not in the output are removed');
  const v = await verify(r.stdout);
  t.equal(v.code, 65, 'the output does not verify: pachd cannot create sort without copy');
  t.ok(v.report.includes('copy'), 'and the report names copy');
});

// ---------------------------------------------------------------------------
// 3. Renaming
// ---------------------------------------------------------------------------

/** A pipeline input's `name` (the /pfs directory), which renaming keeps on purpose. */
const INPUT_NAME = /(^|\.)(pfs|atom|cron)\.name$/;

/** What `--map-repo left=left2` must make of a record: every "left" that is a repo reference becomes "left2". */
function renamedLeft(rec: JsonRecord): Body {
  const rename = (v: unknown, p: string): unknown => {
    if (v === 'left') return INPUT_NAME.test(p) ? v : 'left2';
    if (Array.isArray(v)) return v.map((x, i) => rename(x, `${p}[${i}]`));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rename(x, p ? `${p}.${k}` : k)]));
    return v;
  };
  const body = rename(rec.body, '') as Body;
  // 1.9+: copy reads left, and its spec file in __spec__ still says left, so its spec_commit is cleared.
  if (rec.kind === 'pipeline' && body.pipeline?.name === 'copy') delete body.spec_commit;
  return body;
}

for (const dump of DUMPS) {
  t.test(`${dump.name}: --map-repo left=left2 renames every reference to left, keeps the /pfs/left input name, and verifies`, async (t) => {
    const r = await pachFilter(['--map-repo', 'left=left2'], dump.file);
    t.equal(r.code, 0, exit0(r));
    await verifies(t, r.stdout, dump.name);
    const before = (await view(dump.file)).records;
    const after = (await view(r.stdout)).records;
    t.equal(after.length, before.length, 'a rename drops no record');
    const wrong: string[] = [];
    after.forEach((rec, i) => {
      const want = before[i]!;
      if (rec.kind !== want.kind) wrong.push(`record ${i}: ${rec.kind}, expected ${want.kind}`);
      else for (const p of diffPaths(renamedLeft(want), rec.body)) wrong.push(`record ${i} (${rec.kind}): ${p}`);
    });
    t.same(wrong, [], 'each record is the input with left → left2 at every reference, and nothing else changed');
    const leftAt: string[] = [];
    let left2 = 0;
    after.forEach((rec, i) =>
      walkStrings(rec.body, (p, s) => {
        if (s === 'left') leftAt.push(`record ${i} (${rec.kind}) ${p}`);
        if (s === 'left2') left2++;
      }),
    );
    t.same(leftAt, [`record ${after.findIndex((x) => x.kind === 'pipeline' && x.body.pipeline?.name === 'copy')} (pipeline) input.union[0].${is111(dump.file) ? 'pfs' : 'atom'}.name`], 'the only "left" left is the name of copy\'s first input, the /pfs/left directory');
    t.ok(left2 > 0, `left2 is referenced (${left2} times)`);
    const union = after.find((x) => x.kind === 'pipeline' && x.body.pipeline?.name === 'copy')!.body.input.union as Body[];
    const first = (union[0]!.pfs ?? union[0]!.atom) as Body;
    t.same({ name: first.name, repo: first.repo }, { name: 'left', repo: 'left2' }, 'copy reads repo left2 under the name left');
    const listed = await listing(r.stdout);
    t.same(commitIds(listed, 'left2'), commitIds(await listingOf(dump.file), 'left'), 'left2 holds left\'s commits');
    t.notOk(repoNames(listed).includes('left'), 'no repo left');
    if (is111(dump.file)) {
      const pipes = after.filter((x) => x.kind === 'pipeline');
      t.notOk('spec_commit' in pipes.find((x) => x.body.pipeline?.name === 'copy')!.body, 'copy reads the renamed repo: its spec_commit is cleared (pachd writes a new one)');
      t.ok('spec_commit' in pipes.find((x) => x.body.pipeline?.name === 'sort')!.body, 'sort does not read left: its spec_commit stays');
      t.match(r.stderr, /\bcopy\b/, 'stderr names copy as the pipeline whose spec commit pachd will rewrite');
    }
  });
}

t.test('1.11: --map-pipeline sort=s2 renames the pipeline, its output repo, its spec branch and its principal', async (t) => {
  const r = await pachFilter(['--map-pipeline', 'sort=s2'], AUTH_DUMP);
  t.equal(r.code, 0, exit0(r));
  const before = await listingOf(AUTH_DUMP);
  const after = await listing(r.stdout);
  t.same(repoNames(after), ['__spec__', 'copy', 'left', 'right', 's2']);
  t.same(pipelineNames(after), ['copy', 's2']);
  t.same(commitIds(after, 's2'), commitIds(before, 'sort'), 's2 holds sort\'s output and stats commits');
  t.ok(branchesOf(after).has('__spec__@s2') && !branchesOf(after).has('__spec__@sort'), 'the spec branch follows');
  t.same(after.pipelines.find((p) => p.name === 's2')!.spec_commit, null, 'a renamed pipeline loses its spec_commit');
  const principals = Object.values(after.auth.acls).flat().map((e) => e.username);
  t.ok(principals.includes('pipeline:s2') && !principals.includes('pipeline:sort'), 'pipeline:sort is pipeline:s2 in the ACLs');
  await verifies(t, r.stdout, 'map-pipeline');
});

// ---------------------------------------------------------------------------
// 4. History: --keep-last, --since
// ---------------------------------------------------------------------------

for (const dump of DUMPS) {
  t.test(`${dump.name}: --keep-last 1 keeps each branch's head, as a root, with its provenance, and verifies`, async (t) => {
    const r = await pachFilter(['--keep-last', '1'], dump.file);
    t.equal(r.code, 0, exit0(r));
    await verifies(t, r.stdout, dump.name);
    const before = await listingOf(dump.file);
    const after = await listing(r.stdout);
    for (const b of ['left@master', 'right@master']) {
      const branch = branchesOf(after).get(b);
      t.equal(branch?.head, heads(before)[b], `${b} keeps its head`);
      t.equal(branch?.commits, 1, `${b} reaches exactly one commit`);
      t.same(commitIds(after, b.split('@')[0]!), [heads(before)[b]], `${b.split('@')[0]} holds only that commit`);
    }
    t.same(heads(after), heads(before), 'every branch keeps its head (output, stats and __spec__ branches too)');
    const commits = commitsOf(after);
    t.same([...commits.values()].filter((c) => c.parent !== null).map((c) => `${c.repo}@${c.id}`), [], 'every kept commit is a root: the oldest kept of its chain');
    t.same(historyBreaches(after), [], 'every parent, provenance entry and head is in the output');
    if (is111(dump.file)) {
      t.equal(commits.size, 8, '8 commits: 2 spec, left, right, and the heads of copy@master, copy@stats, sort@master, sort@stats');
      for (const [at, b] of branchesOf(after)) t.equal(b.commits, 1, `${at} reaches one commit`);
      t.same(after.pipelines.map((p) => p.jobs), [{ JOB_SUCCESS: 1 }, { JOB_SUCCESS: 1 }], 'only the jobs whose output commit is kept');
      t.same(after.pipelines.map((p) => p.spec_commit), before.pipelines.map((p) => p.spec_commit), 'the spec commits stay');
    }
  });
}

t.test('1.11: --since after the last commit keeps each branch\'s head only; --keep-last 2 with it keeps what both keep', async (t) => {
  const keep1 = await listing(await filtered(['--keep-last', '1'], AUTH_DUMP));
  for (const args of [['--since', '2020-12-16T00:00:00Z'], ['--since', '2020-12-16T00:00:00Z', '--keep-last', '2']]) {
    const r = await pachFilter(args, AUTH_DUMP);
    t.equal(r.code, 0, exit0(r));
    const after = await listing(r.stdout);
    t.same([...commitsOf(after).keys()].sort(), [...commitsOf(keep1).keys()].sort(), `${args.join(' ')}: the heads, as --keep-last 1 keeps them`);
    t.same(historyBreaches(after), [], `${args.join(' ')}: no dangling parent or provenance`);
    await verifies(t, r.stdout, args.join(' '));
  }
});

t.test('1.7: --since keeps commits that carry no times, and says so once', async (t) => {
  const r = await pachFilter(['--since', '2030-01-01T00:00:00Z'], SORT_DUMP);
  t.equal(r.code, 0, exit0(r));
  const after = await listing(r.stdout);
  t.equal(commitsOf(after).size, 6, 'all six commits');
  t.equal(lines(r.stderr).filter((l) => /\btimes?\b/i.test(l)).length, 1, 'one line on stderr about the missing times');
});

// ---------------------------------------------------------------------------
// 5. Secrets
// ---------------------------------------------------------------------------

interface Secrets {
  code: string;
  hashes: string[];
}

let secretsCache: Promise<Secrets> | undefined;
/** The 1.11 dump's activation code and robot token hashes, read from its JSON view in-process. */
function secrets(): Promise<Secrets> {
  secretsCache ??= view(AUTH_DUMP).then(({ records }) => ({
    code: String(records.find((r) => r.kind === 'activate_enterprise')!.body.activation_code),
    hashes: records.filter((r) => r.kind === 'restore_auth_token').map((r) => String(r.body.token.hashed_token)),
  }));
  return secretsCache;
}

/** Whether `secret` occurs in `bytes`, as UTF-8 or as base64 of its UTF-8. */
function holds(bytes: Buffer, secret: string): boolean {
  return bytes.includes(Buffer.from(secret, 'utf8')) || bytes.includes(Buffer.from(Buffer.from(secret, 'utf8').toString('base64'), 'utf8'));
}

const AUTH_KINDS = ['check_auth_token', 'activate_auth', 'restore_auth_token', 'set_cluster_role_binding', 'set_auth_config', 'set_acl'];

t.test('the 1.11 dump does hold the secrets these tests look for', async (t) => {
  const s = await secrets();
  const raw = await rawOf(AUTH_DUMP);
  t.ok(s.code.length >= 16, 'an activation code');
  t.ok(s.hashes.length === 1 && s.hashes[0]!.length >= 16, 'a robot token hash');
  t.ok(holds(raw, s.code) && s.hashes.every((h) => holds(raw, h)), 'both are in the raw records (so the search can find them)');
});

for (const args of [['--redact'], ['--strip-auth', '--strip-enterprise'], ['--strip-auth', '--redact']]) {
  t.test(`1.11: ${args.join(' ')} leaves no secret in the output, and it verifies`, async (t) => {
    const s = await secrets();
    const r = await pachFilter(args, AUTH_DUMP);
    t.equal(r.code, 0, exit0(r));
    const out = r.stdout;
    t.notOk(holds(out, s.code), 'activation code absent from the native output (UTF-8 and base64)');
    t.notOk(s.hashes.some((h) => holds(out, h)), 'token hash absent from the native output (UTF-8 and base64)');
    t.notOk(holds(Buffer.from(r.stderr), s.code) || s.hashes.some((h) => holds(Buffer.from(r.stderr), h)), 'and from stderr');
    const json = await filtered([...args, '--to', 'json'], AUTH_DUMP);
    t.notOk(holds(json, s.code) || s.hashes.some((h) => holds(json, h)), 'and from the JSON view written directly');
    await verifies(t, out, args.join(' '));
    const after = await listing(out);
    const redacting = args.includes('--redact');
    const stripping = args.includes('--strip-auth');
    if (stripping) t.same(AUTH_KINDS.filter((k) => after.counts[k]), [], 'no auth op');
    else t.same(AUTH_KINDS.map((k) => after.counts[k]), AUTH_KINDS.map((k) => (k === 'set_acl' ? 5 : 1)), 'every auth op kept');
    t.equal(after.counts.activate_enterprise, args.includes('--strip-enterprise') ? undefined : 1, 'the activation kept unless stripped');
    const placeholders = occurrences(out, Buffer.from('pach-filter-redacted:'));
    const expected = redacting ? (stripping ? 1 : 2) : 0;
    t.equal(placeholders, expected, `${expected} marked placeholder(s) in the output`);
    const entry = historyOf(after).at(-1) ?? {};
    t.equal(entry.tool, 'pach-filter', 'the header\'s last history entry is this run');
    t.same(entry.args, [...args, AUTH_DUMP], 'with its arguments');
    const fields = ((entry.filter as Record<string, unknown> | undefined)?.redacted ?? []) as string[];
    if (redacting) t.ok(Array.isArray(fields) && fields.includes('activation_code') && fields.includes('hashed_token'), 'filter.redacted names the fields the run redacts');
    else t.notOk((entry.filter as Record<string, unknown> | undefined)?.redacted, 'no filter.redacted: nothing is redacted');
    const counts = stripping ? (redacting ? { activation_code: 1 } : undefined) : redacting ? { activation_code: 1, hashed_token: 1 } : undefined;
    t.same(after.auth.redacted, counts, '--list counts what is redacted, by field');
    t.equal(after.enterprise.redacted ?? false, redacting, '--list says the activation code is redacted');
    const summary = path.join(tempDir(t), 'summary.json');
    const again = await pachFilter([...args, '--summary', summary], AUTH_DUMP);
    t.equal(again.code, 0, exit0(again));
    t.same((JSON.parse(fs.readFileSync(summary, 'utf8')) as { redacted?: Record<string, number> }).redacted ?? {}, counts ?? {}, '--summary counts the secrets replaced, by field');
  });
}

t.test('1.11: --strip-auth alone drops the token hash, keeps the activation code, and warns about it (documented)', async (t) => {
  const s = await secrets();
  const r = await pachFilter(['--strip-auth'], AUTH_DUMP);
  t.equal(r.code, 0, exit0(r));
  t.notOk(s.hashes.some((h) => holds(r.stdout, h)), 'token hash absent');
  t.ok(holds(r.stdout, s.code), 'activation code still present, as documented');
  t.match(r.stderr, /activation code/i, 'a warning names the activation code');
  t.match(r.stderr, /--strip-enterprise|--redact/, 'and says what removes it');
  t.notOk(holds(Buffer.from(r.stderr), s.code), 'without printing it');
  await verifies(t, r.stdout, '--strip-auth');
});

// ---------------------------------------------------------------------------
// 8. Pipe against file; the spill directory
// ---------------------------------------------------------------------------

for (const dump of DUMPS) {
  t.test(`${dump.name}: the same filter on the file operand and on a pipe writes the same records; the spill dir is left empty`, async (t) => {
    const dir = tempDir(t);
    const spill = path.join(dir, 'spill');
    fs.mkdirSync(spill);
    for (const args of [['--exclude-repo', 'right'], ['--keep-last', '1', '--map-repo', 'left=left2'], ['--pipeline', 'copy', '--redact']]) {
      const file = await pachFilter([...args, '--to', 'raw'], dump.file);
      t.equal(file.code, 0, exit0(file));
      const piped = await runShell(`cat '${dump.file}' | ${sh('pach-filter')} ${args.map((a) => `'${a}'`).join(' ')} --temp-dir '${spill}' --to raw`);
      t.equal(piped.code, 0, exit0(piped));
      t.ok(piped.stdout.equals(file.stdout), `${args.join(' ')}: identical records`);
      t.same(entriesIn(spill), [], `${args.join(' ')}: the spill dir is empty after the run`);
    }
  });
}

t.test('a piped input is spilled into --temp-dir while it is read, and removed at exit', async (t) => {
  const dir = tempDir(t);
  const spill = path.join(dir, 'spill');
  fs.mkdirSync(spill);
  const big = path.join(dir, 'big.raw');
  await generateHistory(big, { repos: 10, commits: 60, seed: 5, extra: ['--blocks', '8MiB'] });
  const bytes = fs.readFileSync(big);
  const env = testEnv();
  const [cmd, argv] = nodeCommand(binPath('pach-filter'), ['--keep-last', '2', '--temp-dir', spill, '--to', 'raw', '-'], env);
  const child = spawn(cmd, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.on('error', () => {});
  const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  child.stdin.write(bytes.subarray(0, bytes.length >> 1));
  let seen: string[] = [];
  for (let waited = 0; waited < 15000 && seen.length === 0; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    seen = filesBelow(spill);
  }
  t.ok(seen.length > 0, 'with half the stream written and stdin still open, the spill file is in --temp-dir');
  child.stdin.end(bytes.subarray(bytes.length >> 1));
  const code = await closed;
  t.equal(code, 0, stderr);
  t.same(entriesIn(spill), [], 'and gone after the run');
  const direct = await filtered(['--keep-last', '2', '--to', 'raw'], big);
  t.ok(Buffer.concat(out).equals(direct), 'the same records as from the file operand');
});

t.test('without --temp-dir the spill goes to $TMPDIR, and is removed', async (t) => {
  const dir = tempDir(t);
  const r = await runShell(`cat '${AUTH_DUMP}' | ${sh('pach-filter')} --keep-last 1 --to raw > /dev/null`, { env: { TMPDIR: dir } });
  t.equal(r.code, 0, exit0(r));
  t.same(entriesIn(dir), [], '$TMPDIR is empty after the run');
});

// ---------------------------------------------------------------------------
// 9. Usage and data errors
// ---------------------------------------------------------------------------

t.test('bad filter flags are usage errors: exit 2, one line on stderr naming the flag, nothing on stdout', async (t) => {
  const cases: Array<[string[], string]> = [
    [['--map-repo', 'left'], '--map-repo'],
    [['--map-repo', 'left=bad/name'], '--map-repo'],
    [['--map-repo', 'left=__spec__'], '--map-repo'],
    [['--map-repo', 'nosuch=x'], '--map-repo'],
    [['--map-repo', 'left=right'], '--map-repo'],
    [['--map-pipeline', 'sort=copy'], '--map-pipeline'],
    [['--map-pipeline', 'nosuch=x'], '--map-pipeline'],
    [['--keep-last', '0'], '--keep-last'],
    [['--keep-last', '-1'], '--keep-last'],
    [['--keep-last', 'two'], '--keep-last'],
    [['--since', 'yesterday'], '--since'],
    [['--list', '--repo', 'x'], '--repo'],
    [['--verify', '--redact'], '--redact'],
  ];
  for (const [args, flag] of cases) {
    const r = await pachFilter(args, SORT_DUMP);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2${r.code === 2 ? '' : ` (${why(r)})`}`);
    t.equal(lines(r.stderr).length, 1, `${args.join(' ')}: one line on stderr`);
    t.ok(r.stderr.includes(flag), `${args.join(' ')}: the line names ${flag}`);
    t.equal(r.stdout.length, 0, `${args.join(' ')}: nothing on stdout`);
  }
});

t.test('a truncated or corrupt input writes nothing: exit 65, no stdout, no -o file, an empty spill dir', async (t) => {
  const dir = tempDir(t);
  const spill = path.join(dir, 'spill');
  fs.mkdirSync(spill);
  const native = (await runOn('pach-convert', [], AUTH_DUMP)).stdout;
  const cut = native.subarray(0, native.length - 30);
  const flipped = Buffer.from(native);
  flipped[native.length >> 1] ^= 0x20;
  const pachctl = Buffer.from(fs.readFileSync(SORT_DUMP));
  pachctl[pachctl.length >> 1] ^= 0x20;
  const inputs: Array<[string, Buffer]> = [['native without its trailer', cut], ['native with a flipped byte', flipped], ['pachctl with a flipped byte', pachctl]];
  for (const [what, bytes] of inputs) {
    for (const args of [['--exclude-repo', 'right'], ['--redact']]) {
      const r = await pachFilter([...args, '--temp-dir', spill], bytes);
      t.equal(r.code, 65, `${what}, ${args.join(' ')}: exit 65${r.code === 65 ? '' : ` (${why(r)})`}`);
      t.equal(r.stdout.length, 0, `${what}: nothing on stdout`);
      const outFile = path.join(dir, 'out.native');
      const o = await pachFilter([...args, '--temp-dir', spill, '-o', outFile], bytes);
      t.equal(o.code, 65, `${what}, -o: exit 65`);
      t.same(entriesIn(dir).filter((f) => f !== 'spill'), [], `${what}, -o: no output file, no temporary`);
      t.same(entriesIn(spill), [], `${what}: the spill dir is empty`);
    }
  }
  const file = path.join(dir, 'cut.native');
  fs.writeFileSync(file, cut);
  const r = await pachFilter(['--keep-last', '1'], file);
  t.equal(r.code, 65, 'a truncated file operand: exit 65');
  t.equal(r.stdout.length, 0, 'nothing on stdout');
  fs.rmSync(file);
});
