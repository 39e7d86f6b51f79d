/**
 * The `raw` framing: records each prefixed by an 8-byte little-endian signed
 * length, nothing else (pachctl's records without Snappy). The splitter is
 * shared with the `pachctl` reader, which feeds it unframed Snappy output.
 */
import { dataError } from '../errors.js';
import { ByteQueue } from './byte-queue.js';
import { MAX_RECORD_BYTES } from './limits.js';
import type { RecordBatch, RecordStream } from './record.js';
import { OutputBuffer } from './output-buffer.js';

const MiB = 1024 * 1024;

/** Incremental splitter of length-prefixed records; push chunks, collect records. */
export class LengthPrefixedSplitter {
  private readonly q = new ByteQueue();
  private index = 0;
  private bodyLen = -1;
  private recOffset = 0;

  /** Byte offset of the next unread byte of the unframed stream. */
  get offset(): number {
    return this.q.offset;
  }

  get records(): number {
    return this.index;
  }

  push(chunk: Uint8Array, out: RecordBatch): void {
    this.q.push(chunk);
    const q = this.q;
    for (;;) {
      if (this.bodyLen < 0) {
        if (q.size < 8) return;
        this.recOffset = q.offset;
        const h = q.peek(8);
        const lo = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        const hi = (h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24)) >>> 0;
        const where = { record: this.index, offset: this.recOffset };
        if (hi >= 0x80000000) {
          throw dataError('PACH_BAD_LENGTH', `negative record length prefix (${Buffer.from(h).readBigInt64LE(0)})`, where);
        }
        if (hi !== 0 || lo > MAX_RECORD_BYTES) {
          const len = hi * 2 ** 32 + lo;
          throw dataError('PACH_RECORD_TOO_LARGE', `length prefix ${len} exceeds the ${MAX_RECORD_BYTES / MiB} MiB record limit`, where);
        }
        q.skip(8);
        this.bodyLen = lo;
      }
      if (q.size < this.bodyLen) return;
      out.push({ bytes: q.take(this.bodyLen), index: this.index++, offset: this.recOffset });
      this.bodyLen = -1;
    }
  }

  /** Checks that the stream ended on a record boundary. */
  end(): void {
    const where = { record: this.index, offset: this.bodyLen >= 0 ? this.recOffset : this.q.offset };
    if (this.bodyLen >= 0) {
      throw dataError('PACH_TRUNCATED_RECORD', `stream ends inside a record: ${this.q.size} of ${this.bodyLen} bytes`, where);
    }
    if (this.q.size > 0) {
      throw dataError('PACH_TRUNCATED_RECORD', `stream ends inside a length prefix: ${this.q.size} of 8 bytes`, where);
    }
  }
}

/** Splits a raw stream into records. */
export async function* decodeRaw(input: AsyncIterable<Uint8Array>): RecordStream {
  const splitter = new LengthPrefixedSplitter();
  for await (const chunk of input) {
    const batch: RecordBatch = [];
    splitter.push(chunk, batch);
    yield batch;
  }
  splitter.end();
}

/** Writes records with their 8-byte little-endian length prefixes, in large chunks. */
export async function* encodeRaw(records: RecordStream): AsyncIterable<Uint8Array> {
  const out = new OutputBuffer();
  for await (const batch of records) {
    for (const rec of batch) {
      const at = out.reserve(8);
      const b = out.target;
      const n = rec.bytes.length;
      b[at] = n & 0xff;
      b[at + 1] = (n >>> 8) & 0xff;
      b[at + 2] = (n >>> 16) & 0xff;
      b[at + 3] = (n >>> 24) & 0xff;
      b[at + 4] = b[at + 5] = b[at + 6] = b[at + 7] = 0;
      out.append(rec.bytes);
    }
    yield* out.drain();
  }
  yield* out.flush();
}
