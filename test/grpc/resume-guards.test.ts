/**
 * What keeps a resumed restore honest: --resume refuses a stream that is not
 * the journal's before sending anything, a fresh restore refuses to start over
 * an unfinished journal, no token or fixture secret reaches a human-facing
 * output, and a pachd-sandbox --state survives a restart (also in the middle
 * of a restore, which --resume then finishes).
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parseView, renderView } from '../helpers/json-edit.js';
import { AUTH_DUMP, SORT_DUMP, lines, pachctlRecords, readFixture, runShell, runTool, sh, splitRaw, tempDir, type RunResult } from '../helpers/run.js';
import { prefixSha as journalPrefixSha, type Journal } from '../helpers/journal.js';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';

const AT = '2020-12-16T00:00:00Z';
const TOKEN = 'tok-SECRET-5f3a9c';
const ENV = { PACH_TOKEN: TOKEN };
const DUMP = readFixture(AUTH_DUMP);
const RECORDS = await pachctlRecords(DUMP);
const VIEW = parseView((await runTool('pach-convert', ['--to', 'json', AUTH_DUMP])).stdout.toString());

const prefixSha = (n: number): string => journalPrefixSha(RECORDS, n);

const readJournal = (file: string): Journal => JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;

function sandbox(t: Test, dir: string, args: string[], state?: string): Promise<Sandbox> {
  return startSandbox(t, { version: '1.11', dir, state, args: ['--at', AT, ...args], env: ENV });
}

/** How many Restore calls the sandbox has answered (applied, dropped or refused). */
const restoreCalls = (sb: Sandbox): number => (sb.stderr().match(/Restore: /g) ?? []).length;

async function extractIsDump(t: Test, sb: Sandbox, env: Record<string, string> = ENV): Promise<void> {
  const x = await runTool('pach-extract', ['--pachd', sb.address, '--to', 'pachctl'], { env });
  t.equal(x.code, 0, `pach-extract exits 0 ${x.stderr}`);
  t.ok(x.stdout.equals(DUMP), 'the extract is byte-identical to the dump');
}

/** A restore dropped by the sandbox at record 300 with --retries 0: the unfinished journal the other cases start from. */
async function unfinished(t: Test, sb: Sandbox, journal: string): Promise<Journal> {
  const r = await runTool('pach-restore', ['--pachd', sb.address, '--journal', journal, '--retries', '0', '--batch-records', '50', AUTH_DUMP], { env: ENV });
  t.equal(r.code, 75, 'the first restore stops with exit 75');
  const j = readJournal(journal);
  t.equal(j.complete, false);
  t.ok(j.acked > 0 && j.in_flight > 0, `it leaves ${j.acked} acknowledged and ${j.in_flight} in doubt`);
  return j;
}

t.test('--resume with another stream is refused before anything is sent; a fresh restore over an unfinished journal is refused', async (t) => {
  const dir = tempDir(t);
  const sb = await sandbox(t, dir, ['--fail-after', '300']);
  const journal = path.join(dir, 'restore.journal.json');
  await unfinished(t, sb, journal);
  const calls = restoreCalls(sb);

  // The 1.11 dump with one record changed: block record 3 gets other contents.
  const edited = VIEW.map((r, i) => (i === 3 ? { ...r, body: { ...r.body, value: Buffer.from('not the block').toString('base64') } } : r));
  const editedFile = path.join(dir, 'edited.native');
  const conv = await runTool('pach-convert', ['--from', 'json', '-o', editedFile], { input: renderView(edited) });
  t.equal(conv.code, 0, conv.stderr);
  const editedRecords = splitRaw((await runTool('pach-convert', ['--to', 'raw', editedFile])).stdout);
  t.same(
    editedRecords.flatMap((r, i) => (r.equals(RECORDS[i]!) ? [] : [i])),
    [3],
    'the edited stream differs from the dump in record 3 only',
  );

  for (const [label, file] of [
    ['the 1.7 sort dump', SORT_DUMP],
    ['the 1.11 dump with record 3 changed', editedFile],
  ] as const) {
    const r = await runTool('pach-restore', ['--resume', '--journal', journal, '--pachd', sb.address, file], { env: ENV });
    t.equal(r.code, 65, `${label}: exit 65`);
    t.match(r.stderr, /PACH_JOURNAL_MISMATCH/, `${label}: PACH_JOURNAL_MISMATCH`);
    t.equal(restoreCalls(sb), calls, `${label}: no Restore call reached pachd`);
  }

  const before = fs.readFileSync(journal);
  const again = await runTool('pach-restore', ['--journal', journal, '--pachd', sb.address, AUTH_DUMP], { env: ENV });
  t.not(again.code, 0, `a fresh restore is refused (exit ${again.code})`);
  t.match(again.stderr, /PACH_JOURNAL_EXISTS/);
  t.match(again.stderr, /--resume/, 'the message names --resume');
  t.equal(lines(again.stderr).length, 1);
  t.equal(restoreCalls(sb), calls, 'no Restore call reached pachd');
  t.ok(fs.readFileSync(journal).equals(before), 'the journal is untouched');

  const done = await runTool('pach-restore', ['--resume', '--journal', journal, '--pachd', sb.address, AUTH_DUMP], { env: ENV });
  t.equal(done.code, 0, `the right stream resumes: ${done.stderr}`);
  await extractIsDump(t, sb);
});

