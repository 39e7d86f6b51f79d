/**
 * fast-check arbitraries of valid ops of any version, driven by the schema:
 * every field of every message an op can reach may appear, set to a
 * non-default value (as pachd's Go encoder writes them: proto3 defaults are
 * never on the wire). Recursive messages (Input) stop at a small depth.
 */
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { OpType, slotByVersion, type OpVersion } from '../../lib/schema/registry.js';

type Obj = Record<string, unknown>;

const text = fc.stringMatching(/^[a-zA-Z0-9_./:-]{1,10}$/);
const mapKey = fc.stringMatching(/^[a-z][a-z0-9./-]{0,8}$/);

function scalar(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return text;
    case 'bytes':
      return fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => Buffer.from(b).toString('base64'));
    case 'bool':
      return fc.constant(true);
    case 'float':
    case 'double':
      return fc.constantFrom(0.5, 1, 2.25, 16);
    case 'int64':
    case 'uint64':
    case 'sint64':
      return fc.bigInt({ min: 1n, max: (1n << 62n) }).map(String);
    default:
      return fc.integer({ min: 1, max: 100000 });
  }
}

const cache = new Map<string, fc.Arbitrary<Obj>>();

/** Random plain objects for `type.fromObject`, every field optional. */
export function messageArb(type: protobuf.Type, depth = 0): fc.Arbitrary<Obj> {
  const key = `${type.fullName}@${depth}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of type.fieldsArray) {
    f.resolve();
    let one: fc.Arbitrary<unknown>;
    if (f instanceof protobuf.MapField) {
      fields[f.name] = fc.dictionary(mapKey, text, { minKeys: 1, maxKeys: 2 });
      continue;
    } else if (f.resolvedType instanceof protobuf.Type) {
      if (depth >= 3) continue;
      one = messageArb(f.resolvedType, depth + 1);
    } else if (f.resolvedType instanceof protobuf.Enum) {
      const values = Object.values(f.resolvedType.values).filter((v) => v !== 0);
      if (!values.length) continue;
      one = fc.constantFrom(...values);
    } else {
      one = scalar(f.type);
    }
    fields[f.name] = f.repeated ? fc.array(one, { minLength: 1, maxLength: 2 }) : one;
  }
  const arb = fc.record(fields, { requiredKeys: [] });
  cache.set(key, arb);
  return arb;
}

/** Removes every `key` field from a generated body, at any depth. */
export function without(key: string, body: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === key) continue;
    if (Array.isArray(v)) out[k] = v.map((x) => (x && typeof x === 'object' ? without(key, x as Obj) : x));
    else out[k] = v && typeof v === 'object' ? without(key, v as Obj) : v;
  }
  return out;
}

/**
 * A random serialized admin.Op of `version`, of any kind that version has
 * (or of `kinds`); `shape` may edit each generated body first.
 */
export function opArb(version: OpVersion, kinds?: readonly string[], shape: (body: Obj) => Obj = (b) => b): fc.Arbitrary<Uint8Array> {
  const slot = slotByVersion(version);
  const choices = slot.message.fieldsArray.filter((f) => !kinds || kinds.includes(f.name));
  return fc.oneof(
    ...choices.map((f) => {
      f.resolve();
      return messageArb(f.resolvedType as protobuf.Type).map((body) => OpType.encode(OpType.fromObject({ [slot.name]: { [f.name]: shape(body) } })).finish());
    }),
  );
}
