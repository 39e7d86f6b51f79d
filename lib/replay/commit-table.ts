/**
 * CommitTable: every commit the model knows, in columns of typed arrays, so
 * that a million commits cost tens of bytes each rather than the few hundred
 * a JS object and a string-keyed Map entry would.
 *
 * A commit is a dense index (creation order). Its key is (repo index, ID);
 * IDs that are 32 lowercase hex characters (every ID pachd 1.x makes) are
 * packed into 16 bytes and found through an open-addressing hash table; any
 * other ID goes to a small Map on the side. Provenance lists live in one
 * shared pool of (commit, branch) pairs.
 */

const EMPTY = 0;

/** Reads a 32-character lowercase hex ID into `out` (16 bytes); false if it is not one. */
function parseHexId(id: string, out: Uint8Array): boolean {
  if (id.length !== 32) return false;
  for (let i = 0; i < 16; i++) {
    const a = hexDigit(id.charCodeAt(2 * i));
    const b = hexDigit(id.charCodeAt(2 * i + 1));
    if ((a | b) < 0) return false;
    out[i] = (a << 4) | b;
  }
  return true;
}

/** The value of a lowercase hex digit's char code, or -1. */
export function hexDigit(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
}

/** Commit flags. */
export const FINISHED = 1;
export const HAS_TREE = 2;
/** Made by the model (pachd would make it: propagation, a pipeline's spec commit), not restored from the stream. */
export const SYNTHETIC = 4;

/** A growable column. */
class Column<T extends Int32Array | Float64Array | Uint8Array> {
  data: T;
  constructor(private readonly make: (n: number) => T, capacity: number) {
    this.data = make(capacity);
  }
  ensure(n: number): void {
    if (n <= this.data.length) return;
    let cap = this.data.length;
    // 1.5× keeps the unused tail small at a million commits, for a few more copies.
    while (cap < n) cap = Math.ceil(cap * 1.5);
    const next = this.make(cap);
    next.set(this.data);
    this.data = next;
  }
}

export interface NewCommit {
  repo: number;
  id: string;
  parent: number;
  /** Interned branch id (see the model's branch table), or -1. */
  branch: number;
  flags: number;
  /** 0 USER, 1 AUTO, 2 FSCK. */
  origin: number;
  size: number;
  started: number;
  finished: number;
  /** Full provenance as (commit, branch id) pairs. */
  provenance: ReadonlyArray<readonly [number, number]>;
}

export class CommitTable {
  private n = 0;
  private readonly repo = new Column((k) => new Int32Array(k), 1024);
  private readonly parentCol = new Column((k) => new Int32Array(k), 1024);
  private readonly branchCol = new Column((k) => new Int32Array(k), 1024);
  private readonly depthCol = new Column((k) => new Int32Array(k), 1024);
  private readonly flagCol = new Column((k) => new Uint8Array(k), 1024);
  private readonly originCol = new Column((k) => new Uint8Array(k), 1024);
  private readonly sizeCol = new Column((k) => new Float64Array(k), 1024);
  private readonly startedCol = new Column((k) => new Float64Array(k), 1024);
  private readonly finishedCol = new Column((k) => new Float64Array(k), 1024);
  private readonly provStart = new Column((k) => new Int32Array(k), 1024);
  private readonly provLen = new Column((k) => new Int32Array(k), 1024);
  private readonly prov = new Column((k) => new Int32Array(k), 4096);
  private provUsed = 0;
  /** Packed hex IDs, 16 bytes per commit (zeros for a commit whose ID is kept in `odd`). */
  private readonly keys = new Column((k) => new Uint8Array(k), 1024 * 16);
  /** Hash slots: commit index + 1, or 0. */
  private slots = new Int32Array(2048);
  private readonly odd = new Map<string, number>();
  private readonly oddIds = new Map<number, string>();
  /** The last ID parsed, and its 16 bytes (find then add parse the same ID once). */
  private scratchId = '';
  private scratchHex = false;
  private readonly scratch = new Uint8Array(16);

  get size(): number {
    return this.n;
  }

