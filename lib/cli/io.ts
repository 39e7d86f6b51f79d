/**
 * The process edge: reading a file operand or stdin as chunks, and writing
 * to stdout or to `-o FILE` (a temporary name renamed into place only on
 * success). Node streams and file descriptors live here and in lib/grpc only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PachError } from '../errors.js';

const READ_CHUNK = 1024 * 1024;

/** Counts what passes, for summaries and progress. */
export interface ByteCounter {
  bytes: number;
}

function readChunk(fd: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, 0, READ_CHUNK, null, (err, n) => (err ? reject(err) : resolve(n === READ_CHUNK ? buf : buf.subarray(0, n)))),
  );
}

/**
 * Reads a regular file (or fd) in 1 MiB chunks, keeping the next read in
 * flight while the consumer works on the current chunk (reading and
 * processing overlap instead of taking turns). Stops when the consumer stops.
 */
async function* readFd(fd: number, close: boolean, counter: ByteCounter): AsyncGenerator<Uint8Array> {
  let next: Promise<Buffer> | undefined = readChunk(fd);
  try {
    for (;;) {
      const chunk: Buffer = await next!;
      next = undefined;
      if (chunk.length === 0) return;
      counter.bytes += chunk.length;
      next = readChunk(fd);
      yield chunk;
    }
  } finally {
    // Never close the descriptor under a read that is still running.
    if (next) await next.catch(() => undefined);
    if (close) fs.closeSync(fd);
  }
}

async function* readStdinStream(counter: ByteCounter): AsyncGenerator<Uint8Array> {
  const stdin = process.stdin;
  try {
    for await (const chunk of stdin) {
      counter.bytes += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } finally {
    // Stop reading upstream at once: the writer before us sees EPIPE.
    stdin.destroy();
  }
}

/** The display name of an input operand in messages. */
export function inputName(operand: string | undefined): string {
  return !operand || operand === '-' ? 'stdin' : operand;
}

/**
 * Opens a file operand or stdin (`-` or none) as an async iterable of chunks.
 * A missing or unreadable file is exit 66.
 */
export function openInput(operand: string | undefined, counter: ByteCounter): AsyncIterable<Uint8Array> {
  if (!operand || operand === '-') {
    let isFile = false;
    try {
      isFile = fs.fstatSync(0).isFile();
    } catch {
      isFile = false;
    }
    return isFile ? readFd(0, false, counter) : readStdinStream(counter);
  }
  let fd: number;
  try {
    fd = fs.openSync(operand, 'r');
    if (fs.fstatSync(fd).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PachError('PACH_NO_INPUT', `cannot read ${operand}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`, 'NO_INPUT', {}, err);
  }
  return readFd(fd, true, counter);
}

/** Where a tool's data goes. */
export interface Sink {
  readonly name: string;
  readonly isTTY: boolean;
  bytes: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Finishes the output: flushes, and for a file renames it into place. */
  close(): Promise<void>;
  /** Abandons the output: for a file, removes the temporary. Never throws. */
  abort(): void;
}

/** Raised when the reader of stdout went away (EPIPE): exit 141, no message. */
export class BrokenPipe extends PachError {
  constructor(cause?: unknown) {
    super('PACH_EPIPE', 'stdout closed by the reader', 'EPIPE', {}, cause);
  }
}

function ioError(what: string, err: unknown): PachError {
  return new PachError('PACH_IO', `${what}: ${(err as Error).message}`, 'IO', {}, err);
}

/** stdout, with backpressure and EPIPE turned into BrokenPipe. */
export function stdoutSink(): Sink {
  const out = process.stdout;
  let failure: PachError | undefined;
  out.on('error', (err: NodeJS.ErrnoException) => {
    failure = err.code === 'EPIPE' ? new BrokenPipe(err) : ioError('writing stdout', err);
  });
  const sink: Sink = {
    name: 'stdout',
    isTTY: Boolean(out.isTTY),
    bytes: 0,
    async write(chunk) {
      if (failure) throw failure;
      sink.bytes += chunk.length;
      if (!out.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            out.off('drain', done);
            out.off('error', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
        });
      }
      if (failure) throw failure;
    },
    async close() {
      if (failure) throw failure;
      if (out.writableNeedDrain) await new Promise((r) => out.once('drain', r));
      if (failure) throw failure;
    },
    abort() {},
  };
  return sink;
}

/**
 * `-o FILE`: written to a temporary name beside FILE and renamed over it on
 * success, so a failed or interrupted run never leaves a partial file.
 */
export function fileSink(target: string): Sink {
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch (err) {
    throw ioError(`cannot create ${target}`, err);
  }
  let open = true;
  const sink: Sink = {
    name: target,
    isTTY: false,
    bytes: 0,
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) {
        const n = await new Promise<number>((resolve, reject) =>
          fs.write(fd, chunk, off, chunk.length - off, null, (err, w) => (err ? reject(ioError(`writing ${target}`, err)) : resolve(w))),
        );
        off += n;
      }
      sink.bytes += chunk.length;
    },
    async close() {
      try {
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        open = false;
        fs.renameSync(tmp, target);
      } catch (err) {
        sink.abort();
        throw ioError(`finishing ${target}`, err);
      }
    },
    abort() {
      try {
        if (open) fs.closeSync(fd);
      } catch {
        /* already closed */
      }
      open = false;
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* already gone */
      }
    },
  };
  return sink;
}

/**
 * Writes `value` as JSON (one line, or indented by `space`) to the file
 * `target`, or to stderr when `target` is `-`: how --summary and --report
 * files are written.
 */
export function writeJsonTo(target: string, value: unknown, space?: number): void {
  const text = JSON.stringify(value, null, space) + '\n';
  if (target === '-') process.stderr.write(text);
  else fs.writeFileSync(target, text);
}
