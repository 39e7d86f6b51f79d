/**
 * The `json` framing: the NDJSON view of DESIGN.md §2. Line 1 may be
 * `{"header": …}`, then one `{"i", "version", "kind", "body"}` line per record
 * with the payload in proto3 JSON (snake_case names, enums by name, 64-bit
 * integers as strings, bytes as base64), and last `{"trailer": …}`. Header and
 * trailer are optional on input (edited JSON has none); `i` is ignored.
 *
 * Reading checks bodies strictly against the schema (an unknown key, a wrong
 * type or a bad enum name is a data error) because protobufjs's fromObject
 * would otherwise drop them without a word.
 */
import protobuf from 'protobufjs';
import { createHash } from 'node:crypto';
import { dataError } from '../errors.js';
import { OP_VERSIONS, OpType, payloadType, slotByVersion, type OpVersion } from '../schema/registry.js';
import { MAX_RECORD_BYTES } from './limits.js';
import { StreamTally, type NativeHeader, type StreamTrailer } from './native.js';
import { OutputBuffer } from './output-buffer.js';
import { envelopeOf, type OpRecord, type RecordBatch, type RecordStream } from './record.js';
import { checkMessage, WireError, type UnknownField } from './wire-check.js';

/**
 * Bytes stay Buffers in toObject and are turned into base64 by `base64Bytes`
 * with Node's native encoder: protobufjs's own JavaScript base64 was most of
 * the time of a JSON view of object data.
 */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, json: true };

/** Replaces every byte array in a toObject result by its base64 text, in place. */
function base64Bytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = base64Bytes(value[i]);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k in o) o[k] = base64Bytes(o[k]);
  }
  return value;
}

/** A decoded payload as the JSON view writes its body: proto3 JSON, snake_case, enums by name, 64-bit integers and bytes as strings. */
export function bodyToJson(type: protobuf.Type, msg: protobuf.Message): Record<string, unknown> {
  return base64Bytes(type.toObject(msg, TO_OBJECT)) as Record<string, unknown>;
}

/** The proto3-JSON body of a record, plus the schema's unknown fields it could not carry. */
export function recordToJson(rec: OpRecord): { version: OpVersion; kind: string; body: unknown; unknown: UnknownField[] } {
  const env = envelopeOf(rec);
  const where = { record: rec.index, offset: rec.offset >= 0 ? rec.offset : undefined };
  const type = payloadType(env.version, env.kind)!;
  let unknown: UnknownField[];
  let msg: protobuf.Message;
  try {
    unknown = checkMessage(type, rec.bytes, env.payloadStart, env.payloadEnd);
    // A Buffer (not a plain Uint8Array) lets protobufjs decode strings natively.
    msg = OpType.decode(Buffer.from(rec.bytes.buffer, rec.bytes.byteOffset, rec.bytes.length));
  } catch (err) {
    const why = err instanceof WireError ? err.message : (err as Error).message;
    throw dataError('PACH_BAD_RECORD', `${env.kind} op does not parse as ${type.fullName.slice(1)}: ${why}`, where, err);
  }
  const slot = slotByVersion(env.version);
  const obj = OpType.toObject(msg, TO_OBJECT) as Record<string, Record<string, unknown>>;
  return { version: env.version, kind: env.kind, body: base64Bytes(obj[slot.name]![env.kind] ?? {}), unknown };
}

export interface JsonEncodeOptions {
  header?: NativeHeader;
  /** Called for each record whose bytes hold fields the JSON view cannot carry. */
  onUnknown?: (rec: OpRecord, fields: UnknownField[]) => void;
  onTrailer?: (t: StreamTrailer) => void;
}

/**
 * Writes the JSON view. The trailer line carries counts and `raw_sha256`, the
 * SHA-256 of the records in `raw` framing, which identifies the content
 * whatever framing it travels in.
 */
