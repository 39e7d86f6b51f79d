/**
 * pach-filter --list/--verify and pach-restore --dry-run as pipe citizens:
 * the report on stdout only, --summary with the problems, usage errors,
 * compressed and cut input, a reader that stops early.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { AUTH_DUMP, ROOT, SORT_DUMP, runShell, runTool, sh, tempDir } from '../helpers/run.js';

const AT = ['--at', '2020-12-16T00:00:00Z'];

/** The 1.11 dump with its first `left` commit's parent pointed at a commit that does not exist. */
async function brokenAuthStream(): Promise<{ text: string; record: number }> {
  const view = (await runTool('pach-convert', ['--to', 'json', AUTH_DUMP])).stdout.toString();
  const records = view.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>).filter((o) => 'kind' in o);
  const record = records.findIndex((o) => o.kind === 'commit' && o.body.parent.repo.name === 'left' && o.body.parent.id);
  records[record]!.body.parent.id = 'ffffffffffffffffffffffffffffffff';
  return { text: records.map((o) => JSON.stringify(o)).join('\n') + '\n', record };
}

t.test('--verify --summary FILE records the problems, with code and record', async (t) => {
  const dir = tempDir(t);
  const { text, record } = await brokenAuthStream();
  const summary = path.join(dir, 'summary.json');
  const r = await runTool('pach-filter', ['--verify', ...AT, '--summary', summary, '-'], { input: text });
  t.equal(r.code, 65);
  t.match(r.stdout.toString(), new RegExp(`^record ${record} \\(commit\\): error: PACH_PARENT_NOT_FOUND: `, 'm'));
  const s = JSON.parse(fs.readFileSync(summary, 'utf8')) as { exit_code: number; records_in: number; problems: Array<{ code: string; record: number }> };
  t.equal(s.exit_code, 65);
  t.equal(s.records_in, 631);
  t.same(s.problems.map((p) => [p.code, p.record]), [['PACH_PARENT_NOT_FOUND', record]]);
  const plan = await runTool('pach-restore', ['--dry-run', ...AT, '--summary', summary, '-'], { input: text });
  t.equal(plan.code, 65);
  t.match(plan.stdout.toString(), new RegExp(`FAILS at record ${record} \\(commit\\): PACH_PARENT_NOT_FOUND`));
  t.equal((JSON.parse(fs.readFileSync(summary, 'utf8')) as { outcome: string }).outcome, 'fails');
});

t.test('a clean run writes its report on stdout and nothing on stderr', async (t) => {
  for (const [tool, args] of [['pach-filter', ['--verify']], ['pach-filter', ['--list']], ['pach-restore', ['--dry-run']]] as const) {
    const r = await runTool(tool, [...args, SORT_DUMP]);
    t.equal(r.code, 0, `${tool} ${args.join(' ')}`);
    t.ok(r.stdout.length > 0);
    t.equal(r.stderr.toString(), '', `${tool} ${args.join(' ')}: stderr is empty`);
  }
});

t.test('--list --verify gives both, and fails when the replay finds problems', async (t) => {
  const r = await runTool('pach-filter', ['--list', '--verify', AUTH_DUMP]);
  t.equal(r.code, 65, 'the 1.11 dump checked today: its enterprise code has expired');
  const out = r.stdout.toString();
  t.match(out, /^REPOS \(5\)$/m);
  t.match(out, /^problems +1 error, 0 hazards/m);
  t.match(out, /^record 621 \(activate_enterprise\): error: PACH_ACTIVATION_EXPIRED:/m);
});

t.test('bad flags are usage errors (exit 2, one line)', async (t) => {
  for (const args of [['--verify', '--at', 'yesterday'], ['--verify', '--pachd-version', '2.1'], ['--verify', '--pachd-version', '1.6'], ['--commits', '--verify'], ['--list', '--keep-last', '1'], ['--diff', SORT_DUMP, '--verify']]) {
    const r = await runTool('pach-filter', [...args, SORT_DUMP]);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.stderr.toString().trimEnd().split('\n').length, 1);
    t.equal(r.stdout.length, 0);
  }
});

t.test('compressed input on stdin lists the same as the file', async (t) => {
  const direct = await runTool('pach-filter', ['--list', '--format', 'json', SORT_DUMP]);
  const viaZstd = await runShell(`zstd -q -c ${SORT_DUMP} | ${sh('pach-filter')} --list --format json`);
  t.equal(viaZstd.code, 0, viaZstd.stderr.toString());
  const a = JSON.parse(direct.stdout.toString());
  const b = JSON.parse(viaZstd.stdout.toString());
  t.equal(b.stream.compression, 'zstd');
  t.equal(b.stream.input, 'stdin');
  t.same({ ...b, stream: undefined }, { ...a, stream: undefined }, 'same contents');
});

