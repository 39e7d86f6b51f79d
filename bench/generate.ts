/**
 * bench/generate.ts: the seeded generator of synthetic Pachyderm backup streams
 * that every benchmark in bench/ reads.
 *
 * What it makes: a `raw` stream (DESIGN.md §2: per record an 8-byte
 * little-endian length, then one serialized `admin.Op`) of a chosen size or
 * record count, in one `Op1_x` slot (op1_12 by default), written to stdout.
 * Convert it to the other framings with pach-convert.
 *
 *   --mix objects   what a full `pachctl extract` is mostly made of: `block`
 *                   ops whose values are 1 KiB … 10 MiB (log-uniform; 25 %
 *                   random bytes, 75 % CSV / NDJSON / log text with hex hashes,
 *                   so compressors see realistic ratios), each followed by the
 *                   `create_object` and `tag` ops of the objects cut from that
 *                   block; interleaved with repos, commits (parent chains,
 *                   provenance, trees, started/finished), branches, pipelines
 *                   and jobs. 1.7 and 1.8 have no blocks: there each object is a
 *                   PutObjectRequest with its value, then the empty one that
 *                   ends it, then its tag (the V,E pattern of the real dumps).
 *   --mix metadata  no file data: records of 50-480 bytes (~240 on average),
 *                   the shape of an extract taken with --no-objects plus the
 *                   object index: commits, create_object, tag, jobs, branches,
 *                   set_acl, a few repos and pipelines.
 *
 * How: a pool of a few thousand distinct records is built once with protobufjs
 * (`OpType.encode(OpType.fromObject(...))`, so every record is a valid
 * encoding), plus 32 MiB of random bytes and 32 MiB of text that block values
 * are sliced from. Streaming then only picks pool records with the seeded
 * PRNG, overwrites their hex hashes with fresh hex (so records with hashes
 * never repeat byte for byte and zstd cannot just match whole records), and writes
 * 4 MiB batches with fs.writevSync on fd 1; big values go out by reference,
 * never copied. A block record is encoded as prefix + value + suffix (the value
 * is its last field), and the startup self-check compares that against
 * protobufjs encoding the whole message. Records are valid protobuf, but the
 * stream is not a consistent history: a pool commit can be emitted many times,
 * and hashes do not match between ops. That is enough for the codec, which
 * never looks at semantics; do not feed it to pach-restore against a real pachd.
 *
 * Run (after `npx tsc -p .`):
 *   node dist/bench/generate.js --size 1GiB --seed 42 --mix objects > objects.raw
 *   node dist/bench/generate.js --count 1000000 --mix metadata --version 1.7 | pach-convert --to json | jq ...
 * stderr gets one line with the seed before, and one with records, bytes,
 * seconds, MB/s and records/s after. Output stops at the first record that
 * reaches --size (so the file is at most one record longer) or after --count
 * records. A closed stdout (`| head -c 100`) ends it quietly with 141.
 *
 * How to read: this is the supply side of the benchmarks, and it must not be
 * their bottleneck. The stderr summary times setup (the pool, 32 MiB of hex and,
 * for objects, 64 MiB of values: about 1 s for metadata, 2-3 s for objects)
 * apart from streaming. Into
 * `cat > /dev/null` on the 2-core AMD EPYC benchmark box (Node 20, shared, load
 * average ~5) streaming ran at 1.3-1.8 GB/s for objects and 1.5-1.9 M
 * records/s (~450 MB/s) for metadata; into a file, the page cache sets the pace.
 * BENCHMARKS.md carries the figures of the last run (gen/, stream/generate-cat).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import tty from 'node:tty';
import protobuf from 'protobufjs';
import { EXIT } from '../lib/cli/exit-codes.js';
import { Rng } from './rng.js';
import { EpipeExit, writeStdoutSync } from './stdout.js';
import { OP_VERSIONS, OpType, kindField, payloadType, slotByVersion, type OpKind, type OpVersion } from '../lib/schema/registry.js';
import { parseSize as parseSizeText } from './size.js';

const USAGE = `usage: generate (--size SIZE | --count N) [--mix objects|metadata] [--seed N] [--version 1.7..1.13]
  SIZE: bytes, or with a unit: 512MiB, 1GiB, 8GiB, 100MB, 2G (binary units for K/M/G without B)
  writes a raw stream (8-byte LE length + admin.Op per record) to stdout`;

class UsageError extends Error {}

const KiB = 1024;
const MiB = 1024 * KiB;

// ---------------------------------------------------------------- options

interface Options {
  size: number | undefined;
  count: number | undefined;
  seed: number;
  mix: 'objects' | 'metadata';
  version: OpVersion;
}

function parseSize(text: string): number {
  const size = parseSizeText(text);
  if (size === undefined) throw new UsageError(`--size: expected a size like 1GiB or 268435456, got ${text}`);
  return size;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { size: undefined, count: undefined, seed: 42, mix: 'objects', version: '1.12' };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg}: missing value`);
      return v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        process.stderr.write(USAGE + '\n');
        process.exit(EXIT.OK);
      case '--size':
        opts.size = parseSize(next());
        break;
      case '--count': {
        const v = next();
        if (!/^\d+$/.test(v)) throw new UsageError(`--count: expected a whole number, got ${v}`);
        opts.count = Number(v);
        break;
      }
      case '--seed': {
        const v = next();
        if (!/^\d+$/.test(v)) throw new UsageError(`--seed: expected a whole number, got ${v}`);
        opts.seed = Number(v) >>> 0;
        break;
      }
      case '--mix': {
        const v = next();
        if (v !== 'objects' && v !== 'metadata') throw new UsageError(`--mix: expected objects or metadata, got ${v}`);
        opts.mix = v;
        break;
      }
      case '--version': {
        const v = next();
        if (!(OP_VERSIONS as readonly string[]).includes(v)) throw new UsageError(`--version: expected one of ${OP_VERSIONS.join(', ')}, got ${v}`);
        opts.version = v as OpVersion;
        break;
      }
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  if (opts.size === undefined && opts.count === undefined) throw new UsageError('give --size or --count');
  return opts;
}

// ---------------------------------------------------------------- hex

const HEX_DIGITS = '0123456789abcdef';
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => HEX_DIGITS[i >> 4]! + HEX_DIGITS[i & 15]!);

function hex(rng: Rng, chars: number): string {
  let s = '';
  while (s.length < chars) {
    const x = rng.u32();
    s += BYTE_HEX[x & 255]! + BYTE_HEX[(x >>> 8) & 255]! + BYTE_HEX[(x >>> 16) & 255]! + BYTE_HEX[x >>> 24]!;
  }
  return s.slice(0, chars);
}

// ---------------------------------------------------------------- byte sources

/**
 * `n` bytes of a seeded keystream (AES-128-CTR, key and IV drawn from the
 * PRNG): random bytes at native speed, still reproducible from --seed.
 */
