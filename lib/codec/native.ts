/**
 * The `native` framing (DESIGN.md §2): a 10-byte preamble (magic and version
 * byte), then frames of one type byte, a varint payload length and the
 * payload: one `H` header (JSON), `R` records (one admin.Op each, untouched),
 * one `T` trailer (JSON with counts and the SHA-256 of every byte before the
 * trailer frame). A native stream without its trailer is truncated.
 */
import { createHash, type Hash } from 'node:crypto';
import { dataError } from '../errors.js';
import type { OpVersion } from '../schema/registry.js';
import { ByteQueue } from './byte-queue.js';
import { MAX_RECORD_BYTES } from './limits.js';
import { OutputBuffer } from './output-buffer.js';
import { envelopeOf, type OpRecord, type RecordBatch, type RecordStream } from './record.js';
import { readVarint, varintAt, varintEnd, varintSize, writeVarint } from './varint.js';

/** `89 "PACH" 0D 0A 1A 0A`, PNG-style: catches 7-bit and newline mangling. */
export const NATIVE_MAGIC = Uint8Array.from([0x89, 0x50, 0x41, 0x43, 0x48, 0x0d, 0x0a, 0x1a, 0x0a]);
export const NATIVE_FORMAT_VERSION = 1;
const PREAMBLE = Uint8Array.from([...NATIVE_MAGIC, NATIVE_FORMAT_VERSION]);

const FRAME_HEADER = 0x48; // 'H'
const FRAME_RECORD = 0x52; // 'R'
const FRAME_TRAILER = 0x54; // 'T'
/** Header and trailer are small JSON documents; anything bigger is not ours. */
const MAX_META_BYTES = 16 * 1024 * 1024;

export interface StreamSource {
  pachd_version?: string;
  cluster_id?: string;
  address?: string;
  extract_flags?: string[];
}

export interface HistoryEntry {
  tool: string;
  version: string;
  args: string[];
  time: string;
}

export interface NativeHeader {
  format: 'pach-migrate';
  format_version: number;
  /** Version slot every record uses; null for a stream without records. */
  op_version: OpVersion | null;
  created: string;
  /** Where the records came from; null when the input did not say (e.g. a pachctl file). */
  source: StreamSource | null;
  history: HistoryEntry[];
}

export interface StreamTrailer {
  records: number;
  record_bytes: number;
  counts: Record<string, number>;
  sha256?: string;
}

/** Per-kind counts and totals, kept by every reader and writer. */
export class StreamTally {
  records = 0;
  recordBytes = 0;
  counts: Record<string, number> = {};

  add(batch: RecordBatch): void {
    for (const rec of batch) this.addRecord(rec);
  }

  addRecord(rec: OpRecord): void {
    const kind = envelopeOf(rec).kind;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    this.records++;
    this.recordBytes += rec.bytes.length;
  }

  toTrailer(sha256?: string): StreamTrailer {
    const t: StreamTrailer = { records: this.records, record_bytes: this.recordBytes, counts: sortedCounts(this.counts) };
    if (sha256 !== undefined) t.sha256 = sha256;
    return t;
  }
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Parses a native stream; `header` is set once the H frame has been read. */
export class NativeParser {
  private readonly q = new ByteQueue();
  private readonly hash: Hash = createHash('sha256');
  private preambleSeen = false;
  private index = 0;
  private readonly tally = new StreamTally();
  header?: NativeHeader;
  trailer?: StreamTrailer;

  constructor() {
    this.q.onRelease = (c) => this.hash.update(c);
  }

