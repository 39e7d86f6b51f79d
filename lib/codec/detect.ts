/**
 * Recognises a stream's framing from its first bytes (DESIGN.md §2), taking
 * care never to misread a `raw` stream whose first length prefix happens to
 * look like a magic number, a gzip header or `{`.
 */
import zlib from 'node:zlib';
import { NATIVE_MAGIC } from './native.js';
import { SNAPPY_STREAM_ID } from './pachctl.js';
import { MAX_RECORD_BYTES } from './limits.js';
import { peekOp } from './record.js';
import { sniffCompression, type Compression } from './decompress.js';

export const FRAMINGS = ['native', 'pachctl', 'raw', 'json'] as const;
export type Framing = (typeof FRAMINGS)[number];

function startsWith(head: Uint8Array, magic: Uint8Array): boolean {
  if (head.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (head[i] !== magic[i]) return false;
  return true;
}

/** An `admin.Op` begins with the tag of one of its seven version slots. */
function isSlotTag(b: number | undefined): boolean {
  return b !== undefined && (b & 7) === 2 && b >> 3 >= 1 && b >> 3 <= 7;
}

/**
 * True when `head` reads as the start of a raw stream: a plausible first
 * length prefix, and a first record with a valid op envelope (or, when it
 * does not fit in `head`, one that starts like an op). What follows the
 * first record is left to the reader, which names the record and byte of a
 * bad length or envelope; refusing the whole input as unrecognised would not.
 */
export function looksRaw(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const lo = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const hi = (head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24)) >>> 0;
  if (hi !== 0 || lo === 0 || lo > MAX_RECORD_BYTES) return false;
  if (head.length > 8 && !isSlotTag(head[8])) return false;
  if (8 + lo > head.length) return true;
  try {
    peekOp(head.subarray(8, 8 + lo));
    return true;
  } catch {
    return false;
  }
}

function looksJson(head: Uint8Array): boolean {
  if (head[0] !== 0x7b) return false;
  let i = 1;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  if (head[i] !== 0x22) return false;
  for (let k = 0; k < Math.min(8, head.length); k++) if (head[k] === 0) return false;
  return true;
}

/** Compressed input by magic; a gzip-looking prefix that parses as raw and not as gzip is raw. */
export function sniffCompressed(head: Uint8Array): Compression | undefined {
  const kind = sniffCompression(head);
  if (kind !== 'gzip' || !looksRaw(head)) return kind;
  // `1F 8B 08 00 00 00 00 00` is also the length prefix of a 559,903-byte
  // record: decode the head both ways and keep what parses. A raw record
  // starts with an op slot tag; gzip's ninth byte (XFL) never is one.
  return gzipHeadParses(head) && !isSlotTag(head[8]) ? 'gzip' : undefined;
}

function gzipHeadParses(head: Uint8Array): boolean {
  try {
    zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return true;
  } catch {
    return false;
  }
}

/** The framing of an uncompressed stream that begins with `head`, if it is one of ours. */
export function detectFraming(head: Uint8Array): Framing | undefined {
  if (startsWith(head, NATIVE_MAGIC)) return 'native';
  if (startsWith(head, SNAPPY_STREAM_ID)) return 'pachctl';
  if (looksJson(head)) return 'json';
  if (looksRaw(head)) return 'raw';
  return undefined;
}