function keystream(rng: Rng, n: number): Buffer {
  const keyIv = Buffer.allocUnsafe(32);
  for (let i = 0; i < 32; i += 4) keyIv.writeUInt32LE(rng.u32(), i);
  const cipher = crypto.createCipheriv('aes-128-ctr', keyIv.subarray(0, 16), keyIv.subarray(16));
  return cipher.update(Buffer.alloc(n));
}

/** `n` bytes of random ASCII hex: the source of the fresh hashes patched into every emitted record. */
function hexSource(rng: Rng, n: number): Buffer {
  return Buffer.from(keystream(rng, Math.ceil(n / 2)).toString('hex').slice(0, n), 'latin1');
}

/** `n` random bytes: incompressible block values (images, archives, already-compressed data). */
function randomSource(rng: Rng, n: number): Buffer {
  return keystream(rng, n);
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'sensor', 'edge', 'cloud', 'batch', 'train', 'infer', 'ok', 'retry',
  'warn', 'user', 'order', 'click', 'view', 'cart', 'paid', 'shipped', 'north', 'south', 'east', 'west', 'model', 'epoch'];

/**
 * `n` bytes of text the way Pachyderm repos hold it: runs of CSV rows, NDJSON
 * events and log lines, each with ids, numbers, timestamps and hex hashes.
 * zstd -3 compresses it to roughly a third.
 */
function textSource(rng: Rng, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  const hexes = keystream(rng, 4 * MiB).toString('hex');
  const h = (chars: number): string => {
    const at = rng.int(hexes.length - chars);
    return hexes.slice(at, at + chars);
  };
  let pos = 0;
  let t = 1_600_000_000;
  let iso = '';
  while (pos < n) {
    const style = rng.int(3);
    const lines = 20 + rng.int(200);
    let s = style === 0 ? 'ts,device,region,reading,status,checksum\n' : '';
    for (let i = 0; i < lines; i++) {
      const dt = rng.int(5);
      if (dt || !iso) iso = new Date((t += dt) * 1000).toISOString();
      if (style === 0) {
        s += `${iso},dev-${rng.int(5000)},${rng.pick(WORDS)},${(rng.float() * 1000).toFixed(3)},${rng.pick(WORDS)},${h(40)}\n`;
      } else if (style === 1) {
        s += `{"id":"${h(32)}","ts":${t},"user":"${rng.pick(WORDS)}${rng.int(10000)}","event":"${rng.pick(WORDS)}",` +
          `"amount":${(rng.float() * 500).toFixed(2)},"tags":["${rng.pick(WORDS)}","${rng.pick(WORDS)}"],"sha256":"${h(64)}"}\n`;
      } else {
        s += `${iso} ${rng.pick(['INFO', 'INFO', 'INFO', 'WARN', 'DEBUG'])} worker-${rng.int(64)} ` +
          `${rng.pick(WORDS)} ${rng.pick(WORDS)} datum=${h(16)} took=${rng.int(3000)}ms\n`;
      }
    }
    pos += buf.write(s, pos, 'latin1');
  }
  return buf;
}