t.test('a native stream cut short still lists what it holds, says integrity failed, and exits 65', async (t) => {
  const native = (await runTool('pach-convert', [SORT_DUMP])).stdout;
  const cut = native.subarray(0, native.length - 40);
  const r = await runTool('pach-filter', ['--list', '--format', 'json', '-'], { input: cut });
  t.equal(r.code, 65);
  const c = JSON.parse(r.stdout.toString()) as { stream: { integrity: { state: string; detail: string } }; repos: unknown[] };
  t.equal(c.stream.integrity.state, 'failed');
  t.match(c.stream.integrity.detail, /PACH_TRUNCATED|PACH_BAD_TRAILER|PACH_BAD_FRAME/);
  t.equal(c.repos.length, 4, 'every record before the cut was replayed');
});

t.test('a reader that stops early ends the run quietly with 141', async (t) => {
  const dir = tempDir(t);
  const raw = path.join(dir, 'history.raw');
  const gen = await runShell(`node ${path.join(ROOT, 'dist', 'bench', 'history.js')} --repos 20 --commits 5000 > ${raw}`);
  t.equal(gen.code, 0, gen.stderr.toString());
  const r = await runShell(`${sh('pach-filter')} --list --commits --format json ${raw} | head -c 100 > /dev/null; echo "rc=\${PIPESTATUS[0]}" >&2`);
  t.match(r.stderr.toString(), /rc=141/);
  t.notMatch(r.stderr.toString(), /at .*\.js:\d+/, 'no stack trace');
});

t.test('--dry-run --onto: restoring the 1.11 dump into the cluster it came from', async (t) => {
  const r = await runTool('pach-restore', ['--dry-run', '--format', 'json', ...AT, '--onto', AUTH_DUMP, AUTH_DUMP]);
  t.equal(r.code, 65, 'it would fail');
  const plan = JSON.parse(r.stdout.toString()) as { onto: { records: number; op_version: string }; stops_at: { code: string; kind: string }; already_exist: Record<string, number>; problems: Array<{ code: string; names: string[] }> };
  t.same([plan.onto.records, plan.onto.op_version], [631, '1.11'], 'the plan names the target it started from');
  t.same([plan.stops_at.kind, plan.stops_at.code], ['activate_auth', 'PACH_AUTH_ACTIVE'], 'auth is already active there: pachd answers "already activated"');
  t.same(plan.already_exist, { commit: 28, pipeline: 2, repo: 5 }, 'every repo, commit and pipeline is already there (and ignored)');
  t.same(plan.problems.filter((p) => p.code === 'PACH_REPO_EXISTS').map((p) => p.names[0]), ['left', 'right', 'copy', 'sort'], 'the repos the restore would merge into, but not __spec__, which pachd always has');
  t.match(r.stderr, /warning: .*PACH_REPO_EXISTS: repo left already exists \(in the target cluster\)/);
});

t.test('--dry-run --onto: a --no-objects backup needs no objects in the stream when the target holds them', async (t) => {
  const view = (await runTool('pach-convert', ['--to', 'json', AUTH_DUMP])).stdout.toString().trimEnd().split('\n');
  const isObject = (l: string): boolean => /"kind":"(block|create_object|tag)"/.test(l);
  const metadata = view.filter((l) => !isObject(l) && !l.startsWith('{"trailer"')).join('\n') + '\n';
  const objects = view.filter((l) => isObject(l)).join('\n') + '\n';
  const dir = tempDir(t);
  const store = path.join(dir, 'objects.ndjson');
  fs.writeFileSync(store, objects);
  const alone = await runTool('pach-restore', ['--dry-run', '--format', 'json', ...AT, '-'], { input: metadata });
  t.match(alone.stdout.toString(), /PACH_NO_OBJECTS/, 'into an empty cluster: the stream holds no objects');
  const onto = await runTool('pach-restore', ['--dry-run', '--format', 'json', ...AT, '--onto', store, '-'], { input: metadata });
  t.equal(onto.code, 0, onto.stderr);
  const plan = JSON.parse(onto.stdout.toString()) as { outcome: string; problems: unknown[] };
  t.same([plan.outcome, plan.problems], ['ok', []], 'onto a target that holds the objects: clean');
  const twice = await runTool('pach-restore', ['--dry-run', '--onto', '-', '-'], { input: metadata });
  t.equal(twice.code, 2, '--onto - with the stream on stdin too is a usage error');
});

t.test('--dry-run --onto a cut extract stops with PACH_ONTO_BROKEN', async (t) => {
  const dir = tempDir(t);
  const native = (await runTool('pach-convert', [SORT_DUMP])).stdout;
  const cut = path.join(dir, 'cut.native');
  fs.writeFileSync(cut, native.subarray(0, native.length - 40));
  const r = await runTool('pach-restore', ['--dry-run', '--onto', cut, SORT_DUMP]);
  t.equal(r.code, 65);
  t.match(r.stderr, /PACH_ONTO_BROKEN: --onto .*cut\.native: /);
  t.equal(r.stdout.length, 0, 'no plan on half a target');
});
