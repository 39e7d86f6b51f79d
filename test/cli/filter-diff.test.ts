/**
 * pach-filter --diff OTHER on the two real dumps: a dump against itself (in
 * every framing) is empty; against a copy edited through its JSON view it
 * names exactly the edits; against a filtered copy it names exactly what the
 * filter removed, as `--list` of both sides tells it; secrets are said to
 * change, never shown; usage, missing and bad inputs (docs/pach-filter.md,
 * "--diff").
 *
 * The 1.11 dump holds an activation code and a robot token hash: they are
 * looked for with booleans, never printed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Contents } from '../../lib/replay/report.js';
import { commitRepo, copyRecords, indexOf, objectGroups, parseView, renderView, type JsonRecord } from '../helpers/json-edit.js';
import { AUTH_DUMP, DUMPS, SORT_DUMP, runShell, runTool, sh, tempDir, type RunResult } from '../helpers/run.js';

/** The report of `pach-filter --diff --format json` (docs/pach-filter.md). */
interface Report {
  same: boolean;
  old: { name: string; op_version: string | null; records: number };
  new: { name: string; op_version: string | null; records: number };
  compared_at: string | null;
  differences: { added: number; removed: number; changed: number };
  added: Record<string, Array<{ name: string; [k: string]: unknown }>>;
  removed: Record<string, Array<{ name: string; [k: string]: unknown }>>;
  changed: Record<string, Array<{ name: string; changes: Array<Record<string, unknown>> }>> & { op_version: { old: string; new: string } | null };
}

const SECTIONS = ['repos', 'branches', 'commits', 'pipelines', 'jobs', 'objects', 'blocks', 'object_index', 'tags', 'auth', 'tokens', 'role_bindings', 'acls'];

function diff(old: string, other: string, extra: string[] = [], input?: string | Buffer): Promise<RunResult> {
  return runTool('pach-filter', [old, '--diff', other, ...extra], input === undefined ? {} : { input });
}

async function jsonDiff(t: Test, old: string, other: string, input?: string | Buffer): Promise<Report> {
  const r = await diff(old, other, ['--format', 'json'], input);
  t.equal(r.stderr, '', 'nothing on stderr');
  return JSON.parse(r.stdout.toString()) as Report;
}

/** The names in one section of added, removed or changed, sorted. */
function names(part: Report['added'] | Report['changed'], section: string): string[] {
  return (part[section] ?? []).map((e) => e.name).sort();
}

/** The JSON view of a stream, as records to edit. */
async function viewOf(file: string): Promise<JsonRecord[]> {
  const r = await runTool('pach-convert', ['--to', 'json', file]);
  if (r.code !== 0) throw new Error(`pach-convert --to json ${file}: exit ${r.code}`);
  return parseView(r.stdout.toString());
}

/** Writes edited records as a JSON stream in `dir`. */
function writeView(dir: string, name: string, records: readonly JsonRecord[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, renderView(records));
  return file;
}

for (const dump of DUMPS) {
  t.test(`--diff of the ${dump.name} dump against itself is empty, whatever the framing`, async (t) => {
    const dir = tempDir(t);
    const same = await diff(dump.file, dump.file);
    t.equal(same.code, 0);
    t.equal(same.stdout.length, 0, 'nothing on stdout');
    t.equal(same.stderr, '', 'nothing on stderr without -v');

    const native = path.join(dir, 'dump.native');
    const json = path.join(dir, 'dump.json');
    const zst = path.join(dir, 'dump.raw.zst');
    const made = await runShell(`${sh('pach-convert')} ${dump.file} > ${native} && ${sh('pach-convert')} --to json ${dump.file} > ${json} && ${sh('pach-convert')} --to raw ${dump.file} | zstd -q -c > ${zst}`);
    t.equal(made.code, 0, made.stderr);
    for (const other of [native, json, zst]) {
      const r = await diff(dump.file, other);
      t.equal(r.code, 0, `against ${path.basename(other)}: exit 0`);
      t.equal(r.stdout.length, 0, `against ${path.basename(other)}: framing is not content`);
      const back = await diff(other, dump.file);
      t.equal(back.code, 0, `${path.basename(other)} against the dump: exit 0`);
    }
    // OTHER on stdin, and the input on stdin.
    const piped = await diff(json, '-', [], fs.readFileSync(dump.file));
    t.equal(piped.code, 0, '--diff - reads OTHER from stdin');
    const stdin = await runTool('pach-filter', ['--diff', native], { input: fs.readFileSync(zst) });
    t.equal(stdin.code, 0, 'the input on stdin, compressed');
    t.equal(stdin.stdout.length, 0);

    const report = await jsonDiff(t, dump.file, json);
    t.equal(report.same, true);
    t.same(report.differences, { added: 0, removed: 0, changed: 0 });
    t.same([report.old.op_version, report.new.op_version, report.compared_at], [dump.version, dump.version, dump.version]);
    t.same([report.old.records, report.new.records], [dump.ops, dump.ops]);
    for (const s of SECTIONS) t.same([report.added[s], report.removed[s], report.changed[s]], [[], [], []], `${s}: nothing`);
    t.equal(report.changed.op_version, null);

    const verbose = await diff(dump.file, native, ['-v']);
    t.match(verbose.stderr, /hold the same \(\d+ and \d+ records\)/, '-v: a one-line summary on stderr');
  });
}