// ---------------------------------------------------------------- pool records

/**
 * One record of the pool: its framed bytes (8-byte length + Op) and the hex
 * runs inside them to refresh on every emission. `slot` names which fresh hash
 * a run gets, so a block hash stays the same in the block op and in the
 * create_object ops that point into it.
 */
interface Patch {
  readonly off: number;
  readonly len: number;
  readonly slot: number;
}

interface PoolRecord {
  /** 8-byte LE length, then the Op; for a value record only the part before the value. */
  readonly head: Buffer;
  /** Where `head` sits in the arena, set once the arena is laid out. */
  headOff: number;
  /** The patches, flat: offset, length, slot, offset, length, slot, … */
  readonly patches: Int32Array;
  /** Value records: how many value bytes follow `head`, and the (usually empty) Op bytes after them. */
  readonly valueLen: number;
  readonly random: boolean;
  readonly tail: Buffer | undefined;
}

/** Records emitted together, in order; the hash slots are shared within one group. */
interface Group {
  readonly records: readonly PoolRecord[];
  readonly slotLens: readonly number[];
}

type Obj = Record<string, unknown>;

/**
 * Drops what `type` does not have, recursively, so one 1.12-shaped object
 * serves every generation: 1.7/1.8 commits take their provenance as plain
 * Commits, 1.7/1.8 pipeline inputs say `atom` where later ones say `pfs`, and
 * enum values a generation lacks are left out.
 */
function fit(type: protobuf.Type, obj: Obj): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(obj)) {
    let name = key;
    if (!type.fields[name] && name === 'pfs' && type.fields['atom']) name = 'atom';
    const field = type.fields[name];
    if (!field || value === undefined) continue;
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type && !field.map) {
      const one = (v: unknown): Obj => {
        let o = v as Obj;
        if (rt.name === 'Commit' && o['commit'] !== undefined) o = o['commit'] as Obj;
        return fit(rt, o);
      };
      out[name] = field.repeated ? (value as unknown[]).map(one) : one(value);
    } else if (rt instanceof protobuf.Enum) {
      if (typeof value === 'string' && !(value in rt.values)) continue;
      out[name] = value;
    } else {
      out[name] = value;
    }
  }
  return out;
}

function frame(op: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8 + op.length);
  out.writeUInt32LE(op.length, 0);
  out.writeUInt32LE(0, 4);
  out.set(op, 8);
  return out;
}

/** Builds pool records for one generation, finding each hash's offset in the encoded bytes. */
class Encoder {
  readonly slotName: string;
  private readonly slotField: number;

  constructor(readonly version: OpVersion) {
    const slot = slotByVersion(version);
    this.slotName = slot.name;
    this.slotField = slot.field;
  }

  has(kind: OpKind): boolean {
    return kindField(this.version, kind) !== undefined;
  }

  private payload(kind: OpKind): protobuf.Type {
    const t = payloadType(this.version, kind);
    if (!t) throw new Error(`generate: ${this.version} has no ${kind}`);
    return t;
  }

  /** Encodes one op; `hashes` are the strings in it to refresh later, with their slot numbers. */
  record(kind: OpKind, body: Obj, hashes: ReadonlyArray<[string, number]>): PoolRecord {
    const fitted = fit(this.payload(kind), body);
    const op = OpType.encode(OpType.fromObject({ [this.slotName]: { [kind]: fitted } })).finish();
    const head = frame(op);
    return { head, patches: findPatches(head, hashes), valueLen: 0, random: false, tail: undefined, headOff: -1 };
  }

