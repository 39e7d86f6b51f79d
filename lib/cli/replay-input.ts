/**
 * Reads a stream into the replay model for the tools that report on it
 * (`pach-filter --list/--verify`, `pach-restore --dry-run`): opens any
 * framing, replays every record, and turns a broken stream (truncated,
 * corrupt, mixed versions) into a problem at its record, after everything
 * before it was replayed, so the report still covers what could be read.
 */
import type { Argv } from 'yargs';
import { openStream } from '../codec/read.js';
import type { RecordStream } from '../codec/record.js';
import { PachError, usageError } from '../errors.js';
import { WriterGuess } from '../ops/writer.js';
import type { ClusterModel } from '../replay/model.js';
import { Replayer } from '../replay/replay.js';
import type { StreamFacts } from '../replay/report.js';
import { OP_VERSIONS } from '../schema/registry.js';
import { inputName, openInput, type ByteCounter } from './io.js';
import { startProgress } from './progress.js';
import type { CommonArgs, RunContext } from './run.js';
import type { InputArgs } from './stream-options.js';

export interface ReplayArgs {
  pachdVersion?: string;
  at?: string;
  format: 'table' | 'json';
}

/** --pachd-version, --at and --format, shared by the reporting modes. */
export function replayOptions<T>(y: Argv<T>): Argv<T & ReplayArgs> {
  return y
    .option('format', { choices: ['table', 'json'] as const, default: 'table' as const, describe: 'report as a text table or as one JSON object' })
    .option('pachd-version', { type: 'string', requiresArg: true, describe: `pachd release whose restore rules to apply, ${OP_VERSIONS[0]} … ${OP_VERSIONS[OP_VERSIONS.length - 1]} (default: the stream's op version)` })
    .option('at', { type: 'string', requiresArg: true, describe: 'the time the restore runs at, for expirations (RFC 3339; default: now)' }) as unknown as Argv<T & ReplayArgs>;
}

export function parseAt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/^\d{4}-\d\d-\d\d/.test(text)) throw usageError(`--at ${text}: not an RFC 3339 time (e.g. 2020-12-16T00:00:00Z)`);
  return t / 1000;
}

export function parsePachd(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const m = /^v?(1\.\d+)(\.\d+)?$/.exec(text);
  if (!m || !(OP_VERSIONS as readonly string[]).includes(m[1]!)) throw usageError(`--pachd-version ${text}: expected a 1.x release from ${OP_VERSIONS[0]} to ${OP_VERSIONS[OP_VERSIONS.length - 1]}`);
  return m[1];
}

export interface ReplayedInput {
  replayer: Replayer;
  stream: StreamFacts;
  name: string;
}

async function* counted(records: RecordStream, ctx: RunContext | undefined, writer: WriterGuess): RecordStream {
  for await (const batch of records) {
    if (ctx) ctx.stats.records_in += batch.length;
    for (const rec of batch) {
      try {
        writer.observe(rec);
      } catch {
        /* a record whose envelope does not parse is the replay's to report */
      }
    }
    yield batch;
  }
}

export interface ReplayInputOptions {
  /** Read this file instead of the command's operand, without counting it in the run's stats (`--onto`). */
  file?: string;
  /** Apply the stream on top of this model (the target cluster, from `--onto`) instead of an empty one. */
  onto?: ClusterModel;
}

/** Opens the operand (or stdin), replays it, and says what the stream is and whether its bytes checked out. */
export async function replayInput(args: InputArgs & ReplayArgs & CommonArgs & { _: (string | number)[] }, ctx: RunContext, opts: ReplayInputOptions = {}): Promise<ReplayedInput> {
  if (args._.length > 1) throw usageError(`one input at most, got ${args._.length}`);
  const operand = opts.file ?? (args._.length ? String(args._[0]) : undefined);
  const stats = opts.file === undefined;
  const name = inputName(operand);
  const now = parseAt(args.at);
  const pachdVersion = parsePachd(args.pachdVersion);
  const counter: ByteCounter = { bytes: 0 };
  const stopProgress = startProgress(args.progress, ctx.log.tool, () => ({ records: ctx.stats.records_in, bytes: counter.bytes }));
  const writer = new WriterGuess();
  try {
    let opened;
    try {
      opened = await openStream(openInput(operand, counter), { from: args.from, warn: (m) => ctx.log.warn(`${name}: ${m}`) });
    } catch (err) {
      if (err instanceof PachError && err.exit === 'DATA') err.input = name;
      throw err;
    }
    const first = await opened.first();
    const header = opened.header();
    const fallback = (header?.op_version as string | null | undefined) ?? pachdVersion ?? '1.13';
    const replayer = new Replayer({ pachdVersion, now }, fallback, opts.onto);
    let failure: PachError | undefined;
    try {
      for await (const batch of counted(opened.records, stats ? ctx : undefined, writer)) for (const rec of batch) replayer.apply(rec);
    } catch (err) {
      if (!(err instanceof PachError) || err.exit !== 'DATA') throw err;
      failure = err;
    }
    const model = replayer.end(failure !== undefined);
    if (failure) {
      model.at({ record: failure.where.record ?? replayer.records, kind: '' });
      if (failure.code === 'PACH_MIXED_VERSIONS') {
        model.report('PACH_MIXED_VERSIONS', [], failure.message, 'cannot mix different versions of pachd operation within a metadata dumps');
      } else {
        model.report('PACH_INTEGRITY', [], `${failure.code}: ${failure.message}`, 'the restore reads up to here and stops with an error (pachctl: unexpected EOF or a corrupt stream)');
      }
    }
    const version = first ? replayer.model.streamVersion : ((header?.op_version as string | undefined) ?? null);
    const stream: StreamFacts = {
      input: name,
      framing: opened.framing,
      compression: opened.compression ?? null,
      op_version: version,
      written_by: writer.describe() ?? null,
      records: replayer.records,
      bytes: counter.bytes,
      integrity: integrityOf(opened.framing, opened.trailer(), failure),
      header: header ?? null,
    };
    if (stats) {
      ctx.stats.bytes_in = counter.bytes;
      ctx.stats.counts = { ...replayer.counts };
    }
    return { replayer, stream, name };
  } finally {
    stopProgress();
  }
}

function integrityOf(framing: string, trailer: { records: number; sha256?: string } | undefined, failure: PachError | undefined): StreamFacts['integrity'] {
  if (failure) return { state: 'failed', detail: failure.describe() };
  switch (framing) {
    case 'native':
      return { state: 'verified', detail: `trailer matches: ${trailer?.records ?? 0} records, SHA-256 ${trailer?.sha256 ?? ''}` };
    case 'pachctl':
      return { state: 'verified', detail: 'every Snappy chunk CRC-32C matches; pachctl streams have no end marker, so a cut exactly at a record boundary cannot be seen' };
    case 'raw':
      return { state: 'unchecked', detail: 'raw framing carries no checksum' };
    default:
      return { state: 'unchecked', detail: 'the JSON view carries no checksum' };
  }
}
