/**
 * pach-restore into a live pachd: pre-flight, then the stream in Restore
 * calls (lib/restore/batches.ts says where a call may end), each record sent
 * as its own RestoreRequest with its bytes unchanged, the journal advanced
 * after every call pachd acknowledges, retryable failures retried with
 * backoff, and every failure named by record with the command that resumes.
 *
 * A call cut short leaves its records in doubt: pachd applies ops as they
 * arrive and answers only at the end. Ops pachd takes twice without harm are
 * simply sent again; those it does not take twice (a job, a token, an
 * activation) are first looked for in the target, through an extract of it
 * replayed into the model.
 */
import type { Argv } from 'yargs';
import { openStream } from '../../codec/read.js';
import { envelopeOf, type OpEnvelope, type OpRecord } from '../../codec/record.js';
import { PachError, usageError } from '../../errors.js';
import type { PachdClient } from '../../grpc/client.js';
import { PATHS, wrapRestoreRequest } from '../../grpc/services.js';
import { firstOf } from '../../grpc/wait.js';
import { convertUpTo } from '../../ops/ladder.js';
import { LossLedger } from '../../ops/loss.js';
import type { ClusterModel } from '../../replay/model.js';
import { severityOf } from '../../replay/problems.js';
import { problemLine } from '../../replay/render.js';
import { Replayer } from '../../replay/replay.js';
import { BatchCutter, NOT_REPEATABLE } from '../../restore/batches.js';
import { defaultJournalPath, readJournal, RecordHash, writeJournal, type JournalState } from '../../restore/journal.js';
import { payloadType, type OpVersion } from '../../schema/registry.js';
import { EXIT } from '../exit-codes.js';
import { inputName, openInput, type ByteCounter } from '../io.js';
import { parseAt } from '../replay-input.js';
import { connectPachd, opVersionOfRelease, pachdOptions, type PachdArgs } from '../pachd-options.js';
import { startProgress } from '../progress.js';
import type { CommonArgs, RunContext } from '../run.js';
import type { InputArgs } from '../stream-options.js';

export interface LiveArgs extends PachdArgs {
  journal?: string;
  resume: boolean;
  onConflict: 'fail' | 'skip';
  retries: number;
  batchRecords: number;
  batchBytes: number;
}

export function liveOptions<T>(y: Argv<T>): Argv<T & LiveArgs> {
  return pachdOptions(y)
    .option('journal', { type: 'string', requiresArg: true, describe: 'the restore journal (default: ~/.local/state/pach-migrate/restore-CLUSTER.journal.json)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the restore the journal records, after its last acknowledged record' })
    .option('on-conflict', { choices: ['fail', 'skip'] as const, default: 'fail' as const, describe: 'fail: the target must be empty; skip: restore into a cluster that is not, leaving out what it already has (exit 3 if anything was)' })
    .option('retries', { type: 'number', default: 5, requiresArg: true, describe: 'retries of a retryable failure (pachd unavailable, deadline), with backoff 0.5 s … 8 s' })
    .option('batch-records', { type: 'number', default: 1000, requiresArg: true, describe: 'records per Restore call (the journal advances per call)' })
    .option('batch-bytes', { type: 'number', default: 8 * 1024 * 1024, requiresArg: true, describe: 'bytes per Restore call (an object or block is never split)' }) as unknown as Argv<T & LiveArgs>;
}

/** In-process retry keeps a call's records while they are at most this big; beyond, a failure needs --resume. */
const RETRY_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * The clock a model of the target is read at when pach-restore looks for what is already there:
 * pachd accepted those ops when they came, so nothing in them counts as expired now.
 */
const SEED_CLOCK = { at: '1970-01-01T00:00:00Z' };

/** Messages (and their bytes) a Restore call may queue in grpc-js before waiting for it to drain. */
const QUEUED_MESSAGES = 4096;
const QUEUED_BYTES = 16 * 1024 * 1024;

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Args = InputArgs & LiveArgs & CommonArgs & { _: (string | number)[]; at?: string };

interface Pending {
  recs: OpRecord[];
  bytes: number;
  /** False once the call outgrew the retry buffer. */
  kept: boolean;
}