  /**
   * A record whose `value` bytes are chosen at emission time: the Op is split
   * into the bytes before the value (its fields with lower numbers, then the
   * value's tag and length) and after it (higher-numbered fields).
   */
  valueRecord(kind: OpKind, body: Obj, valueLen: number, random: boolean, hashes: ReadonlyArray<[string, number]>): PoolRecord {
    const { head, tail } = this.splitAroundValue(kind, body, valueLen);
    const framed = Buffer.allocUnsafe(8 + head.length);
    const total = head.length + valueLen + tail.length;
    framed.writeUInt32LE(total % 2 ** 32, 0);
    framed.writeUInt32LE(Math.floor(total / 2 ** 32), 4);
    framed.set(head, 8);
    return { head: framed, patches: findPatches(framed, hashes), valueLen, random, tail: tail.length ? tail : undefined, headOff: -1 };
  }

  splitAroundValue(kind: OpKind, body: Obj, valueLen: number): { head: Buffer; tail: Buffer } {
    const type = this.payload(kind);
    const valueField = type.fields['value'];
    if (!valueField) throw new Error(`generate: ${type.fullName} has no value field`);
    const fitted = fit(type, body);
    const below: Obj = {};
    const above: Obj = {};
    for (const [k, v] of Object.entries(fitted)) (type.fields[k]!.id < valueField.id ? below : above)[k] = v;
    const lo = type.encode(type.fromObject(below)).finish();
    const hi = type.encode(type.fromObject(above)).finish();
    const kindId = kindField(this.version, kind)!.id;
    const valueHead = protobuf.Writer.create().uint32((valueField.id << 3) | 2).uint32(valueLen).finish();
    const payloadLen = lo.length + valueHead.length + valueLen + hi.length;
    const kindHead = protobuf.Writer.create().uint32((kindId << 3) | 2).uint32(payloadLen).finish();
    const slotHead = protobuf.Writer.create().uint32((this.slotField << 3) | 2).uint32(kindHead.length + payloadLen).finish();
    return { head: Buffer.concat([slotHead, kindHead, lo, valueHead]), tail: Buffer.from(hi) };
  }

  /** Proves the prefix + value + suffix shortcut equals protobufjs encoding the whole message. */
  selfCheck(kind: OpKind, body: Obj, value: Buffer): void {
    const { head, tail } = this.splitAroundValue(kind, body, value.length);
    const ours = Buffer.concat([head, value, tail]);
    const full = OpType.encode(OpType.fromObject({ [this.slotName]: { [kind]: fit(this.payload(kind), { ...body, value }) } })).finish();
    if (!ours.equals(full)) throw new Error(`generate: self-check failed for a ${value.length}-byte ${kind} value`);
  }
}

function findPatches(buf: Buffer, hashes: ReadonlyArray<[string, number]>): Int32Array {
  const patches: Patch[] = [];
  for (const [h, slot] of hashes) {
    let from = 0;
    for (;;) {
      const off = buf.indexOf(h, from, 'latin1');
      if (off < 0) break;
      patches.push({ off, len: h.length, slot });
      from = off + h.length;
    }
  }
  return Int32Array.from(patches.flatMap((p) => [p.off, p.len, p.slot]));
}

// ---------------------------------------------------------------- the synthetic cluster

interface Cluster {
  /** Emitted once, first: repos, pipelines, ACLs. */
  readonly preamble: Group[];
  /** Metadata groups (one record each) with their kind, for weighted picking. */
  readonly meta: Map<OpKind, Group[]>;
  /** Object groups: a block and the create_object/tag ops cut from it (1.7/1.8: object V, E, tag). */
  readonly objects: Group[];
}

const REPO_NAMES = ['images', 'edges', 'montage', 'raw-events', 'sessions', 'features', 'training-data', 'model',
  'predictions', 'logs', 'clicks-2021', 'inventory', 'geo-tiles', 'reports'];
const USERS = ['github:alice', 'github:bob', 'robot:ci', 'github:carol', 'pach:root', 'github:dan'];

function seconds(t: number): Obj {
  return { seconds: t, nanos: (t * 7919) % 1_000_000_000 };
}

