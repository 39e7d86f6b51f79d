/**
 * Decompression of zstd and gzip input (DESIGN.md §2: compressed input is
 * recognised and decompressed in-process before framing detection). This
 * module owns the magic numbers, the choice of decoder, and the rule that a
 * truncated or corrupt compressed stream is a data error, never a clean end.
 * It is an edge adapter: node:zlib streams and the `zstd` child process stay
 * inside; callers see only async iterables of bytes.
 *
 *   input ──► frame scanner (zstd only: frame/block structure, truncation, offsets)
 *         ──► decoder: gzip  → node:zlib Gunzip
 *                      zstd  → `zstd -dcq` child process   (engine 'binary')
 *                            → zstd-codec wasm decoder      (engine 'wasm')
 *         ──► output chunks, pulled by the consumer
 *
 * Why the zstd frame scanner: zstd-codec's decoder reports success when its
 * input ends in the middle of a frame, so truncation is detected here, from
 * the frame structure (RFC 8878 §3.1), identically for both engines. The
 * scanner also knows block boundaries, which gives error offsets, a bound on
 * how much output a slice of input can produce (so the wasm path can keep
 * memory flat even on a "zstd bomb"), and the window size, which the wasm
 * decoder's fixed 16 MiB heap cannot exceed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { PachError, dataError, usageError } from '../errors.js';

export type Compression = 'zstd' | 'gzip';

/** Which decoder runs: see {@link decompress}. */
export type DecompressEngine = 'auto' | 'binary' | 'wasm' | 'zlib';