export async function* encodeJson(records: RecordStream, opts: JsonEncodeOptions = {}): AsyncIterable<Uint8Array> {
  const out = new OutputBuffer();
  const tally = new StreamTally();
  const rawHash = createHash('sha256');
  const len8 = Buffer.alloc(8);
  let i = 0;
  if (opts.header) out.append(Buffer.from(JSON.stringify({ header: opts.header }) + '\n'));
  for await (const batch of records) {
    tally.add(batch);
    for (const rec of batch) {
      const j = recordToJson(rec);
      if (j.unknown.length) opts.onUnknown?.(rec, j.unknown);
      len8.writeUInt32LE(rec.bytes.length, 0);
      rawHash.update(len8);
      rawHash.update(rec.bytes);
      out.append(Buffer.from(`{"i":${i++},"version":"${j.version}","kind":"${j.kind}","body":${JSON.stringify(j.body)}}\n`));
    }
    yield* out.drain();
  }
  const trailer = tally.toTrailer();
  opts.onTrailer?.(trailer);
  out.append(Buffer.from(JSON.stringify({ trailer: { ...trailer, raw_sha256: rawHash.digest('hex') } }) + '\n'));
  yield* out.flush();
}

export interface JsonDecodeOptions {
  onHeader?: (h: NativeHeader) => void;
  warn?: (message: string) => void;
}

/** Reads the JSON view into records, re-encoding each body deterministically. */
export async function* decodeJson(input: AsyncIterable<Uint8Array>, opts: JsonDecodeOptions = {}): RecordStream {
  let line = 0;
  let index = 0;
  let trailer: StreamTrailer | undefined;
  let trailerLine = 0;
  const handle = (text: string, offset: number, batch: RecordBatch): void => {
    line++;
    const where = { record: index, offset };
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw dataError('PACH_BAD_JSON', `line ${line}: not valid JSON (${(err as Error).message})`, where, err);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw dataError('PACH_BAD_JSON', `line ${line}: expected a JSON object`, where);
    }
    const obj = value as Record<string, unknown>;
    if (trailer) throw dataError('PACH_TRAILING_BYTES', `line ${line}: a line after the trailer (line ${trailerLine})`, where);
    if ('header' in obj) {
      if (line !== 1 || index > 0) throw dataError('PACH_BAD_JSON', `line ${line}: a header is only allowed on line 1`, where);
      opts.onHeader?.(obj.header as NativeHeader);
      return;
    }
    if ('trailer' in obj) {
      trailer = obj.trailer as StreamTrailer;
      trailerLine = line;
      return;
    }
    batch.push({ bytes: jsonToRecordBytes(obj, line, where), index: index++, offset });
  };
  // Lines are cut at '\n' with Buffer.indexOf; a line that straddles chunks
  // is gathered in `carry` and joined once.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let carryOffset = 0;
  let offset = 0;
  for await (const chunk of input) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const batch: RecordBatch = [];
    let start = 0;
    let nl = buf.indexOf(0x0a);
    if (carryBytes > 0 || (nl < 0 && buf.length > 0)) {
      if (nl < 0) {
        if (carryBytes === 0) carryOffset = offset;
        carry.push(buf);
        carryBytes += buf.length;
        if (carryBytes > MAX_RECORD_BYTES * 2) {
          throw dataError('PACH_RECORD_TOO_LARGE', `line ${line + 1} is longer than ${MAX_RECORD_BYTES * 2} bytes`, { record: index, offset: carryOffset });
        }
        offset += buf.length;
        yield batch;
        continue;
      }
      carry.push(buf.subarray(0, nl));
      handle(Buffer.concat(carry).toString('utf8'), carryOffset, batch);
      carry = [];
      carryBytes = 0;
      start = nl + 1;
      nl = buf.indexOf(0x0a, start);
    }
    while (nl >= 0) {
      handle(buf.toString('utf8', start, nl), offset + start, batch);
      start = nl + 1;
      nl = buf.indexOf(0x0a, start);
    }
    if (start < buf.length) {
      carryOffset = offset + start;
      carry.push(buf.subarray(start));
      carryBytes += buf.length - start;
    }
    offset += buf.length;
    yield batch;
  }
  if (carryBytes > 0) {
    const batch: RecordBatch = [];
    handle(Buffer.concat(carry).toString('utf8'), carryOffset, batch);
    yield batch;
  }
  if (trailer && trailer.records !== index) {
    opts.warn?.(`the JSON trailer (line ${trailerLine}) says ${trailer.records} records, the input has ${index}: it was edited or cut short`);
  }
}

