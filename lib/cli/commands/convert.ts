/**
 * pach-convert: any framing in, any framing out. Records keep their bytes
 * and their op version; the native header records where the stream came
 * from and appends this run to its history.
 */
import type { Argv } from 'yargs';
import { type Framing } from '../../codec/detect.js';
import { encodeJson } from '../../codec/json.js';
import { encodeNative, type HistoryEntry, type NativeHeader } from '../../codec/native.js';
import { encodePachctl } from '../../codec/pachctl.js';
import { encodeRaw } from '../../codec/raw.js';
import { openStream } from '../../codec/read.js';
import { envelopeOf, type RecordStream } from '../../codec/record.js';
import { PachError } from '../../errors.js';
import { fileSink, inputName, openInput, stdoutSink, type ByteCounter, type Sink } from '../io.js';
import { startProgress } from '../progress.js';
import type { CommonArgs, Command, RunContext } from '../run.js';
import { checkTerminal, inputOptions, outputOptions, type InputArgs, type OutputArgs } from '../stream-options.js';
import { SUITE_VERSION } from '../version.js';

type ConvertArgs = InputArgs & OutputArgs;

/** Counts records and kinds going past, for the summary and progress. */
async function* counted(records: RecordStream, ctx: RunContext): RecordStream {
  const counts = ctx.stats.counts;
  for await (const batch of records) {
    for (const rec of batch) {
      const kind = envelopeOf(rec).kind;
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    ctx.stats.records_in += batch.length;
    ctx.stats.records_out += batch.length;
    yield batch;
  }
}

function encoderFor(to: Framing, records: RecordStream, header: NativeHeader, ctx: RunContext): AsyncIterable<Uint8Array> {
  switch (to) {
    case 'native':
      return encodeNative(records, header);
    case 'pachctl':
      return encodePachctl(records);
    case 'raw':
      return encodeRaw(records);
    case 'json':
      return encodeJson(records, {
        header,
        onUnknown: (rec, fields) =>
          ctx.log.warn(`record ${rec.index}: ${fields.map((f) => `${f.path} field #${f.field}`).join(', ')} not in the schema; the JSON view cannot carry it (binary framings keep it)`),
      });
  }
}

export const convertCommand: Command<ConvertArgs> = {
  name: 'pach-convert',
  summary: 'change the framing of a Pachyderm backup stream',
  synopsis: '[options] [FILE|-]',
  description: [
    'Reads a stream in any framing (native, pachctl, raw, json; zstd- or gzip-compressed)',
    'from FILE or stdin and writes it in the framing --to names. Records pass through byte',
    'for byte; the native header keeps where the stream came from and adds this run to its',
    'history.',
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
  ],
  options: (y: Argv<CommonArgs>) =>
    outputOptions(inputOptions(y)) as unknown as Argv<ConvertArgs>,

  async run(args, ctx) {
    const operand = args._.length ? String(args._[0]) : undefined;
    if (args._.length > 1) throw new PachError('PACH_USAGE', `one input at most, got ${args._.length}`, 'USAGE');
    const name = inputName(operand);
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
      const now = new Date().toISOString();
      const entry: HistoryEntry = { tool: 'pach-convert', version: SUITE_VERSION, args: ctx.safeArgs, time: now };
      const header: NativeHeader = {
        format: 'pach-migrate',
        format_version: 1,
        op_version: first ? envelopeOf(first).version : (inHeader?.op_version ?? null),
        created: inHeader?.created ?? now,
        source: inHeader?.source ?? null,
        history: [...(inHeader?.history ?? []), entry],
      };
      for await (const chunk of encoderFor(args.to, counted(opened.records, ctx), header, ctx)) {
        await sink.write(chunk);
      }
      await sink.close();
    } catch (err) {
      if (err instanceof PachError && err.exit === 'DATA') err.input = name;
      throw err;
    } finally {
      stopProgress();
      ctx.stats.bytes_in = counter.bytes;
      ctx.stats.bytes_out = sink.bytes;
    }
  },
};