export interface DecompressOptions {
  engine?: DecompressEngine;
  /** Aborting stops reading, kills the `zstd` child and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

const CORRUPT = 'PACH_CORRUPT_COMPRESSION';
/** A well-formed stream this decoder cannot handle (dictionary, window too large). */
const UNSUPPORTED = 'PACH_UNSUPPORTED_COMPRESSION';
/** The zstd executable could not be run (forced with engine 'binary' or PACH_ZSTD=binary). */
const NO_ZSTD = 'PACH_ZSTD_UNAVAILABLE';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Largest block a zstd frame may hold, decompressed (RFC 8878 §3.1.1.2.3). */
const ZSTD_BLOCK_MAX = 128 * KiB;
/** zstd's own default decoder limit (`--memory=128MB`); larger windows need an explicit opt-in there too. */
const ZSTD_WINDOW_MAX = 128 * MiB;
/**
 * zstd-codec's wasm heap is fixed at 16 MiB: windows up to 8 MiB (every level up
 * to 19 without --long) decode; 16 MiB and more abort with OOM (measured).
 */
const WASM_WINDOW_MAX = 8 * MiB;
/** Upper bound on the output one call into the wasm decoder may produce. */
const WASM_SLICE_OUTPUT = 1 * MiB;
/** Upper bound on the input one call takes: the binding copies it into the 16 MiB heap. */
const WASM_SLICE_INPUT = 256 * KiB;
/** Output chunk size for node:zlib. */
const ZLIB_CHUNK = 64 * KiB;
/** How much of the child's stderr is kept for the error message. */
const STDERR_KEEP = 4 * KiB;

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;

/**
 * Recognises compressed input by its first bytes:
 * - zstd: a frame, `28 B5 2F FD`, or a skippable frame, `5? 2A 4D 18` (pzstd
 *   starts its output with one). Neither can begin a `raw` stream: read as an
 *   8-byte length they exceed the 256 MiB record limit.
 * - gzip: `1F 8B 08` (deflate). A `raw` stream can begin like this too; telling
 *   the two apart is the caller's job.
 * Returns undefined when `head` matches neither or is too short to tell.
 */
export function sniffCompression(head: Uint8Array): Compression | undefined {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 4) {
    const magic = readU32(head, 0);
    if (magic === ZSTD_MAGIC || (magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE_MAGIC) return 'zstd';
  }
  return undefined;
}

/**
 * The decoder {@link decompress} will use for `kind` with `engine` (default
 * 'auto'), e.g. for a `-v` log line. For zstd, 'auto' honours `PACH_ZSTD`
 * (`binary` or `wasm`), then picks the `zstd` executable if one is on PATH
 * (looked up once per process), else the in-process wasm decoder. gzip always
 * uses node:zlib. Throws a usage error for an engine that cannot decode `kind`.
 */
export function resolveEngine(kind: Compression, engine: DecompressEngine = 'auto'): 'binary' | 'wasm' | 'zlib' {
  if (kind === 'gzip') {
    if (engine === 'auto' || engine === 'zlib') return 'zlib';
    throw usageError(`decompress: gzip is decoded by node:zlib; engine must be auto or zlib, got ${engine}`);
  }
  if (kind !== 'zstd') throw usageError(`decompress: compression must be zstd or gzip, got ${String(kind)}`);
  if (engine === 'binary' || engine === 'wasm') return engine;
  if (engine !== 'auto') throw usageError(`decompress: zstd engine must be auto, binary or wasm, got ${String(engine)}`);
  const forced = process.env['PACH_ZSTD'];
  if (forced === 'binary' || forced === 'wasm') return forced;
  if (forced !== undefined && forced !== '' && forced !== 'auto') {
    throw usageError(`PACH_ZSTD must be binary, wasm or auto, got ${forced}`);
  }
  return findZstd() === undefined ? 'wasm' : 'binary';
}

/**
 * Decompresses `input` lazily: nothing is read or spawned before the first
 * `next()`, and input is read only as far as the consumer's demand requires
 * (plus a few pipe buffers), so memory stays flat whatever the size. Stopping
 * early (`break`, `return()`) stops reading `input` (its `return()` is called),
 * kills the `zstd` child and frees the decoder.
 *
 * - gzip: node:zlib; concatenated members decode as one stream, like `gzip -dc`.
 *   Trailing zero bytes are ignored; other trailing bytes are an error.
 * - zstd: concatenated and skippable frames are supported; frames that need a
 *   dictionary, or a window above 128 MiB (zstd's own default limit; 8 MiB for
 *   'wasm'), are rejected with PACH_UNSUPPORTED_COMPRESSION. Engines: 'binary'
 *   runs `zstd -dcq` (about 1.8× the wasm speed in bench/decompress.ts; zstd
 *   decodes on another core), 'wasm' runs zstd-codec in-process, 'auto'
 *   chooses as {@link resolveEngine} says.
 *
 * Errors: a truncated or corrupt stream throws PachError PACH_CORRUPT_COMPRESSION
 * (exit 65) with a message starting `zstd:` or `gzip:` and `where.offset` a byte
 * offset in the compressed input: for truncation, where the input ended; for
 * a structural zstd error, the offending header; for an error the decoder found,
 * the start of the zstd block it was decoding (wasm), or where zlib stopped.
 * Output before the error has already been yielded. Errors thrown by `input`
 * itself pass through unchanged. Chunks of `input` must not be modified after
 * they are yielded; output chunks are fresh and owned by the consumer.
 */
export function decompress(
  kind: Compression,
  input: AsyncIterable<Uint8Array>,
  opts: DecompressOptions = {},
): AsyncIterable<Uint8Array> {
  const engine = resolveEngine(kind, opts.engine);
  const signal = opts.signal;
  switch (engine) {
    case 'zlib':
      return gunzipChunks(input, signal);
    case 'binary':
      return zstdBinaryChunks(input, findZstd() ?? 'zstd', signal);
    case 'wasm':
      return zstdWasmChunks(input, signal);
  }
}

// ------------------------------------------------------------ zstd structure

const ST_MAGIC = 0;
const ST_DESCRIPTOR = 1;
const ST_FRAME_HEADER = 2;
const ST_BLOCK_HEADER = 3;
const ST_BLOCK_BODY = 4;
const ST_CHECKSUM = 5;
const ST_SKIP_SIZE = 6;
const ST_SKIP_BODY = 7;

const DICT_ID_BYTES = [0, 1, 2, 4] as const;
const FCS_BYTES = [0, 2, 4, 8] as const;

/**
 * Follows the frame and block structure of a zstd stream (RFC 8878 §3.1)
 * without decoding it: fixed-size headers are collected byte by byte, block
 * bodies are skipped by arithmetic, so it costs a few operations per 128 KiB
 * block. It never throws: the first problem is kept in `error` and scanning
 * stops at the offending byte.
 */
class ZstdFrameScanner {
  /** Offset of the next byte in the compressed input. */
  pos = 0;
  frames = 0;
  /** Start of the frame being read. */
  frameStart = 0;
  /** Start of the block (or header) being read. */
  unitStart = 0;
  error: PachError | undefined;