function jsonToRecordBytes(obj: Record<string, unknown>, line: number, where: { record: number; offset: number }): Uint8Array {
  const { version, kind, body } = obj;
  if (typeof version !== 'string' || !(OP_VERSIONS as readonly string[]).includes(version)) {
    throw dataError('PACH_UNSUPPORTED_VERSION', `line ${line}: op version ${JSON.stringify(version)} is not one of ${OP_VERSIONS.join(', ')}`, where);
  }
  const v = version as OpVersion;
  const type = typeof kind === 'string' ? payloadType(v, kind) : undefined;
  if (!type) {
    throw dataError('PACH_UNKNOWN_KIND', `line ${line}: ${JSON.stringify(kind)} is not an op kind of version ${v}`, where);
  }
  const problem = checkJsonValue(type, body ?? {}, kind as string);
  if (problem) throw dataError('PACH_BAD_JSON', `line ${line}: ${problem}`, where);
  const slot = slotByVersion(v);
  const msg = OpType.fromObject({ [slot.name]: { [kind as string]: body ?? {} } });
  return OpType.encode(msg).finish();
}

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

/** Returns a description of the first thing in `value` the schema cannot hold, or undefined. */
function checkJsonValue(type: protobuf.Type, value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${path}: expected an object for ${type.name}`;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const f = type.fields[key];
    if (!f) return `${path}.${key}: no such field in ${type.fullName.slice(1)}`;
    if (v === null) continue;
    f.resolve();
    const p = `${path}.${key}`;
    if (f instanceof protobuf.MapField) {
      if (typeof v !== 'object' || Array.isArray(v)) return `${p}: expected an object (map)`;
      const map = v as Record<string, unknown>;
      for (const [mk, mv] of Object.entries(map)) {
        const bad = checkScalarOrMessage(f, mv, `${p}[${JSON.stringify(mk)}]`, map, mk);
        if (bad) return bad;
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) return `${p}: expected an array`;
      for (let i = 0; i < v.length; i++) {
        const bad = checkScalarOrMessage(f, v[i], `${p}[${i}]`, v as unknown as Record<number, unknown>, i);
        if (bad) return bad;
      }
    } else {
      const bad = checkScalarOrMessage(f, v, p, value as Record<string, unknown>, key);
      if (bad) return bad;
    }
  }
  return undefined;
}

/**
 * Checks one value; `holder[key]` is where it lives, so that base64 bytes can
 * be replaced by the decoded Buffer (decoded once, natively).
 */
function checkScalarOrMessage(f: protobuf.Field, v: unknown, p: string, holder: Record<string | number, unknown>, key: string | number): string | undefined {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return checkJsonValue(rt, v, p);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string' && v in rt.values) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return undefined;
    return `${p}: ${JSON.stringify(v)} is not a value of enum ${rt.name}`;
  }
  switch (f.type) {
    case 'string':
      return typeof v === 'string' ? undefined : `${p}: expected a string`;
    case 'bytes': {
      if (typeof v !== 'string') return `${p}: expected base64 bytes`;
      const decoded = Buffer.from(v, 'base64');
      // Node skips characters that are not base64; a length check catches them.
      let chars = v.length;
      while (chars > 0 && v.charCodeAt(chars - 1) === 0x3d) chars--;
      if (decoded.length !== Math.floor((chars * 3) / 4) || (chars % 4 === 1)) return `${p}: not valid base64`;
      holder[key] = decoded;
      return undefined;
    }
    case 'bool':
      return typeof v === 'boolean' ? undefined : `${p}: expected true or false`;
    case 'double':
    case 'float':
      return typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? undefined : `${p}: expected a number`;
    default:
      if (INT64.has(f.type)) {
        return (typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v)) ? undefined : `${p}: expected a 64-bit integer (as a string)`;
      }
      if (INT32.has(f.type)) return typeof v === 'number' && Number.isInteger(v) ? undefined : `${p}: expected an integer`;
      return undefined;
  }
}
