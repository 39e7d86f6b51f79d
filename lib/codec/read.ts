/**
 * Opens any stream the suite reads: takes the first bytes, undoes zstd/gzip
 * compression, recognises the framing (or takes `--from`'s word for it) and
 * hands back the records. Everything after the head is pulled lazily, so a
 * consumer that stops early stops the reading too.
 */
import { dataError } from '../errors.js';
import { decompress, type Compression } from './decompress.js';
import { detectFraming, sniffCompressed, type Framing } from './detect.js';
import { decodeJson } from './json.js';
import { SNIFF_BYTES } from './limits.js';
import { decodeNative, type NativeHeader, type StreamTrailer } from './native.js';
import { decodePachctl } from './pachctl.js';
import { decodeRaw } from './raw.js';
import { envelopeOf, type OpRecord, type RecordBatch, type RecordStream } from './record.js';
import type { OpVersion } from '../schema/registry.js';

export interface OpenOptions {
  /** Framing to assume instead of detecting it; 'auto' detects. */
  from?: Framing | 'auto';
  /** Warnings about the input (not errors) go here. */
  warn?: (message: string) => void;
}

export interface OpenedStream {
  framing: Framing;
  compression?: Compression;
  /** The header the input carried (native, or JSON with a header line), once known. */
  header(): NativeHeader | undefined;
  /** A native stream's trailer, once read to the end and checked. */
  trailer(): StreamTrailer | undefined;
  /** The first record, or undefined for an empty stream. Reading it pulls only as far as needed. */
  first(): Promise<OpRecord | undefined>;
  records: RecordStream;
}

/** Replays `head` and then the rest of `it`; `return()` reaches the underlying iterator. */
async function* replay(head: Uint8Array[], it: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    for (const c of head) yield c;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

async function takeHead(it: AsyncIterator<Uint8Array>, want: number): Promise<{ chunks: Uint8Array[]; head: Uint8Array }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < want) {
    const r = await it.next();
    if (r.done) break;
    if (r.value.length === 0) continue;
    chunks.push(r.value);
    size += r.value.length;
  }
  return { chunks, head: chunks.length === 1 ? chunks[0]!.subarray(0, want) : Buffer.concat(chunks).subarray(0, want) };
}

function hexPreview(head: Uint8Array): string {
  return Buffer.from(head.subarray(0, 12)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/** Opens `input` (any framing, optionally compressed) as a record stream. */
export async function openStream(input: AsyncIterable<Uint8Array>, opts: OpenOptions = {}): Promise<OpenedStream> {
  let it = input[Symbol.asyncIterator]();
  let { chunks, head } = await takeHead(it, SNIFF_BYTES);
  const forced = opts.from && opts.from !== 'auto' ? opts.from : undefined;

  let compression: Compression | undefined;
  const compressed = sniffCompressed(head);
  if (compressed && !(forced && forced !== 'json' && detectFraming(head) === forced)) {
    compression = compressed;
    it = decompress(compressed, replay(chunks, it))[Symbol.asyncIterator]();
    ({ chunks, head } = await takeHead(it, SNIFF_BYTES));
  }

  if (head.length === 0 && !forced) {
    throw dataError('PACH_EMPTY_INPUT', 'empty input: no stream to read (an empty pachctl extract needs --from pachctl)', { offset: 0 });
  }
  const framing = forced ?? detectFraming(head);
  if (!framing) {
    throw dataError('PACH_UNRECOGNISED', `input is not a stream this suite reads (first bytes ${hexPreview(head)}); --from names the framing`, { offset: 0 });
  }

  let header: NativeHeader | undefined;
  let trailer: StreamTrailer | undefined;
  const onHeader = (h: NativeHeader): void => {
    header = h;
  };
  const bytes = replay(chunks, it);
  let stream: RecordStream;
  switch (framing) {
    case 'native':
      stream = decodeNative(bytes, onHeader, (t) => {
        trailer = t;
      });
      break;
    case 'pachctl':
      stream = decodePachctl(bytes);
      break;
    case 'raw':
      stream = decodeRaw(bytes);
      break;
    case 'json':
      stream = decodeJson(bytes, { onHeader, warn: opts.warn });
      break;
  }

  // `first()` pulls batches until a record appears; they are replayed to `records`.
  const pulled: RecordBatch[] = [];
  const src = stream[Symbol.asyncIterator]();
  let firstRecord: OpRecord | undefined;
  let ended = false;
  let looked = false;
  const first = async (): Promise<OpRecord | undefined> => {
    if (looked) return firstRecord;
    looked = true;
    while (!ended) {
      const r = await src.next();
      if (r.done) {
        ended = true;
        break;
      }
      pulled.push(r.value);
      if (r.value.length) {
        firstRecord = r.value[0];
        break;
      }
    }
    return firstRecord;
  };
  // One stream holds one op version, as pachd's restore insists: every record
  // must fill the first record's slot. (A record whose envelope does not parse
  // is left for the consumer to report.)
  let version: OpVersion | undefined;
  const sameVersion = (batch: RecordBatch): RecordBatch => {
    for (const rec of batch) {
      let env;
      try {
        env = envelopeOf(rec);
      } catch {
        continue;
      }
      if (version === undefined) version = env.version;
      else if (env.version !== version) {
        throw dataError('PACH_MIXED_VERSIONS', `record is an op${env.version.replace('.', '_')} ${env.kind}, but the stream's first record is op${version.replace('.', '_')}: one stream holds one op version`, { record: rec.index, offset: rec.offset >= 0 ? rec.offset : undefined });
      }
    }
    return batch;
  };
  async function* records(): RecordStream {
    try {
      for (const b of pulled) yield sameVersion(b);
      pulled.length = 0;
      while (!ended) {
        const r = await src.next();
        if (r.done) return;
        yield sameVersion(r.value);
      }
    } finally {
      if (!ended) await src.return?.();
    }
  }
  return { framing, compression, header: () => header, trailer: () => trailer, first, records: records() };
}