t.test('a dump against its conversion to a newer op version differs only in the op version', async (t) => {
  const dir = tempDir(t);
  const newer = path.join(dir, 'auth-1.13.native');
  const made = await runShell(`${sh('pach-convert')} --to-version 1.13 ${AUTH_DUMP} > ${newer}`);
  t.equal(made.code, 0, made.stderr);
  const r = await diff(AUTH_DUMP, newer);
  t.equal(r.code, 1, 'they differ: exit 1');
  t.equal(r.stdout.toString(), '~ op version 1.11 -> 1.13\n');
  const report = await jsonDiff(t, AUTH_DUMP, newer);
  t.same(report.changed.op_version, { old: '1.11', new: '1.13' });
  t.equal(report.compared_at, '1.13');
  t.same(report.differences, { added: 0, removed: 0, changed: 1 });
});

t.test('against an edited copy, the diff names exactly the edits (table and JSON)', async (t) => {
  const dir = tempDir(t);
  const base = await viewOf(AUTH_DUMP);
  const records = copyRecords(base);
  // 1. Every record of repo `right`: its repo op, commits, branch and ACL.
  const isRight = (r: JsonRecord): boolean =>
    (r.kind === 'repo' && r.body.repo?.name === 'right') ||
    (r.kind === 'commit' && commitRepo(r.body) === 'right') ||
    (r.kind === 'branch' && r.body.branch?.repo?.name === 'right') ||
    (r.kind === 'set_acl' && r.body.repo === 'right');
  const rightCommits = records.filter((r) => r.kind === 'commit' && commitRepo(r.body) === 'right').map((r) => `right@${r.body.ID}`);
  // 2. The glob of pipeline copy's first input (left).
  const copy = indexOf(records, 'pipeline', (b) => b.pipeline.name === 'copy');
  records[copy]!.body.input.union[0].pfs.glob = '/';
  // 3. The first commit of left.
  const leftCommit = indexOf(records, 'commit', (b) => commitRepo(b) === 'left');
  const deleted = `left@${records[leftCommit]!.body.ID}`;
  // 4. robot:test's scope on copy's ACL.
  const acl = indexOf(records, 'set_acl', (b) => b.repo === 'copy');
  const entry = records[acl]!.body.entries.find((e: { username: string }) => e.username === 'robot:test');
  entry.scope = 'READER';
  const edited = writeView(dir, 'edited.json', records.filter((r, i) => i !== leftCommit && !isRight(r)));

  const r = await diff(AUTH_DUMP, edited);
  t.equal(r.code, 1, 'they differ: exit 1');
  t.equal(r.stderr, '');
  const rightAcl = base.find((x) => x.kind === 'set_acl' && x.body.repo === 'right')!.body.entries.map((e: { username: string; scope: string }) => `${e.username} ${e.scope}`).join(', ');
  t.same(r.stdout.toString().split('\n').filter(Boolean), [
    '- repo right',
    '- branch right@master',
    ...[deleted, ...rightCommits].sort().map((c) => `- commit ${c}`),
    '~ pipeline copy: input.union[0].pfs.glob "/*" -> "/"',
    '~ acl copy: robot:test OWNER -> READER',
    `- acl right: ${rightAcl}`,
  ], 'one line per difference, by section, sorted');

  const report = await jsonDiff(t, AUTH_DUMP, edited);
  t.equal(report.same, false);
  t.same(names(report.removed, 'repos'), ['right']);
  t.same(names(report.removed, 'branches'), ['right@master']);
  t.same(names(report.removed, 'commits'), [deleted, ...rightCommits].sort());
  t.same(names(report.removed, 'acls'), ['right']);
  t.same(report.changed.pipelines, [{ name: 'copy', changes: [{ path: 'input.union[0].pfs.glob', old: '/*', new: '/' }] }]);
  t.same(report.changed.acls, [{ name: 'copy', changes: [{ path: 'robot:test', old: 'OWNER', new: 'READER' }] }]);
  for (const s of SECTIONS) t.same(report.added[s], [], `nothing added to ${s}`);
  for (const s of SECTIONS.filter((x) => !['repos', 'branches', 'commits', 'acls'].includes(x))) t.same(report.removed[s], [], `nothing removed from ${s}`);
  for (const s of SECTIONS.filter((x) => !['pipelines', 'acls'].includes(x))) t.same(report.changed[s], [], `nothing changed in ${s}`);
  t.same(report.differences, { added: 0, removed: 3 + rightCommits.length + 1, changed: 2 });
  t.equal(report.new.records, base.length - 1 - base.filter(isRight).length);

  // The other direction: what was removed is added.
  const back = await jsonDiff(t, edited, AUTH_DUMP);
  t.same(names(back.added, 'repos'), ['right']);
  t.same(back.changed.pipelines, [{ name: 'copy', changes: [{ path: 'input.union[0].pfs.glob', old: '/', new: '/*' }] }]);
});

