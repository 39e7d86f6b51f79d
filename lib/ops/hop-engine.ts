/**
 * Runs one direction of one hop. From the hop's table it compiles, per op
 * kind, two things:
 *
 * - a converter: decoded source message → plain object for the target type,
 *   field by field as the table says (kept and renamed fields copied, sub-
 *   messages converted, dropped fields counted as loss, moves delegated to
 *   the table's function). Messages that are the same in both versions are
 *   passed through as they are.
 * - a scan plan, for `spliceFields`: field number → carry, recurse, check
 *   enum values, cut (dropped) or rewrap. A record whose fields every hop
 *   carries keeps its payload bytes and only the op envelope is rewritten
 *   (object and block data are never decoded); one with dropped fields has
 *   them cut out of its bytes.
 *
 * A table that leaves a field of a reachable message without a rule, or
 * calls a field kept when the target's field differs, makes compilation
 * throw: the engine never drops a field it was not told about.
 */
import protobuf from 'protobufjs';
import { payloadType, type OpKind } from '../schema/registry.js';
import { varintAt, varintEnd, varintSize, writeVarint } from '../codec/varint.js';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, wireTypeOf } from '../codec/wire-check.js';
import { baseName, hopLabel, type DirectionRules, type FieldRule, type MessageRules, type MoveContext, type Msg } from './mapping.js';

/** Converts one decoded message; `path` names it in loss reports. */
export type Converter = (v: Msg, path: string, cx: MoveContext) => Msg;

const IDENTITY: Converter = (v) => v;

const COPY = 0;
const MESSAGE = 1;
const ENUM = 2;
const DROP = 3;
const MOVE = 4;

interface Step {
  name: string;
  to: string;
  op: number;
  repeated: boolean;
  map: boolean;
  sub?: Converter;
  /** For ENUM: the values the target's enum has, and its name. */
  allowed?: ReadonlySet<number>;
  enumName?: string;
  reason?: string;
}


/** What the byte-level path does with one field number. */
interface ScanAction {
  /** The source field's name, for loss paths. */
  name: string;
  wire: number;
  packable: boolean;
  /** A dropped field: why. The splice leaves it out and reports it. */
  drop?: string;
  /** For an enum with values the target lacks: how to name the target enum in a report. */
  enumName?: string;
  /** A moved field the splice can rewrite: cut here, each element wrapped and appended (see FieldRule `wrap`). */
  wrap?: { tag: Uint8Array; innerTag: Uint8Array };
  /** Recurse into the sub-message with this plan. */
  plan?: ScanPlan;
  /** An enum whose target lacks some source values: only these values pass. */
  allowed?: ReadonlySet<number>;
}

/** Field number → action; a missing number (unknown, moved, renumbered) sends the record to the decoding path. */
export type ScanPlan = Array<ScanAction | undefined>;

/** Per op kind: the target payload type (undefined: the target has no such kind), converter and scan plan. */
export interface KindPlan {
  kind: OpKind;
  source: protobuf.Type;
  target: protobuf.Type | undefined;
  /** Why the op leaves the stream, when `target` is undefined. */
  dropReason?: string;
  convert: Converter;
  scan: ScanPlan | undefined;
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** True when a decoded field value is set in the proto3 sense protobufjs encodes. */
function isSet(v: unknown, step: Step): boolean {
  if (v === null || v === undefined) return false;
  if (step.repeated) return (v as unknown[]).length > 0;
  if (step.map) {
    for (const _ in v as object) return true;
    return false;
  }
  return true;
}

export class DirectionEngine {
  readonly rules: DirectionRules;
  readonly label: string;
  private readonly converters = new Map<protobuf.Type, { fn: Converter }>();
  private readonly identities = new Map<protobuf.Type, boolean>();
  private readonly scans = new Map<protobuf.Type, ScanPlan>();
  private readonly kinds = new Map<string, KindPlan | undefined>();

  constructor(rules: DirectionRules) {
    this.rules = rules;
    this.label = hopLabel(rules);
  }

  /** The rule for `field` of source message `type` (throws when the table has none). */
  ruleFor(type: protobuf.Type, field: protobuf.Field): FieldRule {
    const name = baseName(type);
    if (this.rules.same.includes(name)) return 'kept';
    const rule = this.messageRules(type).fields[field.name];
    if (!rule) throw new Error(`lib/ops ${this.label}: no rule for ${name}.${field.name}`);
    return rule;
  }

  private messageRules(type: protobuf.Type): MessageRules {
    const name = baseName(type);
    const m = this.rules.messages[name];
    if (!m) throw new Error(`lib/ops ${this.label}: ${name} is neither listed as same nor given rules`);
    return m;
  }

