/**
 * The schema registry: the one protobufjs Root built from our generated
 * descriptor (lib/schema/gen/pachyderm.ts, made by `make proto` from proto/),
 * and the facts about `admin.Op` the rest of the suite needs: which Op field
 * holds which format generation (op1_7 … op1_13), and which payload kinds
 * (object, tag, repo, …) each generation's message can carry. Slots and kinds
 * are read from the schema at load time, so a regenerated schema cannot
 * silently disagree with this table. Nothing here reads shared/ or the disk.
 */
import protobuf from 'protobufjs';
import { opsDescriptor } from './gen/ops.js';

/**
 * The protobufjs Root of every message and enum an op can reach, in every
 * version (current, `*_1_7` … `*_1_12`, google.protobuf), resolved. It is
 * built from the ops-only descriptor because every tool pays for it at
 * startup (about a third of the full one's cost); the services are in
 * gen/pachyderm.ts, for the gRPC side.
 */
export const root: protobuf.Root = protobuf.Root.fromJSON(opsDescriptor);

/** `admin.Op`: one record of a `pachctl extract` stream; exactly one `op1_x` slot is set. */
export const OpType: protobuf.Type = root.lookupType('admin.Op');

/** The format generations of `admin.Op`, oldest first, spelled as for humans (`opVersion.String()` upstream). */
export const OP_VERSIONS = ['1.7', '1.8', '1.9', '1.10', '1.11', '1.12', '1.13'] as const;

/** One format generation of `admin.Op`, e.g. `'1.12'`. */
export type OpVersion = (typeof OP_VERSIONS)[number];

type Underscored<V extends string> = V extends `${infer A}.${infer B}` ? `${A}_${B}` : never;

/** The name of an `admin.Op` slot field, e.g. `'op1_12'`. */
export type OpSlotName = `op${Underscored<OpVersion>}`;

/** One slot of `admin.Op`: the field that holds an `Op1_x` message. */
export interface OpSlot {
  /** Field number in `admin.Op` (1 for op1_7 … 7 for op1_13). */
  readonly field: number;
  /** Field name, e.g. `'op1_7'`. */
  readonly name: OpSlotName;
  /** The generation it holds, e.g. `'1.7'`. */
  readonly version: OpVersion;
  /** The slot's message type, e.g. `admin.Op1_7`. */
  readonly message: protobuf.Type;
}

/** The payload kinds an `Op1_x` message can carry, named as the `admin.Op1_13` fields. */
const KIND_NAMES = [
  'object',
  'tag',
  'repo',
  'commit',
  'branch',
  'pipeline',
  'job',
  'create_object',
  'block',
  'set_acl',
  'set_cluster_role_binding',
  'set_auth_config',
  'activate_auth',
  'restore_auth_token',
  'activate_enterprise',
  'check_auth_token',
] as const;

const KIND_SET: ReadonlySet<string> = new Set(KIND_NAMES);

/** A payload kind of an `Op1_x` message, e.g. `'object'` or `'set_acl'`. */
export type OpKind = (typeof KIND_NAMES)[number];

/** One payload kind: its name and its field number, which is the same in every `Op1_x` that has it. */
export interface OpKindInfo {
  /** Field number in every `Op1_x` message that has this kind (2 … 17; 1 is never used). */
  readonly field: number;
  /** Field name, e.g. `'create_object'`. */
  readonly name: OpKind;
}

function schemaError(message: string): Error {
  return new Error(`lib/schema: the generated descriptor disagrees with the registry: ${message}; run \`make proto\``);
}

function buildSlots(): readonly OpSlot[] {
  const fields = OpType.fieldsArray.slice().sort((a, b) => a.id - b.id);
  if (fields.length !== OP_VERSIONS.length) throw schemaError(`admin.Op has ${fields.length} fields, expected ${OP_VERSIONS.length}`);
  return Object.freeze(
    fields.map((f, i) => {
      const version = OP_VERSIONS[i]!;
      const name = `op${version.replace('.', '_')}` as OpSlotName;
      if (f.name !== name || f.id !== i + 1) throw schemaError(`admin.Op field ${f.id} is ${f.name}, expected ${i + 1} ${name}`);
      if (!(f.resolvedType instanceof protobuf.Type)) throw schemaError(`admin.Op.${name} is not a message`);
      return Object.freeze({ field: f.id, name, version, message: f.resolvedType });
    }),
  );
}

/** The seven slots of `admin.Op`, by field number (index 0 is field 1, op1_7). */
export const OP_SLOTS: readonly OpSlot[] = buildSlots();