t.test('a refused --resume leaves the journal as it was and does not offer to resume with the refused stream', async (t) => {
  const dir = tempDir(t);
  const sb = await sandbox(t, dir, ['--fail-after', '300']);
  const journal = path.join(dir, 'restore.journal.json');
  const j = await unfinished(t, sb, journal);
  const r = await runTool('pach-restore', ['--resume', '--journal', journal, '--pachd', sb.address, SORT_DUMP], { env: ENV });
  t.equal(r.code, 65);
  const after = readJournal(journal);
  // in_flight is what makes the next --resume look in the target for a job or token the dropped call may have applied.
  t.same(
    { acked: after.acked, acked_sha256: after.acked_sha256, in_flight: after.in_flight, complete: after.complete, last_error: after.last_error },
    { acked: j.acked, acked_sha256: j.acked_sha256, in_flight: j.in_flight, complete: j.complete, last_error: j.last_error },
    'acked, in_flight and last_error unchanged',
  );
  t.notOk(r.stderr.includes(`resume with: pach-restore --resume --journal ${journal} --pachd grpc://${sb.address} ${SORT_DUMP}`), 'no advice to resume with the stream just refused');
});

t.test('the printed resume command works when the journal path has a space in it', async (t) => {
  const dir = tempDir(t);
  const sb = await sandbox(t, dir, ['--fail-after', '300']);
  fs.mkdirSync(path.join(dir, 'restore state'));
  const journal = path.join(dir, 'restore state', 'restore.journal.json');
  const r = await runTool('pach-restore', ['--pachd', sb.address, '--journal', journal, '--retries', '0', '--batch-records', '50', AUTH_DUMP], { env: ENV });
  t.equal(r.code, 75);
  const m = /resume with: (pach-restore --resume .*)$/m.exec(r.stderr);
  t.ok(m, 'a resume command is printed');
  if (!m) return;
  const resumed = await runShell(m[1]!.replace(/^pach-restore /, `${sh('pach-restore')} `), { env: ENV, cwd: dir });
  t.equal(resumed.code, 0, `pasted into a shell, it resumes: ${m[1]}\n${resumed.stderr}`);
});