  /** The target field a kept or renamed source field lands in, checked for compatibility. */
  targetField(src: protobuf.Type, dst: protobuf.Type, field: protobuf.Field, rule: FieldRule): protobuf.Field {
    const toName = rule === 'kept' ? field.name : (rule as { renamed: string }).renamed;
    const g = dst.fields[toName];
    const where = `${this.label}: ${baseName(src)}.${field.name}`;
    if (!g) throw new Error(`lib/ops ${where} is ${rule === 'kept' ? 'kept' : `renamed to ${toName}`} but ${baseName(dst)} has no field ${toName}`);
    field.resolve();
    g.resolve();
    if (rule === 'kept' && g.id !== field.id) throw new Error(`lib/ops ${where} is kept but its number changes (${field.id} → ${g.id})`);
    if (field.repeated !== g.repeated || (field instanceof protobuf.MapField) !== (g instanceof protobuf.MapField)) {
      throw new Error(`lib/ops ${where}: label differs in ${baseName(dst)}.${toName}`);
    }
    const a = field.resolvedType;
    const b = g.resolvedType;
    if (a instanceof protobuf.Type) {
      const expect = this.rules.messages[baseName(a)]?.to ?? baseName(a);
      if (!(b instanceof protobuf.Type) || baseName(b) !== expect) throw new Error(`lib/ops ${where}: ${baseName(a)} lands in ${b ? baseName(b) : g.type}, expected ${expect}`);
    } else if (a instanceof protobuf.Enum) {
      if (!(b instanceof protobuf.Enum) || baseName(b) !== baseName(a)) throw new Error(`lib/ops ${where}: enum ${baseName(a)} lands in ${g.type}`);
    } else if (field.type !== g.type) {
      throw new Error(`lib/ops ${where}: ${field.type} lands in ${g.type}`);
    }
    return g;
  }

  /** The values the target enum has, when it lacks some of the source enum's; undefined when it has them all. */
  private missingEnumValues(a: protobuf.Enum, b: protobuf.Enum): ReadonlySet<number> | undefined {
    const have = new Set(Object.values(b.values));
    return Object.values(a.values).some((v) => !have.has(v)) ? have : undefined;
  }

  /** Whether `src` → `dst` changes nothing at all (so decoded objects pass as they are). */
  isIdentity(src: protobuf.Type, dst: protobuf.Type): boolean {
    const known = this.identities.get(src);
    if (known !== undefined) return known;
    this.identities.set(src, true); // assumed while recursing (Input contains Input)
    let same = this.rules.same.includes(baseName(src)) && baseName(src) === baseName(dst);
    if (same) {
      for (const f of src.fieldsArray) {
        const g = this.targetField(src, dst, f, 'kept');
        const a = f.resolvedType;
        const b = g.resolvedType;
        if (a instanceof protobuf.Type && b instanceof protobuf.Type && !this.isIdentity(a, b)) same = false;
        if (a instanceof protobuf.Enum && b instanceof protobuf.Enum && this.missingEnumValues(a, b)) same = false;
      }
    }
    this.identities.set(src, same);
    return same;
  }

  /** The compiled converter from `src` to `dst`. */
  converter(src: protobuf.Type, dst: protobuf.Type): Converter {
    if (this.isIdentity(src, dst)) return IDENTITY;
    const cached = this.converters.get(src);
    if (cached) return (v, p, cx) => cached.fn(v, p, cx);
    const entry = { fn: IDENTITY };
    this.converters.set(src, entry);
    const rules = this.rules.same.includes(baseName(src)) ? undefined : this.messageRules(src);
    const steps: Step[] = [];
    for (const f of src.fieldsArray.slice().sort((x, y) => x.id - y.id)) {
      f.resolve();
      const rule = this.ruleFor(src, f);
      const step: Step = { name: f.name, to: f.name, op: COPY, repeated: f.repeated, map: f instanceof protobuf.MapField };
      if (rule !== 'kept' && 'dropped' in rule) {
        step.op = DROP;
        step.reason = rule.dropped;
      } else if (rule !== 'kept' && 'moved' in rule) {
        step.op = MOVE;
      } else {
        const g = this.targetField(src, dst, f, rule);
        step.to = g.name;
        const a = f.resolvedType;
        const b = g.resolvedType;
        if (a instanceof protobuf.Type && b instanceof protobuf.Type) {
          if (step.map) throw new Error(`lib/ops ${this.label}: maps of messages are not supported (${baseName(src)}.${f.name})`);
          const sub = this.converter(a, b);
          if (sub !== IDENTITY) {
            step.op = MESSAGE;
            step.sub = sub;
          }
        } else if (a instanceof protobuf.Enum && b instanceof protobuf.Enum) {
          const allowed = this.missingEnumValues(a, b);
          if (allowed) {
            step.op = ENUM;
            step.allowed = allowed;
            step.enumName = `${this.rules.to}'s ${baseName(b)}`;
          }
        }
      }
      steps.push(step);
    }
    const move = rules?.move;
    entry.fn = (v, path, cx) => {
      const out: Msg = {};
      for (const s of steps) {
        if (!hasOwn(v, s.name)) continue;
        const x = v[s.name];
        if (!isSet(x, s)) continue;
        switch (s.op) {
          case COPY:
            out[s.to] = x;
            break;
          case MESSAGE: {
            const p = `${path}.${s.name}`;
            out[s.to] = s.repeated ? (x as Msg[]).map((e) => s.sub!(e, p, cx)) : s.sub!(x as Msg, p, cx);
            break;
          }
          case ENUM:
            for (const n of s.repeated ? (x as number[]) : [x as number]) {
              if (!s.allowed!.has(n)) cx.lose(`${path}.${s.name}`, `value ${n} is not in ${s.enumName}; kept as a number`);
            }
            out[s.to] = x;
            break;
          case DROP:
            cx.lose(`${path}.${s.name}`, s.reason!);
            break;
          // MOVE: left to the move function
        }
      }
      if (move) move(v, out, cx, path);
      return out;
    };
    return entry.fn;
  }

