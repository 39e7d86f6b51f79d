/**
 * Replayer: feeds a record stream into a ClusterModel the way pachd's Restore
 * reads it: object ops (≤ 1.8) and block ops (1.9+) gathered into groups and
 * hashed on the way past, every other op decoded under the stream's version
 * and applied. Nothing holds on to a record after its batch.
 */
import { createHash, type Hash } from 'node:crypto';
import protobuf from 'protobufjs';
import { PachError } from '../errors.js';
import { envelopeOf, type OpRecord } from '../codec/record.js';
import { payloadType, type OpVersion } from '../schema/registry.js';
import { ClusterModel, type ModelOptions, type Msg } from './model.js';

interface Group {
  kind: 'object' | 'block';
  /** Object groups hash their bytes (the object's name is its SHA-512); block groups are named by their first op. */
  hash: Hash | null;
  block: string;
  bytes: number;
  record: number;
}

const NAMED_ENUMS = new Set(['job', 'set_acl', 'set_cluster_role_binding']);

export type ReplayOptions = Omit<ModelOptions, 'streamVersion'>;

const types = new Map<OpVersion, Map<string, protobuf.Type>>();
/** The payload type of a kind at a version, cached. */
export function typeOf(version: OpVersion, kind: string): protobuf.Type {
  let byKind = types.get(version);
  if (!byKind) types.set(version, (byKind = new Map()));
  let t = byKind.get(kind);
  if (!t) {
    t = payloadType(version, kind);
    if (!t) throw new Error(`no payload type for ${version} ${kind}`);
    byKind.set(kind, t);
  }
  return t;
}

export class Replayer {
  private modelRef: ClusterModel | undefined;
  private group: Group | null = null;
  records = 0;
  readonly counts: Record<string, number> = {};
  /** The stream begins with check_auth_token: the restore must carry a token. */
  needsToken = false;
  /** The payload of the record `apply` last took, as decoded (for a store kept beside the model). */
  lastBody: Msg | undefined;
  /** The object (`object <sha512>`) or block (`block <hash>`) that record completed, if it did. */
  lastGroup: string | null = null;

  private started = false;

  /** `target`: a model already holding the target cluster's state (`--onto`), which this stream is applied on top of. */
  constructor(private readonly opts: ReplayOptions = {}, private readonly fallbackVersion: string = '1.13', target?: ClusterModel) {
    this.modelRef = target;
  }

  /** The model (made with the first record's version, or the fallback for an empty stream). */
  get model(): ClusterModel {
    return (this.modelRef ??= new ClusterModel({ ...this.opts, streamVersion: this.fallbackVersion }));
  }

