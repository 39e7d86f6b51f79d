/**
 * Collects small writes into ~1 MiB chunks so the sink sees few, large
 * writes. Large payloads are handed on as they are, without a copy.
 *
 * Chunks are reused: a chunk handed out by `drain`/`flush` is valid until the
 * consumer asks for the next one (the usual contract of a pull stream, and
 * what `for await (c of …) await sink.write(c)` honours). A consumer that
 * keeps chunks must copy them. Reuse keeps memory flat and spares the
 * page faults of fresh buffers.
 */
import { OUTPUT_CHUNK_BYTES } from './limits.js';

export class OutputBuffer {
  private buf: Uint8Array;
  private used = 0;
  private ready: Uint8Array[] = [];
  private readonly size: number;
  private readonly free: Uint8Array[] = [];
  private readonly owned = new WeakSet<ArrayBufferLike>();

  constructor(size: number = OUTPUT_CHUNK_BYTES) {
    this.size = size;
    this.buf = this.fresh();
  }

  /** Reserves `n` contiguous bytes (n ≤ chunk size); returns the offset in `target` to write them at. */
  reserve(n: number): number {
    if (this.used + n > this.size) this.cut();
    const at = this.used;
    this.used += n;
    return at;
  }

  /** The chunk `reserve` offsets refer to. */
  get target(): Uint8Array {
    return this.buf;
  }

  append(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n > this.size >>> 2) {
      // Big payloads skip the copy: emit what we have, then the payload itself.
      this.cut();
      this.ready.push(bytes);
      return;
    }
    if (this.used + n > this.size) this.cut();
    this.buf.set(bytes, this.used);
    this.used += n;
  }

  /** Chunks that are full (call between batches). */
  *drain(): Generator<Uint8Array> {
    if (this.ready.length === 0) return;
    const r = this.ready;
    this.ready = [];
    for (const c of r) {
      yield c;
      // The consumer has asked for more: it is done with `c`.
      if (this.owned.has(c.buffer)) this.free.push(new Uint8Array(c.buffer));
    }
  }

  /** Everything, including the partly filled chunk. */
  *flush(): Generator<Uint8Array> {
    this.cut();
    yield* this.drain();
  }

  private fresh(): Uint8Array {
    const b = this.free.pop();
    if (b) return b;
    const made = new Uint8Array(this.size);
    this.owned.add(made.buffer);
    return made;
  }

  private cut(): void {
    if (this.used === 0) return;
    this.ready.push(this.buf.subarray(0, this.used));
    this.buf = this.fresh();
    this.used = 0;
  }
}
