/**
 * bench/stdout.ts: synchronous writes to fd 1 for the benchmark data
 * generators (bench/generate.ts, bench/history.ts). A slow reader blocks the
 * writer, which is backpressure without buffering. fd 1 may be non-blocking
 * (a pipe shared with an earlier process), so EAGAIN waits a millisecond and
 * retries; a closed reader becomes EpipeExit, which the generators turn into
 * exit 141.
 */

export class EpipeExit extends Error {}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Runs `write` (an fs.writeSync/writevSync on fd 1) until it is accepted; returns the bytes written. */
export function writeStdoutSync(write: () => number): number {
  for (;;) {
    try {
      return write();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(sleeper, 0, 0, 1);
        continue;
      }
      if (code === 'EPIPE') throw new EpipeExit();
      throw err;
    }
  }
}