  /** The byte-level plan for `src` (see ScanPlan). */
  scanPlan(src: protobuf.Type, dst: protobuf.Type): ScanPlan {
    const cached = this.scans.get(src);
    if (cached) return cached;
    const plan: ScanPlan = [];
    this.scans.set(src, plan);
    for (const f of src.fieldsArray) {
      f.resolve();
      const rule = this.ruleFor(src, f);
      const wire = wireTypeOf(f);
      if (rule !== 'kept' && 'dropped' in rule) {
        plan[f.id] = { name: f.name, wire, packable: f.repeated && wire !== WIRE_LEN, drop: rule.dropped };
        continue;
      }
      if (rule !== 'kept' && 'moved' in rule) {
        const wrap = this.wrapAction(src, dst, f, rule.wrap);
        if (wrap) plan[f.id] = { name: f.name, wire, packable: false, wrap };
        continue;
      }
      if (rule !== 'kept' && !('renamed' in rule)) continue;
      const g = this.targetField(src, dst, f, rule);
      if (g.id !== f.id) continue;
      const action: ScanAction = { name: f.name, wire, packable: f.repeated && wire !== WIRE_LEN };
      const a = f.resolvedType;
      const b = g.resolvedType;
      if (a instanceof protobuf.Type && b instanceof protobuf.Type && !this.isIdentity(a, b)) action.plan = this.scanPlan(a, b);
      if (a instanceof protobuf.Enum && b instanceof protobuf.Enum) {
        action.allowed = this.missingEnumValues(a, b);
        action.enumName = `${this.rules.to}'s ${baseName(b)}`;
      }
      plan[f.id] = action;
    }
    return plan;
  }

  /** The byte-level form of a `wrap` move, when it is safe: identical element types, target field last. */
  private wrapAction(src: protobuf.Type, dst: protobuf.Type, f: protobuf.Field, wrap: { to: string; field: string } | undefined): ScanAction['wrap'] {
    if (!wrap || !f.repeated || !(f.resolvedType instanceof protobuf.Type)) return undefined;
    const to = dst.fields[wrap.to];
    to?.resolve();
    const holder = to?.resolvedType;
    if (!to || !to.repeated || !(holder instanceof protobuf.Type)) return undefined;
    const inner = holder.fields[wrap.field];
    inner?.resolve();
    if (!inner || inner.repeated || !(inner.resolvedType instanceof protobuf.Type) || !this.isIdentity(f.resolvedType, inner.resolvedType)) return undefined;
    if (src.fieldsArray.some((x) => x.id >= to.id)) return undefined;
    return { tag: varintBytes(to.id * 8 + 2), innerTag: varintBytes(inner.id * 8 + 2) };
  }

