/**
 * Writing a record stream in the framing `--to` names, and counting what goes
 * out, for every tool that writes a stream.
 */
import type { Framing } from '../codec/detect.js';
import { encodeJson } from '../codec/json.js';
import { encodeNative, type HistoryEntry, type NativeHeader } from '../codec/native.js';
import { encodePachctl } from '../codec/pachctl.js';
import { encodeRaw } from '../codec/raw.js';
import { envelopeOf, type RecordStream } from '../codec/record.js';
import type { OpVersion } from '../schema/registry.js';
import type { RunContext } from './run.js';
import { SUITE_VERSION } from './version.js';

/** Counts records and kinds going out. */
export async function* countedOut(records: RecordStream, ctx: RunContext): RecordStream {
  const counts = ctx.stats.counts;
  for await (const batch of records) {
    for (const rec of batch) {
      const kind = envelopeOf(rec).kind;
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    ctx.stats.records_out += batch.length;
    yield batch;
  }
}

/** `onTrailer`: called (native only) after the last record's bytes and before the trailer's are yielded. */
export function encoderFor(to: Framing, records: RecordStream, header: NativeHeader, ctx: RunContext, onTrailer?: () => void): AsyncIterable<Uint8Array> {
  switch (to) {
    case 'native':
      return encodeNative(records, header, onTrailer);
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


/**
 * The header of a stream a tool writes from an input stream: the input's
 * creation time, source and history carried on, this run appended to the
 * history (`extra` adds fields to its entry).
 */
export function continuedHeader(input: NativeHeader | undefined, opVersion: OpVersion | null, tool: string, ctx: RunContext, extra: Record<string, unknown> = {}): NativeHeader {
  const now = new Date().toISOString();
  const entry: HistoryEntry = { tool, version: SUITE_VERSION, args: ctx.safeArgs, time: now, ...extra };
  return {
    format: 'pach-migrate',
    format_version: 1,
    op_version: opVersion,
    created: input?.created ?? now,
    source: input?.source ?? null,
    history: [...(input?.history ?? []), entry],
  };
}