export async function restoreLive(args: Args, ctx: RunContext): Promise<number> {
  if (args._.length > 1) throw usageError(`one input at most, got ${args._.length}`);
  for (const [flag, v] of [['retries', args.retries], ['batch-records', args.batchRecords], ['batch-bytes', args.batchBytes]] as const) {
    if (!Number.isInteger(v) || v < (flag === 'retries' ? 0 : 1)) throw usageError(`--${flag} ${v}: expected a whole number ≥ ${flag === 'retries' ? 0 : 1}`);
  }
  const operand = args._.length ? String(args._[0]) : undefined;
  const name = inputName(operand);
  const { client, release } = await connectPachd(args, ctx);
  const info = await client.unary<{ id?: string }>(PATHS.inspectCluster, {}, 'InspectCluster');
  const clusterId = info.id ?? '';
  const journalPath = args.journal ?? defaultJournalPath(clusterId);
  const targetOp = opVersionOfRelease(release) as OpVersion;
  const address = client.target.display;

  // ---------------------------------------------------------------- journal
  const previous = readJournal(journalPath);
  let journal: JournalState;
  const now = (): string => new Date().toISOString();
  if (args.resume) {
    if (!previous) throw usageError(`--resume: no journal at ${journalPath} (give the one the failed restore named with --journal)`);
    if (previous.target.cluster_id !== clusterId) {
      throw new PachError('PACH_JOURNAL_MISMATCH', `journal ${journalPath} is for cluster ${previous.target.cluster_id} at ${previous.target.address}, but ${address} is cluster ${clusterId}`, 'USAGE');
    }
    if (previous.complete) {
      ctx.log.warn(`journal ${journalPath}: that restore already finished (${previous.acked} records); nothing to resume`);
      return EXIT.OK;
    }
    journal = previous;
    ctx.log.info(`resuming after record ${journal.acked - 1} (${journal.acked} acknowledged${journal.in_flight ? `, ${journal.in_flight} in doubt` : ''})`);
  } else {
    if (previous && !previous.complete) {
      throw new PachError(
        'PACH_JOURNAL_EXISTS',
        `an unfinished restore into ${address} is recorded in ${journalPath} (${previous.acked} records acknowledged): resume it with --resume${args.journal ? '' : ` --journal ${journalPath}`}, or remove the journal to start over`,
        'FAILURE',
      );
    }
    journal = {
      journal: 'pach-restore',
      journal_version: 1,
      input: name,
      target: { address, pachd_version: release, cluster_id: clusterId },
      acked: 0,
      acked_sha256: new RecordHash().peek(),
      in_flight: 0,
      complete: false,
      started: now(),
      updated: now(),
    };
  }
  const resumeCommand = ['pach-restore', '--resume', '--journal', journalPath, '--pachd', address, operand ?? '-'].map(shellQuote).join(' ');
  ctx.stats.journal = journalPath;

  // ---------------------------------------------------------------- the stream
  const counter: ByteCounter = { bytes: 0 };
  const opened = await openStream(openInput(operand, counter), { from: args.from, warn: (m) => ctx.log.warn(`${name}: ${m}`) });
  const first = await opened.first();
  const streamOp = first ? envelopeOf(first).version : ((opened.header()?.op_version as OpVersion | null | undefined) ?? targetOp);
  const ledger = new LossLedger();
  const records = convertUpTo(opened.records, streamOp, targetOp, ledger);
  if (!records) throw new PachError('PACH_STREAM_TOO_NEW', `${name} holds ${streamOp} ops; pachd ${release} reads ${targetOp} at most: convert it first (pach-convert --to-version ${targetOp})`, 'DATA');
  if (streamOp !== targetOp) ctx.log.info(`${name}: ${streamOp} ops converted to ${targetOp} on the way, as pachd ${release} would (pach-convert's ladder)`);

  // ---------------------------------------------------------------- pre-flight
  const needsToken = first ? envelopeOf(first).kind === 'check_auth_token' : false;
  // The target as it stands: for --on-conflict=skip, and on --resume to find the ops that must
  // not be applied twice among those after the journal's point (a journal that lost its last
  // calls to a power cut is then still safe).
  const seeded = args.onConflict === 'skip' || args.resume ? await targetModel(client, targetOp, SEED_CLOCK) : undefined;
  if (!args.resume) await preflight(client, ctx, { needsToken, onConflict: args.onConflict, address });
  // The stream as pachd would take it, for naming the op a refused call stopped at (and, with skip, what the target has).
  const side = new Replayer({ pachdVersion: targetOp }, targetOp, args.onConflict === 'skip' ? seeded : undefined);
  /** The target's jobs per pipeline before anything is sent (the side model of a skip run counts the stream's too). */
  const targetJobs = seeded ? jobCounts(seeded) : new Map<string, number>();

  // ---------------------------------------------------------------- sending
  const hash = new RecordHash();
  const cutter = new BatchCutter(args.batchRecords, args.batchBytes);
  const jobsSeen = new Map<string, number>();
  /** For each job record: how many jobs of its pipeline the stream holds up to and including it. */
  const jobOrdinal = new Map<number, number>();
  let pending: Pending = { recs: [], bytes: 0, kept: true };
  let open: ReturnType<PachdClient['clientStream']> | undefined;
  let calls = 0;
  let retries = 0;
  let sent = 0;
  let skipped = 0;
  let lastIndex = -1;
  let queuedBytes = 0;
  const stopProgress = startProgress(args.progress, ctx.log.tool, () => ({ records: ctx.stats.records_in, bytes: counter.bytes }));
  /** Set once a failure has written the journal and said how to resume: an abort then only cancels. */
  let reported = false;
  /** Set once the first record after the journal's point goes out: from then on an interruption is recorded. */
  let sending = false;
  ctx.onAbort(() => {
    open?.call.cancel();
    if (sending && !reported) {
      try {
        journal.in_flight = pending.recs.length;
        journal.updated = now();
        journal.last_error = 'interrupted';
        writeJournal(journalPath, journal, true);
      } catch {
        /* the journal of the last acknowledged call is still on disk */
      }
      process.stderr.write(`pach-restore: ${journal.acked} records acknowledged; resume with: ${resumeCommand}\n`);
    }
  });

  /** Sends one RestoreRequest (`msg`, the record already wrapped). */
  const write = async (msg: Buffer): Promise<void> => {
    sending = true;
    if (!open) {
      open = client.clientStream(PATHS.restore, 'Restore');
      open.done.catch(() => undefined);
      queuedBytes = 0;
      calls++;
    }
    // grpc-js's stream says "full" at 16 messages, each waiting for its HTTP/2 write: letting a few
    // thousand small ones (at most QUEUED_BYTES) queue keeps the socket busy.
    queuedBytes += msg.length;
    const more = open.call.write(msg, () => (queuedBytes -= msg.length));
    if (!more && (open.call.writableLength > QUEUED_MESSAGES || queuedBytes > QUEUED_BYTES)) {
      await firstOf(open.call, ['drain', 'status', 'error', 'close']);
    }
  };

  /** Ends the open call; on success the journal advances past `lastIndex`. */
  const finishCall = async (): Promise<void> => {
    if (!open) return;
    const call = open;
    open = undefined;
    call.call.end();
    await call.done;
    ack();
  };

  /** pachd answered the call: everything up to `lastIndex` is restored. */
  const ack = (): void => {
    journal.acked = lastIndex + 1;
    journal.acked_sha256 = hash.peek();
    journal.in_flight = 0;
    journal.updated = now();
    delete journal.last_error;
    writeJournal(journalPath, journal);
    pending = { recs: [], bytes: 0, kept: true };
    cutter.reset();
  };

  /** The call failed: decide, record, and retry it in-process when allowed. */
  const recover = async (err: unknown): Promise<void> => {
    open?.call.cancel();
    open = undefined;
    let e = client.failure(err, 'Restore');
    for (;;) {
      journal.in_flight = pending.recs.length;
      journal.last_error = `${e.code}: ${e.message}`;
      journal.updated = now();
      writeJournal(journalPath, journal, true);
      const first = pending.recs[0]?.index ?? journal.acked;
      const last = pending.recs.at(-1)?.index ?? lastIndex;
      const range = last > first ? `records ${first}–${last}` : `record ${first}`;
      if (e.exit !== 'TEMPFAIL' || retries >= args.retries || !pending.kept) {
        reported = true;
        const why = e.exit === 'FAILURE' ? culprit(side.model, first, last) : '';
        throw new PachError(e.code, `${range} (not acknowledged): ${e.message}${why}; ${journal.acked} records before them are restored; resume with: ${resumeCommand}`, e.exit, { record: first });
      }
      retries++;
      const wait = Math.min(8000, 500 * 2 ** (retries - 1));
      ctx.log.warn(`${range}: ${e.message}; retry ${retries}/${args.retries} in ${wait / 1000} s`);
      await sleep(wait);
      try {
        const recs = await settleDoubt(client, targetOp, SEED_CLOCK, pending.recs, jobOrdinal, ctx);
        for (const rec of recs) await write(wrapRestoreRequest(rec.bytes));
        await finishCall();
        if (!recs.length) ack();
        return;
      } catch (again) {
        (open as ReturnType<PachdClient['clientStream']> | undefined)?.call.cancel();
        open = undefined;
        e = client.failure(again, 'Restore');
      }
    }
  };

  let verified = !args.resume || journal.acked === 0;
  try {
    for await (const batch of records) {
      for (const rec of batch) {
        ctx.stats.records_in++;
        const env = envelopeOf(rec);
        if (env.kind === 'job') {
          const pipeline = jobPipeline(rec, env);
          const n = (jobsSeen.get(pipeline) ?? 0) + 1;
          jobsSeen.set(pipeline, n);
          jobOrdinal.set(rec.index, n);
        }
        if (rec.index < journal.acked) {
          // Already restored: only proves this is the journal's stream.
          hash.add(rec.bytes);
          side.apply(rec);
          continue;
        }
        if (!verified) {
          verified = true;
          if (hash.peek() !== journal.acked_sha256) {
            throw new PachError('PACH_JOURNAL_MISMATCH', `${name} is not the stream journal ${journalPath} was restoring: its first ${journal.acked} records differ (SHA-256)`, 'DATA', { record: rec.index });
          }
        }
        if (seeded && NOT_REPEATABLE.has(env.kind) && alreadyThere(seeded, rec, env, jobOrdinal, targetJobs)) {
          // An op the target already has: applied by the interrupted call (--resume), or there before (skip).
          ctx.log.info(`record ${rec.index}: the ${env.kind} op is already in the target; not sent again`);
          if (args.onConflict === 'skip') skipped++;
          else side.apply(rec);
          hash.add(rec.bytes);
          lastIndex = rec.index;
          continue;
        }
        const before = side.model.problems.length;
        const ignoredBefore = ignoredCount(side.model);
        side.apply(rec);
        hash.add(rec.bytes);
        lastIndex = rec.index;
        if (args.onConflict === 'skip' && seeded && skippable(side.model, before, ignoredBefore, env)) {
          skipped++;
          continue;
        }
        // The request is the one copy of the record kept: for the retry buffer, a view into it.
        const msg = wrapRestoreRequest(rec.bytes);
        if (pending.kept) {
          pending.recs.push({ bytes: msg.subarray(msg.length - rec.bytes.length), index: rec.index, offset: -1, env });
          pending.bytes += rec.bytes.length;
          if (pending.bytes > RETRY_BUFFER_BYTES) pending = { recs: [], bytes: 0, kept: false };
        }
        sent++;
        ctx.stats.counts[env.kind] = (ctx.stats.counts[env.kind] ?? 0) + 1;
        try {
          await write(msg);
        } catch (err) {
          await recover(err);
          continue;
        }
        // An object or block op with data leaves its group open (the side replay decoded its value).
        const value = side.lastBody?.value as Uint8Array | undefined;
        if (cutter.add(env, rec.bytes.length, (value?.length ?? 0) > 0)) {
          try {
            await finishCall();
          } catch (err) {
            await recover(err);
          }
        }
      }
    }
    if (!verified) throw new PachError('PACH_JOURNAL_MISMATCH', `${name} has fewer records than the ${journal.acked} journal ${journalPath} says were restored`, 'DATA');
    try {
      await finishCall();
    } catch (err) {
      await recover(err);
    }
  } catch (err) {
    if (err instanceof PachError && err.exit === 'DATA' && !err.code.startsWith('PACH_JOURNAL')) {
      // The input broke: what was sent of the open call is applied but not acknowledged.
      (open as ReturnType<PachdClient['clientStream']> | undefined)?.call.cancel();
      open = undefined;
      journal.in_flight = pending.recs.length;
      journal.last_error = `${err.code}: ${err.message}`;
      journal.updated = now();
      writeJournal(journalPath, journal, true);
      err.input = name;
      reported = true;
      err.message = `${err.message}; ${journal.acked} records are restored and acknowledged (journal ${journalPath}); after mending the input: ${resumeCommand}`;
    }
    throw err;
  } finally {
    stopProgress();
    ctx.stats.bytes_in = counter.bytes;
    ctx.stats.records_out = sent;
    ctx.stats.calls = calls;
    ctx.stats.retries = retries;
    ctx.stats.skipped = skipped;
    client.close();
  }
  journal.complete = true;
  journal.in_flight = 0;
  journal.updated = now();
  writeJournal(journalPath, journal, true);
  if (!ledger.empty) for (const line of ledger.summaryLines(targetOp)) ctx.log.warn(line);
  for (const p of side.model.problems) if (p.severity === 'hazard') ctx.log.info(`${name}: ${problemLine(p)}`);
  ctx.log.info(`${sent} records restored into pachd ${release} at ${address} in ${calls} calls (${retries} retries${skipped ? `, ${skipped} skipped` : ''}); journal ${journalPath}`);
  return skipped ? EXIT.SKIPPED : EXIT.OK;
}