t.test('changed commits and jobs are one line each, naming their fields', async (t) => {
  const dir = tempDir(t);
  const records = await viewOf(AUTH_DUMP);
  const c = indexOf(records, 'commit', (b) => commitRepo(b) === 'sort' && b.finished);
  records[c]!.body.finished.seconds = String(Number(records[c]!.body.finished.seconds) + 60);
  records[c]!.body.size_bytes = '1';
  const j = indexOf(records, 'job', (b) => b.pipeline.name === 'sort');
  records[j]!.body.state = 'JOB_FAILURE';
  records[j]!.body.reason = 'edited';
  const r = await diff(AUTH_DUMP, writeView(dir, 'edited.json', records));
  t.equal(r.code, 1);
  t.same(r.stdout.toString().split('\n').filter(Boolean), [
    `~ commit sort@${records[c]!.body.ID}: size_bytes, finished`,
    `~ job sort@${records[j]!.body.output_commit.id}: state JOB_SUCCESS -> JOB_FAILURE, reason`,
  ]);
});

t.test('≤ 1.8 objects are compared by the SHA-512 of their content, with their bytes', async (t) => {
  const dir = tempDir(t);
  const records = await viewOf(SORT_DUMP);
  const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');
  const group = objectGroups(records, sha512)[3]!;
  const bytes = records.slice(group.first, group.last + 1).reduce((n, r) => n + (r.body.value ? Buffer.from(String(r.body.value), 'base64').length : 0), 0);
  const edited = writeView(dir, 'edited.json', records.filter((_, i) => i < group.first || i > group.last));
  const r = await diff(SORT_DUMP, edited);
  t.equal(r.code, 1);
  t.equal(r.stdout.toString(), `- object ${group.hash} (${bytes} bytes)\n`, 'the full hash: never a prefix that could be ambiguous');
  const report = await jsonDiff(t, SORT_DUMP, edited);
  t.same(report.removed.objects, [{ name: group.hash, bytes }]);
});

