/**
 * pach-convert: any framing in, any framing out, and with --to-version any
 * op version out (lib/ops/ladder.ts), with a loss report of everything the
 * target version cannot hold. Records the conversion does not touch keep
 * their bytes; the native header records where the stream came from and
 * appends this run to its history.
 */
import type { Argv } from 'yargs';
import { openStream } from '../../codec/read.js';
import { envelopeOf, type RecordStream } from '../../codec/record.js';
import { PachError, usageError } from '../../errors.js';
import { convertOpVersion, type LadderStats } from '../../ops/ladder.js';
import { LossLedger, type LossReport } from '../../ops/loss.js';
import { WriterGuess } from '../../ops/writer.js';
import { OP_VERSIONS, type OpVersion } from '../../schema/registry.js';
import { fileSink, inputName, openInput, stdoutSink, writeJsonTo, type ByteCounter, type Sink } from '../io.js';
import { continuedHeader, countedOut, encoderFor } from '../encode.js';
import { startProgress } from '../progress.js';
import type { CommonArgs, Command, RunContext } from '../run.js';
import { checkTerminal, inputOptions, outputOptions, type InputArgs, type OutputArgs } from '../stream-options.js';

interface VersionArgs {
  toVersion?: string;
  strict: boolean;
  report?: string;
}

type ConvertArgs = InputArgs & OutputArgs & VersionArgs;

/** `--to-version` as an op version; 1.6 is named because its dumps use the 1.7 format. */
function parseOpVersion(text: string): OpVersion {
  const v = text.replace(/^v/, '');
  if ((OP_VERSIONS as readonly string[]).includes(v)) return v as OpVersion;
  if (/^1\.6(\.|$)/.test(v)) throw usageError(`--to-version ${text}: pachd 1.6 reads and writes 1.7 ops; use --to-version 1.7`);
  if (/^1\.11\.[1-9]/.test(v)) throw usageError(`--to-version ${text}: pachd 1.11.1 and later read and write 1.12 ops; use --to-version 1.12`);
  const minor = /^(1\.\d+)\.\d+$/.exec(v)?.[1];
  if (minor && (OP_VERSIONS as readonly string[]).includes(minor)) throw usageError(`--to-version ${text}: give the op version, ${minor}`);
  throw usageError(`--to-version ${text}: not an op version (${OP_VERSIONS.join(', ')})`);
}

/** Counts records going in, for the summary and progress, and shows them to `writer` when asked to guess. */
async function* countedIn(records: RecordStream, ctx: RunContext, writer: WriterGuess | undefined): RecordStream {
  for await (const batch of records) {
    ctx.stats.records_in += batch.length;
    if (writer) for (const rec of batch) writer.observe(rec);
    yield batch;
  }
}

