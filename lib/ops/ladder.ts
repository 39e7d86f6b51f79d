/**
 * The ladder: composes hops to move a stream from its op version to any
 * other, 1.7 → 1.8 → … → 1.13 and back down, one hop module at a time.
 *
 * Per record, first at byte level (`spliceFields` of hop-engine.ts, hop by
 * hop): fields every hop carries keep their bytes, dropped ones are cut
 * out, and only the op envelope is rewritten; object and block data are
 * never decoded. When a hop moves or renumbers a field the record holds,
 * or the bytes hold a field the schema does not know, the payload is
 * decoded once in the source version, passed through each hop's converter,
 * and encoded once in the target version. Ops whose kind the target lacks leave the stream. Everything a
 * hop cannot carry, and every field the source schema does not know, goes
 * to the loss ledger; with `strict` the first one is a data error instead.
 */
import { checkMessage, WireError, type UnknownField } from '../codec/wire-check.js';
import protobuf from 'protobufjs';
import { BatchArena, envelopeOf, kindFieldOf, wrapPayload, wrappedEnvelope, type OpEnvelope, type OpRecord, type RecordBatch, type RecordStream } from '../codec/record.js';
import { dataError } from '../errors.js';
import { OP_VERSIONS, payloadType, slotByField, slotByVersion, type OpKind, type OpVersion } from '../schema/registry.js';
import { hop1_7 } from './convert/1_7-to-1_8.js';
import { hop1_8 } from './convert/1_8-to-1_9.js';
import { hop1_9 } from './convert/1_9-to-1_10.js';
import { hop1_10 } from './convert/1_10-to-1_11.js';
import { hop1_11 } from './convert/1_11-to-1_12.js';
import { hop1_12 } from './convert/1_12-to-1_13.js';
import { DirectionEngine, spliceFields, UNCHANGED, type PendingLoss } from './hop-engine.js';
import { LossLedger, loseOrThrow, type LossPolicy } from './loss.js';
import type { Hop, Msg } from './mapping.js';
import { treesDown, treesUp } from './trees.js';

/** The hops in version order: HOPS[i] joins OP_VERSIONS[i] and OP_VERSIONS[i + 1]. */
export const HOPS: readonly Hop[] = [hop1_7, hop1_8, hop1_9, hop1_10, hop1_11, hop1_12];

for (const [i, hop] of HOPS.entries()) {
  const [a, b] = [OP_VERSIONS[i], OP_VERSIONS[i + 1]];
  if (hop.up.from !== a || hop.up.to !== b || hop.down.from !== b || hop.down.to !== a) {
    throw new Error(`lib/ops: hop ${i} is ${hop.up.from}→${hop.up.to} / ${hop.down.from}→${hop.down.to}, expected ${a}↔${b}`);
  }
}

const ENGINES = new Map<string, DirectionEngine>();

function engine(hop: Hop, dir: 'up' | 'down'): DirectionEngine {
  const key = `${hop.up.from}${dir}`;
  let e = ENGINES.get(key);
  if (!e) ENGINES.set(key, (e = new DirectionEngine(hop[dir])));
  return e;
}

/** The hop directions from one version to another, in the order they apply (empty when equal). */
export function ladder(from: OpVersion, to: OpVersion): DirectionEngine[] {
  const i = OP_VERSIONS.indexOf(from);
  const j = OP_VERSIONS.indexOf(to);
  const steps: DirectionEngine[] = [];
  if (i < j) for (let k = i; k < j; k++) steps.push(engine(HOPS[k]!, 'up'));
  else for (let k = i - 1; k >= j; k--) steps.push(engine(HOPS[k]!, 'down'));
  return steps;
}

/** Fields a pachd 1.6 dump carries in its `Op1_7` ops that 1.7 dropped from the schema. */
function unknownReason(version: OpVersion, u: UnknownField): string {
  if (version === '1.7' && u.path === 'repo' && u.field === 2) {
    return 'pachd 1.6 repo provenance (CreateRepoRequest #2): 1.7 and later derive provenance from branches';
  }
  if (version === '1.7' && u.path.endsWith('.atom') && u.field === 7) {
    return 'pachd 1.6 atom input from_commit (AtomInput #7): not in 1.7 and later';
  }
  return `unknown field #${u.field} (wire type ${u.wireType}): not in the ${version} schema, so it cannot be decoded or carried`;
}