function ignoredCount(model: ClusterModel): number {
  let n = 0;
  for (const v of Object.values(model.ignored)) n += v;
  return n;
}

/** With --on-conflict=skip: pachd would ignore this op (it exists) or refuse it only because it exists. */
function skippable(model: ClusterModel, problemsBefore: number, ignoredBefore: number, env: OpEnvelope): boolean {
  if (ignoredCount(model) > ignoredBefore) return true;
  const fresh = model.problems.slice(problemsBefore);
  if (fresh.some((p) => p.code === 'PACH_TOKEN_EXISTS' || p.code === 'PACH_AUTH_ACTIVE')) {
    model.problems.length = problemsBefore;
    return true;
  }
  return env.kind === 'repo' && fresh.some((p) => p.code === 'PACH_REPO_EXISTS');
}

/** Where the model thinks pachd stopped, when it can tell. */
function culprit(model: ClusterModel, from: number, to: number): string {
  const p = model.problems.find((q) => q.record >= from && q.record <= to && severityOf(q.code) === 'error');
  return p ? ` (the replay model points at record ${p.record}, ${p.kind}: ${p.message})` : '';
}

function jobPipeline(rec: OpRecord, env: OpEnvelope): string {
  const body = payloadType(env.version, 'job')!.decode(rec.bytes.subarray(env.payloadStart, env.payloadEnd)) as unknown as { pipeline?: { name?: string } };
  return body.pipeline?.name ?? '';
}