  /** Everything needed to move ops of `kind` through this direction (cached). */
  kindPlan(kind: OpKind): KindPlan | undefined {
    if (this.kinds.has(kind)) return this.kinds.get(kind);
    const source = payloadType(this.rules.from, kind);
    let plan: KindPlan | undefined;
    if (source) {
      const target = payloadType(this.rules.to, kind);
      if (!target) {
        const why = this.rules.droppedKinds?.[kind];
        if (!why) throw new Error(`lib/ops ${this.label}: ${this.rules.to} has no ${kind} op and the table does not drop it`);
        plan = { kind, source, target, dropReason: why, convert: IDENTITY, scan: undefined };
      } else {
        plan = { kind, source, target, convert: this.converter(source, target), scan: this.scanPlan(source, target) };
      }
    }
    this.kinds.set(kind, plan);
    return plan;
  }
}

/** A loss a splice found, reported only once the whole record is known to splice. */
export interface PendingLoss {
  path: string;
  reason: string;
  /** The hop that found it, filled in by the caller. */
  hop?: string;
}

/** `spliceFields` found nothing to change. */
export const UNCHANGED: Uint8Array = new Uint8Array(0);

function varintBytes(n: number): Uint8Array {
  const out = new Uint8Array(varintSize(n));
  writeVarint(out, 0, n);
  return out;
}

/**
 * The byte-level form of a hop: copies every carried field's bytes as they
 * are, leaves dropped fields out, rewraps `wrap` moves, re-measures the
 * sub-messages that changed, and lists the losses (dropped fields, enum
 * values the target lacks) in `lost`. Returns UNCHANGED when no byte had to
 * change, and undefined when the record needs decoding (a moved or
 * renumbered field, an unknown field, bytes that do not parse).
 */
export function spliceFields(plan: ScanPlan, buf: Uint8Array, start: number, end: number, path: string, lost: PendingLoss[]): Uint8Array | undefined {
  let parts: Uint8Array[] | undefined;
  let appended: Uint8Array[] | undefined;
  let runFrom = start;
  let lastDropped = -1;
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const tag = varintAt(buf, pos, end);
    if (tag < 0) return undefined;
    const id = Math.floor(tag / 8);
    const a = plan[id];
    if (!a) return undefined;
    const wt = tag & 7;
    if (wt !== a.wire && !(a.packable && wt === WIRE_LEN)) return undefined;
    pos = varintEnd;
    const tagEnd = pos;
    let valueStart = pos;
    let replacement: Uint8Array | undefined;
    switch (wt) {
      case WIRE_VARINT: {
        const v = varintAt(buf, pos, end);
        if (v < 0) return undefined;
        if (a.allowed && !a.allowed.has(v) && a.drop === undefined) lost.push({ path: `${path}.${a.name}`, reason: `value ${v} is not in ${a.enumName}; kept as a number` });
        pos = varintEnd;
        break;
      }
      case WIRE_FIXED64:
        pos += 8;
        break;
      case WIRE_FIXED32:
        pos += 4;
        break;
      case WIRE_LEN: {
        const len = varintAt(buf, pos, end);
        if (len < 0 || varintEnd + len > end) return undefined;
        valueStart = varintEnd;
        pos = valueStart + len;
        if (a.drop !== undefined || a.wrap) break;
        if (a.plan) {
          const inner = spliceFields(a.plan, buf, valueStart, pos, `${path}.${a.name}`, lost);
          if (inner === undefined) return undefined;
          if (inner !== UNCHANGED) replacement = inner;
        } else if (a.allowed) {
          for (let p = valueStart; p < pos; p = varintEnd) {
            const v = varintAt(buf, p, pos);
            if (v < 0) return undefined;
            if (!a.allowed.has(v)) lost.push({ path: `${path}.${a.name}`, reason: `value ${v} is not in ${a.enumName}; kept as a number` });
          }
        }
        break;
      }
      default:
        return undefined;
    }
    if (pos > end) return undefined;
    if (a.wrap) {
      const element = buf.subarray(valueStart, pos);
      const innerLength = a.wrap.innerTag.length + varintSize(element.length) + element.length;
      (appended ??= []).push(a.wrap.tag, varintBytes(innerLength), a.wrap.innerTag, varintBytes(element.length), element);
      (parts ??= []).push(buf.subarray(runFrom, fieldStart));
      runFrom = pos;
    } else if (a.drop !== undefined) {
      if (lastDropped !== id) lost.push({ path: `${path}.${a.name}`, reason: a.drop });
      lastDropped = id;
      (parts ??= []).push(buf.subarray(runFrom, fieldStart));
      runFrom = pos;
    } else if (replacement) {
      // The run before it and the field's own tag, then the new length and bytes.
      (parts ??= []).push(buf.subarray(runFrom, tagEnd), varintBytes(replacement.length), replacement);
      runFrom = pos;
    }
  }
  if (pos !== end) return undefined;
  if (!parts) return UNCHANGED;
  parts.push(buf.subarray(runFrom, end));
  if (appended) parts.push(...appended);
  return Buffer.concat(parts);
}
