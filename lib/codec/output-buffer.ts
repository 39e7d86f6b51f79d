/**
 * Collects small writes into ~1 MiB chunks so the sink sees few, large
 * writes. Large payloads are handed on as they are, without a copy.
 */
import { OUTPUT_CHUNK_BYTES } from './limits.js';

export class OutputBuffer {
  private buf: Uint8Array;
  private used = 0;
  private ready: Uint8Array[] = [];
  private readonly size: number;

  constructor(size: number = OUTPUT_CHUNK_BYTES) {
    this.size = size;
    this.buf = new Uint8Array(size);
  }

  /** Reserves `n` contiguous bytes (n ≤ chunk size) and returns where to write them. */
  reserve(n: number): { buf: Uint8Array; at: number } {
    if (this.used + n > this.size) this.cut();
    const at = this.used;
    this.used += n;
    return { buf: this.buf, at };
  }

  append(bytes: Uint8Array): void {
    if (bytes.length > this.size >>> 2) {
      // Big payloads skip the copy: emit what we have, then the payload itself.
      this.cut();
      this.ready.push(bytes);
      return;
    }
    if (this.used + bytes.length > this.size) this.cut();
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Chunks that are full (call between batches). */
  *drain(): Iterable<Uint8Array> {
    if (this.ready.length === 0) return;
    const r = this.ready;
    this.ready = [];
    yield* r;
  }

  /** Everything, including the partly filled chunk. */
  *flush(): Iterable<Uint8Array> {
    this.cut();
    yield* this.drain();
  }

  private cut(): void {
    if (this.used === 0) return;
    this.ready.push(this.buf.subarray(0, this.used));
    this.buf = new Uint8Array(this.size);
    this.used = 0;
  }
}