/** Counts of how records went, for `-v` and benchmarks. */
export interface LadderStats {
  /** Records whose payload bytes were carried over unchanged. */
  carried: number;
  /** Records rewritten at byte level: dropped fields cut out, wrap moves applied, the rest carried as it was. */
  spliced: number;
  /** Records decoded and re-encoded. */
  reencoded: number;
  /** Records that left the stream (their kind does not exist in the target). */
  dropped: number;
}

/**
 * Moves every record of `records` to op version `opts.to`. The stream must
 * hold one op version (the reader enforces it). Tree objects and commits are
 * rewritten between the 1.7 and 1.8 tree formats when the ladder crosses
 * that hop (trees.ts).
 */
export function convertOpVersion(records: RecordStream, opts: LossPolicy, stats?: LadderStats, tuning: LadderTuning = {}): RecordStream {
  const s = stats ?? { carried: 0, spliced: 0, reencoded: 0, dropped: 0 };
  return withTrees(records, opts, (input) => ladderStage(input, opts, s, tuning));
}

/**
 * A stream of op version `from` as a pachd reading `to` takes it: unchanged when the versions
 * are equal, converted up when `from` is older (pachd converts older ops), and undefined when
 * `from` is newer (pachd refuses it; the caller says so in its own words).
 */
export function convertUpTo(records: RecordStream, from: OpVersion, to: OpVersion, ledger: LossLedger = new LossLedger()): RecordStream | undefined {
  if (OP_VERSIONS.indexOf(from) > OP_VERSIONS.indexOf(to)) return undefined;
  return from === to ? records : convertOpVersion(records, { to, ledger });
}

/** For tests: `decodeAll` sends every record through decode and re-encode (no byte-level paths). */
export interface LadderTuning {
  decodeAll?: boolean;
}

/** Runs the 1.7 tree rewrite before an upward crossing of 1.7→1.8, or after a downward one. */
function withTrees(records: RecordStream, opts: LossPolicy, stage: (r: RecordStream) => RecordStream): RecordStream {
  return (async function* () {
    const it = records[Symbol.asyncIterator]();
    // The first non-empty batch tells the stream's version, and so the direction.
    const held: RecordBatch[] = [];
    let from: OpVersion | undefined;
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      held.push(r.value);
      if (r.value.length) {
        from = envelopeOf(r.value[0]!).version;
        break;
      }
    }
    const rest: RecordStream = {
      async *[Symbol.asyncIterator]() {
        yield* held;
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          yield r.value;
        }
      },
    };
    if (from === undefined || from === opts.to) {
      yield* rest;
    } else if (from === '1.7') {
      yield* stage(treesUp(rest, opts));
    } else if (opts.to === '1.7') {
      yield* treesDown(stage(rest), opts);
    } else {
      yield* stage(rest);
    }
  })();
}

/** The loss context handed to converters: one per stage, pointed at the record and hop at hand. */
class LossContext {
  hop = '';
  rec: OpRecord | undefined;
  /** The byte-level path's losses of the record at hand, reused from record to record. */
  readonly pending: PendingLoss[] = [];
  constructor(private readonly policy: LossPolicy) {}
  lose(path: string, reason: string): void {
    loseOrThrow(this.policy, this.hop, path, reason, this.rec!);
  }
}

