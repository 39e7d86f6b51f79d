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
  for (const args of [['--verify', '--at', 'yesterday'], ['--verify', '--pachd-version', '2.1'], ['--verify', '--pachd-version', '1.6'], ['--commits', '--verify'], []]) {
    const r = await runTool('pach-filter', [...args, SORT_DUMP]);
    t.equal(r.code, 2, args.join(' ') || '(no mode)');
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
