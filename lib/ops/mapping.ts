/**
 * The vocabulary of a version hop. Each hop module (lib/ops/convert/) holds
 * two tables, up and down, that say for every field of every message an op
 * can reach in the source version what becomes of it in the target version:
 * kept, renamed, moved (by a small function), or dropped (with the reason,
 * which is what the loss report prints). Fields only the target has are
 * listed as defaulted. The engine (hop-engine.ts) refuses to run a table
 * that leaves a field unmapped, and test/ops/mapping.test.ts walks the
 * schema to check every table against both versions.
 *
 * Messages are named without their version package: `pfs.Commit` is
 * `pfs_1_7.Commit` in 1.7 and `pfs.Commit` in 1.13.
 */
import type protobuf from 'protobufjs';
import type { OpKind, OpVersion } from '../schema/registry.js';

/** What one hop does with one field of a source message. */
export type FieldRule =
  /** Same name, number and type (or a mapped message type) in the target. */
  | 'kept'
  /** Same meaning under another name in the target. */
  | { readonly renamed: string }
  /**
   * Carried elsewhere by the message's `move` function; the text says where.
   * `wrap` tells the byte-level path the same move for a message field: each
   * element becomes field `field` of a new element of the target's repeated
   * field `to` (only used when `to` sorts after every source field).
   */
  | { readonly moved: string; readonly wrap?: { readonly to: string; readonly field: string } }
  /** The target cannot hold it; the text says why. A loss whenever the field is set. */
  | { readonly dropped: string };

/** A decoded message on its way through the hops: field name → value, only set fields present. */
export type Msg = Record<string, unknown>;

/** What a move function may do besides writing the target message. */
export interface MoveContext {
  /** Counts a loss at `path` (dotted field names from the op kind down). */
  lose(path: string, reason: string): void;
}

/**
 * Fills target fields from source fields the table marks `moved`. `out`
 * already holds every kept and renamed field; `path` names `src` in loss
 * reports (e.g. `pipeline.input`).
 */
export type MoveFn = (src: Msg, out: Msg, cx: MoveContext, path: string) => void;

/** The rules for one message of the source version. */
export interface MessageRules {
  /** The target's name for this message, when it differs (`pps.Secret` becomes `pps.SecretMount`). */
  readonly to?: string;
  /** Every field of the source message, by name. */
  readonly fields: Readonly<Record<string, FieldRule>>;
  /** Fields only the target has, by name: why they stay unset (or which move fills them). */
  readonly defaulted?: Readonly<Record<string, string>>;
  readonly move?: MoveFn;
}

/** One direction of a hop: from one op version to the next one up, or down. */
export interface DirectionRules {
  readonly from: OpVersion;
  readonly to: OpVersion;
  /**
   * Messages whose every field is kept, with no field added in the target
   * (the schema walk checks both). Any other reachable message needs an
   * entry in `messages`.
   */
  readonly same: readonly string[];
  readonly messages: Readonly<Record<string, MessageRules>>;
  /**
   * Messages the target version does not have at all, reachable only under
   * a dropped or moved field or a dropped kind: where they are dealt with.
   */
  readonly gone?: Readonly<Record<string, string>>;
  /** Op kinds the target's `Op1_x` has no field for, and why: such ops leave the stream, counted as loss. */
  readonly droppedKinds?: Readonly<Partial<Record<OpKind, string>>>;
  /** Op kinds only the target's `Op1_x` has, and since when. */
  readonly addedKinds?: Readonly<Partial<Record<OpKind, string>>>;
}

/** One hop between two neighbouring op versions, both ways. */
export interface Hop {
  readonly up: DirectionRules;
  readonly down: DirectionRules;
}

/** `pfs_1_7.Commit` and `pfs.Commit` are both `pfs.Commit`: the message's name across versions. */
export function baseName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '').replace(/^([a-z]+)_1_\d+\./, '$1.');
}

/** `1.7→1.8`, as loss reports and errors print a hop. */
export function hopLabel(rules: Pick<DirectionRules, 'from' | 'to'>): string {
  return `${rules.from}→${rules.to}`;
}