  push(chunk: Uint8Array, out: RecordBatch): void {
    const q = this.q;
    if (this.trailer) {
      if (chunk.length) throw dataError('PACH_TRAILING_BYTES', 'bytes after the trailer', { offset: q.offset });
      return;
    }
    q.push(chunk);
    if (!this.preambleSeen) {
      if (q.size < PREAMBLE.length) return;
      const pre = q.peek(PREAMBLE.length);
      for (let i = 0; i < NATIVE_MAGIC.length; i++) {
        if (pre[i] !== NATIVE_MAGIC[i]) throw dataError('PACH_BAD_MAGIC', 'not a native pach-migrate stream (bad magic)', { offset: 0 });
      }
      if (pre[9] !== NATIVE_FORMAT_VERSION) {
        throw dataError('PACH_UNSUPPORTED_FORMAT', `native format version ${pre[9]} is not supported (this tool reads ${NATIVE_FORMAT_VERSION})`, { offset: 9 });
      }
      q.skip(PREAMBLE.length);
      this.preambleSeen = true;
    }
    for (;;) {
      this.fastRecords(out);
      if (q.size < 2) return;
      const at = q.offset;
      const where = { record: this.index, offset: at };
      const type = q.byteAt(0);
      if (type !== FRAME_RECORD && type !== FRAME_HEADER && type !== FRAME_TRAILER) {
        throw dataError('PACH_BAD_FRAME', `unknown frame type 0x${type.toString(16).padStart(2, '0')}`, where);
      }
      const lenBytes = q.peek(Math.min(q.size, 11));
      let len;
      try {
        len = readVarint(lenBytes, 1);
      } catch {
        throw dataError('PACH_BAD_FRAME', 'frame length varint is longer than 10 bytes', where);
      }
      if (!len) return;
      const limit = type === FRAME_RECORD ? MAX_RECORD_BYTES : MAX_META_BYTES;
      if (len.value > limit) {
        throw dataError('PACH_RECORD_TOO_LARGE', `${type === FRAME_RECORD ? 'record' : 'header/trailer'} frame of ${len.value} bytes exceeds the ${limit / 1048576} MiB limit`, where);
      }
      if (q.size < len.next + len.value) return;
      if (type === FRAME_TRAILER) {
        // The digest covers every byte before the trailer's type byte.
        this.hash.update(q.consumedHead());
        this.q.onRelease = undefined;
        q.skip(len.next);
        this.finish(q.take(len.value), where);
        if (q.size > 0) throw dataError('PACH_TRAILING_BYTES', `${q.size} bytes after the trailer`, { offset: q.offset });
        return;
      }
      q.skip(len.next);
      const payload = q.take(len.value);
      if (type === FRAME_HEADER) {
        if (this.header) throw dataError('PACH_BAD_FRAME', 'second header frame', where);
        this.header = parseHeader(payload, at);
      } else {
        if (!this.header) throw dataError('PACH_BAD_FRAME', 'record frame before the header', where);
        const rec = { bytes: payload, index: this.index++, offset: at };
        const env = envelopeOf(rec);
        if (env.version !== this.header.op_version) {
          throw dataError('PACH_MIXED_VERSIONS', `record is an op${env.version.replace('.', '_')} ${env.kind}, but the header says every record is op_version ${this.header.op_version}`, where);
        }
        this.tally.addRecord(rec);
        out.push(rec);
      }
    }
  }

  /**
   * The common case without copies or peeks: record frames that lie whole
   * inside the first chunk. Anything else (header, trailer, a frame across
   * chunks, an error to report) is left to the general loop.
   */
  private fastRecords(out: RecordBatch): void {
    const header = this.header;
    const c = this.q.headChunk;
    if (!header || !c) return;
    const start = this.q.headPos;
    const end = c.length;
    const base = this.q.offset - start;
    let p = start;
    while (p + 2 <= end && c[p] === FRAME_RECORD) {
      const len = varintAt(c, p + 1, end);
      const body = varintEnd;
      if (len < 0 || len > MAX_RECORD_BYTES || body + len > end) break;
      const rec: OpRecord = { bytes: new Uint8Array(c.buffer, c.byteOffset + body, len), index: this.index, offset: base + p };
      const env = envelopeOf(rec);
      if (env.version !== header.op_version) break;
      this.index++;
      this.tally.addRecord(rec);
      out.push(rec);
      p = body + len;
    }
    if (p > start) this.q.skip(p - start);
  }

  end(): void {
    if (!this.trailer) {
      const what = this.preambleSeen ? `after record ${this.index - 1 < 0 ? 'none' : this.index - 1}` : 'inside the preamble';
      throw dataError('PACH_TRUNCATED', `native stream has no trailer: truncated ${what}`, { record: this.index, offset: this.q.offset + this.q.size });
    }
  }