/** Builds the pool: a plausible cluster whose records cover every kind the generation has. */
function buildCluster(rng: Rng, enc: Encoder, mix: Options['mix']): Cluster {
  const meta = new Map<OpKind, Group[]>();
  const preamble: Group[] = [];
  const objects: Group[] = [];
  const single = (rec: PoolRecord, slotLens: number[]): Group => ({ records: [rec], slotLens });
  const addMeta = (kind: OpKind, g: Group): void => {
    if (!meta.has(kind)) meta.set(kind, []);
    meta.get(kind)!.push(g);
  };
  let clock = 1_600_000_000;

  // Repos: the inputs first, then one output repo per pipeline.
  const inputs = REPO_NAMES.slice(0, 6);
  const outputs = REPO_NAMES.slice(6);
  for (const name of REPO_NAMES) {
    const g = single(enc.record('repo', { repo: { name }, description: `${name} ${rng.pick(WORDS)} data, owned by ${rng.pick(USERS)}` }, []), []);
    preamble.push(g);
    addMeta('repo', g);
  }

  // Pipelines: each output repo is fed by one or two input repos.
  for (const [i, name] of outputs.entries()) {
    const repo = inputs[i % inputs.length]!;
    const other = inputs[(i + 3) % inputs.length]!;
    const pfs = (r: string): Obj => ({ pfs: { name: r, repo: r, branch: 'master', glob: rng.pick(['/*', '/', '/*/*']), lazy: rng.float() < 0.3 } });
    const body: Obj = {
      pipeline: { name },
      transform: {
        image: `registry.example.com/${name}:v${1 + rng.int(9)}.${rng.int(20)}`,
        cmd: ['python3', `/app/${name}.py`, '--input', '/pfs', '--output', '/pfs/out'],
        env: { LOG_LEVEL: 'info', BATCH: String(16 << rng.int(4)), MODEL: hex(rng, 12) },
        stdin: [`echo ${hex(rng, 8)}`],
      },
      parallelism_spec: { constant: 1 + rng.int(8) },
      resource_requests: { cpu: 0.5 + rng.int(4), memory: `${1 + rng.int(16)}G` },
      input: i % 2 ? { cross: [pfs(repo), pfs(other)] } : pfs(repo),
      output_branch: 'master',
      description: `${name}: ${rng.pick(WORDS)} ${rng.pick(WORDS)} stage`,
      enable_stats: rng.float() < 0.5,
      salt: hex(rng, 32),
      datum_tries: 3,
      spec_commit: { repo: { name: '__spec__' }, id: hex(rng, 32) },
      metadata: { labels: { team: rng.pick(WORDS) } },
    };
    const g = single(enc.record('pipeline', body, []), []);
    preamble.push(g);
    addMeta('pipeline', g);
  }

  // ACLs (1.11 on).
  if (enc.has('set_acl')) {
    for (const name of REPO_NAMES) {
      const entries = [{ username: rng.pick(USERS), scope: 'OWNER' }, { username: rng.pick(USERS), scope: 'WRITER' }, { username: 'robot:ci', scope: 'READER' }];
      const g = single(enc.record('set_acl', { repo: name, entries }, []), []);
      preamble.push(g);
      addMeta('set_acl', g);
    }
  }

  // Commits with parent chains; output commits have provenance on an input commit.
  const commitsPerRepo = mix === 'metadata' ? 200 : 60;
  const heads = new Map<string, string>();
  const allCommits: Array<{ repo: string; id: string }> = [];
  for (let n = 0; n < commitsPerRepo; n++) {
    for (const [ri, repo] of REPO_NAMES.entries()) {
      const id = hex(rng, 32);
      const parent = heads.get(repo);
      const started = (clock += 1 + rng.int(60));
      const treeHash = hex(rng, 128);
      const datums = hex(rng, 128);
      const body: Obj = {
        parent: parent ? { repo: { name: repo }, id: parent } : undefined,
        branch: 'master',
        ID: id,
        tree: enc.has('block') ? undefined : { hash: treeHash },
        trees: [{ hash: treeHash }],
        datums: ri >= inputs.length && rng.float() < 0.5 ? { hash: datums } : undefined,
        size_bytes: rng.logUniform(1000, 5e10),
        started: seconds(started),
        finished: seconds(started + 1 + rng.int(600)),
        origin: { kind: ri >= inputs.length ? 'AUTO' : 'USER' },
      };
      const hashes: Array<[string, number]> = [[treeHash, 0], [datums, 1]];
      if (ri >= inputs.length) {
        const src = inputs[(ri - inputs.length) % inputs.length]!;
        const srcHead = heads.get(src);
        if (srcHead) body['provenance'] = [{ commit: { repo: { name: src }, id: srcHead }, branch: { repo: { name: src }, name: 'master' } }];
      }
      heads.set(repo, id);
      allCommits.push({ repo, id });
      addMeta('commit', single(enc.record('commit', body, hashes), [128, 128]));
    }
  }

  // Branches: master plus a few feature/staging branches pointing at pool commits.
  for (let n = 0; n < 80; n++) {
    const c = rng.pick(allCommits);
    const name = n < REPO_NAMES.length ? 'master' : rng.pick(['staging', 'dev', `feature-${hex(rng, 6)}`, 'v1', 'v2']);
    const ri = REPO_NAMES.indexOf(c.repo);
    const body: Obj = {
      head: { repo: { name: c.repo }, id: c.id },
      branch: { repo: { name: c.repo }, name },
      provenance: ri >= inputs.length ? [{ repo: { name: inputs[(ri - inputs.length) % inputs.length]! }, name: 'master' }] : [],
    };
    addMeta('branch', single(enc.record('branch', body, []), []));
  }

  // Jobs (1.9 on).
  if (enc.has('job')) {
    for (let n = 0; n < 600; n++) {
      const pipeline = rng.pick(outputs);
      const c = rng.pick(allCommits);
      const started = 1_600_000_000 + rng.int(10_000_000);
      const total = rng.logUniform(1, 200_000);
      const failed = rng.float() < 0.1 ? rng.int(Math.max(1, total >> 4)) : 0;
      const state = failed ? 'JOB_FAILURE' : rng.pick(['JOB_SUCCESS', 'JOB_SUCCESS', 'JOB_SUCCESS', 'JOB_KILLED', 'JOB_RUNNING']);
      const body: Obj = {
        pipeline: { name: pipeline },
        output_commit: { repo: { name: pipeline }, id: c.id },
        restart: rng.int(3),
        data_processed: total - failed,
        data_skipped: rng.int(total + 1),
        data_total: total,
        data_failed: failed,
        stats: {
          download_time: { seconds: rng.int(600), nanos: rng.int(1e9) },
          process_time: { seconds: rng.int(6000), nanos: rng.int(1e9) },
          upload_time: { seconds: rng.int(600), nanos: rng.int(1e9) },
          download_bytes: rng.logUniform(1000, 1e11),
          upload_bytes: rng.logUniform(1000, 1e11),
        },
        state,
        reason: failed ? `datum ${hex(rng, 16)} failed: exit code ${1 + rng.int(3)}` : undefined,
        started: seconds(started),
        finished: seconds(started + rng.int(7200)),
      };
      addMeta('job', single(enc.record('job', body, []), []));
    }
  }

  // The object index: create_object + tag in metadata streams (1.9 on); tags alone before that.
  const indexEntries = mix === 'metadata' ? 1500 : 0;
  for (let n = 0; n < indexEntries; n++) {
    const objHash = hex(rng, 128);
    const block = hex(rng, 32);
    const lower = rng.int(8 * MiB);
    if (enc.has('create_object')) {
      const body = { object: { hash: objHash }, block_ref: { block: { hash: block }, range: { lower, upper: lower + rng.logUniform(10, 4 * MiB) } } };
      addMeta('create_object', single(enc.record('create_object', body, [[objHash, 0], [block, 1]]), [128, 32]));
    }
    const tag = hex(rng, 64);
    addMeta('tag', single(enc.record('tag', { object: { hash: objHash }, tags: [{ name: tag }] }, [[objHash, 0], [tag, 1]]), [128, 64]));
  }

  // Object data: 1.9 on, a block and the objects cut from it; before, one object per value.
  if (mix === 'objects') {
    for (let n = 0; n < 1500; n++) {
      const len = rng.logUniform(KiB, 10 * MiB);
      const random = rng.float() < 0.25;
      const records: PoolRecord[] = [];
      if (enc.has('block')) {
        const block = hex(rng, 32);
        records.push(enc.valueRecord('block', { block: { hash: block } }, len, random, [[block, 0]]));
        const pieces = 1 + Math.min(rng.int(4), Math.floor(len / KiB) - 1);
        let lower = 0;
        for (let p = 0; p < pieces; p++) {
          const upper = p === pieces - 1 ? len : lower + 1 + rng.int(Math.floor((len - lower) / 2));
          const obj = hex(rng, 128);
          const tag = hex(rng, 64);
          records.push(enc.record('create_object', { object: { hash: obj }, block_ref: { block: { hash: block }, range: { lower, upper } } }, [[obj, 1 + 2 * p], [block, 0]]));
          records.push(enc.record('tag', { object: { hash: obj }, tags: [{ name: tag }] }, [[obj, 1 + 2 * p], [tag, 2 + 2 * p]]));
          lower = upper;
        }
        objects.push({ records, slotLens: [32, ...Array.from({ length: pieces }, () => [128, 64]).flat()] });
      } else {
        const obj = hex(rng, 128);
        const tag = hex(rng, 64);
        records.push(enc.valueRecord('object', {}, len, random, []));
        records.push(enc.record('object', {}, []));
        records.push(enc.record('tag', { object: { hash: obj }, tags: [{ name: tag }] }, [[obj, 0], [tag, 1]]));
        objects.push({ records, slotLens: [128, 64] });
      }
    }
  }
  return { preamble, meta, objects };
}