t.test('secrets are said to change, and never shown', async (t) => {
  const dir = tempDir(t);
  const records = await viewOf(AUTH_DUMP);
  const ae = indexOf(records, 'activate_enterprise');
  const rt = indexOf(records, 'restore_auth_token');
  const oldCode = String(records[ae]!.body.activation_code);
  const oldHash = String(records[rt]!.body.token.hashed_token);
  // A code of the same shape (base64 JSON of a token and a signature) that expires a year later.
  const newCode = Buffer.from(JSON.stringify({ token: JSON.stringify({ expiry: '2022-08-24T17:11:42.115Z' }), signature: 'c2lnbmVk' })).toString('base64');
  const newHash = createHash('sha256').update('another token').digest('hex');
  records[ae]!.body.activation_code = newCode;
  records[rt]!.body.token.hashed_token = newHash;
  // Secrets the dump does not hold: a root token, and an identity provider added whole with its client secret.
  const rootToken = createHash('sha256').update('root').digest('hex');
  const clientSecret = createHash('sha256').update('client').digest('hex');
  records[indexOf(records, 'activate_auth')]!.body.root_token = rootToken;
  const provider = { name: 'okta', oidc: { issuer: 'https://okta.example', client_id: 'pachd', client_secret: clientSecret } };
  records[indexOf(records, 'set_auth_config')]!.body.configuration.id_providers.push(provider);
  const edited = writeView(dir, 'secrets.json', records);

  const table = await diff(AUTH_DUMP, edited, ['-v']);
  const json = await diff(AUTH_DUMP, edited, ['--format', 'json', '-v']);
  t.equal(table.code, 1);
  t.same(table.stdout.toString().split('\n').filter(Boolean), [
    '~ auth activation: root token added',
    `~ auth config: configuration.id_providers[1] (none) -> ${JSON.stringify({ ...provider, oidc: { ...provider.oidc, client_secret: '<secret>' } })}`,
    '~ enterprise: activation code changed',
    '~ enterprise: code_expires "2021-08-24T17:11:42.115Z" -> "2022-08-24T17:11:42.115Z"',
    '~ robot token robot:test: token hash changed',
  ]);
  const report = JSON.parse(json.stdout.toString()) as Report;
  t.same(report.changed.auth.map((c) => c.name), ['activate_auth', 'auth_config', 'enterprise']);
  t.same(report.changed.auth[0]!.changes, [{ path: 'root_token', secret: true, old_state: 'absent', new_state: 'set' }]);
  t.same(report.changed.auth.slice(2), [{ name: 'enterprise', changes: [
    { path: 'activation_code', secret: true, old_state: 'set', new_state: 'set' },
    { path: 'code_expires', old: '2021-08-24T17:11:42.115Z', new: '2022-08-24T17:11:42.115Z' },
  ] }]);
  t.same(report.changed.tokens, [{ name: 'robot:test', changes: [{ path: 'hashed_token', secret: true, old_state: 'set', new_state: 'set' }] }]);
  const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
  const everything = [table.stdout.toString(), table.stderr, json.stdout.toString(), json.stderr].join('\n');
  t.ok(!everything.includes('pach-diff-secret'), 'no masked value either');
  for (const [what, secret] of [['old activation code', oldCode], ['new activation code', newCode], ['old token hash', oldHash], ['new token hash', newHash], ['root token', rootToken], ['client secret', clientSecret]] as const) {
    t.ok(!everything.includes(secret), `the ${what} is not in the output`);
    t.ok(!everything.includes(sha256(secret)), `nor the SHA-256 of the ${what}`);
  }
});

t.test('--diff against a filtered copy names exactly what the filter removed', async (t) => {
  const dir = tempDir(t);
  for (const dump of DUMPS) {
    const out = path.join(dir, `${path.basename(dump.file)}.no-right.native`);
    const f = await runShell(`${sh('pach-filter')} -q --exclude-repo right ${dump.file} > ${out}`);
    t.equal(f.code, 0, `${dump.name}: pach-filter --exclude-repo right: ${f.stderr}`);
    if (f.code !== 0) continue;
    const table = await diff(dump.file, out);
    t.equal(table.code, 1, `${dump.name}: they differ`);
    t.ok(table.stdout.toString().split('\n').filter(Boolean).every((l) => /^[-~] /.test(l)), `${dump.name}: nothing is added`);

    const report = await jsonDiff(t, dump.file, out);
    const [before, after] = await Promise.all([dump.file, out].map(async (file) => JSON.parse((await runTool('pach-filter', ['--list', '--format', 'json', '--commits', file])).stdout.toString()) as Contents));
    const missing = <T>(a: T[], b: T[]): T[] => a.filter((x) => !b.includes(x)).sort();
    const repos = (c: Contents): string[] => c.repos.map((r) => r.name);
    const branches = (c: Contents): string[] => c.repos.flatMap((r) => r.branches.map((b) => `${r.name}@${b.name}`));
    const commits = (c: Contents): string[] => c.repos.flatMap((r) => (r.commit_list ?? []).map((x) => `${r.name}@${x.id}`));
    const pipelines = (c: Contents): string[] => c.pipelines.map((p) => p.name);
    t.same(names(report.removed, 'repos'), missing(repos(before), repos(after)), `${dump.name}: repos`);
    t.same(names(report.removed, 'branches'), missing(branches(before), branches(after)), `${dump.name}: branches`);
    t.same(names(report.removed, 'commits'), missing(commits(before), commits(after)), `${dump.name}: commits`);
    t.same(names(report.removed, 'pipelines'), missing(pipelines(before), pipelines(after)), `${dump.name}: pipelines`);
    t.same(names(report.removed, 'pipelines'), ['copy', 'sort'], `${dump.name}: right's readers go`);
    const jobsOf = (c: Contents): number => c.pipelines.reduce((n, p) => n + Object.values(p.jobs).reduce((a, b) => a + b, 0), 0);
    t.equal(report.removed.jobs!.length, jobsOf(before) - jobsOf(after), `${dump.name}: jobs`);
    for (const s of SECTIONS) t.same(report.added[s], [], `${dump.name}: nothing added to ${s}`);
    // Pruned objects and blocks: exactly what the listings count.
    t.equal(report.removed.objects!.length, before.objects.objects - after.objects.objects, `${dump.name}: objects`);
    t.equal(report.removed.blocks!.length, before.objects.blocks - after.objects.blocks, `${dump.name}: blocks`);
    if (dump.file === SORT_DUMP) {
      for (const s of SECTIONS) t.same(report.changed[s], [], `${dump.name}: nothing changed in ${s}`);
    } else {
      // 1.11: no kept pipeline needs the spec repo's op (pachd 1.9+ makes the repo anyway), and
      // pipeline:copy leaves left's ACL; the other ACLs go with their repos.
      t.same(report.changed.repos, [{ name: '__spec__', changes: [{ path: 'made_by', old: 'repo op', new: 'pachd' }] }]);
      t.same(report.changed.acls, [{ name: 'left', changes: [{ path: 'pipeline:copy', old: 'READER' }] }]);
      t.same(names(report.removed, 'acls'), ['__spec__', 'copy', 'right', 'sort']);
      for (const s of SECTIONS.filter((x) => !['repos', 'acls'].includes(x))) t.same(report.changed[s], [], `${dump.name}: nothing changed in ${s}`);
    }
  }
});

