/**
 * Plumbing for the hostile-input tests (test/cli/hostile-*.test.ts,
 * bad-input.test.ts): a small real stream in every framing, a spawn pool, the
 * same conversion done in-process for exhaustive sweeps, independent walks of
 * the native and Snappy framings (where frames and chunks start, computed here
 * and not by lib/codec), and the check that a failed run is one clean line.
 *
 * Why two layers. Every spawned `pach-convert` costs about 0.4 s of CPU
 * (Node start-up and module loading), so on a 2-core box ~5 spawns finish a
 * second. Every cut and both flips at every offset of the small streams is
 * ~4,000 cases: those all run in-process through the library path the
 * executable runs (openStream, then an encoder), which checks what the
 * decoders decide. Real processes check what the user sees (exit 65, one
 * stderr line, no stack trace, never exit 0 with fewer records) on every
 * structural offset (magic, frame types and lengths, chunk headers and CRCs,
 * record boundaries) plus every STRIDE-th other offset from a seeded phase, so
 * successive runs cover different offsets. PACH_HOSTILE_SPAWN=all spawns
 * every case of the small streams instead (about 4,500 runs; the real dump
 * stays sampled); PACH_HOSTILE_SEED=n pins the phase.
 */
import { spawn } from 'node:child_process';
import snappy from 'snappy';
import { openStream } from '../../lib/codec/read.js';
import { envelopeOf } from '../../lib/codec/record.js';
import { PachError } from '../../lib/errors.js';
import { SORT_DUMP, binPath, joinRaw, runTool, splitRaw, testEnv, type RunResult } from './run.js';
import { prng } from './prng.js';

/** Spawns at a time: enough to keep 2 cores busy while others start up. */
export const POOL = 4;

export const SPAWN_ALL = process.env.PACH_HOSTILE_SPAWN === 'all';
export const SEED = process.env.PACH_HOSTILE_SEED !== undefined ? Number(process.env.PACH_HOSTILE_SEED) : Math.floor(Math.random() * 2 ** 31);

/** Runs `fn` over `items`, `size` at a time, keeping results in order. */
export async function pool<T, R>(items: readonly T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return out;
}


/**
 * The offsets to spawn for: every structural one, plus every `stride`-th
 * other offset (none for Infinity) starting at a phase drawn from SEED; all
 * of them when `exhaustive` (PACH_HOSTILE_SPAWN=all).
 */
export function spawnOffsets(length: number, structural: Iterable<number>, stride: number, salt: number, exhaustive = SPAWN_ALL): number[] {
  if (exhaustive) return Array.from({ length }, (_, i) => i);
  const set = new Set<number>();
  for (const o of structural) if (o >= 0 && o < length) set.add(o);
  if (Number.isFinite(stride)) {
    const phase = Math.floor(prng(SEED ^ salt)() * stride);
    for (let o = phase; o < length; o += stride) set.add(o);
  }
  return [...set].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------
// The small stream

export interface SmallStream {
  /** The records, in dump order. */
  records: Buffer[];
  raw: Buffer;
  native: Buffer;
  pachctl: Buffer;
}

/** The first byte of a record's op kind tag, as a field number (peeked by hand: slot tag, slot length, kind tag). */
function kindField(rec: Buffer): number {
  let p = 1;
  while (rec[p]! & 0x80) p++;
  return rec[p + 1]! >> 3;
}

let small: Promise<SmallStream> | undefined;

/**
 * Eight small records of the 1.7 sort dump: its two repos, its two branches,
 * its first commit and its first three distinct object records of at most 40
 * bytes — made with the real executable (pachctl → raw, pick, join, raw →
 * native / pachctl).
 */
export function smallStream(): Promise<SmallStream> {
  small ??= (async () => {
    const raw = await runTool('pach-convert', ['--to', 'raw', SORT_DUMP]);
    if (raw.code !== 0) throw new Error(`pach-convert --to raw failed: ${raw.stderr}`);
    const all = splitRaw(raw.stdout);
    // Op1_7 field numbers: object 2, repo 4, commit 5, branch 6 (as in the dump's own records).
    const want = new Map([[4, 2], [6, 2], [5, 1], [2, 3]]);
    const seen = new Set<string>();
    const records: Buffer[] = [];
    for (const rec of all) {
      const kind = kindField(rec);
      const left = want.get(kind) ?? 0;
      if (left === 0) continue;
      if (kind === 2 && (rec.length > 40 || seen.has(rec.toString('hex')))) continue;
      seen.add(rec.toString('hex'));
      want.set(kind, left - 1);
      records.push(Buffer.from(rec));
    }
    if (records.length !== 8) throw new Error(`picked ${records.length} records, wanted 8`);
    const joined = joinRaw(records);
    const native = await runTool('pach-convert', ['--from', 'raw', '--to', 'native'], { input: joined });
    const pachctl = await runTool('pach-convert', ['--from', 'raw', '--to', 'pachctl'], { input: joined });
    if (native.code !== 0 || pachctl.code !== 0) throw new Error(`making the small stream failed: ${native.stderr}${pachctl.stderr}`);
    return { records, raw: joined, native: native.stdout, pachctl: pachctl.stdout };
  })();
  return small;
}

// ---------------------------------------------------------------------------
// In-process conversion: what `pach-convert --to raw` does, without the process

export type Outcome = { ok: true; records: Buffer[] } | { ok: false; error: unknown };

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, Math.min(bytes.length, o + size));
}