t.test('no token or fixture secret appears in any output meant for people', async (t) => {
  const dir = tempDir(t);
  const activation: string = VIEW.find((r) => r.kind === 'activate_enterprise')!.body.activation_code;
  const hashed: string = VIEW.find((r) => r.kind === 'restore_auth_token')!.body.token.hashed_token;
  t.ok(activation.length > 100 && /^[0-9a-f]{64}$/.test(hashed), 'the fixture secrets were found');
  const WRONG = 'tok-WRONG-0b9e11';
  const secrets: Array<[string, string]> = [
    ['the token', TOKEN],
    ['the wrong token', WRONG],
    ['the activation code', activation],
    ['the hashed token', hashed],
  ];
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });

  const sb = await sandbox(t, dir, ['--fail-after', '300', '-v']);
  const journal = path.join(dir, 'restore.journal.json');
  const summary = path.join(dir, 'summary.json');
  const texts: Array<[string, string]> = [];
  const argvs: string[][] = [];
  const run = async (label: string, tool: Parameters<typeof runTool>[0], args: string[], env: Record<string, string> = ENV): Promise<RunResult> => {
    argvs.push(args);
    const r = await runTool(tool, args, { env });
    texts.push([`${label} stderr`, r.stderr]);
    return r;
  };

  const failed = await run('failing restore', 'pach-restore', ['-v', '--summary', '-', '--pachd', sb.address, '--journal', journal, '--retries', '0', '--batch-records', '50', AUTH_DUMP]);
  t.equal(failed.code, 75, 'the failing restore exits 75');
  t.match(failed.stderr, /"tool":"pach-restore"/, 'its summary is on stderr');
  texts.push(['journal after the failure', fs.readFileSync(journal, 'utf8')]);
  const resumed = await run('resume', 'pach-restore', ['-v', '--summary', '-', '--resume', '--pachd', sb.address, '--journal', journal, '--token-file', tokenFile, AUTH_DUMP], {});
  t.equal(resumed.code, 0, `the resume (token from --token-file) exits 0 ${resumed.stderr}`);
  t.match(resumed.stderr, /"exit_code":0/, 'its summary is on stderr');
  texts.push(['journal after the resume', fs.readFileSync(journal, 'utf8')]);
  const denied = await run('extract with a wrong token', 'pach-extract', ['-v', '--summary', '-', '--pachd', sb.address, '--no-objects'], { PACH_TOKEN: WRONG });
  t.equal(denied.code, 77, 'a wrong token is refused');
  const plan = await run('live dry run', 'pach-restore', ['-v', '--summary', summary, '--dry-run', '--pachd', sb.address, '--format', 'json', AUTH_DUMP]);
  texts.push(['live dry run stdout', plan.stdout.toString()], ['live dry run summary file', fs.readFileSync(summary, 'utf8')]);
  t.ok(plan.stdout.length > 0, 'the live dry run printed a plan');

  const extract = await run('extract', 'pach-extract', ['-v', '--summary', '-', '--pachd', sb.address, '--to', 'pachctl']);
  t.ok(extract.stdout.equals(DUMP), 'the cluster holds the dump');
  // The data stream carries the hashed token, as pachctl extract's does: proof the search below would find it.
  t.ok(Buffer.concat(await pachctlRecords(extract.stdout)).includes(hashed), 'the hashed token is in the extract\'s records (data, not for people)');
  for (const format of ['table', 'json']) {
    const list = await runShell(`${sh('pach-extract')} --pachd ${sb.address} | ${sh('pach-filter')} --list --format ${format} -v --summary -`, { env: ENV });
    t.equal(list.code, 0);
    texts.push([`--list --format ${format} stdout`, list.stdout.toString()], [`--list --format ${format} stderr`, list.stderr]);
  }
  await sb.stop();
  texts.push(['sandbox stderr', sb.stderr()]);
  texts.push(['argv', JSON.stringify(argvs)]);

  for (const [where, text] of texts) {
    for (const [name, secret] of secrets) t.ok(!text.includes(secret), `${where}: no ${name}`);
  }
});

t.test('pachd-sandbox --state: a restored cluster survives a restart, root token and all', async (t) => {
  const dir = tempDir(t);
  const state = path.join(dir, 'cluster.state');
  const first = await sandbox(t, dir, [], state);
  const journal = path.join(dir, 'restore.journal.json');
  const r = await runTool('pach-restore', ['--pachd', first.address, '--journal', journal, AUTH_DUMP], { env: ENV });
  t.equal(r.code, 0, r.stderr);
  t.equal(await first.stop(), 143, 'the sandbox exits 143 on SIGTERM');

  const second = await sandbox(t, dir, [], state);
  await second.waitFor(/state .*ops reloaded/);
  await extractIsDump(t, second);
  const wrong = await runTool('pach-extract', ['--pachd', second.address, '--no-objects'], { env: { PACH_TOKEN: 'tok-not-root-3e1f' } });
  t.equal(wrong.code, 77, 'another token is refused: auth is still active');
  const none = await runTool('pach-extract', ['--pachd', second.address, '--no-objects'], { env: { PACH_TOKEN: '' } });
  t.equal(none.code, 77, 'no token is refused');
  const again = await runTool('pach-restore', ['--pachd', second.address, '--journal', path.join(dir, 'second.journal.json'), AUTH_DUMP], { env: ENV });
  t.equal(again.code, 1, 'the root token is still admin: a second restore gets as far as the pre-flight check for an empty target');
  t.match(again.stderr, /PACH_TARGET_NOT_EMPTY/);
});

t.test('a restore cut short, the sandbox restarted from its --state, then --resume: the cluster is the dump', async (t) => {
  const dir = tempDir(t);
  const state = path.join(dir, 'cluster.state');
  const first = await sandbox(t, dir, ['--fail-after', '612'], state);
  const journal = path.join(dir, 'restore.journal.json');
  const j = await unfinished(t, first, journal);
  t.equal(j.acked_sha256, prefixSha(j.acked));
  await first.stop();

  const second = await sandbox(t, dir, [], state);
  const r = await runTool('pach-restore', ['--resume', '--journal', journal, '--pachd', second.address, AUTH_DUMP], { env: ENV });
  t.equal(r.code, 0, `--resume against the restarted sandbox exits 0 ${r.stderr}`);
  t.equal(readJournal(journal).complete, true);
  await extractIsDump(t, second);
});