// ---------------------------------------------------------------- output

const BATCH = 4 * MiB;
/** Values at least this long are written by reference instead of copied into the batch. */
const BY_REFERENCE = 64 * KiB;

/**
 * One buffer holding the fresh-hex source, the bytes of every pool record and
 * the output batch, so that each copy while streaming is one `copyWithin` (a
 * memmove). Buffer#copy between two buffers costs about three times as much per
 * small record here, which is what kept the metadata mix under 1 M records/s.
 */
interface Arena {
  readonly buf: Buffer;
  readonly hexBase: number;
  readonly hexEnd: number;
  readonly outBase: number;
}

/** Lays out the arena and sets every pool record's `headOff`. */
function buildArena(cluster: Cluster, hexSrc: Buffer): Arena {
  const all: PoolRecord[] = [];
  for (const g of [...cluster.preamble, ...[...cluster.meta.values()].flat(), ...cluster.objects]) all.push(...g.records);
  const unique = [...new Set(all)];
  let heads = 0;
  for (const r of unique) heads += r.head.length;
  const hexBase = 0;
  const poolBase = hexSrc.length;
  const outBase = poolBase + heads;
  const buf = Buffer.allocUnsafeSlow(outBase + BATCH + 64 * KiB);
  hexSrc.copy(buf, hexBase);
  let at = poolBase;
  for (const r of unique) {
    r.head.copy(buf, at);
    r.headOff = at;
    at += r.head.length;
  }
  return { buf, hexBase, hexEnd: hexBase + hexSrc.length, outBase };
}