  private state = ST_MAGIC;
  /** Bytes still wanted for the header being collected, or body bytes to skip. */
  private need = 4;
  private readonly hdr = new Uint8Array(16);
  private have = 0;
  private descriptor = 0;
  private windowSize = 0;
  private lastBlock = false;

  constructor(private readonly windowMax: number, private readonly engineNote: string) {}

  /** True when the input read so far ends exactly between frames. */
  get atFrameBoundary(): boolean {
    return this.state === ST_MAGIC && this.have === 0;
  }

  /**
   * Scans `buf[from..]` and returns where it stopped: the end of `buf`, the
   * offending byte (with `error` set), after `inputBudget` bytes, or, once the
   * blocks whose headers were read in this call could decompress to
   * `outputBudget` bytes or more, just after such a header. Always advances
   * at least one byte unless `error` is set.
   */
  advance(buf: Uint8Array, from: number, outputBudget = Infinity, inputBudget = Infinity): number {
    let i = from;
    let output = 0;
    const end = Math.min(buf.length, from + inputBudget);
    while (i < end && this.error === undefined) {
      if (this.state === ST_BLOCK_BODY || this.state === ST_SKIP_BODY || this.state === ST_CHECKSUM) {
        const take = Math.min(this.need, end - i);
        i += take;
        this.pos += take;
        this.need -= take;
        if (this.need === 0) this.afterSkip();
        continue;
      }
      this.hdr[this.have++] = buf[i++]!;
      this.pos++;
      if (--this.need > 0) continue;
      this.have = 0;
      const bound = this.afterHeader();
      if (this.error !== undefined) return i - 1;
      output += bound;
      if (output >= outputBudget) break;
    }
    return i;
  }

  /** Call at the end of input; sets `error` if the input ended inside a frame. */
  finish(): void {
    if (this.error !== undefined) return;
    if (this.pos === 0) {
      this.error = dataError(CORRUPT, 'zstd: empty input, not even a frame header', { offset: 0 });
    } else if (!this.atFrameBoundary) {
      this.error = dataError(
        CORRUPT,
        `zstd: truncated input: it ends at byte ${this.pos}, inside the frame that starts at byte ${this.frameStart}`,
        { offset: this.pos },
      );
    }
  }

  private fail(code: string, message: string, offset: number): void {
    this.error = dataError(code, message, { offset });
  }

