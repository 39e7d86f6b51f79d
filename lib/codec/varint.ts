/**
 * Unsigned LEB128 varints, as protobuf and the native framing use them.
 * Lengths here never exceed 2^53, so plain numbers are exact.
 */

/** Result of a varint read: the value and the offset just past it. */
export interface VarintRead {
  value: number;
  next: number;
}

/**
 * Reads an unsigned varint at `pos`. Returns undefined when the buffer ends
 * inside the varint (the caller decides whether that is "need more bytes" or
 * "truncated"); throws RangeError for a varint longer than 10 bytes.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number = buf.length): VarintRead | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) return undefined;
    const b = buf[pos + i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return { value, next: pos + i + 1 };
    scale *= 128;
  }
  throw new RangeError('varint longer than 10 bytes');
}

/** Number of bytes `value` takes as a varint. */
export function varintSize(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Writes `value` as a varint into `buf` at `pos`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 128) {
    buf[pos++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}

/** Offset just past the varint that `varintAt` last read (a live binding). */
export let varintEnd = 0;

/**
 * Allocation-free `readVarint` for hot paths: returns the value and leaves
 * the offset after it in `varintEnd`; returns -1 when the buffer ends inside
 * the varint. Throws RangeError for a varint longer than 10 bytes.
 */
export function varintAt(buf: Uint8Array, pos: number, end: number = buf.length): number {
  let b = pos < end ? buf[pos]! : 256;
  if (b < 0x80) {
    varintEnd = pos + 1;
    return b === 256 ? -1 : b;
  }
  let value = b & 0x7f;
  let scale = 128;
  for (let i = 1; i < 10; i++) {
    if (pos + i >= end) return -1;
    b = buf[pos + i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      varintEnd = pos + i + 1;
      return value;
    }
    scale *= 128;
  }
  throw new RangeError('varint longer than 10 bytes');
}