  /** Applies one record. Problems go to the model; only internal faults throw. */
  apply(rec: OpRecord): void {
    this.records++;
    this.lastBody = undefined;
    this.lastGroup = null;
    let env;
    try {
      env = envelopeOf(rec);
    } catch (err) {
      const model = this.model;
      model.at({ record: rec.index, kind: '' });
      const why = err instanceof PachError ? err.message : String(err);
      // pachd 1.6/1.7 switch on the op's fields and skip one they do not know.
      if (model.ignoresUnknownOps) model.report('PACH_IGNORED_OP', [], `${why}; pachd ${model.pachdVersion} skips it`, 'nothing: the op is skipped');
      else model.report('PACH_UNKNOWN_OP', [], why, 'unrecognized op type');
      return;
    }
    if (!this.started) {
      this.started = true;
      if (this.modelRef) this.modelRef.useStream(env.version);
      else this.modelRef = new ClusterModel({ ...this.opts, streamVersion: env.version });
      if (this.modelRef.tooNew) {
        this.modelRef.at({ record: rec.index, kind: env.kind });
        this.modelRef.report('PACH_STREAM_TOO_NEW', [], `pachd ${this.modelRef.pachdVersion} cannot read ${env.version} ops; convert the stream first (pach-convert --to-version ${this.modelRef.pachdVersion})`, `unrecognized stream version: ${env.version}`);
      }
    }
    const model = this.modelRef!;
    const kind = env.kind;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (model.tooNew) return;
    model.at({ record: rec.index, kind });
    let body: Msg;
    try {
      const type = typeOf(env.version, kind);
      // A Buffer view (no copy) lets protobufjs read strings with Node's native UTF-8 decoder.
      const b = rec.bytes;
      body = type.decode(Buffer.from(b.buffer, b.byteOffset + env.payloadStart, env.payloadEnd - env.payloadStart)) as unknown as Msg;
      // Ops whose enums the model reports by name (job state, ACL scopes, roles).
      if (NAMED_ENUMS.has(kind)) body = type.toObject(body as protobuf.Message, { enums: String, longs: Number });
    } catch (err) {
      model.report('PACH_BAD_OP', [], `${kind} op does not decode as op${env.version.replace('.', '_')}: ${(err as Error).message}`, 'unexpected EOF / proto: illegal wireType');
      return;
    }
    this.lastBody = body;
    if (this.group && kind !== this.group.kind) {
      model.report('PACH_OBJECT_GROUP', [], `a ${kind} op inside the ${this.group.kind} that began at record ${this.group.record}`, `expected ${this.group.kind === 'object' ? 'an object' : 'a block'}, but got: ${kind}`);
      this.group = null;
    }
    switch (kind) {
      case 'object':
        return this.objectOp(body, rec.index);
      case 'block':
        return this.blockOp(body, rec.index);
      case 'repo':
        return model.applyRepo(body);
      case 'commit':
        return model.applyCommit(body);
      case 'branch':
        return model.applyBranch(body);
      case 'pipeline':
        return model.applyPipeline(body);
      case 'job':
        return model.applyJob(body);
      case 'tag':
        return model.applyTag(body);
      case 'create_object':
        return model.applyCreateObject(body);
      case 'activate_enterprise':
        return model.applyActivateEnterprise(body);
      case 'activate_auth':
        return model.applyActivateAuth();
      case 'restore_auth_token':
        return model.applyRestoreAuthToken(body);
      case 'set_cluster_role_binding':
        return model.applyRoleBinding(body);
      case 'set_auth_config':
        return model.applyAuthConfig(body);
      case 'set_acl':
        return model.applyAcl(body);
      case 'check_auth_token':
        this.needsToken = true;
        return;
      default:
        model.report('PACH_UNKNOWN_OP', [], `op kind ${kind} has no meaning to pachd's restore`, `unrecognized ${env.version} op type`);
    }
  }

  /**
   * ≤ 1.8 objects: data ops then one empty op. A lone empty op would be a
   * zero-length object, which pachd's reader merges into the next object.
   */
  private objectOp(body: Msg, index: number): void {
    const value: Uint8Array = body.value ?? new Uint8Array(0);
    const g = this.group;
    if (value.length > 0) {
      if (!g) this.group = { kind: 'object', hash: createHash('sha512').update(value), block: '', bytes: value.length, record: index };
      else {
        g.hash!.update(value);
        g.bytes += value.length;
      }
      return;
    }
    if (!g) {
      this.model.report('PACH_EMPTY_OBJECT', [], 'an empty object op outside an object: a zero-length object, which pachd reads together with the next object (it is lost)', 'the zero-length object is merged into the next one');
      this.group = { kind: 'object', hash: createHash('sha512'), block: '', bytes: 0, record: index };
      return;
    }
    const hash = g.hash!.digest('hex');
    this.model.addObject(hash, g.bytes);
    this.lastGroup = `object ${hash}`;
    this.group = null;
  }

  /** 1.9+ blocks: a first op with data names the block; the op with no value ends it (alone, it is an empty block). */
  private blockOp(body: Msg, index: number): void {
    const value: Uint8Array = body.value ?? new Uint8Array(0);
    const hash: string = body.block?.hash ?? '';
    const g = this.group;
    if (!g) {
      if (value.length === 0) {
        this.model.addBlock(hash, 0);
        this.lastGroup = `block ${hash}`;
      }
      else this.group = { kind: 'block', hash: null, block: hash, bytes: value.length, record: index };
      return;
    }
    g.bytes += value.length;
    if (value.length === 0) {
      this.model.addBlock(g.block, g.bytes);
      this.lastGroup = `block ${g.block}`;
      this.group = null;
    }
  }

  /** A Restore call ended inside an object or block group: pachd never stores that object (a sandbox's next call starts clean). */
  dropGroup(): void {
    this.group = null;
  }

  /**
   * The end of the stream: an unfinished group, and the checks that need everything. A stream
   * that was cut (`truncated`) is reported as such by its reader; its last group is not
   * reported again.
   */
  end(truncated = false): ClusterModel {
    const model = this.model;
    if (this.group && !truncated) {
      model.at({ record: this.group.record, kind: this.group.kind });
      model.report('PACH_OBJECT_GROUP', [], `the ${this.group.kind} that begins at record ${this.group.record} never ends (no empty closing op before the end of the stream)`, 'unexpected EOF');
    }
    this.group = null;
    model.finish();
    return model;
  }
}