  /** A fixed-size piece is complete in `hdr`: act on it. Returns the output bound of a block it opens. */
  private afterHeader(): number {
    const h = this.hdr;
    switch (this.state) {
      case ST_MAGIC: {
        const start = this.pos - 4;
        this.frameStart = start;
        this.unitStart = start;
        const magic = readU32(h, 0);
        if (magic === ZSTD_MAGIC) {
          this.state = ST_DESCRIPTOR;
          this.need = 1;
        } else if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE_MAGIC) {
          this.state = ST_SKIP_SIZE;
          this.need = 4;
        } else {
          const hex = Array.from(h.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
          const what = this.frames === 0 ? 'not a zstd frame' : `trailing garbage after ${this.frames} frame(s)`;
          this.fail(CORRUPT, `zstd: ${what} (bytes ${hex} at byte ${start})`, start);
        }
        return 0;
      }
      case ST_DESCRIPTOR: {
        const d = h[0]!;
        if (d & 0x08) {
          this.fail(CORRUPT, 'zstd: corrupt frame header (reserved bit set)', this.pos - 1);
          return 0;
        }
        this.descriptor = d;
        const single = (d >> 5) & 1;
        const fcsBytes = FCS_BYTES[d >> 6]! || single;
        this.state = ST_FRAME_HEADER;
        this.need = (single ? 0 : 1) + DICT_ID_BYTES[d & 3]! + fcsBytes;
        return 0;
      }
      case ST_FRAME_HEADER: {
        const d = this.descriptor;
        const single = (d >> 5) & 1;
        let p = 0;
        let window = 0;
        if (!single) {
          const w = h[p++]!;
          const base = 2 ** (10 + (w >> 3));
          window = base + (base / 8) * (w & 7);
        }
        const dictBytes = DICT_ID_BYTES[d & 3]!;
        const dictId = readUIntLE(h, p, dictBytes);
        p += dictBytes;
        const fcsBytes = FCS_BYTES[d >> 6]! || single;
        let fcs = readUIntLE(h, p, fcsBytes);
        if (fcsBytes === 2) fcs += 256;
        if (single) window = fcs;
        if (dictId !== 0) {
          this.fail(UNSUPPORTED, `zstd: the frame at byte ${this.frameStart} needs dictionary ${dictId}, which is not available`, this.frameStart);
          return 0;
        }
        if (window > this.windowMax) {
          this.fail(
            UNSUPPORTED,
            `zstd: the frame at byte ${this.frameStart} needs a ${formatSize(window)} window, more than ${this.engineNote} allows (${formatSize(this.windowMax)})`,
            this.frameStart,
          );
          return 0;
        }
        this.windowSize = window;
        this.state = ST_BLOCK_HEADER;
        this.need = 3;
        this.unitStart = this.pos;
        return 0;
      }
      case ST_BLOCK_HEADER: {
        const start = this.pos - 3;
        this.unitStart = start;
        const v = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        const type = (v >> 1) & 3;
        const size = v >>> 3;
        if (type === 3) {
          this.fail(CORRUPT, `zstd: corrupt block header at byte ${start} (reserved block type)`, start);
          return 0;
        }
        if (size > ZSTD_BLOCK_MAX) {
          this.fail(CORRUPT, `zstd: corrupt block header at byte ${start} (block size ${size} exceeds 128 KiB)`, start);
          return 0;
        }
        this.lastBlock = (v & 1) === 1;
        this.state = ST_BLOCK_BODY;
        // Raw: `size` bytes follow. RLE: one byte, repeated `size` times. Compressed: `size` bytes
        // that decode to at most one block.
        this.need = type === 1 ? 1 : size;
        const bound = type === 2 ? Math.min(ZSTD_BLOCK_MAX, Math.max(this.windowSize, 1)) : size;
        if (this.need === 0) this.afterSkip();
        return bound;
      }
      case ST_SKIP_SIZE: {
        this.state = ST_SKIP_BODY;
        this.need = readU32(h, 0);
        if (this.need === 0) this.afterSkip();
        return 0;
      }
    }
    return 0;
  }

