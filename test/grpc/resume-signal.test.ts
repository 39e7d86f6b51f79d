/**
 * SIGINT in the middle of a restore, against a pachd-sandbox slowed to 200 ms
 * per call: pach-restore exits 130, the journal on disk is whole JSON that
 * names what was acknowledged, stderr names the resume command, and --resume
 * then finishes the restore with the cluster identical to the dump. The
 * second case interrupts a call that carries a job, which pachd may have
 * applied before the interruption: the resume must not apply it again.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { AUTH_DUMP, binPath, nodeCommand, pachctlRecords, readFixture, runTool, tempDir, testEnv } from '../helpers/run.js';
import { prefixSha as journalPrefixSha, type Journal } from '../helpers/journal.js';
import { checkAuthDumpCluster, startSandbox, type Sandbox } from '../helpers/sandbox.js';

const AT = '2020-12-16T00:00:00Z';
const TOKEN = 'tok-signal-41d2b8';
const ENV = { PACH_TOKEN: TOKEN };
const DUMP = readFixture(AUTH_DUMP);
const RECORDS = await pachctlRecords(DUMP);

const prefixSha = (n: number): string => journalPrefixSha(RECORDS, n);

/** The journal, or undefined while there is none (it is renamed into place whole, so it always parses). */
function journalAt(file: string): Journal | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** The acked count seen when SIGINT was sent. */
  ackedAtSignal: number;
}

/**
 * Starts pach-restore, watches its journal, and sends SIGINT as soon as the
 * journal shows at least `ackedAtLeast` records acknowledged.
 */
function restoreUntil(sb: Sandbox, journal: string, ackedAtLeast: number, batch: number): Promise<Interrupted> {
  const env = testEnv(ENV);
  const [cmd, argv] = nodeCommand(binPath('pach-restore'), ['--pachd', sb.address, '--journal', journal, '--batch-records', String(batch), AUTH_DUMP], env);
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    let ackedAtSignal = -1;
    const poll = setInterval(() => {
      const j = journalAt(journal);
      if (ackedAtSignal < 0 && j && j.acked >= ackedAtLeast) {
        ackedAtSignal = j.acked;
        child.kill('SIGINT');
      }
    }, 15);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      if (ackedAtSignal < 0) reject(new Error(`pach-restore ended (${code}) before its journal showed ${ackedAtLeast} records:\n${stderr}`));
      else resolve({ code, signal, stderr, ackedAtSignal });
    });
  });
}

const checkCluster = (t: Test, sb: Sandbox): Promise<void> => checkAuthDumpCluster(t, sb, ENV, DUMP, RECORDS);

const cases: Array<[string, number, number]> = [
  // [what, interrupt once this many records are acknowledged, --batch-records]
  ['after the first acknowledged call', 1, 20],
  // Jobs are records 610–620: with 50 records a call, the call after the one acknowledging record 599 carries them.
  ['while the call carrying the jobs is in flight', 600, 50],
];

for (const [what, ackedAtLeast, batch] of cases) {
  t.test(`SIGINT ${what}: exit 130, a whole journal, the resume command; --resume finishes it`, async (t) => {
    const dir = tempDir(t);
    const sb = await startSandbox(t, { version: '1.11', dir, args: ['--at', AT, '--delay', '200'], env: ENV });
    const journal = path.join(dir, 'restore.journal.json');
    const r = await restoreUntil(sb, journal, ackedAtLeast, batch);
    t.equal(r.code, 130, `exit 130 (signal ${r.signal})`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    t.match(r.stderr, /interrupted by SIGINT/);
    t.ok(
      r.stderr.includes(`resume with: pach-restore --resume --journal ${journal} --pachd grpc://${sb.address} ${AUTH_DUMP}`),
      `stderr names the resume command:\n${r.stderr}`,
    );

    const j = journalAt(journal)!;
    t.equal(j.complete, false, 'journal: not complete');
    t.ok(Number.isInteger(j.acked) && j.acked >= r.ackedAtSignal && j.acked < 631, `journal: ${j.acked} acknowledged`);
    t.equal(j.acked_sha256, prefixSha(j.acked), 'journal: acked_sha256 is the SHA-256 of the acknowledged records');
    t.ok(Number.isInteger(j.in_flight), `journal: ${j.in_flight} in flight`);
    if (ackedAtLeast >= 600) t.ok(j.acked <= 610 && j.acked + j.in_flight > 610, `the call in doubt (${j.in_flight} records from ${j.acked}) holds a job`);
    t.equal(j.last_error, 'interrupted');
    t.match(r.stderr, new RegExp(`^pach-restore: ${j.acked} records acknowledged;`, 'm'), 'stderr and journal agree on the count');
    t.same(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no journal temporary left behind');

    const resumed = await runTool('pach-restore', ['--resume', '-v', '--journal', journal, '--pachd', sb.address, AUTH_DUMP], { env: ENV });
    t.equal(resumed.code, 0, `--resume exits 0 ${resumed.stderr}`);
    t.match(resumed.stderr, new RegExp(`resuming after record ${j.acked - 1} \\(${j.acked} acknowledged`));
    const settled = [...resumed.stderr.matchAll(/record (\d+): the (\w+) op .*is already in the target; not sent again/g)].map((m) => `${m[2]} ${m[1]}`);
    t.comment(settled.length ? `applied before the interruption, and found in the target: ${settled.join(', ')}` : 'nothing the target already had was held back');
    const done = journalAt(journal)!;
    t.same([done.complete, done.acked, done.in_flight, done.acked_sha256], [true, 631, 0, prefixSha(631)], 'journal: complete');
    await checkCluster(t, sb);
  });
}
