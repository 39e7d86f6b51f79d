/**
 * bench/replay.ts: how fast the replay model (lib/replay) applies a stream,
 * and how many bytes of memory it keeps per commit, measured in-process on a
 * raw file (bench/history.ts makes the one the benchmark uses).
 *
 * What it does: reads FILE in 1 MiB chunks, cuts the raw framing (8-byte
 * little-endian length + admin.Op; nothing else is accepted), and hands every
 * record to one `Replayer` (lib/replay/replay.ts), exactly as
 * `pach-filter --verify` does after its reader; then `end()`. The raw framing
 * is cut by lib/codec's LengthPrefixedSplitter, which hands out plain
 * Uint8Array views as the CLI's reader does. It times:
 *   - the whole replay (reading from the page cache, framing, decode, apply);
 *   - each phase of an extract (objects, repos, commits, branches, pipelines
 *     with their jobs, auth): a phase is a run of records of its kinds, so a
 *     1.9+ extract has one of each and the commit ops are timed alone.
 * and measures memory as heapUsed + external (process.memoryUsage(), after a
 * forced full GC): once before the first record, once at every phase change
 * (the clock is stopped meanwhile; at most 16 times), once at the end with
 * the model alive. `external` already holds the ArrayBuffers (the
 * CommitTable's typed columns), so arrayBuffers is reported but not added
 * again. bytes_per_commit = (end - before) / commit ops: everything the model
 * keeps (commit table, object index, branches, repos, pipelines, auth)
 * charged to the commits; commit_phase_bytes_per_commit is the growth during
 * the commit phase alone; commit_table_bytes is CommitTable's own figure
 * (`model.commits.bytes`: its columns and hash slots, capacity included).
 *
 * Run (after `npx tsc -p .`; --expose-gc is required):
 *   node --expose-gc dist/bench/replay.js history.raw > replay.tsv
 * stdout: one `key<TAB>value` line per figure (bench/run.sh keeps it for
 * bench/report.ts); stderr: a readable summary. Exit 0 when the replay found
 * no problem, 65 when it found some (they are counted, the first is named),
 * 2 for a usage error.
 *
 * How to read: ops/s here exclude process start-up and pach-filter's reader
 * (format detection, progress, the writer guess), so they run above the
 * end-to-end `pach-filter --verify` figure of the same file; the gap is the
 * reader's cost. Compare phases to see which op kind the model is slow on.
 */
import fs from 'node:fs';
import { EXIT } from '../lib/cli/exit-codes.js';
import { LengthPrefixedSplitter } from '../lib/codec/raw.js';
import { envelopeOf, type OpRecord } from '../lib/codec/record.js';
import { Replayer } from '../lib/replay/replay.js';

const USAGE = 'usage: node --expose-gc dist/bench/replay.js FILE   (FILE: a raw stream, 8-byte LE length + admin.Op per record)';
const CHUNK = 1024 * 1024;
const MAX_SNAPSHOTS = 16;

const PHASE_OF: Record<string, string> = {
  object: 'objects', block: 'objects', create_object: 'objects', tag: 'objects',
  repo: 'repos',
  commit: 'commits',
  branch: 'branches',
  pipeline: 'pipelines', job: 'pipelines',
  check_auth_token: 'auth', activate_enterprise: 'auth', activate_auth: 'auth', restore_auth_token: 'auth',
  set_cluster_role_binding: 'auth', set_auth_config: 'auth', set_acl: 'auth',
};

interface Mem {
  heap: number;
  external: number;
  arrayBuffers: number;
}

function fail(message: string, code: number): never {
  process.stderr.write(`replay: ${message}\n`);
  process.exit(code);
}