  /** A skipped region (block body, checksum, skippable frame) is complete. */
  private afterSkip(): void {
    switch (this.state) {
      case ST_BLOCK_BODY:
        if (!this.lastBlock) {
          this.state = ST_BLOCK_HEADER;
          this.need = 3;
          this.unitStart = this.pos;
          return;
        }
        if (this.descriptor & 0x04) {
          this.state = ST_CHECKSUM;
          this.need = 4;
          return;
        }
        break;
      case ST_CHECKSUM:
      case ST_SKIP_BODY:
        break;
    }
    this.frames++;
    this.state = ST_MAGIC;
    this.need = 4;
    this.unitStart = this.pos;
  }
}

// ------------------------------------------------------------ zstd: wasm

interface WasmDecoder {
  begin(): boolean;
  transform(chunk: Uint8Array, onOutput: (out: Uint8Array) => void): boolean;
  flush(onOutput: (out: Uint8Array) => void): boolean;
  end(onOutput: (out: Uint8Array) => void): boolean;
  delete(): void;
}

interface WasmModule {
  ZstdDecompressStreamBinding: new () => WasmDecoder;
}

type EmscriptenFactory = (module: Record<string, unknown>) => unknown;

let wasmFactory: EmscriptenFactory | undefined;

/**
 * A fresh zstd-codec instance (about 7 ms after the first, which compiles the
 * wasm). One per stream, because an instance that aborts (OOM) is dead for
 * good, and because its heap is fixed at 16 MiB. We load the emscripten
 * binding directly rather than through `zstd-codec/lib/zstd-stream`: that
 * Transform pushes all output of a call regardless of backpressure, never
 * frees its decoder, and lets the binding print to stdout.
 */
function loadZstdWasm(): Promise<WasmModule> {
  wasmFactory ??= createRequire(import.meta.url)('zstd-codec/lib/zstd-codec-binding-wasm.js') as EmscriptenFactory;
  const factory = wasmFactory;
  return new Promise((resolve, reject) => {
    const module: Record<string, unknown> = {
      // Emscripten writes aborts ("OOM") to console.log: stdout is our data channel.
      print: () => {},
      printErr: () => {},
      onAbort: (what: unknown) => reject(new Error(`zstd-codec aborted: ${String(what)}`)),
      // Resolve with a wrapper: the module object has a `then` that would make `await` loop.
      onRuntimeInitialized: () => resolve({ ZstdDecompressStreamBinding: module['ZstdDecompressStreamBinding'] as WasmModule['ZstdDecompressStreamBinding'] }),
    };
    factory(module);
  });
}

async function* zstdWasmChunks(input: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  signal?.throwIfAborted();
  const scanner = new ZstdFrameScanner(WASM_WINDOW_MAX, 'the in-process decoder (engine wasm)');
  const wasm = await loadZstdWasm();
  const decoder = new wasm.ZstdDecompressStreamBinding();
  const out: Uint8Array[] = [];
  const collect = (piece: Uint8Array): void => {
    if (piece.length > 0) out.push(piece);
  };
  // Runs one decoder call; `unit` is where the block it works on starts.
  const run = (call: () => boolean, unit: number): void => {
    let ok: boolean;
    try {
      ok = call();
    } catch (err) {
      const oom = /OOM/.test(String(err));
      throw dataError(
        oom ? UNSUPPORTED : CORRUPT,
        oom ? 'zstd: the in-process decoder ran out of memory (install the zstd executable)' : `zstd: the in-process decoder failed: ${String(err)}`,
        { offset: unit },
        err,
      );
    }
    if (!ok) throw dataError(CORRUPT, `zstd: corrupt data (the in-process decoder stopped in the block at or after byte ${unit})`, { offset: unit });
  };
  try {
    if (!decoder.begin()) throw dataError(UNSUPPORTED, 'zstd: the in-process decoder could not start');
    for await (const chunk of input) {
      signal?.throwIfAborted();
      let i = 0;
      while (i < chunk.length) {
        const unit = scanner.unitStart;
        const j = scanner.advance(chunk, i, WASM_SLICE_OUTPUT, WASM_SLICE_INPUT);
        if (j > i) run(() => decoder.transform(chunk.subarray(i, j), collect), unit);
        i = j;
        while (out.length > 0) yield out.shift()!;
        if (scanner.error !== undefined) throw scanner.error;
        signal?.throwIfAborted();
      }
    }
    scanner.finish();
    if (scanner.error !== undefined) throw scanner.error;
    run(() => decoder.flush(collect) && decoder.end(collect), scanner.pos);
    while (out.length > 0) yield out.shift()!;
  } finally {
    try {
      decoder.delete();
    } catch {
      // An aborted instance cannot run its destructor; it is garbage anyway.
    }
  }
}

// ------------------------------------------------------------ feeding a sink

/**
 * Copies `input` into a Writable (a zlib stream, a child's stdin) one chunk at
 * a time, waiting for 'drain' whenever `write()` says so: the only read-ahead
 * is the sink's buffer. `filter` may shorten a chunk and end the input early
 * (the zstd scanner found an error). Errors thrown by `input` are kept in
 * `inputError` and reported through `onInputError`, so the caller can rethrow
 * them unchanged.
 */
class Feeder {
  inputFailed = false;
  inputError: unknown;
  /** Bytes handed to the sink. */
  written = 0;
  /** True once the whole input was read and the sink ended. */
  ended = false;
  private stopped = false;
  private nextPending = false;
  private readonly it: AsyncIterator<Uint8Array>;
  private running: Promise<void> | undefined;

