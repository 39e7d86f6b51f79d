/**
 * HashSet: the set of object and block names the model has seen, at a few
 * bytes each. Hex names are keyed by their first 52 bits (exact in a double)
 * in an open-addressing table of doubles; a collision could only hide a
 * missing object among millions, never invent a problem. Anything that is not
 * hex is kept as a string on the side.
 */
import { hexDigit } from './commit-table.js';

const EMPTY = 0;

/** The first 13 hex digits of `hash` as a number + 1 (so 0 marks an empty slot), or -1 if they are not hex. */
function keyOf(hash: string): number {
  if (hash.length < 13) return -1;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 13; i++) {
    const d = hexDigit(hash.charCodeAt(i));
    if (d < 0) return -1;
    if (i < 5) hi = hi * 16 + d;
    else lo = lo * 16 + d;
  }
  return hi * 4294967296 + lo + 1;
}

function slotOf(key: number, mask: number): number {
  const lo = key >>> 0;
  const hi = (key / 4294967296) >>> 0;
  return (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0) & mask;
}

export class HashSet {
  private slots = new Float64Array(1024);
  private used = 0;
  private readonly strings = new Set<string>();

  add(hash: string): void {
    const key = keyOf(hash);
    if (key < 0) {
      this.strings.add(hash);
      return;
    }
    if ((this.used + 1) * 2 > this.slots.length) this.grow();
    if (this.place(this.slots, key)) this.used++;
  }

  has(hash: string): boolean {
    const key = keyOf(hash);
    if (key < 0) return this.strings.has(hash);
    const mask = this.slots.length - 1;
    for (let s = slotOf(key, mask); ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === EMPTY) return false;
      if (v === key) return true;
    }
  }

  get size(): number {
    return this.used + this.strings.size;
  }

  /** Puts `key` in `slots`; false when it was there already. */
  private place(slots: Float64Array, key: number): boolean {
    const mask = slots.length - 1;
    for (let s = slotOf(key, mask); ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === key) return false;
      if (v === EMPTY) {
        slots[s] = key;
        return true;
      }
    }
  }

  private grow(): void {
    const next = new Float64Array(this.slots.length * 2);
    for (const v of this.slots) if (v !== EMPTY) this.place(next, v);
    this.slots = next;
  }
}