  /** The commit with `id` in `repo`, or -1. */
  find(repo: number, id: string): number {
    if (!this.parse(id)) return this.odd.get(`${repo}\u0000${id}`) ?? -1;
    const key = this.scratch;
    const mask = this.slots.length - 1;
    for (let s = hashKey(key, repo) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === EMPTY) return -1;
      const c = v - 1;
      if (this.repo.data[c] === repo && this.keyEquals(c, key)) return c;
    }
  }

  add(c: NewCommit): number {
    const i = this.n++;
    if (this.n > this.repo.data.length) {
      for (const col of this.perCommit()) col.ensure(this.n);
      this.keys.ensure(this.repo.data.length * 16);
    }
    this.repo.data[i] = c.repo;
    this.parentCol.data[i] = c.parent;
    this.branchCol.data[i] = c.branch;
    this.depthCol.data[i] = c.parent >= 0 ? this.depthCol.data[c.parent]! + 1 : 1;
    this.flagCol.data[i] = c.flags;
    this.originCol.data[i] = c.origin;
    this.sizeCol.data[i] = c.size;
    this.startedCol.data[i] = c.started;
    this.finishedCol.data[i] = c.finished;
    this.provStart.data[i] = this.provUsed;
    this.provLen.data[i] = c.provenance.length;
    this.prov.ensure(this.provUsed + c.provenance.length * 2);
    for (const [commit, branch] of c.provenance) {
      this.prov.data[this.provUsed++] = commit;
      this.prov.data[this.provUsed++] = branch;
    }
    if (this.parse(c.id)) {
      this.keys.data.set(this.scratch, i * 16);
      if ((this.n - this.odd.size) * 2 > this.slots.length) this.grow();
      else this.place(i);
    } else {
      this.odd.set(`${c.repo}\u0000${c.id}`, i);
      this.oddIds.set(i, c.id);
    }
    return i;
  }

  id(c: number): string {
    return this.oddIds.get(c) ?? Buffer.from(this.keys.data.subarray(c * 16, c * 16 + 16)).toString('hex');
  }
  repoOf(c: number): number {
    return this.repo.data[c]!;
  }
  parent(c: number): number {
    return this.parentCol.data[c]!;
  }
  branch(c: number): number {
    return this.branchCol.data[c]!;
  }
  /** How many commits the chain ending at `c` holds (c, its parent, …). */
  depth(c: number): number {
    return this.depthCol.data[c]!;
  }
  flags(c: number): number {
    return this.flagCol.data[c]!;
  }
  origin(c: number): number {
    return this.originCol.data[c]!;
  }
  sizeBytes(c: number): number {
    return this.sizeCol.data[c]!;
  }
  started(c: number): number {
    return this.startedCol.data[c]!;
  }
  finished(c: number): number {
    return this.finishedCol.data[c]!;
  }
  /** The full provenance of `c` as (commit, branch id) pairs. */
  provenance(c: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const start = this.provStart.data[c]!;
    const end = start + this.provLen.data[c]! * 2;
    for (let p = start; p < end; p += 2) out.push([this.prov.data[p]!, this.prov.data[p + 1]!]);
    return out;
  }
  /** The provenance commit of `c` on branch `branch`, or -1. */
  provenanceOn(c: number, branch: number): number {
    const start = this.provStart.data[c]!;
    const end = start + this.provLen.data[c]! * 2;
    for (let p = start; p < end; p += 2) if (this.prov.data[p + 1] === branch) return this.prov.data[p]!;
    return -1;
  }

  /** The columns with one entry per commit. */
  private perCommit(): Array<Column<Int32Array | Float64Array | Uint8Array>> {
    return [this.repo, this.parentCol, this.branchCol, this.depthCol, this.flagCol, this.originCol, this.sizeCol, this.startedCol, this.finishedCol, this.provStart, this.provLen];
  }

  /** Bytes held by the columns and the hash table (for the benchmark's bytes-per-commit figure). */
  get bytes(): number {
    return [...this.perCommit(), this.prov, this.keys].reduce((s, c) => s + c.data.byteLength, 0) + this.slots.byteLength;
  }

  /** Parses `id` into the scratch key (reusing the last parse); false when it is not a hex ID. */
  private parse(id: string): boolean {
    if (id !== this.scratchId) {
      this.scratchId = id;
      this.scratchHex = parseHexId(id, this.scratch);
    }
    return this.scratchHex;
  }

  private keyEquals(c: number, key: Uint8Array): boolean {
    const k = this.keys.data;
    const o = c * 16;
    for (let j = 0; j < 16; j++) if (k[o + j] !== key[j]) return false;
    return true;
  }

  private place(c: number): void {
    const mask = this.slots.length - 1;
    const key = this.keys.data.subarray(c * 16, c * 16 + 16);
    let s = hashKey(key, this.repo.data[c]!) & mask;
    while (this.slots[s] !== EMPTY) s = (s + 1) & mask;
    this.slots[s] = c + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let c = 0; c < this.n; c++) if (!this.oddIds.has(c)) this.place(c);
  }
}

/** FNV-1a over the 16 key bytes and the repo index. */
function hashKey(key: Uint8Array, repo: number): number {
  let h = 0x811c9dc5 ^ repo;
  for (let j = 0; j < 16; j++) h = Math.imul(h ^ key[j]!, 0x01000193);
  return h >>> 0;
}