  constructor(
    input: AsyncIterable<Uint8Array>,
    private readonly sink: Writable,
    private readonly hooks: {
      filter?: (chunk: Uint8Array) => { chunk: Uint8Array; last: boolean };
      onEnd?: () => void;
      onInputError: () => void;
    },
  ) {
    this.it = input[Symbol.asyncIterator]();
  }

  start(): void {
    this.running = this.run();
  }

  /**
   * Stops feeding and closes the input. Waits for the feeder to finish unless
   * it is blocked in the input's `next()`, which we cannot interrupt: then the
   * input's `return()` is requested and the feeder finishes on its own.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.nextPending) {
      closeQuietly(this.it);
      return;
    }
    await this.running;
  }

  private async run(): Promise<void> {
    let exhausted = false;
    try {
      while (!this.stopped) {
        this.nextPending = true;
        let result: IteratorResult<Uint8Array>;
        try {
          result = await this.it.next();
        } finally {
          this.nextPending = false;
        }
        if (result.done) {
          exhausted = true;
          break;
        }
        if (this.stopped) break;
        let chunk = result.value;
        let last = false;
        if (this.hooks.filter) ({ chunk, last } = this.hooks.filter(chunk));
        if (chunk.length > 0) {
          if (this.sink.destroyed || this.sink.writableEnded) break;
          this.written += chunk.length;
          if (!this.sink.write(chunk)) await drained(this.sink);
        }
        if (last) break;
      }
      if (!this.stopped && !this.sink.destroyed) {
        if (exhausted) this.hooks.onEnd?.();
        this.ended = exhausted;
        this.sink.end();
      }
    } catch (err) {
      if (!this.stopped) {
        this.inputFailed = true;
        this.inputError = err;
        this.hooks.onInputError();
      }
    } finally {
      if (!exhausted) await closeQuietly(this.it);
    }
  }
}

function drained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    // Already closed (its 'close' may be gone) or no longer full: nothing to wait for.
    if (sink.destroyed || !sink.writableNeedDrain) {
      resolve();
      return;
    }
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      sink.off('error', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
    sink.on('error', done);
  });
}

function closeQuietly(it: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    return Promise.resolve(it.return?.()).then(
      () => undefined,
      () => undefined,
    );
  } catch {
    return Promise.resolve();
  }
}

// ------------------------------------------------------------ gzip

async function* gunzipChunks(input: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  signal?.throwIfAborted();
  const gunzip = zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
  gunzip.on('error', () => {}); // read through the iterator below
  const feeder = new Feeder(input, gunzip, { onInputError: () => gunzip.destroy() });
  const onAbort = (): void => {
    gunzip.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    feeder.start();
    try {
      for await (const chunk of gunzip as Readable) yield chunk as Uint8Array;
    } catch (err) {
      signal?.throwIfAborted();
      if (feeder.inputFailed) throw feeder.inputError;
      throw gzipError(err, gunzip.bytesWritten, feeder);
    }
    signal?.throwIfAborted();
    if (feeder.inputFailed) throw feeder.inputError;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    gunzip.destroy();
    await feeder.stop();
  }
}

function gzipError(err: unknown, consumed: number, feeder: Feeder): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return err;
  if (code === 'Z_BUF_ERROR' && feeder.ended) {
    const message = feeder.written === 0 ? 'gzip: empty input, not even a member header' : `gzip: truncated input: it ends at byte ${feeder.written}, inside a gzip member`;
    return dataError(CORRUPT, message, { offset: feeder.written }, err);
  }
  const what = err instanceof Error ? err.message : String(err);
  return dataError(CORRUPT, `gzip: corrupt data near byte ${consumed}: ${what}`, { offset: consumed }, err);
}

// ------------------------------------------------------------ zstd: binary

let zstdOnPath: string | null | undefined;

/** The first executable `zstd` on PATH, looked up once per process. */
function findZstd(): string | undefined {
  if (zstdOnPath === undefined) {
    zstdOnPath = null;
    for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
      if (dir === '') continue;
      const candidate = path.join(dir, 'zstd');
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (!fs.statSync(candidate).isFile()) continue;
        zstdOnPath = candidate;
        break;
      } catch {
        // not here
      }
    }
  }
  return zstdOnPath ?? undefined;
}

