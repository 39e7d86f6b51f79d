/**
 * HashSet: a set of object and block hashes that costs a number, not a
 * string, per entry. Hex hashes are keyed by their first 52 bits (exact in a
 * double); a collision could only hide a missing object among millions, never
 * invent a problem. Anything that is not hex is kept as a string.
 */
const HEX_PREFIX = /^[0-9a-f]{13}/;

export class HashSet {
  private readonly numbers = new Set<number>();
  private readonly strings = new Set<string>();

  add(hash: string): void {
    if (HEX_PREFIX.test(hash)) this.numbers.add(parseInt(hash.slice(0, 13), 16));
    else this.strings.add(hash);
  }

  has(hash: string): boolean {
    return HEX_PREFIX.test(hash) ? this.numbers.has(parseInt(hash.slice(0, 13), 16)) : this.strings.has(hash);
  }

  get size(): number {
    return this.numbers.size + this.strings.size;
  }
}
