/**
 * bench/history.ts: the seeded generator of a CONSISTENT Pachyderm 1.12
 * metadata history, the input of the replay-model benchmark (bench/replay.ts,
 * the replay/ cases of bench/run.sh).
 *
 * bench/generate.ts makes valid records that do not form a history (a pool
 * commit is emitted many times, hashes do not match between ops): fine for the
 * codec, useless for the replay model, which would report every op. This one
 * simulates a cluster and writes what `pachctl extract` of pachd 1.9+ would
 * (../shared/pachyderm/SEMANTICS.md §2.3), so `pach-filter --verify` replays
 * it clean (exit 0, no problem):
 *
 *   check_auth_token{}                         auth is on, so extract starts with it
 *   create_object per tree/datums object       the object index (no block data)
 *   repo: __spec__, then every repo            oldest first; outputs say "Output repo for pipeline X."
 *   commit: every commit, oldest first         parents before children; a root commit's parent is
 *                                              {repo} only; 32-hex IDs; input and __spec__ commits
 *                                              carry `tree`, output commits `trees` and `datums`,
 *                                              stats commits `trees`; size_bytes, started, finished,
 *                                              origin (USER, AUTO for outputs and stats); output and
 *                                              stats commits carry their FULL provenance as
 *                                              CommitProvenance{commit, branch}, sorted by repo then
 *                                              branch, always on the upstream heads of the moment;
 *                                              never `branch`
 *   branch: every branch, in creation order    head, direct provenance (output master: its inputs
 *                                              and __spec__@<pipeline>; stats: <pipeline>@master)
 *   pipeline, then its jobs                    topological; spec_commit = the pipeline's newest
 *                                              __spec__ commit; one job per output commit, newest
 *                                              first, with its stats_commit when stats are on
 *   activate_enterprise, activate_auth,        auth, as 1.11+ extracts it (a synthetic activation
 *   restore_auth_token, set_cluster_role_      code that expires in 2099, hashed robot tokens)
 *   binding, set_auth_config
 *   set_acl per repo (newest first), __spec__ last
 *
 * The cluster (--repos R, --commits C): R/10 repos are pipeline outputs, the
 * rest inputs with long master chains (each input's share of the commits is
 * log-uniform over 1…200: at the defaults chains run from ~20 to ~5,000
 * commits, median ~300, the longest tenth over 3,000). Most pipelines read one input repo,
 * some a cross of two, some the output of an earlier pipeline; about a third
 * keep stats (a stats commit per output commit), about a third are updated
 * once (a second __spec__ commit, and a reprocessing output commit). Every
 * input commit makes one output commit in each pipeline downstream of it, as
 * pachd's propagation does, so outputs come to ~10-20 % of the commits. Some
 * input repos also have a `staging` branch on an older master commit. The
 * history stops at exactly C commits (the last few go to repos no pipeline
 * reads, so no output is left behind its inputs).
 *
 *   --trees indexed  (default) every tree and datums object a commit names is in the object
 *                    index: what a full extract holds, minus the block bytes. Clean.
 *   --trees bare     commits name trees, the stream indexes none: a --no-objects extract.
 *                    The model says so once (PACH_NO_OBJECTS, a hazard: --verify exits 65).
 *   --trees none     commits without trees (finished by their time only). Clean.
 *
 *   --blocks SIZE    (with --trees indexed) a full extract with its object data: block ops
 *                    holding exactly SIZE bytes of values come before the object index (pachd
 *                    1.9+'s order): the blocks the index points into (~256 KiB each, ~4.6 KiB
 *                    per commit in all), then file blocks of 1 KiB … 10 MiB, each cut into
 *                    1-4 objects whose create_object ops follow the index's. One op per block
 *                    plus the empty op that ends it. Clean; the input of bench/grpc.sh's
 *                    object cases. Without it the output is byte for byte what it was before.
 *   --real-trees     (with --blocks) every tree and datums object is real: input and __spec__
 *                    commits' trees are DB-format hashtrees, output and stats commits' kv-format
 *                    ones (HASHTREES.md §3), packed into the index's blocks, and their files name
 *                    the file data (objects of input commits' blocks, block_refs into output
 *                    commits' blocks), so object pruning (pach-filter) has something to drop;
 *                    SIZE is then the file data, the index's blocks come on top (see RealTrees).
 *                    Clean; the input of bench/filter.sh. Without it nothing changes.
 *
 * How: the history is simulated twice from the same seed: once to count (the
 * object index and the branch list, which come before or after the commits,
 * need the final counts), once to write the commits. Every ID, hash, size and
 * time is a function of (chain, sequence number), so nothing per commit is
 * kept: memory is flat (a few MB of counters and job times), whatever C is.
 * Commits and create_object ops, nearly all the records, are encoded by hand
 * straight into 4 MiB batches (fs.writeSync on fd 1); the first 2000 and every
 * 9973rd are re-encoded with protobufjs (`OpType.encode(OpType.fromObject())`)
 * and must come out byte-identical, or the generator stops. The rare ops
 * (repos, branches, pipelines, jobs, auth) go through protobufjs.
 *
 * Run (after `npx tsc -p .`; bench/run.sh runs it as `generate-history`, since `history` is a bash builtin):
 *   node dist/bench/history.js > history.raw                       # 1000 repos, 1 M commits
 *   node dist/bench/history.js --repos 20 --commits 5000 | node dist/bin/pach-filter.js --verify
 *   node dist/bench/history.js --repos 20 --commits 5000 | node dist/bin/pach-convert.js --to json | jq -c .
 *   node dist/bench/history.js --repos 20 --commits 5000 --blocks 1GiB > objects.raw
 *   node dist/bench/history.js --repos 20 --commits 5000 --blocks 1GiB --real-trees | node dist/bin/pach-filter.js --repo 'a*' > a.native
 * Options: --repos N (1000), --commits N (1000000, at least 2 × repos), --seed N (42),
 * --trees indexed|bare|none, --blocks SIZE (none; 1GiB, 64MiB, bytes), --real-trees. stderr gets one line with the options before, and one
 * with records, bytes, repos, pipelines, commits by kind, jobs, objects and the
 * speed after. A closed stdout ends it quietly with 141.
 *
 * How to read: at the defaults (seed 42) it writes 2,225,269 records, 559 MB:
 * 1,000,000 commits (869,608 input, 131 spec, 110,968 output, 19,293 stats),
 * 1,110,968 create_object, 110,968 jobs, 1,221 branches, 1,001 repos and
 * set_acl, 100 pipelines; in 4-8 s on the 2-core benchmark box under load
 * (70-140 MB/s, 0.3-0.6 M records/s, 90 MB peak RSS), so it is made once per run.
 * The replay benchmark counts every record as an op; bench/replay.ts also
 * times the commit ops alone.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import tty from 'node:tty';
import { parseArgs as parseArgv } from 'node:util';
import { EXIT } from '../lib/cli/exit-codes.js';
import { OpType, kindField, slotByVersion, type OpKind } from '../lib/schema/registry.js';
import { encodeDbTree, type Tree, type TreeNode } from '../lib/ops/hashtree.js';
import { Rng } from './rng.js';
import { EpipeExit, writeStdoutSync } from './stdout.js';
import { parseSize as parseSizeText } from './size.js';

const USAGE = `usage: history [--repos N] [--commits N] [--seed N] [--trees indexed|bare|none] [--blocks SIZE [--real-trees]]
  writes a consistent 1.12 extract (raw framing: 8-byte LE length + admin.Op per record) to stdout;
  defaults: --repos 1000 --commits 1000000 --seed 42 --trees indexed, no block data
  --blocks SIZE (e.g. 1GiB, 64MiB; with --trees indexed): a full extract holding SIZE bytes of block data
  --real-trees (with --blocks): commit trees are real hashtrees naming the file data (SIZE bytes of it)`;

class UsageError extends Error {}

const VERSION = '1.12';
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- options

type Trees = 'indexed' | 'bare' | 'none';

interface Options {
  repos: number;
  commits: number;
  seed: number;
  trees: Trees;
  /** Bytes of block data (--blocks); 0: none, the object index only. */
  blocks: number;
  /** --real-trees: tree and datums objects are real (parseable) and reference the file data. */
  realTrees: boolean;
}

/** A size as bench/generate.ts reads --size (bench/size.ts). */
function parseSize(flag: string, text: string): number {
  const size = parseSizeText(text);
  if (size === undefined) throw new UsageError(`--${flag}: expected a size like 1GiB or 268435456, got ${text}`);
  return size;
}