/**
 * Batches records into ~4 MiB writevs on fd 1, synchronously (bench/stdout.ts:
 * backpressure without buffering). Positions handed out are arena offsets.
 */
class Out {
  private readonly end: number;
  private pos: number;
  private segStart: number;
  private iov: Buffer[] = [];
  private pending = 0;
  bytes = 0;

  constructor(private readonly arena: Arena) {
    this.pos = this.segStart = arena.outBase;
    this.end = arena.buf.length;
  }

  /** Room for `n` more bytes in the batch, flushing first if needed; returns where, as an arena offset. */
  reserve(n: number): number {
    if (this.pos + n > this.end) {
      this.flush();
      if (this.pos + n > this.end) throw new Error(`generate: record part of ${n} bytes exceeds the batch buffer`);
    }
    const at = this.pos;
    this.pos += n;
    this.pending += n;
    this.bytes += n;
    return at;
  }

  copy(src: Buffer): void {
    src.copy(this.arena.buf, this.reserve(src.length));
  }

  /** Appends `data` by reference; it must stay unchanged until the next flush. */
  ref(data: Buffer): void {
    if (this.pos > this.segStart) this.iov.push(this.arena.buf.subarray(this.segStart, this.pos));
    this.segStart = this.pos;
    this.iov.push(data);
    this.pending += data.length;
    this.bytes += data.length;
    if (this.pending >= BATCH) this.flush();
  }

  maybeFlush(): void {
    if (this.pending >= BATCH) this.flush();
  }

  flush(): void {
    if (this.pos > this.segStart) this.iov.push(this.arena.buf.subarray(this.segStart, this.pos));
    let iov = this.iov;
    while (iov.length) {
      const batch = iov;
      let n = writeStdoutSync(() => (batch.length === 1 ? fs.writeSync(1, batch[0]!) : fs.writevSync(1, batch)));
      let i = 0;
      while (i < iov.length && n >= iov[i]!.length) n -= iov[i++]!.length;
      iov = iov.slice(i);
      if (n > 0) iov[0] = iov[0]!.subarray(n);
    }
    this.iov = [];
    this.pos = this.segStart = this.arena.outBase;
    this.pending = 0;
  }
}

// ---------------------------------------------------------------- streaming