async function* ladderStage(records: RecordStream, opts: LossPolicy, stats: LadderStats, tuning: LadderTuning): RecordStream {
  const target = slotByVersion(opts.to);
  const cx = new LossContext(opts);
  const arena = new BatchArena();
  const alloc = (n: number): Uint8Array => arena.alloc(n);
  let from: OpVersion | undefined;
  let steps: DirectionEngine[] = [];
  for await (const batch of records) {
    arena.reset(); // the consumer has pulled again: the last batch's records are done with
    const out: RecordBatch = [];
    for (const rec of batch) {
      const env = envelopeOf(rec);
      if (env.version === opts.to) {
        out.push(rec);
        continue;
      }
      if (env.version !== from) {
        from = env.version;
        steps = ladder(from, opts.to);
      }
      const converted = convertRecord(rec, env, steps, target.field, cx, stats, tuning.decodeAll === true, alloc);
      if (converted) out.push(converted);
    }
    yield out;
  }
}

function convertRecord(rec: OpRecord, env: OpEnvelope, steps: DirectionEngine[], slotField: number, cx: LossContext, stats: LadderStats, decodeAll: boolean, alloc: (n: number) => Uint8Array): OpRecord | undefined {
  const kind = env.kind as OpKind;
  cx.rec = rec;
  for (const e of steps) {
    const plan = e.kindPlan(kind)!;
    if (!plan.target) {
      cx.hop = e.label;
      cx.lose(kind, plan.dropReason!);
      stats.dropped++;
      return undefined;
    }
  }
  // At byte level, hop by hop: fields every hop keeps are carried as bytes, dropped ones cut
  // out; the losses are reported once the whole record is known to go this way.
  const lost = cx.pending;
  lost.length = 0;
  let bytes = rec.bytes;
  let start = env.payloadStart;
  let end = env.payloadEnd;
  let byteLevel = !decodeAll;
  let changed = false;
  for (const e of decodeAll ? [] : steps) {
    const before = lost.length;
    const r = spliceFields(e.kindPlan(kind)!.scan!, bytes, start, end, kind, lost);
    if (r === undefined) {
      byteLevel = false;
      break;
    }
    for (let i = before; i < lost.length; i++) lost[i]!.hop = e.label;
    if (r !== UNCHANGED) {
      changed = true;
      bytes = r;
      start = 0;
      end = r.length;
    }
  }
  if (byteLevel) {
    if (changed || lost.length) stats.spliced++;
    else stats.carried++;
    for (const l of lost) {
      cx.hop = l.hop!;
      cx.lose(l.path, l.reason);
    }
    const out = wrapPayload(slotField, kind, bytes, start, end, alloc);
    return { bytes: out, index: rec.index, offset: rec.offset, env: wrappedEnvelope(out, slotField, kind, end - start) };
  }
  stats.reencoded++;
  const source = payloadType(env.version, kind)!;
  let msg: Msg;
  let unknown: UnknownField[];
  try {
    unknown = checkMessage(source, rec.bytes, env.payloadStart, env.payloadEnd, kind);
    const view = Buffer.from(rec.bytes.buffer, rec.bytes.byteOffset + env.payloadStart, env.payloadEnd - env.payloadStart);
    msg = source.decode(view) as unknown as Msg;
  } catch (err) {
    const why = err instanceof WireError ? err.message : (err as Error).message;
    throw dataError('PACH_BAD_RECORD', `${kind} op does not parse as ${source.fullName.slice(1)}: ${why}`, { record: rec.index, offset: rec.offset >= 0 ? rec.offset : undefined }, err);
  }
  cx.hop = steps[0]!.label;
  for (const u of unknown) cx.lose(`${u.path}.#${u.field}`, unknownReason(env.version, u));
  for (const e of steps) {
    cx.hop = e.label;
    msg = e.kindPlan(kind)!.convert(msg, kind, cx);
  }
  // Encoded straight inside its envelope: admin.Op{slot{kind{payload}}}.
  const w = protobuf.Writer.create();
  w.uint32(slotField * 8 + 2).fork().uint32(kindFieldOf(kind) * 8 + 2).fork();
  const payloadAt = w.len;
  payloadType(slotByField(slotField)!.version, kind)!.encode(msg, w);
  const length = w.len - payloadAt;
  w.ldelim().ldelim();
  const encoded = w.finish();
  return { bytes: encoded, index: rec.index, offset: rec.offset, env: wrappedEnvelope(encoded, slotField, kind, length) };
}
