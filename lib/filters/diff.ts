/**
 * pach-filter --diff OTHER: what differs between two backups, as diff(1)
 * sees two files: the input (FILE or stdin) is the old side, OTHER the new
 * one. Both are read in any framing, one after the other, into snapshots of
 * their metadata (diff-snapshot.ts), compared (diff-compare.ts) and reported
 * as a table or one JSON object (diff-render.ts). Exit 0 when they hold the
 * same, 1 when they differ.
 *
 *   FILE ──openStream──┐                        ┌─ table (stdout / -o)
 *                      ├─ convertUpTo ─ snapshot ─ compare ─┤
 *   OTHER ─openStream──┘  (older side only)     └─ JSON
 *
 * Streams of different op versions are compared at the newer one: the older
 * is converted up record by record as `pach-convert --to-version` does, so a
 * 1.11 backup and its 1.13 conversion differ only in their op version (and
 * in what the conversion could not carry).
 */
import { startProgress, type ProgressMode } from '../cli/progress.js';
import { EXIT } from '../cli/exit-codes.js';
import { fileSink, inputName, openInput, stdoutSink, type ByteCounter, type Sink } from '../cli/io.js';
import type { RunContext } from '../cli/run.js';
import type { Framing } from '../codec/detect.js';
import { openStream, type OpenedStream } from '../codec/read.js';
import { envelopeOf, type RecordStream } from '../codec/record.js';
import { PachError, usageError } from '../errors.js';
import { LossLedger } from '../ops/loss.js';
import { convertUpTo } from '../ops/ladder.js';
import { OP_VERSIONS, type OpVersion } from '../schema/registry.js';
import { compareSnapshots, diffCount } from './diff-compare.js';
import { diffLines, diffReport, type SideFacts } from './diff-render.js';
import { SnapshotBuilder, dataTotals, type Snapshot } from './diff-snapshot.js';

export interface DiffArgs {
  diff: string;
  format: 'table' | 'json';
  /** Framing of the input (FILE or stdin); OTHER is always detected. */
  from?: string;
  /** `-o FILE`: the report goes there instead of stdout. */
  output?: string;
  pachdVersion?: string;
  at?: string;
  commits?: boolean;
  progress?: ProgressMode;
  _: (string | number)[];
}

interface Side {
  name: string;
  counter: ByteCounter;
  opened: OpenedStream;
  version: OpVersion | null;
  facts: SideFacts;
}

/** A data error in one input names that input. */
async function naming<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof PachError && err.exit === 'DATA') err.input = name;
    throw err;
  }
}

/** Counts the records and op kinds an input holds as they pass (before any conversion). */
async function* counted(records: RecordStream, side: Side, ctx: RunContext): RecordStream {
  for await (const batch of records) {
    side.facts.records += batch.length;
    ctx.stats.records_in += batch.length;
    for (const rec of batch) {
      const kind = envelopeOf(rec).kind;
      side.facts.counts[kind] = (side.facts.counts[kind] ?? 0) + 1;
      ctx.stats.counts[kind] = (ctx.stats.counts[kind] ?? 0) + 1;
    }
    yield batch;
  }
}

