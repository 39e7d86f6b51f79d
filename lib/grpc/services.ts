/**
 * pachd's gRPC services as @grpc/grpc-js method definitions, made from the
 * service descriptors in lib/schema/gen/pachyderm.ts (pachd 1.13's `.proto`
 * files; every 1.x release serves these methods under the same paths).
 *
 * Most messages cross as plain objects (protobufjs `fromObject`/`toObject`,
 * snake_case fields, enums by name, 64-bit integers as numbers). The two
 * streams that carry records never decode them: an Extract response is one
 * serialized `admin.Op`, which is exactly a record, and a RestoreRequest is
 * the record wrapped in field 1 — so records keep their bytes end to end.
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { varintAt, varintEnd, varintSize, writeVarint } from '../codec/varint.js';
import { descriptor } from '../schema/gen/pachyderm.js';

/** Every message and service of pachd 1.13 (built on first use: the stream tools never pay for it). */
let full: protobuf.Root | undefined;
function grpcRoot(): protobuf.Root {
  return (full ??= protobuf.Root.fromJSON(descriptor));
}

export function messageType(name: string): protobuf.Type {
  return grpcRoot().lookupType(name);
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, bytes: Buffer as unknown as ArrayConstructor, defaults: false };

/** A plain-object codec for one message type. */
export function codec(name: string): { encode(v: object): Buffer; decode(b: Buffer): Record<string, unknown> } {
  const type = messageType(name);
  return {
    encode: (v) => Buffer.from(type.encode(type.fromObject(v)).finish()),
    decode: (b) => type.toObject(type.decode(b), TO_OBJECT),
  };
}

const identity = (b: Buffer): Buffer => b;

/** Method paths this suite uses, by short name. */
export const PATHS = {
  extract: '/admin.API/Extract',
  extractPipeline: '/admin.API/ExtractPipeline',
  restore: '/admin.API/Restore',
  inspectCluster: '/admin.API/InspectCluster',
  getVersion: '/versionpb.API/GetVersion',
  whoAmI: '/auth.API/WhoAmI',
  listRepo: '/pfs.API/ListRepo',
  inspectRepo: '/pfs.API/InspectRepo',
  listBranch: '/pfs.API/ListBranch',
  listCommit: '/pfs.API/ListCommit',
  listCommitStream: '/pfs.API/ListCommitStream',
  inspectCommit: '/pfs.API/InspectCommit',
  listPipeline: '/pps.API/ListPipeline',
  inspectPipeline: '/pps.API/InspectPipeline',
  listJob: '/pps.API/ListJob',
  listJobStream: '/pps.API/ListJobStream',
} as const;

/** Methods whose messages stay bytes: [request is raw, response is raw]. */
const RAW: Record<string, [boolean, boolean]> = {
  [PATHS.extract]: [false, true],
  [PATHS.extractPipeline]: [false, true],
  [PATHS.restore]: [true, false],
};

/**
 * The grpc-js definition of every method of a service (`admin.API`,
 * `pfs.API`, …). A server given this definition answers UNIMPLEMENTED for the
 * methods it has no handler for.
 */
export function serviceDefinition(serviceName: string): Record<string, MethodDefinition<unknown, unknown>> {
  const service = grpcRoot().lookupService(serviceName);
  const pkg = serviceName.slice(0, serviceName.lastIndexOf('.'));
  const defs: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const path = `/${pkg}.API/${method.name}`;
    const [rawReq, rawRes] = RAW[path] ?? [false, false];
    const req = codec(method.resolvedRequestType!.fullName.slice(1));
    const res = codec(method.resolvedResponseType!.fullName.slice(1));
    defs[method.name] = {
      path,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (rawReq ? identity : req.encode) as (v: unknown) => Buffer,
      requestDeserialize: rawReq ? identity : req.decode,
      responseSerialize: (rawRes ? identity : res.encode) as (v: unknown) => Buffer,
      responseDeserialize: rawRes ? identity : res.decode,
      originalName: method.name,
    };
  }
  return defs;
}

/** `RestoreRequest{op: record}`: field 1, length-delimited. */
export function wrapRestoreRequest(op: Uint8Array): Buffer {
  const head = 1 + varintSize(op.length);
  const out = Buffer.allocUnsafe(head + op.length);
  out[0] = 0x0a;
  writeVarint(out, 1, op.length);
  out.set(op, head);
  return out;
}

/** The record and URL of a RestoreRequest, without decoding the record. */
export function unwrapRestoreRequest(req: Buffer): { op?: Buffer; url?: string } {
  const out: { op?: Buffer; url?: string } = {};
  let pos = 0;
  while (pos < req.length) {
    const key = varintAt(req, pos);
    if (key < 0) throw new Error('RestoreRequest: cut field key');
    pos = varintEnd;
    const wire = key & 7;
    if (wire !== 2) throw new Error(`RestoreRequest: field ${key >>> 3} has wire type ${wire}`);
    const len = varintAt(req, pos);
    if (len < 0 || varintEnd + len > req.length) throw new Error('RestoreRequest: cut field');
    const start = varintEnd;
    pos = start + len;
    if (key >>> 3 === 1) out.op = req.subarray(start, pos);
    else if (key >>> 3 === 2) out.url = req.toString('utf8', start, pos);
  }
  return out;
}