/** Whether an op that must not be applied twice is already in the target (seeded from its extract). */
function alreadyThere(target: ClusterModel, rec: OpRecord, env: OpEnvelope, jobOrdinal: Map<number, number>, targetJobs = jobCounts(target)): boolean {
  const body = payloadType(env.version, env.kind)!.decode(rec.bytes.subarray(env.payloadStart, env.payloadEnd)) as unknown as Record<string, any>;
  switch (env.kind) {
    case 'job':
      // Jobs are applied in stream order: the target has this one when it has as many as the stream up to it.
      return (targetJobs.get(body.pipeline?.name ?? '') ?? 0) >= (jobOrdinal.get(rec.index) ?? Infinity);
    case 'restore_auth_token':
      return target.hasToken(body.token?.hashed_token ?? '');
    case 'activate_auth':
      return target.auth.active;
    case 'activate_enterprise':
      return target.auth.enterprise;
  }
  return false;
}

/** The target as a model: its extract (no objects) replayed, settled as `--onto` does. */
async function targetModel(client: PachdClient, targetOp: OpVersion, args: { at?: string }): Promise<ClusterModel> {
  return (await readTarget(client, targetOp, args)).model;
}

/** The target's extract (no objects) replayed into a model, and how many records it was. */
export async function readTarget(client: PachdClient, targetOp: OpVersion, args: { at?: string }): Promise<{ model: ClusterModel; records: number }> {
  const replayer = new Replayer({ pachdVersion: targetOp, now: parseAt(args.at) }, targetOp);
  const call = client.serverStream(PATHS.extract, { no_objects: true });
  try {
    for await (const msg of call as AsyncIterable<Buffer>) replayer.apply({ bytes: msg, index: replayer.records, offset: -1 });
  } catch (err) {
    throw client.failure(err, 'Extract (reading the target)');
  }
  const model = replayer.end();
  model.settle();
  return { model, records: replayer.records };
}