export const convertCommand: Command<ConvertArgs> = {
  name: 'pach-convert',
  summary: 'change the framing or op version of a Pachyderm backup stream',
  synopsis: '[options] [FILE|-]',
  description: [
    'Reads a stream in any framing (native, pachctl, raw, json; zstd- or gzip-compressed)',
    'from FILE or stdin and writes it in the framing --to names. Records pass through byte',
    'for byte; the native header keeps where the stream came from and adds this run to its',
    'history.',
    '',
    '--to-version moves every op to another op version (1.7 … 1.13, up or down), hop by hop.',
    'Whatever the target version cannot hold (and any field the source schema does not know)',
    'is counted in a loss report: on stderr, as JSON with --report, fatal with --strict.',
    'pachd 1.6 dumps are read as 1.7 ops; pachd 1.11.1+ writes 1.12 ops.',
    '',
    'Native streams end with a trailer (counts, SHA-256): any cut or flipped byte is caught.',
    'pachctl streams have no end marker: one cut exactly at a record boundary cannot be told',
    'from a complete stream (cuts anywhere else fail the Snappy CRC or the record length).',
  ].join('\n'),
  examples: [
    ['pach-convert backup.pachctl > backup.native', 'wrap a pachctl extract in the checked native framing'],
    ['pach-convert --to json backup.native | jq -c \'select(.kind == "repo")\'', 'read the repos of a backup'],
    ['zstd -dc backup.zst | pach-convert --to pachctl -o restore.bin', 'back to what pachctl restore reads'],
    ['pach-convert --from json --to native edited.ndjson -o fixed.native', 'turn an edited JSON view back into a stream'],
    ['pach-convert --to-version 1.13 --strict backup-1.7.pachctl -o backup-1.13.native', 'migrate a 1.7 backup to 1.13, refusing any loss'],
    ['pach-convert --to-version 1.9 --report loss.json backup.native > old.native', 'downgrade, with the loss report as JSON'],
  ],
  options: (y: Argv<CommonArgs>) =>
    outputOptions(inputOptions(y))
      .option('to-version', { type: 'string', requiresArg: true, describe: `op version of the output: ${OP_VERSIONS.join(', ')} (default: keep the input's)` })
      .option('strict', { type: 'boolean', default: false, describe: 'any loss (a field the target cannot hold, an unknown field) is a data error, exit 65' })
      .option('report', { type: 'string', requiresArg: true, describe: 'write the loss report as JSON to FILE (- for stderr), also when nothing was lost' }) as unknown as Argv<ConvertArgs>,

  async run(args, ctx) {
    const operand = args._.length ? String(args._[0]) : undefined;
    if (args._.length > 1) throw new PachError('PACH_USAGE', `one input at most, got ${args._.length}`, 'USAGE');
    const name = inputName(operand);
    const toVersion = args.toVersion === undefined ? undefined : parseOpVersion(args.toVersion);
    if ((args.strict || args.report) && !toVersion) throw usageError('--strict and --report go with --to-version');
    const ledger = new LossLedger();
    const ladder: LadderStats = { carried: 0, spliced: 0, reencoded: 0, dropped: 0 };
    let fromVersion: OpVersion | null = null;
    const writer = toVersion ? new WriterGuess() : undefined;
    const counter: ByteCounter = { bytes: 0 };
    const sink: Sink = args.output && args.output !== '-' ? fileSink(args.output) : stdoutSink();
    ctx.onAbort(() => sink.abort());
    checkTerminal(args, sink);
    const stopProgress = startProgress(args.progress, ctx.log.tool, () => ({ records: ctx.stats.records_in, bytes: counter.bytes }));
    try {
      const opened = await openStream(openInput(operand, counter), { from: args.from, warn: (m) => ctx.log.warn(`${name}: ${m}`) });
      ctx.log.info(`${name}: ${opened.compression ? `${opened.compression}-compressed ` : ''}${opened.framing} stream`);
      const first = await opened.first();
      const inHeader = opened.header();
      fromVersion = first ? envelopeOf(first).version : ((inHeader?.op_version as OpVersion | null | undefined) ?? null);
      const header = continuedHeader(inHeader, toVersion ?? fromVersion, 'pach-convert', ctx);
      let records = countedIn(opened.records, ctx, writer);
      if (toVersion) records = convertOpVersion(records, { to: toVersion, ledger, strict: args.strict }, ladder);
      for await (const chunk of encoderFor(args.to, countedOut(records, ctx), header, ctx)) {
        await sink.write(chunk);
      }
      await sink.close();
      if (toVersion) {
        ctx.log.info(`${name}: written by ${writer?.describe() ?? 'nothing (no records)'}`);
        ctx.log.info(`${name}: ${fromVersion ?? 'empty'} → ${toVersion}: ${ladder.carried} records carried as they were, ${ladder.reencoded} re-encoded, ${ladder.dropped} dropped`);
        ctx.log.info(`${name}: ${ladder.spliced} records rewritten at byte level (fields the target lacks cut out, provenance rewrapped; the rest carried as it was)`);
        if (ledger.empty) ctx.log.info(`${name}: nothing lost on the way to ${toVersion}`);
        else for (const line of ledger.summaryLines(toVersion)) ctx.log.warn(line);
      }
    } catch (err) {
      if (err instanceof PachError && err.exit === 'DATA') err.input = name;
      throw err;
    } finally {
      if (toVersion && args.report) {
        const report: LossReport = {
          from: fromVersion,
          written_by: writer?.describe() ?? null,
          to: toVersion,
          records_in: ctx.stats.records_in,
          records_out: ctx.stats.records_out,
          records_with_loss: ledger.recordsWithLoss,
          losses: ledger.entries(),
        };
        writeJsonTo(args.report, report, 2);
      }
      stopProgress();
      ctx.stats.bytes_in = counter.bytes;
      ctx.stats.bytes_out = sink.bytes;
    }
  },
};