/**
 * Reads `input` (any framing, detected) fed in `chunk`-byte pieces, as
 * `pach-convert --to raw` does: open, peek the first record, then every
 * record with its envelope (the raw encoder itself checks nothing, and would
 * allocate its 1 MiB output buffer per case). Output records are copies.
 */
export async function convertInProcess(input: Uint8Array, chunk = 64 * 1024): Promise<Outcome> {
  try {
    const opened = await openStream(chunked(input, chunk));
    await opened.first();
    const records: Buffer[] = [];
    for await (const batch of opened.records) {
      for (const rec of batch) {
        envelopeOf(rec);
        records.push(Buffer.from(rec.bytes));
      }
    }
    return { ok: true, records };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Why an in-process failure is not a clean data error, or undefined when it is one. */
export function notDataError(error: unknown): string | undefined {
  if (!(error instanceof PachError)) return `not a PachError: ${(error as Error)?.stack ?? String(error)}`;
  if (error.exit !== 'DATA') return `${error.code} maps to ${error.exit}, not DATA (65)`;
  if (!/^PACH_[A-Z0-9_]+$/.test(error.code)) return `bad code ${error.code}`;
  if (error.describe().includes('\n')) return `message spans lines: ${JSON.stringify(error.describe())}`;
  return undefined;
}

export function sameRecords(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((r, i) => Buffer.compare(r, b[i]!) === 0);
}

// ---------------------------------------------------------------------------
// Failed runs

/** `pach-convert: stdin: record 3 (byte 120): PACH_X: …` — the location is optional, the code is not. */
export const ERROR_LINE = /^pach-convert: [^:]+: (?:(record \d+ \(byte \d+\)|record \d+|byte \d+): )?(PACH_[A-Z0-9_]+): \S.*$/;

/** Why `r` is not "exit 65, exactly one stderr line naming a PACH_ code, no stack trace", or undefined when it is. */
export function notCleanDataFailure(r: RunResult, opts: { located?: boolean } = {}): string | undefined {
  const ls = r.stderr.split('\n').filter((l) => l.length > 0);
  if (r.code !== 65) return `exit ${r.code ?? r.signal}, stderr ${JSON.stringify(ls[0] ?? '')}`;
  if (ls.length !== 1) return `${ls.length} stderr lines (first: ${JSON.stringify(ls[0] ?? '')})`;
  if (!r.stderr.endsWith('\n')) return 'stderr line not newline-terminated';
  const m = ERROR_LINE.exec(ls[0]!);
  if (!m) return `stderr line does not read "pach-convert: <input>: record N (byte B): PACH_CODE: message": ${JSON.stringify(ls[0])}`;
  if (opts.located && !m[1]) return `no record/byte location: ${JSON.stringify(ls[0])}`;
  if (/internal error|\n\s+at /.test(r.stderr)) return 'stack trace on stderr';
  return undefined;
}

/** The PACH_ code and location of a clean failure line. */
export function errorLine(r: RunResult): { code?: string; record?: number; byte?: number; line: string } {
  const line = r.stderr.split('\n').filter(Boolean)[0] ?? '';
  const m = ERROR_LINE.exec(line);
  const rec = /\brecord (\d+)\b/.exec(m?.[1] ?? '');
  const byte = /\bbyte (\d+)\b/.exec(m?.[1] ?? '');
  return { code: m?.[2], record: rec ? Number(rec[1]) : undefined, byte: byte ? Number(byte[1]) : undefined, line };
}

/** Spawns any command with stdin fed from `input` (kept open when `holdOpen`), collecting the result. */
export function spawnCollect(cmd: string, args: string[], input?: Uint8Array, holdOpen = false): { result: Promise<RunResult>; closeStdin(): void; kill(): void } {
  const child = spawn(cmd, args, { env: testEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.on('error', () => {
    /* the tool may exit before reading everything */
  });
  const result = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
  if (input) child.stdin.write(input);
  if (!holdOpen) child.stdin.end();
  return { result, closeStdin: () => child.stdin.end(), kill: () => child.kill('SIGKILL') };
}

export const CONVERT = binPath('pach-convert');

// ---------------------------------------------------------------------------
// Independent walks of the framings

export interface NativeFrame {
  type: string;
  /** Offset of the type byte. */
  start: number;
  /** Offset of the payload. */
  payload: number;
  end: number;
}

/** The frames of a native stream, walked here (type byte, LEB128 length, payload). */
export function nativeFrames(bytes: Uint8Array): NativeFrame[] {
  const frames: NativeFrame[] = [];
  let p = 10;
  while (p < bytes.length) {
    const start = p;
    const type = String.fromCharCode(bytes[p++]!);
    let len = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[p++]!;
      len += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) break;
    }
    frames.push({ type, start, payload: p, end: p + len });
    p += len;
  }
  if (p !== bytes.length) throw new Error('native walk did not end at the end');
  return frames;
}

export interface SnappyChunk {
  type: number;
  start: number;
  /** Offset of the chunk body (after the 4-byte header); data chunks have their CRC first. */
  body: number;
  end: number;
  /** Uncompressed data of a data chunk (type 0 or 1), decoded here with snappy.uncompressSync. */
  data?: Buffer;
}

/** The chunks of a Snappy-framed stream, walked here. */
export function snappyChunks(bytes: Uint8Array): SnappyChunk[] {
  const chunks: SnappyChunk[] = [];
  let p = 0;
  while (p < bytes.length) {
    const type = bytes[p]!;
    const len = bytes[p + 1]! | (bytes[p + 2]! << 8) | (bytes[p + 3]! << 16);
    const body = p + 4;
    const end = body + len;
    const c: SnappyChunk = { type, start: p, body, end };
    if (type === 0) c.data = snappy.uncompressSync(Buffer.from(bytes.subarray(body + 4, end))) as Buffer;
    if (type === 1) c.data = Buffer.from(bytes.subarray(body + 4, end));
    chunks.push(c);
    p = end;
  }
  if (p !== bytes.length) throw new Error('snappy walk did not end at the end');
  return chunks;
}

/** Record boundaries (offsets where a record's length prefix starts, and the end) of a raw byte string. */
export function rawBoundaries(raw: Uint8Array): Set<number> {
  const b = new Set<number>([0]);
  let p = 0;
  while (p + 8 <= raw.length) {
    p += 8 + Number(Buffer.from(raw.subarray(p, p + 8)).readBigUInt64LE(0));
    b.add(p);
  }
  return b;
}

/**
 * What a pachctl stream cut at `at` must give. Only a cut at a chunk boundary
 * whose unframed bytes end on a record boundary is a valid (shorter) stream:
 * the format has no end marker. Returns those records, or 'error'.
 */
export function pachctlCutExpect(chunks: readonly SnappyChunk[], records: readonly Buffer[], at: number): Buffer[] | 'error' {
  if (at < 10) return 'error'; // no complete stream identifier: not recognisable
  const whole = chunks.filter((c) => c.end <= at);
  if (whole.length === 0 || whole.at(-1)!.end !== at) return 'error'; // inside a chunk
  const unframed = Buffer.concat(whole.map((c) => c.data ?? Buffer.alloc(0)));
  if (!rawBoundaries(unframed).has(unframed.length)) return 'error';
  let n = 0;
  let p = 0;
  while (p < unframed.length) p += 8 + records[n++]!.length;
  return records.slice(0, n);
}

/**
 * What a pachctl stream with byte `at` xor-ed with `x` must give. Two kinds of
 * flip are undetectable by the format, and only these may exit 0:
 *  - a data chunk's type byte turned into 0x80–0xfe (0x01 ^ 0xff = 0xfe,
 *    padding): the framing format says readers skip such chunks, so the
 *    chunk's data silently goes; the result is what the other chunks hold, if
 *    that still splits into records.
 *  - a byte inside a compressed chunk's Snappy data that still decompresses
 *    to the very same bytes (Snappy encodings are not unique: e.g. a copy
 *    whose offset is moved to another place holding the same bytes). The
 *    CRC-32C covers the uncompressed data, which did not change: harmless,
 *    and the records must equal the original.
 * Every other flip must be a data error.
 */
export function pachctlFlipExpect(bytes: Uint8Array, chunks: readonly SnappyChunk[], records: readonly Buffer[], at: number, x: number): Buffer[] | 'error' {
  const c = chunks.find((k) => at >= k.start && at < k.end);
  if (!c || c.type === 0xff) return 'error';
  if (at === c.start && (c.type === 0 || c.type === 1)) {
    const t = c.type ^ x;
    if (t < 0x80 || t > 0xfe) return 'error';
    const rest = Buffer.concat(chunks.filter((k) => k !== c && k.data).map((k) => k.data!));
    if (!rawBoundaries(rest).has(rest.length)) return 'error';
    return splitRaw(rest);
  }
  if (c.type === 0 && at >= c.body + 4) {
    const body = Buffer.from(bytes.subarray(c.body + 4, c.end));
    body[at - c.body - 4] ^= x;
    let data: Buffer;
    try {
      data = snappy.uncompressSync(body) as Buffer;
    } catch {
      return 'error';
    }
    return data.equals(c.data!) ? [...records] : 'error';
  }
  return 'error';
}