  private finish(payload: Uint8Array, where: { record: number; offset: number }): void {
    const trailer = parseJson(payload, 'trailer', where.offset) as StreamTrailer;
    const digest = this.hash.digest('hex');
    if (trailer.sha256 !== digest) {
      throw dataError('PACH_BAD_CHECKSUM', `stream SHA-256 ${digest} does not match the trailer's ${trailer.sha256}: the stream is corrupt`, where);
    }
    if (trailer.records !== this.tally.records || trailer.record_bytes !== this.tally.recordBytes) {
      throw dataError('PACH_BAD_TRAILER', `trailer says ${trailer.records} records (${trailer.record_bytes} bytes), stream has ${this.tally.records} (${this.tally.recordBytes} bytes)`, where);
    }
    for (const kind of new Set([...Object.keys(trailer.counts ?? {}), ...Object.keys(this.tally.counts)])) {
      if ((trailer.counts?.[kind] ?? 0) !== (this.tally.counts[kind] ?? 0)) {
        throw dataError('PACH_BAD_TRAILER', `trailer counts ${trailer.counts?.[kind] ?? 0} ${kind} ops, stream has ${this.tally.counts[kind] ?? 0}`, where);
      }
    }
    this.trailer = trailer;
  }
}

function parseJson(payload: Uint8Array, what: string, offset: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch (err) {
    throw dataError('PACH_BAD_FRAME', `${what} frame is not valid JSON`, { offset }, err);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw dataError('PACH_BAD_FRAME', `${what} frame is not a JSON object`, { offset });
  }
  return value;
}

function parseHeader(payload: Uint8Array, offset: number): NativeHeader {
  const h = parseJson(payload, 'header', offset) as NativeHeader;
  if (h.format !== 'pach-migrate') throw dataError('PACH_BAD_FRAME', `header format is ${JSON.stringify(h.format)}, expected "pach-migrate"`, { offset });
  if (h.format_version !== NATIVE_FORMAT_VERSION) {
    throw dataError('PACH_UNSUPPORTED_FORMAT', `header format_version ${h.format_version} is not supported`, { offset });
  }
  if (!Array.isArray(h.history)) h.history = [];
  return h;
}

/** Reads a native stream; calls `onHeader` as soon as the header is known. */
export async function* decodeNative(input: AsyncIterable<Uint8Array>, onHeader?: (h: NativeHeader) => void, onTrailer?: (t: StreamTrailer) => void): RecordStream {
  const parser = new NativeParser();
  let announced = false;
  for await (const chunk of input) {
    const batch: RecordBatch = [];
    parser.push(chunk, batch);
    if (!announced && parser.header) {
      announced = true;
      onHeader?.(parser.header);
    }
    yield batch;
  }
  parser.end();
  if (parser.trailer) onTrailer?.(parser.trailer);
}

function frameInto(out: OutputBuffer, type: number, payload: Uint8Array): void {
  const n = payload.length;
  if (n < 128) {
    const at = out.reserve(2);
    out.target[at] = type;
    out.target[at + 1] = n;
  } else {
    const at = out.reserve(1 + varintSize(n));
    out.target[at] = type;
    writeVarint(out.target, at + 1, n);
  }
  out.append(payload);
}

/**
 * Writes a native stream: preamble, `header`, every record as an R frame, and
 * a trailer whose counts and SHA-256 are computed from what was written.
 * `onTrailer` receives the trailer (for summaries).
 */
export async function* encodeNative(records: RecordStream, header: NativeHeader, onTrailer?: (t: StreamTrailer) => void): AsyncIterable<Uint8Array> {
  const hash = createHash('sha256');
  const tally = new StreamTally();
  const out = new OutputBuffer();
  out.append(PREAMBLE);
  frameInto(out, FRAME_HEADER, Buffer.from(JSON.stringify(header), 'utf8'));
  for await (const batch of records) {
    tally.add(batch);
    for (const rec of batch) {
      if (envelopeOf(rec).version !== header.op_version) {
        const env = envelopeOf(rec);
        throw dataError('PACH_MIXED_VERSIONS', `record is an op${env.version.replace('.', '_')} ${env.kind}, but the stream's records are op_version ${header.op_version}: one stream holds one op version`, { record: rec.index, offset: rec.offset >= 0 ? rec.offset : undefined });
      }
      frameInto(out, FRAME_RECORD, rec.bytes);
    }
    for (const c of out.drain()) {
      hash.update(c);
      yield c;
    }
  }
  for (const c of out.flush()) {
    hash.update(c);
    yield c;
  }
  const trailer = tally.toTrailer(hash.digest('hex'));
  onTrailer?.(trailer);
  const tail = new OutputBuffer(64 * 1024);
  frameInto(tail, FRAME_TRAILER, Buffer.from(JSON.stringify(trailer), 'utf8'));
  yield* tail.flush();
}
