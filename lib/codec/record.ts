/**
 * The unit every stage passes on: one serialized `admin.Op`, byte for byte as
 * pachd (or the previous tool) wrote it, plus where it came from. Stages hand
 * records on in batches (one batch per input chunk) so that per-record cost
 * stays a few nanoseconds of bookkeeping rather than an async hop.
 *
 * `peekOp` reads the envelope without decoding: `admin.Op` holds exactly one
 * length-delimited `op1_x` slot, whose message holds exactly one kind field
 * (`repo`, `commit`, …). That is all pass-through needs for the header's
 * op_version and the trailer's per-kind counts.
 */
import { dataError, type Where } from '../errors.js';
import { OP_KINDS, OP_SLOTS, type OpVersion } from '../schema/registry.js';
import { varintAt, varintEnd, varintSize, writeVarint } from './varint.js';

export interface OpRecord {
  /** The serialized admin.Op. May be a view into a larger input chunk: copy it to keep it long. */
  bytes: Uint8Array;
  /** 0-based position of the record in its stream. */
  index: number;
  /** Byte offset of the record's framing in the (decompressed) input, or -1 if made, not read. */
  offset: number;
  /** The envelope, once some stage has peeked it (see `envelopeOf`). */
  env?: OpEnvelope;
}

/** Records in input order; a stage may yield an empty batch. */
export type RecordBatch = OpRecord[];
export type RecordStream = AsyncIterable<RecordBatch>;

export interface OpEnvelope {
  /** The admin.Op field number of the slot (1 = op1_7 … 7 = op1_13). */
  slotField: number;
  version: OpVersion;
  /** Field name inside Op1_x: `repo`, `block`, `set_acl`, … */
  kind: string;
  /** Where the kind's payload message starts and ends inside the record bytes. */
  payloadStart: number;
  payloadEnd: number;
}

/** The record's envelope, peeked once and remembered on the record. */
export function envelopeOf(rec: OpRecord): OpEnvelope {
  return (rec.env ??= peekOp(rec.bytes, { record: rec.index, offset: rec.offset >= 0 ? rec.offset : undefined }));
}

interface SlotKinds {
  version: OpVersion;
  /** `op1_12`, for messages. */
  name: string;
  kinds: Array<string | undefined>;
}

/** For each slot field number, the kind names by field number that slot can hold. */
const SLOT_KINDS: Array<SlotKinds | undefined> = [];
for (const slot of OP_SLOTS) {
  const kinds: Array<string | undefined> = [];
  for (const f of slot.message.fieldsArray) kinds[f.id] = f.name;
  SLOT_KINDS[slot.field] = { version: slot.version, name: slot.name, kinds };
}

/** Every kind name any slot can hold, in field-number order (for stable count tables). */
export const ALL_KINDS: readonly string[] = (() => {
  const names: string[] = [];
  for (const s of SLOT_KINDS) s?.kinds.forEach((k, i) => { if (k) names[i] = k; });
  return names.filter(Boolean);
})();

function bad(message: string, where: Where): never {
  throw dataError('PACH_BAD_RECORD', message, where);
}

/**
 * Reads the slot and kind of a serialized admin.Op, checking the envelope:
 * exactly one known slot, holding one known kind for that slot, lengths that
 * fit. It does not look inside the payload.
 */
