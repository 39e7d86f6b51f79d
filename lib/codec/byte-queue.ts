/**
 * A FIFO of input chunks that framing decoders consume from synchronously.
 * Reads inside one chunk are zero-copy views; only a read that straddles
 * chunks copies. It knows the absolute offset of every byte it hands out, so
 * errors can say where they happened.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private first = 0;
  private pos = 0;
  /** Bytes pushed but not yet consumed. */
  size = 0;
  /** Absolute offset of the next unconsumed byte. */
  offset = 0;
  /** Called with each chunk once every byte of it has been consumed. */
  onRelease?: (chunk: Uint8Array) => void;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The first chunk with unconsumed bytes (or undefined), for parsers' fast paths; its unconsumed part starts at `headPos`. */
  get headChunk(): Uint8Array | undefined {
    return this.chunks[this.first];
  }

  get headPos(): number {
    return this.pos;
  }

  /** The byte `i` places after the next unconsumed one (i < size). */
  byteAt(i: number): number {
    let k = this.first;
    let p = this.pos + i;
    while (p >= this.chunks[k]!.length) {
      p -= this.chunks[k]!.length;
      k++;
    }
    return this.chunks[k]![p]!;
  }

  /** Contiguous view of the next `n` bytes without consuming them (copies only across chunks). */
  peek(n: number): Uint8Array {
    const c = this.chunks[this.first]!;
    if (this.pos + n <= c.length) return c.subarray(this.pos, this.pos + n);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.byteAt(i);
    return out;
  }

  /** Consumes and returns the next `n` bytes (n ≤ size). */
  take(n: number): Uint8Array {
    const c = this.chunks[this.first]!;
    if (this.pos + n <= c.length) {
      // A plain Uint8Array view: Buffer#subarray costs several times more per call.
      const view = new Uint8Array(c.buffer, c.byteOffset + this.pos, n);
      this.advance(n);
      return view;
    }
    // allocUnsafe: no zero-fill, the loop below overwrites every byte.
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const cur = this.chunks[this.first]!;
      const m = Math.min(n - filled, cur.length - this.pos);
      out.set(cur.subarray(this.pos, this.pos + m), filled);
      filled += m;
      this.advance(m);
    }
    return out;
  }

  /** Consumes `n` bytes (n ≤ size). */
  skip(n: number): void {
    while (n > 0) {
      const cur = this.chunks[this.first]!;
      const m = Math.min(n, cur.length - this.pos);
      this.advance(m);
      n -= m;
    }
  }

  /** The consumed part of the current first chunk that has not been released yet. */
  consumedHead(): Uint8Array {
    const c = this.chunks[this.first];
    return c ? c.subarray(0, this.pos) : new Uint8Array(0);
  }

  private advance(n: number): void {
    this.pos += n;
    this.size -= n;
    this.offset += n;
    const c = this.chunks[this.first]!;
    if (this.pos === c.length) {
      this.onRelease?.(c);
      this.chunks[this.first] = undefined as unknown as Uint8Array;
      this.first++;
      this.pos = 0;
      if (this.first > 1024) {
        this.chunks = this.chunks.slice(this.first);
        this.first = 0;
      }
    }
  }
}