const SLOT_BY_VERSION = new Map<OpVersion, OpSlot>(OP_SLOTS.map((s) => [s.version, s]));

const NEWEST_SLOT = OP_SLOTS[OP_SLOTS.length - 1]!;

function buildKinds(): readonly OpKindInfo[] {
  const kinds = NEWEST_SLOT.message.fieldsArray
    .slice()
    .sort((a, b) => a.id - b.id)
    .map((f) => {
      if (!KIND_SET.has(f.name)) throw schemaError(`${NEWEST_SLOT.message.name} has unknown kind ${f.name}`);
      return Object.freeze({ field: f.id, name: f.name as OpKind });
    });
  if (kinds.length !== KIND_NAMES.length) throw schemaError(`${NEWEST_SLOT.message.name} has ${kinds.length} kinds, expected ${KIND_NAMES.length}`);
  // Older slots hold a subset of the kinds, under the same numbers.
  for (const slot of OP_SLOTS) {
    for (const f of slot.message.fieldsArray) {
      const k = kinds.find((x) => x.name === f.name);
      if (!k || k.field !== f.id) throw schemaError(`${slot.message.name}.${f.name} = ${f.id} is not a kind of ${NEWEST_SLOT.message.name}`);
    }
  }
  return Object.freeze(kinds);
}

/**
 * The payload kinds, by field number, as in `admin.Op1_13`: 2 object, 3 tag,
 * 4 repo, 5 commit, 6 branch, 7 pipeline, 8 job, 9 create_object, 10 block,
 * 11 set_acl, 12 set_cluster_role_binding, 13 set_auth_config,
 * 14 activate_auth, 15 restore_auth_token, 16 activate_enterprise,
 * 17 check_auth_token. Older slots carry a subset (job, create_object and
 * block from 1.9 on; the auth and enterprise kinds from 1.11 on).
 */
export const OP_KINDS: readonly OpKindInfo[] = buildKinds();

/** The slot with this `admin.Op` field number (1 … 7), or undefined for any other number. */
export function slotByField(field: number): OpSlot | undefined {
  return OP_SLOTS.find((s) => s.field === field);
}

/** The slot that holds this generation, e.g. `slotByVersion('1.12').name === 'op1_12'`. */
export function slotByVersion(version: OpVersion): OpSlot {
  const slot = SLOT_BY_VERSION.get(version);
  if (!slot) throw new RangeError(`lib/schema: no admin.Op slot for version ${String(version)}`);
  return slot;
}

/** Whether `name` is a payload kind (a field name of `admin.Op1_13`). */
export function isOpKind(name: string): name is OpKind {
  return KIND_SET.has(name);
}

/** The kind with this `Op1_x` field number (2 … 17), or undefined for any other number. */
export function kindByField(field: number): OpKind | undefined {
  return OP_KINDS.find((k) => k.field === field)?.name;
}

/**
 * The field that carries `kind` in the `Op1_x` message of `version`, or
 * undefined when that generation has no such kind (e.g. `job` in 1.7) or
 * `kind` is not a kind name at all (any string is accepted, so callers can
 * pass user input straight through).
 */
export function kindField(version: OpVersion, kind: OpKind | (string & {})): protobuf.Field | undefined {
  if (!KIND_SET.has(kind)) return undefined;
  const fields = slotByVersion(version).message.fields;
  return Object.prototype.hasOwnProperty.call(fields, kind) ? fields[kind] : undefined;
}

/**
 * The payload message type of `kind` in `version`, e.g.
 * `payloadType('1.9', 'object')` is `pfs_1_9.PutObjectRequest` and
 * `payloadType('1.13', 'object')` is `pfs.PutObjectRequest`; undefined when
 * that generation has no such kind or `kind` is not a kind name.
 */
export function payloadType(version: OpVersion, kind: OpKind | (string & {})): protobuf.Type | undefined {
  // Called per record: answer from a table rather than protobufjs's reflection getters.
  let byKind = PAYLOAD_TYPES.get(version);
  if (!byKind) PAYLOAD_TYPES.set(version, (byKind = new Map()));
  if (byKind.has(kind)) return byKind.get(kind);
  const t = kindField(version, kind)?.resolvedType;
  const type = t instanceof protobuf.Type ? t : undefined;
  if (KIND_SET.has(kind)) byKind.set(kind, type);
  return type;
}

const PAYLOAD_TYPES = new Map<OpVersion, Map<string, protobuf.Type | undefined>>();