interface ChildStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
}

async function* zstdBinaryChunks(
  input: AsyncIterable<Uint8Array>,
  executable: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  signal?.throwIfAborted();
  const scanner = new ZstdFrameScanner(ZSTD_WINDOW_MAX, 'zstd by default');
  // -q: errors only, no progress; the scanner, not zstd, decides what "truncated" means.
  const child = spawn(executable, ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const status = new Promise<ChildStatus>((resolve) => {
    child.once('close', (code, sig) => resolve({ code, signal: sig }));
    // `on`, not `once`: a failed kill() is reported as a second 'error'.
    child.on('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < STDERR_KEEP) stderr += text;
  });
  // zstd exits on corrupt input while we may still be writing: EPIPE is expected then.
  child.stdin.on('error', () => {});
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const feeder = new Feeder(input, child.stdin, {
    filter: (chunk) => {
      const stop = scanner.advance(chunk, 0);
      return stop < chunk.length ? { chunk: chunk.subarray(0, stop), last: true } : { chunk, last: false };
    },
    onEnd: () => scanner.finish(),
    onInputError: kill,
  });
  signal?.addEventListener('abort', kill, { once: true });
  try {
    feeder.start();
    for await (const chunk of child.stdout) yield chunk as Uint8Array;
    const st = await status;
    signal?.throwIfAborted();
    if (feeder.inputFailed) throw feeder.inputError;
    if (st.spawnError) throw zstdUnavailable(executable, st.spawnError);
    if (scanner.error !== undefined) throw scanner.error;
    if (st.code !== 0) {
      // zstd 1.5 says e.g. `zstd: /*stdin*\ : Decoding error (36) : Restored data doesn't match checksum`.
      const said = stderr.trim().split('\n')[0]?.replace(/^zstd:\s*/, '').replace(/^\/\*stdin\*\\\s*:\s*/, '') || `exit status ${st.code ?? st.signal}`;
      throw dataError(CORRUPT, `zstd: corrupt data: ${said}`, {});
    }
  } catch (err) {
    signal?.throwIfAborted();
    if (feeder.inputFailed) throw feeder.inputError;
    throw err;
  } finally {
    signal?.removeEventListener('abort', kill);
    kill();
    child.stdin.destroy();
    child.stdout.destroy();
    await feeder.stop();
    await status;
  }
}

function zstdUnavailable(executable: string, err: Error): PachError {
  return new PachError(NO_ZSTD, `zstd: cannot run ${executable}: ${err.message} (install zstd, or set PACH_ZSTD=wasm)`, 'FAILURE', {}, err);
}

// ------------------------------------------------------------ bytes

function readU32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

function readUIntLE(b: Uint8Array, p: number, n: number): number {
  let v = 0;
  for (let k = n - 1; k >= 0; k--) v = v * 256 + b[p + k]!;
  return v;
}

function formatSize(n: number): string {
  return n >= MiB && n % MiB === 0 ? `${n / MiB} MiB` : n >= KiB && n % KiB === 0 ? `${n / KiB} KiB` : `${n} bytes`;
}