t.test('-o FILE, --summary, and the exit codes of bad operands', async (t) => {
  const dir = tempDir(t);
  const report = path.join(dir, 'diff.json');
  const summary = path.join(dir, 'summary.json');
  const ok = await diff(SORT_DUMP, AUTH_DUMP, ['--format', 'json', '-o', report, '--summary', summary]);
  t.equal(ok.code, 1);
  t.equal(ok.stdout.length, 0, 'the report went to the file');
  t.equal((JSON.parse(fs.readFileSync(report, 'utf8')) as Report).changed.op_version?.new, '1.11');
  const s = JSON.parse(fs.readFileSync(summary, 'utf8')) as { exit_code: number; records_in: number; bytes_in: number; diff: Record<string, number> };
  t.equal(s.exit_code, 1);
  t.equal(s.records_in, 360 + 631, 'records_in counts both inputs');
  t.equal(s.bytes_in, fs.statSync(SORT_DUMP).size + fs.statSync(AUTH_DUMP).size);
  t.ok(s.diff.added > 0 && s.diff.removed > 0);

  const missing = await diff(SORT_DUMP, path.join(dir, 'nope.native'));
  t.equal(missing.code, 66, 'OTHER missing: 66');
  t.match(missing.stderr, /nope\.native/);

  for (const args of [['--diff', '-'], ['-', '--diff', '-'], [SORT_DUMP, AUTH_DUMP, '--diff', SORT_DUMP], [SORT_DUMP, '--diff', SORT_DUMP, '--at', '2020-12-16T00:00:00Z'], [SORT_DUMP, '--diff', SORT_DUMP, '--commits'], [SORT_DUMP, '--diff', SORT_DUMP, '--list']]) {
    const r = await runTool('pach-filter', args, { input: fs.readFileSync(SORT_DUMP) });
    t.equal(r.code, 2, `${args.map((a) => path.basename(a)).join(' ')}: usage error`);
    t.equal(r.stdout.length, 0);
  }

  const native = (await runTool('pach-convert', [SORT_DUMP])).stdout;
  const cut = path.join(dir, 'cut.native');
  fs.writeFileSync(cut, native.subarray(0, native.length - 40));
  const badOther = await diff(SORT_DUMP, cut);
  t.equal(badOther.code, 65, 'a truncated OTHER: 65');
  t.match(badOther.stderr, /cut\.native: .*PACH_TRUNCATED/, 'the message names OTHER');
  t.equal(badOther.stdout.length, 0);
  const badInput = await runTool('pach-filter', ['--diff', SORT_DUMP], { input: native.subarray(0, native.length - 40) });
  t.equal(badInput.code, 65, 'a truncated input: 65');
  t.match(badInput.stderr, /stdin: .*PACH_TRUNCATED/, 'the message names the input');
});