function main(): void {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) fail(USAGE, EXIT.OK);
  if (args.length !== 1 || args[0]!.startsWith('-')) fail(USAGE, EXIT.USAGE);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) fail(`run with node --expose-gc\n${USAGE}`, EXIT.USAGE);
  const file = args[0]!;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    fail(`${file}: ${(err as Error).message}`, EXIT.NO_INPUT);
  }
  const fileBytes = fs.fstatSync(fd).size;

  const mem = (): Mem => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  const total = (m: Mem): number => m.heap + m.external;

  const replayer = new Replayer();
  const before = mem();

  /** Per phase: ops and nanoseconds (summed over its runs). */
  const phases = new Map<string, { ops: number; ns: bigint; bytes: number | undefined }>();
  const snapshots: Array<{ after: string; mem: Mem }> = [];
  let phase = '';
  let phaseOps = 0;
  let phaseStart = process.hrtime.bigint();
  let phaseMem = total(before);
  let clock = 0n;
  let transitions = 0;

  const closePhase = (next: string): void => {
    const now = process.hrtime.bigint();
    if (phase) {
      const p = phases.get(phase) ?? { ops: 0, ns: 0n, bytes: undefined };
      p.ops += phaseOps;
      p.ns += now - phaseStart;
      clock += now - phaseStart;
      if (++transitions <= MAX_SNAPSHOTS) {
        // The clock is stopped while the GC runs.
        const m = mem();
        snapshots.push({ after: phase, mem: m });
        p.bytes = (p.bytes ?? 0) + total(m) - phaseMem;
        phaseMem = total(m);
      }
      phases.set(phase, p);
    }
    phase = next;
    phaseOps = 0;
    phaseStart = process.hrtime.bigint();
  };

  // The codec's splitter cuts the raw framing. It keeps views of a partial record across
  // reads, so every read gets a fresh buffer (1 MiB, like the CLI's file reader).
  const splitter = new LengthPrefixedSplitter();
  const batch: OpRecord[] = [];
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    const n = fs.readSync(fd, chunk, 0, CHUNK, null);
    if (n === 0) break;
    batch.length = 0;
    try {
      splitter.push(chunk.subarray(0, n), batch);
    } catch (err) {
      fail(`${file}: ${(err as Error).message}`, EXIT.DATA);
    }
    for (const rec of batch) {
      let kind = '';
      try {
        kind = envelopeOf(rec).kind;
      } catch {
        /* the replay reports a record whose envelope does not parse */
      }
      const p = PHASE_OF[kind] ?? 'other';
      if (p !== phase) closePhase(p);
      phaseOps++;
      replayer.apply(rec);
    }
  }
  try {
    splitter.end();
  } catch (err) {
    fail(`${file}: ${(err as Error).message}`, EXIT.DATA);
  }
  fs.closeSync(fd);
  const tEnd = process.hrtime.bigint();
  const model = replayer.end();
  closePhase('');
  clock += process.hrtime.bigint() - tEnd;
  const after = mem();

  const seconds = Number(clock) / 1e9;
  const commits = replayer.counts['commit'] ?? 0;
  const grown = total(after) - total(before);
  const commitPhase = phases.get('commits');
  const rss = process.resourceUsage().maxRSS;
  const problems = model.problems;

  const out: Array<[string, string | number]> = [
    ['file', file],
    ['bytes', fileBytes],
    ['records', replayer.records],
    ['commits', commits],
    ['model_commits', model.commits.size],
    ['repos', model.repos.size],
    ['branches', model.branches.length],
    ['pipelines', model.pipelines.size],
    ['jobs', replayer.counts['job'] ?? 0],
    ['objects', model.objects.size],
    ['problems', problems.length],
    ['first_problem', problems.length ? `${problems[0]!.code} at record ${problems[0]!.record}: ${problems[0]!.message}`.replace(/[\t\n]/g, ' ') : ''],
    ['seconds', seconds.toFixed(3)],
    ['ops_per_s', Math.round(replayer.records / seconds)],
    ['mb_per_s', (fileBytes / 1e6 / seconds).toFixed(1)],
  ];
  for (const [name, p] of phases) {
    const s = Number(p.ns) / 1e9;
    out.push([`phase.${name}.ops`, p.ops], [`phase.${name}.seconds`, s.toFixed(3)], [`phase.${name}.ops_per_s`, Math.round(p.ops / s)]);
    if (p.bytes !== undefined) out.push([`phase.${name}.bytes`, p.bytes]);
  }
  out.push(
    ['mem.before.heap', before.heap], ['mem.before.external', before.external], ['mem.before.array_buffers', before.arrayBuffers],
    ['mem.after.heap', after.heap], ['mem.after.external', after.external], ['mem.after.array_buffers', after.arrayBuffers],
    ['bytes_kept', grown],
    ['bytes_per_commit', commits ? (grown / commits).toFixed(1) : ''],
    ['commit_phase_bytes_per_commit', commitPhase?.bytes !== undefined && commitPhase.ops ? (commitPhase.bytes / commitPhase.ops).toFixed(1) : ''],
    ['commit_table_bytes', model.commits.bytes],
    ['commit_table_bytes_per_commit', commits ? (model.commits.bytes / commits).toFixed(1) : ''],
    ['peak_rss_kib', rss],
    ['node', process.version],
  );
  process.stdout.write(out.map(([k, v]) => `${k}\t${v}`).join('\n') + '\n');

  const MB = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
  const lines = [
    `replay: ${file}: ${replayer.records} records (${commits} commits) in ${seconds.toFixed(2)} s: ${Math.round(replayer.records / seconds).toLocaleString('en-US')} ops/s, ${(fileBytes / 1e6 / seconds).toFixed(0)} MB/s; ${problems.length ? `${problems.length} problems, first ${problems[0]!.code} at record ${problems[0]!.record}` : 'no problems'}`,
    ...[...phases].map(([name, p]) => `replay:   ${name.padEnd(10)} ${String(p.ops).padStart(9)} ops ${(Number(p.ns) / 1e9).toFixed(2).padStart(7)} s ${Math.round(p.ops / (Number(p.ns) / 1e9)).toLocaleString('en-US').padStart(11)} ops/s` +
      (p.bytes !== undefined ? ` ${MB(p.bytes).padStart(11)} kept` : '')),
    `replay: memory kept ${MB(grown)} = ${commits ? (grown / commits).toFixed(0) : '–'} B/commit (heap ${MB(after.heap - before.heap)}, external ${MB(after.external - before.external)} of which ArrayBuffers ${MB(after.arrayBuffers - before.arrayBuffers)}); ` +
      `commit phase ${commitPhase?.bytes !== undefined && commitPhase.ops ? (commitPhase.bytes / commitPhase.ops).toFixed(0) : '–'} B/commit; CommitTable ${MB(model.commits.bytes)} = ${commits ? (model.commits.bytes / commits).toFixed(0) : '–'} B/commit; peak RSS ${MB(rss * 1024)}`,
  ];
  process.stderr.write(lines.join('\n') + '\n');
  // The model stays alive up to here, so the last measurement counted it.
  if (model.commits.size < 0) process.stderr.write('unreachable\n');
  process.exit(problems.length ? EXIT.DATA : EXIT.OK);
}

main();
