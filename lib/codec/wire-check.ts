/**
 * Walks a serialized message against the schema without building objects:
 * confirms every known field has the wire type its declaration implies and
 * that every length fits, and lists the fields our schema does not know
 * (written by a newer pachd). protobufjs skips such fields on decode and so
 * would drop them on re-encode; this walk is how the suite notices them.
 */
import protobuf from 'protobufjs';
import { readVarint, varintAt, varintEnd } from './varint.js';

export interface UnknownField {
  /** Dotted path of message types and field names down to the containing message. */
  path: string;
  field: number;
  wireType: number;
}

/** Thrown (and turned into a data error by the caller) when the bytes do not parse. */
export class WireError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);

/** The wire type a (resolved) field's values are written with; a repeated scalar may also come packed (WIRE_LEN). */
export function wireTypeOf(f: protobuf.Field): number {
  if (f instanceof protobuf.MapField || f.resolvedType instanceof protobuf.Type) return WIRE_LEN;
  if (f.resolvedType instanceof protobuf.Enum) return WIRE_VARINT;
  if (FIXED64_TYPES.has(f.type)) return WIRE_FIXED64;
  if (FIXED32_TYPES.has(f.type)) return WIRE_FIXED32;
  if (f.type === 'string' || f.type === 'bytes') return WIRE_LEN;
  return WIRE_VARINT;
}

/**
 * Calls `visit(field, wireType, valueStart, valueEnd)` for each top-level
 * field of `buf[start, end)` (for length-delimited fields the value is the
 * bytes inside the length), without decoding anything. Returns false, and
 * stops, when the bytes do not parse or `visit` returns false.
 */
export function walkFields(buf: Uint8Array, start: number, end: number, visit: (field: number, wireType: number, valueStart: number, valueEnd: number) => boolean | void): boolean {
  let pos = start;
  while (pos < end) {
    const tag = varintAt(buf, pos, end);
    if (tag < 0) return false;
    const wt = tag & 7;
    let from = varintEnd;
    let to: number;
    if (wt === WIRE_VARINT) {
      if (varintAt(buf, from, end) < 0) return false;
      to = varintEnd;
    } else if (wt === WIRE_FIXED64) {
      to = from + 8;
    } else if (wt === WIRE_FIXED32) {
      to = from + 4;
    } else if (wt === WIRE_LEN) {
      const len = varintAt(buf, from, end);
      if (len < 0) return false;
      from = varintEnd;
      to = from + len;
    } else {
      return false;
    }
    if (to > end) return false;
    if (visit(Math.floor(tag / 8), wt, from, to) === false) return false;
    pos = to;
  }
  return true;
}

interface FieldPlan {
  name: string;
  wire: number;
  /** A repeated scalar may also arrive packed (wire type 2). */
  packable: boolean;
  message?: protobuf.Type;
  /** For map fields: the value type when it is a message. */
  mapValue?: protobuf.Type;
  isMap: boolean;
}

const plans = new WeakMap<protobuf.Type, Array<FieldPlan | undefined>>();

function planFor(type: protobuf.Type): Array<FieldPlan | undefined> {
  let plan = plans.get(type);
  if (plan) return plan;
  plan = [];
  for (const f of type.fieldsArray) {
    f.resolve();
    const isMap = f instanceof protobuf.MapField;
    const wire = wireTypeOf(f);
    let message: protobuf.Type | undefined;
    let mapValue: protobuf.Type | undefined;
    if (isMap) {
      if (f.resolvedType instanceof protobuf.Type) mapValue = f.resolvedType;
    } else if (f.resolvedType instanceof protobuf.Type) {
      message = f.resolvedType;
    }
    plan[f.id] = { name: f.name, wire, packable: f.repeated && wire !== WIRE_LEN, message, mapValue, isMap };
  }
  plans.set(type, plan);
  return plan;
}

/** Skips one value of wire type `wt` at `pos`; returns the offset after it. */
function skipValue(buf: Uint8Array, pos: number, end: number, wt: number): number {
  switch (wt) {
    case WIRE_VARINT: {
      const v = readVarint(buf, pos, end);
      if (!v) throw new WireError('truncated varint');
      return v.next;
    }
    case WIRE_FIXED64:
      if (pos + 8 > end) throw new WireError('truncated fixed64');
      return pos + 8;
    case WIRE_FIXED32:
      if (pos + 4 > end) throw new WireError('truncated fixed32');
      return pos + 4;
    case WIRE_LEN: {
      const len = readVarint(buf, pos, end);
      if (!len) throw new WireError('truncated length');
      if (len.next + len.value > end) throw new WireError(`length ${len.value} overruns the message`);
      return len.next + len.value;
    }
    default:
      throw new WireError(`invalid wire type ${wt}`);
  }
}

/**
 * Walks `buf[start, end)` as a `type` message. Throws WireError when it does
 * not parse; returns the unknown fields it met (usually none).
 */
export function checkMessage(type: protobuf.Type, buf: Uint8Array, start = 0, end = buf.length, path = type.fullName.slice(1), found: UnknownField[] = []): UnknownField[] {
  const plan = planFor(type);
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    if (!tag) throw new WireError(`${path}: truncated field tag`);
    const id = Math.floor(tag.value / 8);
    const wt = tag.value % 8;
    if (id === 0) throw new WireError(`${path}: field number 0`);
    const f = plan[id];
    const valueAt = tag.next;
    let next: number;
    try {
      next = skipValue(buf, valueAt, end, wt);
    } catch (err) {
      throw new WireError(`${path}.${f ? f.name : '#' + id}: ${(err as Error).message}`);
    }
    if (!f) {
      found.push({ path, field: id, wireType: wt });
    } else if (wt !== f.wire && !(f.packable && wt === WIRE_LEN)) {
      throw new WireError(`${path}.${f.name}: wire type ${wt}, the schema says ${f.wire}`);
    } else if (f.message || f.mapValue) {
      const len = readVarint(buf, valueAt, end)!;
      const inner = len.next;
      if (f.message) {
        checkMessage(f.message, buf, inner, next, `${path}.${f.name}`, found);
      } else {
        checkMapEntry(f.mapValue!, buf, inner, next, `${path}.${f.name}`, found);
      }
    }
    pos = next;
  }
  return found;
}

function checkMapEntry(valueType: protobuf.Type, buf: Uint8Array, start: number, end: number, path: string, found: UnknownField[]): void {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    if (!tag) throw new WireError(`${path}: truncated map entry`);
    const wt = tag.value % 8;
    const next = skipValue(buf, tag.next, end, wt);
    if (tag.value === (2 << 3 | WIRE_LEN)) {
      const len = readVarint(buf, tag.next, end)!;
      checkMessage(valueType, buf, len.next, next, `${path}[]`, found);
    }
    pos = next;
  }
}