/** Jobs per pipeline in a model of the target. */
function jobCounts(target: ClusterModel): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [name, p] of target.pipelines) {
    let n = 0;
    for (const c of p.jobs.values()) n += c;
    counts.set(name, n);
  }
  return counts;
}

/** Re-reads the target for the call in doubt and leaves out the ops that must not be applied twice and already were. */
async function settleDoubt(client: PachdClient, targetOp: OpVersion, args: { at?: string }, recs: OpRecord[], jobOrdinal: Map<number, number>, ctx: RunContext): Promise<OpRecord[]> {
  if (!recs.some((r) => NOT_REPEATABLE.has(envelopeOf(r).kind))) return recs;
  const target = await targetModel(client, targetOp, args);
  return recs.filter((r) => {
    const env = envelopeOf(r);
    if (!NOT_REPEATABLE.has(env.kind) || !alreadyThere(target, r, env, jobOrdinal)) return true;
    ctx.log.info(`record ${r.index}: the ${env.kind} op of the interrupted call is already in the target; not sent again`);
    return false;
  });
}

interface PreflightOptions {
  needsToken: boolean;
  onConflict: 'fail' | 'skip';
  address: string;
}

/** Checks before the first op: auth, an empty target, a quiet cluster. */
async function preflight(client: PachdClient, ctx: RunContext, o: PreflightOptions): Promise<void> {
  if (o.needsToken && !client.target.token) {
    throw new PachError('PACH_AUTH', 'the stream restores auth (it begins with check_auth_token) and pachd needs the caller\'s token, which becomes the root token: set PACH_TOKEN or --token-file', 'NO_PERM');
  }
  let auth = 'off';
  try {
    const who = await client.unary<{ username?: string; is_admin?: boolean }>(PATHS.whoAmI, {}, 'WhoAmI');
    if (!who.is_admin) throw new PachError('PACH_AUTH', `${who.username ?? 'the caller'} is not a cluster admin of ${o.address}; Restore needs an admin token`, 'NO_PERM');
    auth = `on, as ${who.username}`;
  } catch (err) {
    if (!(err instanceof PachError)) throw err;
    if (err.exit === 'NO_PERM' || err.exit === 'UNAVAILABLE' || err.exit === 'TEMPFAIL') throw err;
    if (!/not activated|UNIMPLEMENTED/i.test(err.message + err.code)) throw err;
  }
  const repos = ((await client.unary<{ repo_info?: Array<{ repo?: { name?: string } }> }>(PATHS.listRepo, {}, 'ListRepo')).repo_info ?? []).map((r) => r.repo?.name ?? '').filter((n) => n !== '__spec__');
  if (repos.length && o.onConflict === 'fail') {
    throw new PachError('PACH_TARGET_NOT_EMPTY', `pachd at ${o.address} already has ${repos.length} repo(s) (${repos.slice(0, 5).join(', ')}${repos.length > 5 ? ', …' : ''}): restore into an empty cluster, or --on-conflict=skip to leave out what it has`, 'FAILURE');
  }
  let running = 0;
  try {
    const jobs = (await client.unary<{ job_info?: Array<{ state?: string }> }>(PATHS.listJob, {}, 'ListJob')).job_info ?? [];
    running = jobs.filter((j) => j.state === 'JOB_RUNNING' || j.state === 'JOB_STARTING' || j.state === 'JOB_MERGING').length;
  } catch (err) {
    if (!(err instanceof PachError) || err.exit === 'NO_PERM') throw err;
  }
  if (running) ctx.log.warn(`pachd at ${o.address} has ${running} running job(s): the restore competes with them`);
  ctx.log.info(`pre-flight: pachd at ${o.address} reachable; auth ${auth}; ${repos.length ? `${repos.length} repos already there` : 'empty'}; ${running} running jobs`);
}