export function peekOp(bytes: Uint8Array, where: Where = {}): OpEnvelope {
  const n = bytes.length;
  if (n === 0) bad('empty record: an admin.Op with no version slot', where);
  const tag = varintAt(bytes, 0, n);
  if (tag < 0) bad('record ends inside its first field tag', where);
  const slotField = Math.floor(tag / 8);
  const slot = SLOT_KINDS[slotField];
  if (tag % 8 !== 2 || !slot) {
    bad(`not an admin.Op: first field is #${slotField} wire type ${tag % 8}, expected a version slot op1_7…op1_13 (#1…#7)`, where);
  }
  const slotName = slot.name;
  const len = varintAt(bytes, varintEnd, n);
  if (len < 0) bad('record ends inside the version slot length', where);
  const start = varintEnd;
  const end = start + len;
  if (end > n) bad(`version slot ${slotName} claims ${len} bytes, record has ${n - start}`, where);
  if (end < n) {
    const more = varintAt(bytes, end, n);
    bad(`more than one field in admin.Op (${slotName} then #${more < 0 ? '?' : Math.floor(more / 8)}): an op fills exactly one version slot`, where);
  }
  if (len === 0) bad(`${slotName} is empty: no op kind set`, where);
  let kind: string | undefined;
  let pos = start;
  let payloadStart = 0;
  let payloadEnd = 0;
  while (pos < end) {
    const ktag = varintAt(bytes, pos, end);
    if (ktag < 0) bad('record ends inside an op kind tag', where);
    const kf = Math.floor(ktag / 8);
    const name = slot.kinds[kf];
    if (ktag % 8 !== 2 || !name) bad(`unknown op kind #${kf} (wire type ${ktag % 8}) in ${slotName}`, where);
    if (kind !== undefined && kind !== name) bad(`two op kinds in one op (${kind} and ${name})`, where);
    kind = name;
    const klen = varintAt(bytes, varintEnd, end);
    if (klen < 0 || varintEnd + klen > end) bad(`op kind ${name} overruns its record`, where);
    payloadStart = varintEnd;
    payloadEnd = pos = varintEnd + klen;
  }
  return { slotField, version: slot.version, kind: kind!, payloadStart, payloadEnd };
}

/** Field number of each kind inside every `Op1_x` (the registry checks it is the same in all slots). */
const KIND_FIELDS = new Map<string, number>(OP_KINDS.map((k) => [k.name, k.field]));

/** The field number of op kind `kind` inside every `Op1_x` (the same in all slots). */
export function kindFieldOf(kind: string): number {
  const f = KIND_FIELDS.get(kind);
  if (f === undefined) throw new RangeError(`no op kind ${kind}`);
  return f;
}

/**
 * A serialized admin.Op holding `payload[start, end)` as op kind `kind` in
 * the slot with field number `slotField`: the envelope `peekOp` reads.
 */
export function wrapPayload(slotField: number, kind: string, payload: Uint8Array, start = 0, end = payload.length, alloc: (n: number) => Uint8Array = (n) => Buffer.allocUnsafe(n)): Uint8Array {
  const kindField = kindFieldOf(kind);
  if (!SLOT_KINDS[slotField]) throw new RangeError(`no admin.Op slot #${slotField}`);
  const len = end - start;
  const kindTag = kindField * 8 + 2;
  const inner = varintSize(kindTag) + varintSize(len) + len;
  const out = alloc(1 + varintSize(inner) + inner);
  let p = writeVarint(out, 0, slotField * 8 + 2);
  p = writeVarint(out, p, inner);
  p = writeVarint(out, p, kindTag);
  p = writeVarint(out, p, len);
  if (payload instanceof Buffer) payload.copy(out, p, start, end);
  else out.set(payload.subarray(start, end), p);
  return out;
}

/**
 * Memory for the records of one batch, reused for the next: a stage's
 * records are valid until its consumer pulls again (docs/ARCHITECTURE.md,
 * chunk lifetimes), so one growing buffer serves every batch instead of an
 * allocation per record.
 */
export class BatchArena {
  private buf: Buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  /** Starts a batch: earlier records' bytes may be overwritten from here on. */
  reset(): void {
    this.used = 0;
  }

  alloc(n: number): Uint8Array {
    if (this.used + n > this.buf.length) {
      // Records already handed out keep the old buffer alive; new ones go to a bigger one.
      this.buf = Buffer.allocUnsafe(Math.max(this.buf.length * 2, n));
      this.used = 0;
    }
    const out = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

/** The envelope of a record `wrapPayload` (or an encoder writing the same layout) made: payload last. */
export function wrappedEnvelope(bytes: Uint8Array, slotField: number, kind: string, payloadLength: number): OpEnvelope {
  return { slotField, version: SLOT_KINDS[slotField]!.version, kind, payloadStart: bytes.length - payloadLength, payloadEnd: bytes.length };
}