/** Compares the input with the stream OTHER; see the module comment. */
export async function runDiff(args: DiffArgs, ctx: RunContext): Promise<number> {
  if (args._.length > 1) throw usageError(`one input at most, got ${args._.length}`);
  if (args.diff === '') throw usageError('--diff needs the stream to compare with: a file, or - for stdin');
  if (args.pachdVersion !== undefined || args.at !== undefined) throw usageError('--pachd-version and --at go with --list and --verify, not with --diff');
  if (args.commits) throw usageError('--commits goes with --list');
  const operand = args._.length ? String(args._[0]) : undefined;
  if (args.diff === '-' && (!operand || operand === '-')) throw usageError('--diff - reads OTHER from stdin, so the input must be a FILE operand');

  // Both inputs are opened before either is read: a missing OTHER is exit 66 at once.
  const inputs = [
    { operand, name: inputName(operand), from: args.from, counter: { bytes: 0 } },
    { operand: args.diff, name: inputName(args.diff), from: 'auto', counter: { bytes: 0 } },
  ].map((i) => ({ ...i, bytes: openInput(i.operand, i.counter) }));
  const stopProgress = startProgress(args.progress ?? 'none', ctx.log.tool, () => ({ records: ctx.stats.records_in, bytes: inputs[0]!.counter.bytes + inputs[1]!.counter.bytes }));
  try {
    const sides: Side[] = [];
    for (const i of inputs) {
      sides.push(
        await naming(i.name, async () => {
          const opened = await openStream(i.bytes, { from: i.from as Framing | 'auto' | undefined, warn: (m) => ctx.log.warn(`${i.name}: ${m}`) });
          const first = await opened.first();
          const version = (first ? envelopeOf(first).version : (opened.header()?.op_version ?? null)) as OpVersion | null;
          const facts: SideFacts = { name: i.name, framing: opened.framing, compression: opened.compression ?? null, op_version: version, records: 0, bytes: 0, counts: {}, objects: 0, object_bytes: 0, blocks: 0, block_bytes: 0 };
          return { name: i.name, counter: i.counter, opened, version, facts };
        }),
      );
    }
    const [old, now] = sides as [Side, Side];

    // Both are compared at the newer op version; the older side is converted up.
    const versions = sides.map((s) => s.version).filter((v): v is OpVersion => v !== null);
    const comparedAt = versions.length ? versions.reduce((a, b) => (OP_VERSIONS.indexOf(a) >= OP_VERSIONS.indexOf(b) ? a : b)) : null;
    const snapshots: Snapshot[] = [];
    for (const side of sides) {
      const ledger = new LossLedger();
      snapshots.push(
        await naming(side.name, async () => {
          let records = counted(side.opened.records, side, ctx);
          if (side.version && comparedAt && side.version !== comparedAt) records = convertUpTo(records, side.version, comparedAt, ledger)!;
          const builder = new SnapshotBuilder((m) => ctx.log.warn(`${side.name}: ${m}`));
          await builder.read(records);
          return builder.finish();
        }),
      );
      side.facts.bytes = side.counter.bytes;
      side.facts.counts = Object.fromEntries(Object.entries(side.facts.counts).sort(([a], [b]) => (a < b ? -1 : 1)));
      Object.assign(side.facts, dataTotals(snapshots[snapshots.length - 1]!));
      if (side.version !== comparedAt && side.version !== null) {
        const lossy = ledger.empty ? 'nothing lost' : `${ledger.recordsWithLoss} records lost fields on the way`;
        ctx.log.info(`${side.name}: compared as ${comparedAt} ops, converted up from ${side.version} as pach-convert --to-version ${comparedAt} does (${lossy})`);
      }
    }

    const diff = compareSnapshots(snapshots[0]!, snapshots[1]!, { old: old.version, new: now.version });
    const counts = diffCount(diff);
    const same = counts.added + counts.removed + counts.changed === 0;
    let text: string;
    if (args.format === 'json') text = JSON.stringify(diffReport(diff, old.facts, now.facts, comparedAt)) + '\n';
    else {
      const lines = diffLines(diff);
      text = lines.length ? lines.join('\n') + '\n' : '';
    }
    const sink: Sink = args.output && args.output !== '-' ? fileSink(args.output) : stdoutSink();
    ctx.onAbort(() => sink.abort());
    if (text) await sink.write(Buffer.from(text));
    await sink.close();

    ctx.stats.bytes_in = old.counter.bytes + now.counter.bytes;
    ctx.stats.records_out = 0;
    ctx.stats.bytes_out = sink.bytes;
    ctx.stats.diff = counts;
    ctx.log.info(
      same
        ? `${old.name} and ${now.name} hold the same (${old.facts.records} and ${now.facts.records} records)`
        : `${old.name} -> ${now.name}: ${counts.removed} removed, ${counts.added} added, ${counts.changed} changed`,
    );
    return same ? EXIT.OK : EXIT.FAILURE;
  } finally {
    stopProgress();
  }
}
