/**
 * Walks a serialized message against the schema without building objects:
 * confirms every known field has the wire type its declaration implies and
 * that every length fits, and lists the fields our schema does not know
 * (written by a newer pachd). protobufjs skips such fields on decode and so
 * would drop them on re-encode; this walk is how the suite notices them.
 */
import protobuf from 'protobufjs';
import { readVarint } from './varint.js';

export interface UnknownField {
  /** Dotted path of message types and field names down to the containing message. */
  path: string;
  field: number;
  wireType: number;
}

/** Thrown (and turned into a data error by the caller) when the bytes do not parse. */
export class WireError extends Error {}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);

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
    let wire = WIRE_LEN;
    let message: protobuf.Type | undefined;
    let mapValue: protobuf.Type | undefined;
    if (isMap) {
      if (f.resolvedType instanceof protobuf.Type) mapValue = f.resolvedType;
    } else if (f.resolvedType instanceof protobuf.Type) {
      message = f.resolvedType;
    } else if (f.resolvedType instanceof protobuf.Enum || VARINT_TYPES.has(f.type)) {
      wire = WIRE_VARINT;
    } else if (FIXED64_TYPES.has(f.type)) {
      wire = WIRE_FIXED64;
    } else if (FIXED32_TYPES.has(f.type)) {
      wire = WIRE_FIXED32;
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