function parseArgs(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgv({
      args: argv,
      options: {
        repos: { type: 'string' },
        commits: { type: 'string' },
        seed: { type: 'string' },
        trees: { type: 'string' },
        blocks: { type: 'string' },
        'real-trees': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.help) {
    process.stderr.write(USAGE + '\n');
    process.exit(EXIT.OK);
  }
  const whole = (flag: string, v: string | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${flag}: expected a whole number, got ${v}`);
    return Number(v);
  };
  const trees = parsed.trees ?? 'indexed';
  if (trees !== 'indexed' && trees !== 'bare' && trees !== 'none') throw new UsageError(`--trees: expected indexed, bare or none, got ${trees}`);
  const opts: Options = {
    repos: whole('repos', parsed.repos, 1000),
    commits: whole('commits', parsed.commits, 1_000_000),
    seed: whole('seed', parsed.seed, 42) >>> 0,
    trees,
    blocks: parsed.blocks === undefined ? 0 : parseSize('blocks', parsed.blocks),
    realTrees: parsed['real-trees'] ?? false,
  };
  if (opts.realTrees && !opts.blocks) throw new UsageError('--real-trees: needs --blocks SIZE (the trees reference the file data in the blocks)');
  if (opts.blocks && trees !== 'indexed') throw new UsageError(`--blocks: needs --trees indexed (the blocks hold the indexed objects), got --trees ${trees}`);
  if (opts.repos < 1 || opts.repos > 1_000_000) throw new UsageError('--repos: expected 1 … 1000000');
  if (opts.commits < 2 * opts.repos) throw new UsageError(`--commits: expected at least 2 × --repos (${2 * opts.repos})`);
  if (opts.commits > 2 ** 31 - 1) throw new UsageError('--commits: at most 2147483647');
  return opts;
}

// ---------------------------------------------------------------- hashing

/** murmur3's finalizer: a bijection on 32-bit integers. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const HEXC = Buffer.from('0123456789abcdef', 'latin1');

function putHex32(buf: Buffer, pos: number, x: number): void {
  for (let i = 7; i >= 0; i--) {
    buf[pos + i] = HEXC[x & 15]!;
    x >>>= 4;
  }
}

/**
 * Everything about commit `seq` of chain `chain` that is not history: its ID,
 * tree and datums hashes, size, duration, nanoseconds. The ID's first two
 * words are a bijection of (seq, chain), so IDs never repeat.
 */
class Hasher {
  private readonly k: Uint32Array;
  private readonly scratch = Buffer.allocUnsafe(128);

  constructor(seed: number) {
    const rng = new Rng(seed ^ 0x5eed1d5);
    this.k = Uint32Array.from({ length: 8 }, () => rng.u32());
  }

  /** The two words every value of (chain, seq) is made from; kept in fields, not a tuple, so hashing allocates nothing. */
  private a = 0;
  private b = 0;
  private lanes(chain: number, seq: number): void {
    this.a = fmix((seq ^ this.k[0]!) >>> 0);
    this.b = fmix(((chain ^ this.k[1]!) + this.a) >>> 0);
  }

  /** 32 lowercase hex characters at buf[pos]. */
  putId(buf: Buffer, pos: number, chain: number, seq: number): void {
    this.lanes(chain, seq);
    const a = this.a;
    const b = this.b;
    const c = fmix((a ^ b ^ this.k[2]!) >>> 0);
    const d = fmix(((b + c) ^ this.k[3]!) >>> 0);
    // (b, c) alone give back (a, b), so the ID is still unique; every word printed depends on chain and seq.
    putHex32(buf, pos, b);
    putHex32(buf, pos + 8, c);
    putHex32(buf, pos + 16, d);
    putHex32(buf, pos + 24, (a ^ d) >>> 0);
  }

  /** 128 hex characters (a SHA-512-sized object hash) at buf[pos]; `tag` tells tree from datums. */
  putHash(buf: Buffer, pos: number, chain: number, seq: number, tag: number): void {
    this.lanes(chain, seq);
    const b = this.b;
    let x = fmix((this.a ^ Math.imul(tag + 1, 0x9e3779b9) ^ this.k[4]!) >>> 0);
    for (let i = 0; i < 16; i++) {
      x = fmix((x + b + Math.imul(i + 1, 0x632be5ab)) >>> 0);
      putHex32(buf, pos + 8 * i, x);
    }
  }

  /** 32 hex characters naming block `n`. */
  putBlock(buf: Buffer, pos: number, n: number): void {
    let x = fmix((n ^ this.k[5]!) >>> 0);
    for (let i = 0; i < 4; i++) {
      x = fmix((x + Math.imul(i + 1, 0x9e3779b9)) >>> 0);
      putHex32(buf, pos + 8 * i, x);
    }
  }

  id(chain: number, seq: number): string {
    this.putId(this.scratch, 0, chain, seq);
    return this.scratch.toString('latin1', 0, 32);
  }

  hash(chain: number, seq: number, tag: number): string {
    this.putHash(this.scratch, 0, chain, seq, tag);
    return this.scratch.toString('latin1', 0, 128);
  }

  block(n: number): string {
    this.putBlock(this.scratch, 0, n);
    return this.scratch.toString('latin1', 0, 32);
  }

  /** A 32-bit value for (chain, seq, what): sizes, durations, nanoseconds. */
  u32(chain: number, seq: number, what: number): number {
    this.lanes(chain, seq);
    return fmix((this.a ^ fmix((this.b + Math.imul(what + 7, 0x27d4eb2f) + this.k[6]!) >>> 0)) >>> 0);
  }
}

// ---------------------------------------------------------------- protobuf by hand

/** Bytes of an unsigned varint (n < 2^53). */
function vlen(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let len = 4;
  n = Math.floor(n / 0x10000000);
  while (n > 0) {
    len++;
    n = Math.floor(n / 128);
  }
  return len;
}

/** A length-delimited field (number < 16) holding `n` bytes, tag and length included. */
const ld = (n: number): number => 1 + vlen(n) + n;
/** A varint field (number < 16) holding `v`, omitted when 0 (proto3). */
const vf = (v: number): number => (v ? 1 + vlen(v) : 0);
/** Repo{name}. */
const repoLen = (name: number): number => ld(name);
/** Commit{repo, id}; `id` 0 when unset. */
const commitLen = (repo: number, id: number): number => ld(repoLen(repo)) + (id ? ld(id) : 0);
/** Branch{repo, name}. */
const branchLen = (repo: number, name: number): number => ld(repoLen(repo)) + ld(name);
/** Timestamp{seconds, nanos}. */
const tsLen = (s: number, ns: number): number => vf(s) + vf(ns);

const ID_LEN = 32;
const HASH_LEN = 128;
const BLOCK_LEN = 32;
const BATCH = 4 * MiB;
/** Block values from this size on skip the batch (Out.doneWithValue). */
const BY_REFERENCE = 64 * 1024;

/** The output batch. Records are written straight into it; `flush` writes it to fd 1 (bench/stdout.ts). */
class Out {
  readonly buf = Buffer.allocUnsafe(BATCH + MiB);
  pos = 0;
  bytes = 0;
  records = 0;

  /** Makes room for `n` bytes, flushing a full batch first (only here, so a record just written stays readable). */
  room(n: number): void {
    if (this.pos > 0 && this.pos + n > BATCH) this.flush();
    if (this.pos + n > this.buf.length) throw new Error(`history: a record of ${n} bytes exceeds the batch buffer`);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    const buf = this.buf;
    while (n >= 0x80000000) {
      buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    while (n >= 0x80) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  /** Tag of field `f` (< 16), wire type 2, and a length. */
  head(f: number, len: number): void {
    this.buf[this.pos++] = (f << 3) | 2;
    this.varint(len);
  }

  uint(f: number, v: number): void {
    if (!v) return;
    this.buf[this.pos++] = f << 3;
    this.varint(v);
  }

  str(f: number, s: string): void {
    this.head(f, s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  repo(f: number, name: string): void {
    this.head(f, repoLen(name.length));
    this.str(1, name);
  }

  ts(f: number, s: number, ns: number): void {
    this.head(f, tsLen(s, ns));
    this.uint(1, s);
    this.uint(2, ns);
  }

  /**
   * The 8-byte length and the admin.Op envelope of a record whose payload is `payload` bytes; room is made
   * for all of it but `outOfLine` bytes at its end, which `doneWithValue` writes by reference.
   */
  envelope(kindTag: number, payload: number, outOfLine = 0): number {
    const slotLen = 1 + vlen(payload) + payload;
    const opLen = 1 + vlen(slotLen) + slotLen;
    this.room(8 + opLen - outOfLine);
    const start = this.pos;
    this.buf.writeUInt32LE(opLen, this.pos);
    this.buf.writeUInt32LE(0, this.pos + 4);
    this.pos += 8;
    this.byte(SLOT_TAG);
    this.varint(slotLen);
    this.byte(kindTag);
    this.varint(payload);
    return start;
  }

  /** A record protobufjs encoded. */
  record(op: Uint8Array): void {
    this.room(8 + op.length);
    this.buf.writeUInt32LE(op.length, this.pos);
    this.buf.writeUInt32LE(0, this.pos + 4);
    this.buf.set(op, this.pos + 8);
    this.pos += 8 + op.length;
    this.bytes += 8 + op.length;
    this.records++;
  }

  /** Ends a hand-encoded record begun at `start`, checking it is as long as its envelope says. */
  done(start: number): void {
    const len = this.buf.readUInt32LE(start);
    if (this.pos - start !== 8 + len) throw new Error(`history: encoder bug: record of ${this.pos - start - 8} bytes, envelope says ${len}`);
    this.bytes += 8 + len;
    this.records++;
  }

  /**
   * Ends a record begun at `start` whose last bytes are `value`: block data, up to 10 MiB, more than
   * a batch holds. A small value is copied into the batch; a large one goes to fd 1 by reference,
   * after the batch is flushed (envelope's `outOfLine` kept no room for it).
   */
  doneWithValue(start: number, value: Buffer): void {
    const len = this.buf.readUInt32LE(start);
    if (this.pos - start + value.length !== 8 + len) throw new Error(`history: encoder bug: record of ${this.pos - start - 8 + value.length} bytes, envelope says ${len}`);
    if (value.length < BY_REFERENCE) {
      this.pos += value.copy(this.buf, this.pos);
    } else {
      this.flush();
      let off = 0;
      while (off < value.length) off += writeStdoutSync(() => fs.writeSync(1, value, off, value.length - off));
    }
    this.bytes += 8 + len;
    this.records++;
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) {
      off += writeStdoutSync(() => fs.writeSync(1, this.buf, off, this.pos - off));
    }
    this.pos = 0;
  }
}

const SLOT = slotByVersion(VERSION);
const SLOT_TAG = (SLOT.field << 3) | 2;
const kindTag = (kind: OpKind): number => {
  const f = kindField(VERSION, kind);
  if (!f || f.id >= 16) throw new Error(`history: ${kind} has no one-byte tag in ${VERSION}`);
  return (f.id << 3) | 2;
};
const COMMIT_TAG = kindTag('commit');
const CREATE_OBJECT_TAG = kindTag('create_object');
const BLOCK_TAG = kindTag('block');

function encodeOp(kind: OpKind, body: Record<string, unknown>): Uint8Array {
  return OpType.encode(OpType.fromObject({ [SLOT.name]: { [kind]: body } })).finish();
}

// ---------------------------------------------------------------- the cluster

const WORDS = ['images', 'edges', 'sensor', 'events', 'clicks', 'sessions', 'orders', 'logs', 'tiles', 'audio',
  'frames', 'metrics', 'reviews', 'scans', 'trades', 'claims', 'labels', 'genomes', 'weather', 'tickets'];
const STAGES = ['clean', 'features', 'train', 'score', 'dedupe', 'join', 'report', 'embed', 'index', 'thumbs'];
const USERS = ['github:alice', 'github:bob', 'github:carol', 'github:dan', 'robot:etl'];

interface Pipeline {
  k: number;
  name: string;
  /** Its output repo. */
  repo: number;
  /** The repos it reads (input repos, or earlier pipelines' outputs). */
  inputs: number[];
  input: 'pfs' | 'cross' | 'union';
  stats: boolean;
  /** Full provenance of an output commit: chains (repo masters, __spec__ branches), sorted by repo name then branch name. */
  prov: number[];
  /** The same for a stats commit: prov plus the pipeline's own master. */
  statsProv: number[];
  /** Direct provenance of the output branch: __spec__@<name> and the inputs' masters, sorted likewise. */
  branchProv: number[];
  /** Made once this many commits exist. */
  createAt: number;
  glob: string;
}

/**
 * Chains are sequences of commits, each a branch: 0 … R-1 the masters of the
 * repos, R … 2R-1 the stats branches of output repos, 2R + k the __spec__
 * branch of pipeline k. Repo R is __spec__.
 */
class Cluster {
  readonly R: number;
  readonly nIn: number;
  readonly names: string[];
  readonly pipelines: Pipeline[] = [];
  /** Pipeline of an output repo, or undefined for an input repo. */
  readonly pipelineOf: Array<Pipeline | undefined>;
  /** Input repos no pipeline reads: where the last commits go. */
  readonly unread: number[];
  /** Cumulative weights of the input repos. */
  readonly weights: Float64Array;
  /** For every chain, the pipelines downstream of it (ascending: a topological order). */
  readonly downstream: number[][];
  /** Updates: [commits made, pipeline], ascending. */
  readonly updates: Array<[number, number]> = [];

  constructor(opts: Options) {
    const rng = new Rng(opts.seed);
    const R = (this.R = opts.repos);
    const nOut = R >= 10 ? Math.round(R / 10) : R >= 3 ? 1 : 0;
    this.nIn = R - nOut;
    this.names = [];
    for (let i = 0; i < R; i++) {
      const pad = String(i).padStart(4, '0');
      this.names.push(i < this.nIn ? `${WORDS[i % WORDS.length]}-${pad}` : `${STAGES[i % STAGES.length]}-${WORDS[(i * 7) % WORDS.length]}-${pad}`);
    }
    this.names.push('__spec__');
    this.pipelineOf = new Array<Pipeline | undefined>(R);

    this.weights = new Float64Array(this.nIn);
    let sum = 0;
    for (let i = 0; i < this.nIn; i++) this.weights[i] = sum += Math.exp(rng.float() * Math.log(200));

    // Pipelines read repos 0 … readable-1; the last input is never read, so the history can always end on it.
    const readable = Math.max(1, this.nIn - 1);
    const creates = Array.from({ length: nOut }, () => Math.floor(rng.float() * 0.5 * opts.commits)).sort((a, b) => a - b);
    for (let k = 0; k < nOut; k++) {
      const repo = this.nIn + k;
      const x = rng.float();
      const other = (not: number): number => {
        let r = rng.int(readable);
        if (r === not && readable > 1) r = (r + 1) % readable;
        return r;
      };
      let inputs: number[];
      let input: Pipeline['input'] = 'pfs';
      if (k > 0 && x < 0.2) {
        // A later stage: reads an earlier pipeline's output, sometimes crossed with an input repo.
        const up = this.nIn + rng.int(k);
        inputs = rng.float() < 0.5 ? [up] : [up, other(-1)];
      } else if (x < 0.4 && readable > 1) {
        const a = other(-1);
        inputs = [a, other(a)];
      } else {
        inputs = [other(-1)];
      }
      if (inputs.length === 2) input = rng.float() < 0.7 ? 'cross' : 'union';
      const p: Pipeline = {
        k,
        name: this.names[repo]!,
        repo,
        inputs,
        input,
        stats: rng.float() < 0.3,
        prov: [],
        statsProv: [],
        branchProv: [],
        createAt: creates[k]!,
        glob: rng.pick(['/*', '/', '/*/*']),
      };
      const full = new Set<number>([this.specChain(k)]);
      for (const i of inputs) {
        full.add(i);
        const up = this.pipelineOf[i];
        if (up) for (const c of up.prov) full.add(c);
      }
      p.prov = this.sortChains([...full]);
      p.statsProv = this.sortChains([...full, repo]);
      p.branchProv = this.sortChains([this.specChain(k), ...inputs]);
      this.pipelines.push(p);
      this.pipelineOf[repo] = p;
      if (rng.float() < 0.33) this.updates.push([Math.floor(creates[k]! + rng.float() * (0.9 * opts.commits - creates[k]!)), k]);
    }
    this.updates.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const read = new Set(this.pipelines.flatMap((p) => p.inputs));
    this.unread = Array.from({ length: this.nIn }, (_, i) => i).filter((i) => !read.has(i));
    this.downstream = Array.from({ length: this.chains }, () => []);
    for (const p of this.pipelines) for (const c of p.prov) this.downstream[c]!.push(p.k);
  }

  get chains(): number {
    return 2 * this.R + this.pipelines.length;
  }

  specChain(k: number): number {
    return 2 * this.R + k;
  }

  /** The repo a chain's commits live in. */
  repoOf(chain: number): number {
    return chain < this.R ? chain : chain < 2 * this.R ? chain - this.R : this.R;
  }

  repoName(chain: number): string {
    return this.names[this.repoOf(chain)]!;
  }

  branchName(chain: number): string {
    return chain < this.R ? 'master' : chain < 2 * this.R ? 'stats' : this.names[this.nIn + chain - 2 * this.R]!;
  }

  private sortChains(chains: number[]): number[] {
    const key = (c: number): string => `${this.repoName(c)}\u0000${this.branchName(c)}`;
    return chains.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  pickInput(rng: Rng): number {
    const w = this.weights;
    const x = rng.float() * w[w.length - 1]!;
    let lo = 0;
    let hi = w.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (w[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// ---------------------------------------------------------------- the simulation

/** What happens to a commit; the writer turns it into a record, the counting pass ignores it. */
type CommitKind = 'input' | 'spec' | 'output' | 'stats';

interface Sink {
  commit(kind: CommitKind, chain: number, seq: number, started: number, p: Pipeline | undefined): void;
  /** A branch comes into being (its first commit, or its pipeline's creation). */
  branch(chain: number): void;
}

/**
 * Runs the history: user commits on input repos (by weight), pipeline
 * creations and updates at their times, each followed by the output (and
 * stats) commits pachd's propagation makes downstream. Deterministic in the
 * seed, so the counting pass and the writing pass see the same history.
 */
function simulate(cluster: Cluster, opts: Options, counts: Int32Array, sink: Sink): { made: number; created: number } {
  const rng = new Rng(opts.seed ^ 0x4157);
  const C = opts.commits;
  const R = cluster.R;
  counts.fill(0);
  let made = 0;
  let created = 0;
  let upd = 0;
  let clock = 1_500_000_000;

  const commit = (kind: CommitKind, chain: number, p?: Pipeline): void => {
    const seq = counts[chain]!++;
    if (seq === 0 && kind === 'input') sink.branch(chain);
    clock += 1 + (rng.u32() % 97);
    sink.commit(kind, chain, seq, clock, p);
    made++;
  };
  const outputOf = (p: Pipeline): void => {
    commit('output', p.repo, p);
    if (p.stats) commit('stats', R + p.repo, p);
  };
  const cascadeCost = (chain: number): number => {
    let n = 0;
    for (const k of cluster.downstream[chain]!) if (k < created) n += cluster.pipelines[k]!.stats ? 2 : 1;
    return n;
  };
  const cascade = (chain: number): void => {
    for (const k of cluster.downstream[chain]!) if (k < created) outputOf(cluster.pipelines[k]!);
  };
  const input = (r: number): void => {
    commit('input', r);
    cascade(r);
  };

  let fill = false;
  while (made < C) {
    if (!fill && created < cluster.pipelines.length && made >= cluster.pipelines[created]!.createAt) {
      const p = cluster.pipelines[created]!;
      let cost = 1 + (p.stats ? 2 : 1);
      for (const i of p.inputs) if (counts[i] === 0) cost += 1 + cascadeCost(i);
      if (made + cost > C) {
        fill = true;
        continue;
      }
      for (const i of p.inputs) if (counts[i] === 0) input(i);
      created++;
      sink.branch(cluster.specChain(p.k));
      sink.branch(p.repo);
      if (p.stats) sink.branch(R + p.repo);
      commit('spec', cluster.specChain(p.k), p);
      cascade(cluster.specChain(p.k));
      continue;
    }
    if (!fill && upd < cluster.updates.length && made >= cluster.updates[upd]![0]) {
      const k = cluster.updates[upd++]![1];
      if (k >= created) continue;
      const spec = cluster.specChain(k);
      if (made + 1 + cascadeCost(spec) > C) {
        fill = true;
        continue;
      }
      commit('spec', spec, cluster.pipelines[k]);
      cascade(spec);
      continue;
    }
    if (!fill) {
      const r = cluster.pickInput(rng);
      if (made + 1 + cascadeCost(r) <= C) {
        input(r);
        continue;
      }
      fill = true;
    }
    // The last commits: repos nothing reads, so every output stays on its inputs' heads.
    if (!cluster.unread.length) break;
    commit('input', cluster.unread[rng.int(cluster.unread.length)]!);
  }
  return { made, created };
}

// ---------------------------------------------------------------- writing

const ORIGIN_AUTO = 1;

class Writer implements Sink {
  readonly out = new Out();
  readonly kinds: Record<CommitKind, number> = { input: 0, spec: 0, output: 0, stats: 0 };
  /** Start time of every output commit, per pipeline, for its job. */
  readonly jobTimes: Uint32Array[];
  private readonly nameLen: number[];
  private checked = 0;

  constructor(private readonly cluster: Cluster, private readonly h: Hasher, private readonly trees: Trees, private readonly counts: Int32Array, finalCounts: Int32Array) {
    this.nameLen = cluster.names.map((n) => Buffer.byteLength(n, 'latin1'));
    this.jobTimes = cluster.pipelines.map((p) => new Uint32Array(finalCounts[p.repo]!));
  }

  branch(): void {}

  /** Seconds a commit took, and nanoseconds of its start and end. */
  times(chain: number, seq: number, started: number): [number, number, number, number] {
    const h = this.h;
    return [started, h.u32(chain, seq, 1) % 1e9, started + 1 + (h.u32(chain, seq, 2) % 900), h.u32(chain, seq, 3) % 1e9];
  }

  size(chain: number, seq: number): number {
    return Math.round(Math.exp(Math.log(1e3) + (this.h.u32(chain, seq, 4) / 4294967296) * Math.log(1e7)));
  }

  commit(kind: CommitKind, chain: number, seq: number, started: number, p: Pipeline | undefined): void {
    const c = this.cluster;
    const out = this.out;
    const buf = out.buf;
    const h = this.h;
    this.kinds[kind]++;
    const repoLenName = this.nameLen[c.repoOf(chain)]!;
    const repoName = c.names[c.repoOf(chain)]!;
    const prov = kind === 'output' ? p!.prov : kind === 'stats' ? p!.statsProv : undefined;
    const [s0, n0, s1, n1] = this.times(chain, seq, started);
    const size = this.size(chain, seq);
    const auto = kind === 'output' || kind === 'stats';
    const withTree = this.trees !== 'none';
    const oneTree = withTree && !auto;
    const datums = withTree && kind === 'output';
    if (kind === 'output') this.jobTimes[p!.k]![seq] = started;

    // Lengths first (field order: parent 1, tree 3, ID 5, provenance 6, trees 7, datums 8, size 9, started 10, finished 11, origin 12).
    const parentLen = commitLen(repoLenName, seq > 0 ? ID_LEN : 0);
    const objLen = ld(HASH_LEN);
    let provLen = 0;
    if (prov) {
      for (const pc of prov) {
        const n = this.nameLen[c.repoOf(pc)]!;
        provLen += ld(ld(commitLen(n, ID_LEN)) + ld(branchLen(n, Buffer.byteLength(c.branchName(pc), 'latin1'))));
      }
    }
    const payload = ld(parentLen) + (oneTree ? ld(objLen) : 0) + ld(ID_LEN) + provLen + (withTree && auto ? ld(objLen) : 0) +
      (datums ? ld(objLen) : 0) + vf(size) + ld(tsLen(s0, n0)) + ld(tsLen(s1, n1)) + ld(auto ? 2 : 0);

    const start = out.envelope(COMMIT_TAG, payload);
    out.head(1, parentLen);
    out.repo(1, repoName);
    if (seq > 0) {
      out.head(2, ID_LEN);
      h.putId(buf, out.pos, chain, seq - 1);
      out.pos += ID_LEN;
    }
    if (oneTree) this.object(3, chain, seq, 0);
    out.head(5, ID_LEN);
    h.putId(buf, out.pos, chain, seq);
    out.pos += ID_LEN;
    if (prov) {
      for (const pc of prov) {
        const n = this.nameLen[c.repoOf(pc)]!;
        const pName = c.repoName(pc);
        const bName = c.branchName(pc);
        const cl = commitLen(n, ID_LEN);
        const bl = branchLen(n, bName.length);
        out.head(6, ld(cl) + ld(bl));
        out.head(1, cl);
        out.repo(1, pName);
        out.head(2, ID_LEN);
        h.putId(buf, out.pos, pc, this.counts[pc]! - 1);
        out.pos += ID_LEN;
        out.head(2, bl);
        out.repo(1, pName);
        out.str(2, bName);
      }
    }
    if (withTree && auto) this.object(7, chain, seq, 0);
    if (datums) this.object(8, chain, seq, 1);
    out.uint(9, size);
    out.ts(10, s0, n0);
    out.ts(11, s1, n1);
    out.head(12, auto ? 2 : 0);
    if (auto) out.uint(1, ORIGIN_AUTO);
    out.done(start);

    if (this.checked < 2000 || (this.out.records % 9973) === 0) {
      this.checked++;
      const body: Record<string, unknown> = {
        parent: seq > 0 ? { repo: { name: repoName }, id: h.id(chain, seq - 1) } : { repo: { name: repoName } },
        tree: oneTree ? { hash: h.hash(chain, seq, 0) } : undefined,
        ID: h.id(chain, seq),
        provenance: prov?.map((pc) => ({
          commit: { repo: { name: c.repoName(pc) }, id: h.id(pc, this.counts[pc]! - 1) },
          branch: { repo: { name: c.repoName(pc) }, name: c.branchName(pc) },
        })),
        trees: withTree && auto ? [{ hash: h.hash(chain, seq, 0) }] : undefined,
        datums: datums ? { hash: h.hash(chain, seq, 1) } : undefined,
        size_bytes: size,
        started: { seconds: s0, nanos: n0 || undefined },
        finished: { seconds: s1, nanos: n1 || undefined },
        origin: auto ? { kind: 'AUTO' } : {},
      };
      this.check(start, encodeOp('commit', body), `commit ${repoName}@${h.id(chain, seq)}`);
    }
  }

  /** Object{hash} of commit (chain, seq) in field `f`. */
  private object(f: number, chain: number, seq: number, tag: number): void {
    const out = this.out;
    out.head(f, ld(HASH_LEN));
    out.head(1, HASH_LEN);
    this.h.putHash(out.buf, out.pos, chain, seq, tag);
    out.pos += HASH_LEN;
  }

  /** The record just written at `start` must equal protobufjs's encoding. */
  check(start: number, expected: Uint8Array, what: string): void {
    const ours = this.out.buf.subarray(start + 8, this.out.pos);
    if (!Buffer.from(expected).equals(ours)) {
      throw new Error(`history: self-check failed for ${what}: hand encoding ${ours.length} bytes ${ours.subarray(0, 48).toString('hex')}…, protobufjs ${expected.length} bytes ${Buffer.from(expected).subarray(0, 48).toString('hex')}…`);
    }
  }

  private objects = 0;
  private fileObjects = 0;

  get fileObjectCount(): number {
    return this.fileObjects;
  }

  /** Where object `n` of the index (commit (chain, seq), tree or datums) ends in its block: 64 objects to a block, 4 KiB apart. */
  static upper(h: Hasher, n: number, chain: number, seq: number, tag: number): number {
    return (n % 64) * 4096 + 200 + (h.u32(chain, seq, 10 + tag) % 3800);
  }

  /** create_object{object, block_ref{block, range}}: 64 objects to a block. */
  createObject(chain: number, seq: number, tag: number): void {
    const n = this.objects;
    this.createObjectAt(chain, seq, tag, Math.floor(n / 64), (n % 64) * 4096, Writer.upper(this.h, n, chain, seq, tag));
  }

  /** create_object of index object (chain, seq, tag) at [lower, upper) of block `blockNo`. */
  createObjectAt(chain: number, seq: number, tag: number, blockNo: number, lower: number, upper: number): void {
    const n = this.objects++;
    this.indexObject(chain, seq, tag, blockNo, lower, upper);
    if (n < 200 || n % 9973 === 0) {
      const body = { object: { hash: this.h.hash(chain, seq, tag) }, block_ref: { block: { hash: this.h.block(blockNo) }, range: { lower: lower || undefined, upper } } };
      this.check(this.lastStart, encodeOp('create_object', body), `create_object ${n}`);
    }
  }

  /** create_object of piece `p` of file block `i` (--blocks), which is block number `blockNo`; its object hash is hash(i, p, 2). */
  createFileObject(i: number, p: number, blockNo: number, lower: number, upper: number): void {
    const n = this.fileObjects++;
    this.indexObject(i, p, 2, blockNo, lower, upper);
    if (n < 200 || n % 997 === 0) {
      const body = { object: { hash: this.h.hash(i, p, 2) }, block_ref: { block: { hash: this.h.block(blockNo) }, range: { lower: lower || undefined, upper } } };
      this.check(this.lastStart, encodeOp('create_object', body), `create_object of file block ${i}`);
    }
  }

  private lastStart = 0;
  private blocksWritten = 0;

  /**
   * A block (--blocks) as pachd 1.9+ extracts it (SEMANTICS.md §2.4): one op with the block's
   * name and its value, then the empty op that ends it, which names the block again.
   */
  block(blockNo: number, value: Buffer): void {
    const out = this.out;
    const ref = ld(ld(BLOCK_LEN));
    const start = out.envelope(BLOCK_TAG, ref + ld(value.length), value.length >= BY_REFERENCE ? value.length : 0);
    this.blockName(blockNo);
    out.head(2, value.length);
    const check = this.blocksWritten++ < 20 || this.blocksWritten % 97 === 0;
    // The head is checked before doneWithValue, which may flush it away; the value only by its length.
    const head = check ? Buffer.from(out.buf.subarray(start + 8, out.pos)) : undefined;
    out.doneWithValue(start, value);
    if (head) {
      const expected = encodeOp('block', { block: { hash: this.h.block(blockNo) }, value });
      if (!Buffer.concat([head, value]).equals(Buffer.from(expected))) throw new Error(`history: self-check failed for block ${blockNo}: hand encoding ${head.toString('hex')}…, protobufjs ${Buffer.from(expected).subarray(0, head.length).toString('hex')}…`);
    }
    const end = out.envelope(BLOCK_TAG, ref);
    this.blockName(blockNo);
    out.done(end);
    if (check) this.check(end, encodeOp('block', { block: { hash: this.h.block(blockNo) } }), `end of block ${blockNo}`);
  }

  /** Block{hash} of block `blockNo` in field 1. */
  private blockName(blockNo: number): void {
    const out = this.out;
    out.head(1, ld(BLOCK_LEN));
    out.head(1, BLOCK_LEN);
    this.h.putBlock(out.buf, out.pos, blockNo);
    out.pos += BLOCK_LEN;
  }

  /** create_object{object: hash(chain, seq, tag), block_ref{block blockNo, range}}. */
  private indexObject(chain: number, seq: number, tag: number, blockNo: number, lower: number, upper: number): void {
    const out = this.out;
    const rangeLen = vf(lower) + vf(upper);
    const refLen = ld(ld(BLOCK_LEN)) + ld(rangeLen);
    const payload = ld(ld(HASH_LEN)) + ld(refLen);
    const start = out.envelope(CREATE_OBJECT_TAG, payload);
    this.object(1, chain, seq, tag);
    out.head(2, refLen);
    out.head(1, ld(BLOCK_LEN));
    out.head(1, BLOCK_LEN);
    this.h.putBlock(out.buf, out.pos, blockNo);
    out.pos += BLOCK_LEN;
    out.head(2, rangeLen);
    out.uint(1, lower);
    out.uint(2, upper);
    out.done(start);
    this.lastStart = start;
  }

  op(kind: OpKind, body: Record<string, unknown>): void {
    this.out.record(encodeOp(kind, body));
  }
}

// ---------------------------------------------------------------- block data (--blocks)

/** pachd's chunk of block data per op (MaxMsgSize / 2): file blocks are never longer, so each is one op and its end. */
const MAX_BLOCK = 10 * MiB;

/**
 * --blocks SIZE: the block data of a full extract, written before the object index as pachd 1.9+
 * extracts it (SEMANTICS.md §2.3, §2.4). First the blocks the index already points into (64 tree
 * and datums objects to a block, each block as long as its last range reaches: ~256 KiB), then
 * file-data blocks of 1 KiB … 10 MiB (log-uniform, as in bench/generate.ts's objects mix) until the
 * block values come to exactly SIZE bytes. Each file block is cut into 1-4 objects, whose
 * create_object ops follow the index's (the hashtrees that would name them are not modelled).
 * Values are slices of 32 MiB of seeded random bytes (incompressible). A separate PRNG, so the
 * rest of the history is the same with or without --blocks.
 */
class BlockData {
  /** Length of every tree block (the index's), then of every file block. */
  readonly treeSizes: number[] = [];
  readonly fileSizes: number[] = [];
  private readonly rng: Rng;
  private readonly pool: Buffer;

  constructor(seed: number, private readonly total: number) {
    this.rng = new Rng(seed ^ 0xb10c);
    const keyIv = Buffer.allocUnsafe(32);
    for (let i = 0; i < 32; i += 4) keyIv.writeUInt32LE(this.rng.u32(), i);
    const cipher = crypto.createCipheriv('aes-128-ctr', keyIv.subarray(0, 16), keyIv.subarray(16));
    this.pool = cipher.update(Buffer.alloc(32 * MiB));
  }

  /** Object `n` of the index reaches `upper` in block n / 64. */
  treeObject(n: number, upper: number): void {
    const b = Math.floor(n / 64);
    this.treeSizes[b] = Math.max(this.treeSizes[b] ?? 0, upper);
  }

  /** Sizes the file blocks, once the tree blocks are known. */
  plan(): void {
    const tree = this.treeSizes.reduce((a, b) => a + b, 0);
    if (tree > this.total) throw new UsageError(`--blocks: the blocks of the object index alone take ${tree} bytes, more than ${this.total}`);
    let left = this.total - tree;
    while (left > 0) {
      const len = Math.min(left, this.rng.logUniform(1024, MAX_BLOCK));
      this.fileSizes.push(len);
      left -= len;
    }
  }

  get count(): number {
    return this.treeSizes.length + this.fileSizes.length;
  }

  private value(len: number): Buffer {
    const at = this.rng.int(this.pool.length - len + 1);
    return this.pool.subarray(at, at + len);
  }

  /** The block ops: tree blocks are numbered 0 …, file blocks after them. */
  write(w: Writer): void {
    const sizes = [...this.treeSizes, ...this.fileSizes];
    for (let b = 0; b < sizes.length; b++) w.block(b, this.value(sizes[b]!));
  }

  /** --real-trees: only the file blocks, numbered 0 … (the index's blocks hold real trees, written by RealTrees). */
  writeFiles(w: Writer): void {
    for (let i = 0; i < this.fileSizes.length; i++) w.block(i, this.value(this.fileSizes[i]!));
  }

  /** The create_object ops of the file blocks' objects (after the index's). */
  writeIndex(w: Writer): void {
    const first = this.treeSizes.length;
    for (let i = 0; i < this.fileSizes.length; i++) {
      const len = this.fileSizes[i]!;
      const pieces = 1 + Math.max(0, Math.min(this.rng.int(4), Math.floor(len / 1024) - 1));
      let lower = 0;
      for (let p = 0; p < pieces; p++) {
        const upper = p === pieces - 1 ? len : lower + 1 + this.rng.int(Math.floor((len - lower) / 2));
        w.createFileObject(i, p, first + i, lower, upper);
        lower = upper;
      }
    }
  }
}

// ---------------------------------------------------------------- real trees (--real-trees)

/** Files a commit's tree keeps: the blocks its own commit added and those of earlier commits of its chain, up to this many. */
const WINDOW = 8;
/** Index blocks (trees and datums, packed) close at this many objects or before passing this many bytes. */
const INDEX_BLOCK_OBJECTS = 64;
const INDEX_BLOCK_BYTES = 4 * MiB;
/** A DB tree with an empty "changed" bucket is its kv form plus the "fs" header record before and these after: "*", {"changed"}, "*". */
const DB_HEAD = 8 + 4;
const DB_TAIL = Buffer.from('0100000000000000' + '2a' + '0900000000000000' + '0a076368616e676564' + '0100000000000000' + '2a', 'hex');

/**
 * --real-trees: every commit's tree object is a real hashtree (HASHTREES.md §3) that names the file
 * data, so a reader can follow commits to the objects and blocks they keep alive (object pruning in
 * pach-filter). The file blocks (SIZE bytes, sized as without --real-trees) are dealt out to the
 * commits of the data chains (every repo's master, output repos' included, and the stats branches;
 * not __spec__) in chain order, evenly: data commit g of N adds file blocks [⌈gF/N⌉, ⌈(g+1)F/N⌉).
 * A commit's tree holds the files its own commit added and the newest ones earlier commits of its
 * chain added, WINDOW files in all unless its own are more (older files count as overwritten, as
 * in a rolling data set), each file one block under /data (/stats on stats branches): trees stay
 * small, and keeping only a chain's newest commits lets its older blocks go.
 *   input commits     `tree`: DB format; a file's content is the objects its block is cut into
 *                     (1-4 pieces, each with a create_object into the block), as put file stores it
 *   output, stats     `trees`: the merged kv format; a file's content is block_refs, one per piece,
 *                     straight into the block (no create_object), as pipeline workers store it
 *   __spec__ commits  `tree`: DB format, a root and an empty /spec file (no spec object is modelled)
 *   datums objects    pbutil records of 1-4 hex datum hashes
 * Tree and datums objects are packed into the index's blocks in index order (64 to a block, at most
 * 4 MiB) with create_object ranges into them; these blocks come first in the stream, then the file
 * blocks (named as block numbers 0 … F-1, the index's after them, so a tree can name a file block
 * before the index is laid out). The `<block>-index` sidecars pachd writes for kv trees are left out. Hashes stay synthetic (object names are not the SHA-512 of these bytes; node hashes
 * are SHA-256 of the names below them): no reader of a 1.9+ stream checks either. The block values
 * come to SIZE plus the index's blocks. Memory: 12 bytes per index object (its block and range).
 */
class RealTrees {
  /** Data commits on the data chains (0 … 2R-1) before each of them. */
  private readonly prefix: Float64Array;
  private readonly dataCommits: number;
  private readonly files: number;
  /** File block i is block number i; the index's blocks are numbered after them (and written before them). */
  indexBlocks = 0;
  private readonly blockOf: Uint32Array;
  private readonly lowerOf: Uint32Array;
  private readonly sizeOf: Uint32Array;
  /** Bytes of the index's blocks. */
  indexBytes = 0;

  constructor(private readonly cluster: Cluster, private readonly h: Hasher, counts: Int32Array, private readonly blocks: BlockData, indexObjects: number) {
    const R = cluster.R;
    this.prefix = new Float64Array(2 * R + 1);
    for (let c = 0; c < 2 * R; c++) this.prefix[c + 1] = this.prefix[c]! + counts[c]!;
    this.dataCommits = this.prefix[2 * R]!;
    this.files = blocks.fileSizes.length;
    this.blockOf = new Uint32Array(indexObjects);
    this.lowerOf = new Uint32Array(indexObjects);
    this.sizeOf = new Uint32Array(indexObjects);
  }

  /** The first file block data commit `g` adds. */
  private start(g: number): number {
    return Math.ceil((g * this.files) / this.dataCommits);
  }

  /** The data chain whose commit added file block `i`. */
  private ownerChain(i: number): number {
    const g = Math.floor((i * this.dataCommits) / this.files);
    let lo = 0;
    let hi = 2 * this.cluster.R - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.prefix[mid]! <= g) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The objects file block `i` is cut into: [lower, upper) ranges, 1-4 of them, a function of i alone. */
  pieces(i: number): Array<[number, number]> {
    const len = this.blocks.fileSizes[i]!;
    const n = 1 + Math.max(0, Math.min(this.h.u32(i, 0, 50) % 4, Math.floor(len / 1024) - 1));
    const out: Array<[number, number]> = [];
    let lower = 0;
    for (let p = 0; p < n; p++) {
      const upper = p === n - 1 ? len : lower + 1 + (this.h.u32(i, p, 51) % Math.max(1, Math.floor((len - lower) / 2)));
      out.push([lower, upper]);
      lower = upper;
    }
    return out;
  }

  /** The file blocks in the tree of commit (chain, seq) of a data chain: [lo, hi). */
  private window(chain: number, seq: number): [number, number] {
    const g = this.prefix[chain]! + seq;
    const hi = this.start(g + 1);
    return [Math.max(this.start(this.prefix[chain]!), Math.min(this.start(g), hi - WINDOW)), hi];
  }

  /** The bytes of index object (chain, seq, tag): the commit's tree (tag 0) or an output commit's datums (tag 1). */
  bytes(chain: number, seq: number, tag: number): Uint8Array {
    const R = this.cluster.R;
    if (tag === 1) {
      const n = 1 + (this.h.u32(chain, seq, 52) % 4);
      const parts: Buffer[] = [];
      for (let k = 0; k < n; k++) {
        const len = Buffer.alloc(8);
        len.writeUInt32LE(64);
        parts.push(len, Buffer.from(this.h.hash(chain, seq, 3 + k).slice(0, 64), 'latin1'));
      }
      return Buffer.concat(parts);
    }
    // A directory's size is its children's sum, its hash a SHA-256 over their "name:hash:" (HASHTREES.md §4).
    const dirNode = (name: string, children: TreeNode[]): TreeNode => ({
      name,
      hash: sha256(Buffer.from(children.map((n) => `${n.name}:${Buffer.from(n.hash).toString('hex')}:`).join(''))),
      subtreeSize: children.reduce((sum, n) => sum + n.subtreeSize, 0n),
      dir: { children: children.map((n) => n.name) },
    });
    const tree: Tree = new Map();
    if (chain >= 2 * R) {
      const spec: TreeNode = { name: 'spec', hash: sha256(Buffer.from('spec')), subtreeSize: 0n, file: { objects: [], blockRefs: [], hasHeaderFooter: false } };
      tree.set('', dirNode('', [spec]));
      tree.set('/spec', spec);
    } else {
      const [lo, hi] = this.window(chain, seq);
      const input = chain < this.cluster.nIn;
      const dir = chain < R ? 'data' : 'stats';
      const files: TreeNode[] = [];
      for (let i = lo; i < hi; i++) {
        const pieces = this.pieces(i);
        const objects = input ? pieces.map((_, p) => this.h.hash(i, p, 2)) : [];
        const blockRefs = input ? [] : pieces.map(([lower, upper]) => ({ block: this.h.block(i), range: { lower: BigInt(lower), upper: BigInt(upper) } }));
        const hashOf = input ? objects.join('') : blockRefs.map((r) => `${r.block}:${r.range.lower}:${r.range.upper}`).join(',');
        files.push({ name: `f-${String(i).padStart(6, '0')}`, hash: sha256(Buffer.from(hashOf)), subtreeSize: BigInt(this.blocks.fileSizes[i]!), file: { objects, blockRefs, hasHeaderFooter: false } });
      }
      if (files.length) {
        const d = dirNode(dir, files);
        tree.set('', dirNode('', [d]));
        tree.set(`/${dir}`, d);
        for (const f of files) tree.set(`/${dir}/${f.name}`, f);
      } else {
        tree.set('', dirNode('', []));
      }
    }
    const db = encodeDbTree(tree);
    if (tag !== 0 || chain < this.cluster.nIn || chain >= 2 * R) return db;
    // Output and stats commits: the merged kv form, the DB form without its bucket framing.
    if (!Buffer.from(db.subarray(db.length - DB_TAIL.length)).equals(DB_TAIL)) throw new Error('history: encoder bug: a DB tree does not end with an empty "changed" bucket');
    return db.subarray(DB_HEAD, db.length - DB_TAIL.length);
  }

  /**
   * The index's blocks: every index object (chain, seq, tag) in index order, packed (a block closes at
   * 64 objects or before it would pass 4 MiB); each object's block and range are kept for its create_object.
   */
  writeIndexBlocks(w: Writer, index: (visit: (chain: number, seq: number, tag: number) => void) => void): void {
    let n = 0;
    let parts: Uint8Array[] = [];
    let block = 0;
    let lower = 0;
    const flush = (): void => {
      if (parts.length) w.block(this.files + block, Buffer.concat(parts));
      parts = [];
    };
    index((chain, seq, tag) => {
      const bytes = this.bytes(chain, seq, tag);
      if (n > 0 && (n % INDEX_BLOCK_OBJECTS === 0 || (lower > 0 && lower + bytes.length > INDEX_BLOCK_BYTES))) {
        flush();
        block++;
        lower = 0;
      }
      parts.push(bytes);
      this.blockOf[n] = this.files + block;
      this.lowerOf[n] = lower;
      this.sizeOf[n] = bytes.length;
      lower += bytes.length;
      this.indexBytes += bytes.length;
      n++;
    });
    flush();
    this.indexBlocks = n ? block + 1 : 0;
  }

  /** create_object of index object n. */
  createObject(w: Writer, n: number, chain: number, seq: number, tag: number): void {
    w.createObjectAt(chain, seq, tag, this.blockOf[n]!, this.lowerOf[n]!, this.lowerOf[n]! + this.sizeOf[n]!);
  }

  /** create_object of the pieces of the file blocks input commits added (pipeline workers' blocks have none). */
  writeFileIndex(w: Writer): void {
    for (let i = 0; i < this.files; i++) {
      if (this.ownerChain(i) >= this.cluster.nIn) continue;
      for (const [p, [lower, upper]] of this.pieces(i).entries()) w.createFileObject(i, p, i, lower, upper);
    }
  }
}

function sha256(bytes: Uint8Array): Uint8Array {
  return crypto.createHash('sha256').update(bytes).digest();
}

// ---------------------------------------------------------------- main

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  // tty.isatty, not process.stdout.isTTY: touching process.stdout would make a pipe on fd 1 non-blocking.
  if (tty.isatty(1)) throw new UsageError('refusing to write a binary stream to a terminal; redirect or pipe stdout');
  const t0 = process.hrtime.bigint();
  process.stderr.write(`history: seed=${opts.seed} repos=${opts.repos} commits=${opts.commits} trees=${opts.trees}${opts.realTrees ? ' real-trees' : ''} version=${VERSION}\n`);

  const cluster = new Cluster(opts);
  const h = new Hasher(opts.seed);
  const R = cluster.R;

  // Pass 1: count commits per chain and note the branches in creation order.
  const finalCounts = new Int32Array(cluster.chains);
  const branchOrder: number[] = [];
  const first = simulate(cluster, opts, finalCounts, { commit() {}, branch: (c) => branchOrder.push(c) });
  const created = first.created;
  const pipelines = cluster.pipelines.slice(0, created);
  const liveRepo = (r: number): boolean => r < cluster.nIn || cluster.pipelineOf[r]!.k < created;

  const counts = new Int32Array(cluster.chains);
  const w = new Writer(cluster, h, opts.trees, counts, finalCounts);
  const t1 = process.hrtime.bigint();

  // 0. Auth is on: extract begins with check_auth_token.
  w.op('check_auth_token', {});

  // 1. With --blocks, the block data; then the object index: the tree of every commit and the datums
  // of every output commit (and with --blocks, the objects of the file blocks).
  const blocks = opts.blocks ? new BlockData(opts.seed, opts.blocks) : undefined;
  let real: RealTrees | undefined;
  if (opts.trees === 'indexed') {
    const index = (visit: (chain: number, seq: number, tag: number) => void): void => {
      for (let chain = 0; chain < cluster.chains; chain++) {
        const n = finalCounts[chain]!;
        for (let seq = 0; seq < n; seq++) {
          visit(chain, seq, 0);
          if (chain >= cluster.nIn && chain < R) visit(chain, seq, 1);
        }
      }
    };
    if (blocks && opts.realTrees) {
      blocks.plan();
      let objects = 0;
      index(() => objects++);
      real = new RealTrees(cluster, h, finalCounts, blocks, objects);
      const r = real;
      r.writeIndexBlocks(w, index);
      blocks.writeFiles(w);
      let n = 0;
      index((chain, seq, tag) => r.createObject(w, n++, chain, seq, tag));
      r.writeFileIndex(w);
    } else {
      if (blocks) {
        let n = 0;
        index((chain, seq, tag) => blocks.treeObject(n, Writer.upper(h, n++, chain, seq, tag)));
        blocks.plan();
        blocks.write(w);
      }
      index((chain, seq, tag) => w.createObject(chain, seq, tag));
      blocks?.writeIndex(w);
    }
  }

  // 2. Repos: __spec__, then oldest first (inputs existed first; outputs in pipeline order).
  w.op('repo', { repo: { name: '__spec__' } });
  for (let r = 0; r < cluster.nIn; r++) w.op('repo', { repo: { name: cluster.names[r] }, description: `${cluster.names[r]}: raw ${WORDS[r % WORDS.length]} from the ${USERS[r % USERS.length]} uploads` });
  for (const p of pipelines) w.op('repo', { repo: { name: p.name }, description: `Output repo for pipeline ${p.name}.` });

  // 3. Commits, oldest first: pass 2 writes them.
  const second = simulate(cluster, opts, counts, w);
  if (second.made !== first.made || second.created !== created) throw new Error('history: the two passes disagree');

  // 4. Branches, in creation order, then the staging branches (made late, on an older master commit).
  const ref = (chain: number, seq: number): Record<string, unknown> => ({ repo: { name: cluster.repoName(chain) }, id: h.id(chain, seq) });
  const branchOf = (chain: number): Record<string, unknown> => ({ repo: { name: cluster.repoName(chain) }, name: cluster.branchName(chain) });
  let branches = 0;
  for (const chain of branchOrder) {
    const n = counts[chain]!;
    let provenance: number[] = [];
    if (chain >= cluster.nIn && chain < R) provenance = cluster.pipelineOf[chain]!.branchProv;
    else if (chain >= R && chain < 2 * R) provenance = [chain - R];
    w.op('branch', { head: n ? ref(chain, n - 1) : undefined, branch: branchOf(chain), provenance: provenance.map(branchOf) });
    branches++;
  }
  for (let r = 0; r < cluster.nIn; r++) {
    if (counts[r]! < 10 || h.u32(r, 0, 20) % 10 !== 0) continue;
    w.op('branch', { head: ref(r, Math.floor(counts[r]! * 0.9)), branch: { repo: { name: cluster.names[r] }, name: 'staging' } });
    branches++;
  }

  // 5. Pipelines in topological (creation) order, each followed by its jobs, newest first.
  let jobs = 0;
  for (const p of pipelines) {
    const pfs = (r: number): Record<string, unknown> => ({ pfs: { name: cluster.names[r], repo: cluster.names[r], branch: 'master', glob: p.glob } });
    const spec = cluster.specChain(p.k);
    w.op('pipeline', {
      pipeline: { name: p.name },
      transform: {
        image: `registry.example.com/${p.name}:v${1 + (h.u32(spec, 0, 30) % 9)}`,
        cmd: ['python3', `/app/${STAGES[p.repo % STAGES.length]}.py`, '/pfs', '/pfs/out'],
        env: { LOG_LEVEL: 'info' },
      },
      parallelism_spec: { constant: 1 + (h.u32(spec, 0, 31) % 8) },
      output_branch: 'master',
      resource_requests: { cpu: 1, memory: `${1 + (h.u32(spec, 0, 32) % 16)}G` },
      input: p.inputs.length === 1 ? pfs(p.inputs[0]!) : { [p.input]: p.inputs.map(pfs) },
      description: `${p.name}: ${STAGES[p.repo % STAGES.length]} stage`,
      cache_size: '64M',
      enable_stats: p.stats || undefined,
      max_queue_size: 1,
      salt: h.id(spec, 1 << 30),
      datum_tries: 3,
      spec_commit: ref(spec, counts[spec]! - 1),
    });
    const times = w.jobTimes[p.k]!;
    for (let seq = counts[p.repo]! - 1; seq >= 0; seq--) {
      const u = h.u32(p.repo, seq, 40);
      const total = 1 + (u % 5000);
      const failed = u % 37 === 0 ? Math.min(total, 1 + (u % 7)) : 0;
      const skipped = u % 3 ? 0 : Math.min(total - failed, u % 100);
      const [s0, n0, s1, n1] = w.times(p.repo, seq, times[seq]!);
      w.op('job', {
        pipeline: { name: p.name },
        output_commit: ref(p.repo, seq),
        restart: u % 53 === 0 ? 1 : undefined,
        data_processed: total - failed - skipped,
        data_skipped: skipped || undefined,
        data_total: total,
        data_failed: failed || undefined,
        stats: {
          download_time: { seconds: u % 60, nanos: h.u32(p.repo, seq, 41) % 1e9 },
          process_time: { seconds: u % 600, nanos: h.u32(p.repo, seq, 42) % 1e9 },
          upload_time: { seconds: u % 30, nanos: h.u32(p.repo, seq, 43) % 1e9 },
          download_bytes: 1000 + (h.u32(p.repo, seq, 44) % 100_000_000),
          upload_bytes: 1000 + (h.u32(p.repo, seq, 45) % 100_000_000),
        },
        stats_commit: p.stats ? ref(R + p.repo, seq) : undefined,
        state: failed ? 'JOB_FAILURE' : 'JOB_SUCCESS',
        reason: failed ? `datum ${h.id(p.repo, seq).slice(0, 16)} failed: exit code ${1 + (u % 3)}` : undefined,
        started: { seconds: s0, nanos: n0 },
        finished: { seconds: s1, nanos: n1 },
      });
      jobs++;
    }
  }

  // 6. Enterprise and auth (1.11+ extract order), then one ACL per repo, newest first, __spec__ last.
  const token = JSON.stringify({ expiry: '2099-12-31T00:00:00Z', scopes: { basic: true } });
  const signature = Buffer.from(h.hash(0, 0, 99), 'hex').toString('base64');
  w.op('activate_enterprise', { activation_code: Buffer.from(JSON.stringify({ token, signature })).toString('base64') });
  w.op('activate_auth', {});
  for (const [i, subject] of ['robot:etl', 'robot:ci', 'robot:backup'].entries()) {
    w.op('restore_auth_token', { token: { hashed_token: h.hash(1, i, 98).slice(0, 64), token_info: { subject, source: 'GET_TOKEN' } } });
  }
  for (const [principal, roles] of [['robot:backup', ['SUPER']], ['github:alice', ['SUPER']], ['robot:etl', ['FS']]] as const) {
    w.op('set_cluster_role_binding', { principal, roles: { roles } });
  }
  w.op('set_auth_config', { configuration: { id_providers: [{ name: 'GitHub', description: 'oauth-based authentication with github.com', github: {} }] } });
  const readers = new Map<number, string[]>();
  for (const p of pipelines) for (const i of p.inputs) readers.set(i, [...(readers.get(i) ?? []), `pipeline:${p.name}`]);
  for (let r = R - 1; r >= 0; r--) {
    if (!liveRepo(r)) continue;
    const entries: Array<{ username: string; scope: string }> = [{ username: USERS[r % USERS.length]!, scope: 'OWNER' }];
    const p = cluster.pipelineOf[r];
    if (p) entries.push({ username: `pipeline:${p.name}`, scope: 'WRITER' });
    for (const u of readers.get(r) ?? []) entries.push({ username: u, scope: 'READER' });
    if (r % 3 === 0) entries.push({ username: 'robot:etl', scope: 'WRITER' });
    w.op('set_acl', { repo: cluster.names[r], entries });
  }
  w.op('set_acl', { repo: '__spec__', entries: [] });
  w.out.flush();

  const t2 = process.hrtime.bigint();
  const setup = Number(t1 - t0) / 1e9;
  const secs = Number(t2 - t1) / 1e9;
  const k = w.kinds;
  const objects = opts.trees === 'indexed' ? k.input + k.spec + k.output * 2 + k.stats : 0;
  const blockNote = !blocks ? '' : real
    ? `, ${real.indexBlocks + blocks.fileSizes.length} blocks (${real.indexBlocks} of the index: real trees and datums, ${blocks.fileSizes.length} of file data) holding ${opts.blocks + real.indexBytes} bytes (${opts.blocks} of file data), ${w.fileObjectCount} file objects`
    : `, ${blocks.count} blocks (${blocks.treeSizes.length} of the index, ${blocks.fileSizes.length} of file data) holding ${opts.blocks} bytes, ${w.fileObjectCount} file objects`;
  process.stderr.write(`history: ${w.out.records} records, ${w.out.bytes} bytes; ${cluster.nIn + created} repos (${cluster.nIn} input, ${created} pipelines), ` +
    `${second.made} commits (${k.input} input, ${k.spec} spec, ${k.output} output, ${k.stats} stats), ${branches} branches, ${jobs} jobs, ${objects} objects${blockNote}; ` +
    `setup ${setup.toFixed(2)} s, then ${secs.toFixed(2)} s: ${(w.out.bytes / 1e6 / secs).toFixed(0)} MB/s, ${(w.out.records / secs / 1e6).toFixed(2)} M records/s\n`);
}

try {
  main();
} catch (err) {
  if (err instanceof EpipeExit) process.exit(EXIT.EPIPE);
  if (err instanceof UsageError) {
    process.stderr.write(`history: ${err.message}\n${USAGE}\n`);
    process.exit(EXIT.USAGE);
  }
  process.stderr.write(`history: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.FAILURE);
}