/** Weights per kind of a metadata record: roughly the proportions of a real 1.11/1.12 extract's index. */
const META_WEIGHTS: ReadonlyArray<[OpKind, number]> = [
  ['commit', 30], ['create_object', 22], ['tag', 22], ['job', 12], ['branch', 8], ['set_acl', 2], ['repo', 2], ['pipeline', 2],
];

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  // tty.isatty, not process.stdout.isTTY: touching process.stdout would make a pipe on fd 1 non-blocking.
  if (tty.isatty(1)) throw new UsageError('refusing to write a binary stream to a terminal; redirect or pipe stdout');
  const t0 = process.hrtime.bigint();
  process.stderr.write(`generate: seed=${opts.seed} mix=${opts.mix} version=${opts.version}` +
    `${opts.size !== undefined ? ` size=${opts.size}` : ''}${opts.count !== undefined ? ` count=${opts.count}` : ''}\n`);

  const rng = new Rng(opts.seed);
  const enc = new Encoder(opts.version);
  const cluster = buildCluster(rng, enc, opts.mix);
  const randomSrc = opts.mix === 'objects' ? randomSource(rng, 32 * MiB) : Buffer.alloc(0);
  const textSrc = opts.mix === 'objects' ? textSource(rng, 32 * MiB) : Buffer.alloc(0);
  if (opts.mix === 'objects') {
    const [kind, body] = enc.has('block') ? (['block', { block: { hash: hex(rng, 32) } }] as const) : (['object', {}] as const);
    for (const n of [KiB, 200 * KiB, 3 * MiB]) enc.selfCheck(kind, body, textSrc.subarray(0, n));
  }
  const arena = buildArena(cluster, hexSource(rng, 32 * MiB));
  const ab = arena.buf;

  const metaKinds: OpKind[] = [];
  const metaCum: number[] = [];
  let weightSum = 0;
  for (const [kind, w] of META_WEIGHTS) {
    if (!cluster.meta.has(kind)) continue;
    weightSum += w;
    metaKinds.push(kind);
    metaCum.push(weightSum);
  }
  const metaGroups = metaKinds.map((k) => cluster.meta.get(k)!);

  const out = new Out(arena);
  const maxBytes = opts.size ?? Infinity;
  const maxRecords = opts.count ?? Infinity;
  let records = 0;
  const srcOff = new Int32Array(64);
  let hexAt = arena.hexBase;

  const emit = (g: Group): boolean => {
    // Fresh hex is read sequentially: random offsets into 32 MiB would cost a cache miss per hash.
    const lens = g.slotLens;
    for (let s = 0; s < lens.length; s++) {
      if (hexAt + lens[s]! > arena.hexEnd) hexAt = arena.hexBase;
      srcOff[s] = hexAt;
      hexAt += lens[s]!;
    }
    const recs = g.records;
    for (let i = 0; i < recs.length; i++) {
      if (out.bytes >= maxBytes || records >= maxRecords) return false;
      const r = recs[i]!;
      const at = out.reserve(r.head.length);
      ab.copyWithin(at, r.headOff, r.headOff + r.head.length);
      const p = r.patches;
      for (let j = 0; j < p.length; j += 3) {
        const from = srcOff[p[j + 2]!]!;
        ab.copyWithin(at + p[j]!, from, from + p[j + 1]!);
      }
      if (r.valueLen) {
        const src = r.random ? randomSrc : textSrc;
        const from = rng.int(src.length - r.valueLen);
        const value = src.subarray(from, from + r.valueLen);
        if (r.valueLen >= BY_REFERENCE) out.ref(value);
        else out.copy(value);
        if (r.tail) out.copy(r.tail);
      }
      records++;
    }
    out.maybeFlush();
    return true;
  };

  const pickMeta = (): Group => {
    const x = rng.float() * weightSum;
    let i = 0;
    while (metaCum[i]! <= x) i++;
    return rng.pick(metaGroups[i]!);
  };

  const t1 = process.hrtime.bigint();
  try {
    let going = true;
    for (const g of cluster.preamble) if (going) going = emit(g);
    // Objects: about 2 metadata records per block group, so blocks and their index dominate the op counts as in real dumps.
    if (opts.mix === 'objects') while (going) going = rng.float() < 0.3 ? emit(rng.pick(cluster.objects)) : emit(pickMeta());
    else while (going) going = emit(pickMeta());
    out.flush();
  } catch (err) {
    if (err instanceof EpipeExit) process.exit(EXIT.EPIPE);
    throw err;
  }

  const t2 = process.hrtime.bigint();
  const setup = Number(t1 - t0) / 1e9;
  const secs = Number(t2 - t1) / 1e9;
  process.stderr.write(`generate: ${records} records, ${out.bytes} bytes; setup ${setup.toFixed(2)} s, then ${secs.toFixed(2)} s: ` +
    `${(out.bytes / 1e6 / secs).toFixed(0)} MB/s, ${(records / secs / 1e6).toFixed(2)} M records/s\n`);
}

try {
  main();
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`generate: ${err.message}\n${USAGE}\n`);
    process.exit(EXIT.USAGE);
  }
  process.stderr.write(`generate: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.FAILURE);
}
