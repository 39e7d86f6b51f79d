/**
 * The state behind pachd-sandbox: a replay model (lib/replay) that decides,
 * op by op, what a pachd of the chosen release accepts, and a record store
 * that keeps every accepted op so Extract can give it back.
 *
 * Every accepted record is appended, in the order it was applied, to a log
 * file in raw framing (8-byte length, then the admin.Op): that file is the
 * `--state` a restarted sandbox reloads, and any pach-* tool reads it. Object
 * and block data stay in the log and are read back by offset; metadata ops
 * are also kept in memory, by name, for Extract's order.
 *
 * Extract gives back the bytes that were restored wherever the cluster still
 * holds what they say. What pachd would have made itself (output repos and
 * branches, the commits its pipelines would produce) is written as a pachd of
 * that release would extract it (docs/pachd-sandbox.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LengthPrefixedSplitter } from '../codec/raw.js';
import { envelopeOf, wrapPayload, type OpRecord, type RecordBatch } from '../codec/record.js';
import { SYNTHETIC, FINISHED } from '../replay/commit-table.js';
import { SPEC_REPO, type ClusterModel, type Msg } from '../replay/model.js';
import { severityOf, type Problem } from '../replay/problems.js';
import { Replayer } from '../replay/replay.js';
import { OP_VERSIONS, payloadType, slotByVersion, type OpVersion } from '../schema/registry.js';

/** The release a sandbox of each op version answers GetVersion with: the last of that line (1.11.0: 1.11.1+ writes 1.12 ops). */
const PACHD_RELEASES: Record<OpVersion, [number, number, number]> = {
  '1.7': [1, 7, 14],
  '1.8': [1, 8, 8],
  '1.9': [1, 9, 12],
  '1.10': [1, 10, 5],
  '1.11': [1, 11, 0],
  '1.12': [1, 12, 5],
  '1.13': [1, 13, 4],
};

function minorOf(version: OpVersion): number {
  return Number(version.split('.')[1]);
}

/** An op pachd refused: the text it answers with, and the problem behind it. */
export class Refusal extends Error {
  constructor(
    message: string,
    readonly problem?: Problem,
    readonly kind: 'op' | 'auth' | 'version' = 'op',
  ) {
    super(message);
  }
}

export interface ClusterOptions {
  version: OpVersion;
  /** Seconds since the epoch the cluster's clock reads (expirations); default: the real clock. */
  now?: number;
  /** The log file to keep (`--state`); a temporary one otherwise. */
  statePath?: string;
}

/** The auth service: tokens by SHA-256 (as pachd keeps them) and who they are. */
interface AuthTokens {
  /** sha256 hex of a token → subject. */
  subjects: Map<string, string>;
}

type Stored = Buffer;

/** The state-file sidecar: who this cluster is across restarts. */
interface StateMeta {
  cluster_id: string;
  deployment_id: string;
  version: OpVersion;
}

export class SandboxCluster {
  readonly version: OpVersion;
  readonly minor: number;
  readonly clusterId: string;
  readonly deploymentId: string;
  private readonly replayer: Replayer;
  private readonly log: RecordLog;

  /** Data records (object and block ops), as [offset, length] pairs into the log. */
  private data: number[] = [];
  /** Where the object or block group being stored starts in `data`, while one is open. */
  private groupStart: number | null = null;
  /** Objects and blocks stored, by hash: pachd keeps one of each, so a group sent again is not stored twice. */
  private readonly dataHashes = new Set<string>();
  private readonly createObjects = new Map<string, Stored>();
  private readonly tags = new Map<string, Stored>();
  private readonly repoOps = new Map<string, Stored>();
  private readonly commitOps = new Map<string, Stored>();
  private readonly branchOps = new Map<string, Stored>();
  private readonly pipelineOps = new Map<string, Stored>();
  private readonly jobOps = new Map<string, Stored[]>();
  private enterpriseOp: Stored | undefined;
  private activateAuthOp: Stored | undefined;
  private readonly tokenOps: Stored[] = [];
  private readonly roleBindingOps = new Map<string, Stored>();
  private authConfigOp: Stored | undefined;
  private readonly aclOps = new Map<string, Stored>();
  private readonly tokens: AuthTokens = { subjects: new Map() };
  /** Records applied since the cluster started (loads included). */
  applied = 0;

  constructor(opts: ClusterOptions) {
    this.version = opts.version;
    this.minor = minorOf(opts.version);
    this.replayer = new Replayer({ pachdVersion: opts.version, now: opts.now }, opts.version);
    const meta = opts.statePath ? readMeta(opts.statePath) : undefined;
    if (meta && meta.version !== opts.version) {
      throw new Refusal(`${opts.statePath} holds a pachd ${meta.version} cluster, not ${opts.version}`, undefined, 'version');
    }
    this.clusterId = meta?.cluster_id ?? randomBytes(16).toString('hex');
    this.deploymentId = meta?.deployment_id ?? randomBytes(4).toString('hex');
    this.log = new RecordLog(opts.statePath);
    if (opts.statePath) writeMeta(opts.statePath, { cluster_id: this.clusterId, deployment_id: this.deploymentId, version: this.version });
    if (opts.statePath && this.log.size > 0) {
      this.reload(opts.statePath);
      this.endCall();
    }
    for (const hash of meta?.root ?? []) this.tokens.subjects.set(hash, 'pach:root');
  }

  get model(): ClusterModel {
    return this.replayer.model;
  }

  get release(): string {
    return PACHD_RELEASES[this.version].join('.');
  }

  /**
   * Replays the state file of an earlier run, in chunks (memory stays flat), without appending
   * what is already there; a cut last record (a crash mid-write) is cut off the file.
   */
  private reload(file: string): void {
    const splitter = new LengthPrefixedSplitter();
    const fd = fs.openSync(file, 'r');
    let whole = 0;
    try {
      for (;;) {
        // A fresh chunk each time: the splitter may hold on to the end of the last one.
        const chunk = Buffer.allocUnsafe(8 << 20);
        const n = fs.readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        const batch: RecordBatch = [];
        splitter.push(chunk.subarray(0, n), batch);
        for (const rec of batch) {
          this.apply(rec, null, rec.offset + 8);
          whole = rec.offset + 8 + rec.bytes.length;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    this.log.truncate(whole);
  }

  // ------------------------------------------------------------------ auth

  get authActive(): boolean {
    return this.model.auth.active;
  }

  /** Who a token is (undefined: not a token this cluster knows). */
  subjectOf(token: string | undefined): string | undefined {
    if (!token) return undefined;
    return this.tokens.subjects.get(sha256(token));
  }

  isAdmin(subject: string | undefined): boolean {
    if (!subject) return false;
    return (this.model.auth.roleBindings.get(subject) ?? []).includes('SUPER');
  }

  // ------------------------------------------------------------------ restore

  /**
   * Applies one record of the cluster's own op version; throws a Refusal when
   * pachd would. `token`: the caller's token (null when replaying the state file).
   */
  apply(rec: OpRecord, token: string | null | undefined, at?: number, owned = false): void {
    const env = envelopeOf(rec);
    if (env.version !== this.version) throw new Refusal(`cannot apply a ${env.version} op to a ${this.version} cluster`, undefined, 'version');
    const kind = env.kind;
    if (token !== null && (kind === 'check_auth_token' || kind === 'activate_auth') && !token) {
      throw new Refusal('failed to get auth token from incoming context: no authentication token (try logging in)', undefined, 'auth');
    }
    const model = this.model;
    const before = model.problems.length;
    this.replayer.apply(rec);
    const fresh = model.problems.slice(before);
    const refused = fresh.find((p) => severityOf(p.code) === 'error');
    if (refused) {
      model.problems.length = before;
      throw new Refusal(refused.pachd ?? refused.message, refused);
    }
    // Records from a Restore call are their own buffers; others (a --load chunk, the ladder's arena) are copied.
    const bytes = owned && rec.bytes instanceof Buffer ? rec.bytes : Buffer.from(rec.bytes);
    // `at`: replaying the log itself, whose records are already where they are.
    const offset = at ?? this.log.append(bytes);
    this.applied++;
    this.store(kind, bytes, offset, token);
  }

  private decode(kind: string, bytes: Buffer): Msg {
    const env = envelopeOf({ bytes, index: 0, offset: -1 });
    return payloadType(this.version, kind)!.decode(bytes.subarray(env.payloadStart, env.payloadEnd)) as unknown as Msg;
  }

  /** Keeps an applied op for Extract, by what names it; the body is the one the replay just decoded. */
  private store(kind: string, bytes: Buffer, at: number, token: string | null | undefined): void {
    if (kind === 'check_auth_token') return;
    const op = this.replayer.lastBody ?? {};
    switch (kind) {
      case 'object':
      case 'block':
        return this.storeData(at, bytes.length);
      case 'create_object':
        this.createObjects.set(op.object?.hash ?? '', bytes);
        return;
      case 'tag':
        this.tags.set(JSON.stringify([op.object?.hash ?? '', op.tags?.map((t: Msg) => t.name) ?? []]), bytes);
        return;
      case 'repo': {
        const name = op.repo?.name ?? '';
        if (!this.repoOps.has(name)) this.repoOps.set(name, bytes);
        return;
      }
      case 'commit': {
        const repo = op.parent?.repo?.name ?? '';
        if (op.ID) this.commitOps.set(`${repo}@${op.ID}`, bytes);
        return;
      }
      case 'branch': {
        const repo = op.branch?.repo?.name ?? op.head?.repo?.name ?? '';
        const name = op.branch?.name ?? op.s_branch ?? '';
        this.branchOps.set(`${repo}@${name}`, bytes);
        return;
      }
      case 'pipeline': {
        const name = op.pipeline?.name ?? '';
        if (!this.pipelineOps.has(name)) this.pipelineOps.set(name, bytes);
        return;
      }
      case 'job': {
        const name = op.pipeline?.name ?? '';
        const list = this.jobOps.get(name) ?? [];
        list.push(bytes);
        this.jobOps.set(name, list);
        return;
      }
      case 'activate_enterprise':
        this.enterpriseOp = bytes;
        return;
      case 'activate_auth':
        this.activateAuthOp = bytes;
        // The caller's token becomes the root token (replayed state keeps the earlier one).
        if (token) this.tokens.subjects.set(sha256(token), 'pach:root');
        return;
      case 'restore_auth_token': {
        this.tokenOps.push(bytes);
        const hash: string = op.token?.hashed_token ?? '';
        if (hash) this.tokens.subjects.set(hash, op.token?.token_info?.subject ?? '');
        return;
      }
      case 'set_cluster_role_binding':
        this.roleBindingOps.set(op.principal ?? '', bytes);
        return;
      case 'set_auth_config':
        this.authConfigOp = bytes;
        return;
      case 'set_acl':
        this.aclOps.set(op.repo ?? '', bytes);
        return;
    }
  }

  /** A Restore call ended: an object or block it left unfinished is not stored (pachd's PutBlock never completed). */
  endCall(): void {
    const start = this.groupStart;
    if (start !== null && this.data.length > start) {
      // Its ops are the last in the log: cut them off, so a reload does not see half an object.
      this.log.flush();
      this.log.truncate(this.data[start]! - 8);
      this.data.length = start;
    }
    this.groupStart = null;
    this.replayer.dropGroup();
  }

  /**
   * Object groups (≤ 1.8: data ops, then an empty one) and block groups (1.9+: an empty op ends
   * the group or is an empty block). The replay names a group when it completes (the SHA-512 of
   * an object's data, a block's hash); one already stored is not kept twice.
   */
  private storeData(at: number, length: number): void {
    this.groupStart ??= this.data.length;
    this.data.push(at, length);
    const name = this.replayer.lastGroup;
    if (!name) return;
    const start = this.groupStart;
    this.groupStart = null;
    if (this.dataHashes.has(name)) this.data.length = start;
    else this.dataHashes.add(name);
  }

  /** The root token is not in any op: a persistent sandbox keeps its hash in the state's sidecar. */
  private rootHashes(): string[] {
    return [...this.tokens.subjects].filter(([, s]) => s === 'pach:root').map(([h]) => h);
  }

  /** Makes the log durable (end of a Restore call, shutdown). */
  flush(): void {
    this.log.flush();
    if (this.log.persistent) writeMeta(this.log.path, { cluster_id: this.clusterId, deployment_id: this.deploymentId, version: this.version }, this.rootHashes());
  }

  close(): void {
    this.flush();
    this.log.close();
  }

  // ------------------------------------------------------------------ extract

  /**
   * The cluster as pachd of this release extracts it (SEMANTICS.md §2): one
   * admin.Op per item, in its order.
   */
  async *extract(flags: ExtractFlags): AsyncGenerator<Buffer> {
    this.log.flush();
    const m = this.model;
    const old = this.minor <= 8;
    const noAuth = flags.no_auth || !m.auth.active || old;
    if (!noAuth) yield this.wrap('check_auth_token', {});
    if (!flags.no_objects) {
      yield* this.log.read(this.data);
      yield* this.createObjects.values();
      yield* this.tags.values();
    }
    if (old) {
      if (flags.no_repos) return;
      const inputs = [...m.repos.values()].filter((r) => this.repoOps.has(r.name) && ![...r.branches.values()].some((b) => m.branches[b]!.provenance.length > 0));
      for (const r of inputs) yield this.repoOps.get(r.name)!;
      if (!flags.no_pipelines) yield* this.pipelineOps.values();
      for (const r of inputs) {
        const repo = r.name;
        for (let c = 0; c < m.commits.size; c++) {
          if (m.repoName(m.commits.repoOf(c)) !== repo) continue;
          const op = this.commitOps.get(`${repo}@${m.commits.id(c)}`);
          if (op) yield op;
        }
        yield* this.branches(repo);
      }
      return;
    }
    if (!flags.no_repos) {
      const repos = [...m.repos.values()];
      const spec = repos.findIndex((r) => r.name === SPEC_REPO);
      if (spec > 0) repos.unshift(...repos.splice(spec, 1));
      for (const r of repos) yield this.repoOps.get(r.name) ?? this.wrap('repo', { repo: { name: r.name }, description: r.description });
      for (let c = 0; c < m.commits.size; c++) yield this.commitOps.get(`${m.repoName(m.commits.repoOf(c))}@${m.commits.id(c)}`) ?? this.commitOp(c);
      yield* this.branches();
    }
    if (!flags.no_pipelines) {
      for (const [name, op] of this.pipelineOps) {
        yield this.withSpecCommit(name, op);
        yield* this.jobOps.get(name) ?? [];
      }
    }
    if (this.minor >= 11 && !flags.no_enterprise && this.enterpriseOp) yield this.enterpriseOp;
    if (!noAuth) {
      if (this.activateAuthOp) yield this.activateAuthOp;
      yield* this.tokenOps;
      yield* this.roleBindingOps.values();
      if (this.authConfigOp) yield this.authConfigOp;
      if (!flags.no_repos) yield* this.aclOps.values();
    }
  }

  /**
   * Branches in the order they came: the restored branch ops first (a branch moved later keeps
   * its op), then the branches pachd made itself, as it would extract them.
   */
  private *branches(repo?: string): Generator<Buffer> {
    for (const [key, op] of this.branchOps) if (repo === undefined || key.startsWith(`${repo}@`)) yield op;
    for (const b of this.model.branches) {
      if (b.madeBy !== 'provenance' && (repo === undefined || b.repo === repo) && !this.branchOps.has(`${b.repo}@${b.name}`)) yield this.branchOp(b.id);
    }
  }

  /**
   * pachd 1.9+ extracts a pipeline with its spec commit. A pipeline restored without one (from
   * a 1.7 or 1.8 dump) got a spec commit made by pachd; its op is written with that commit.
   */
  private withSpecCommit(name: string, op: Buffer): Buffer {
    if (this.minor < 9) return op;
    const body = this.decode('pipeline', op);
    if (body.spec_commit?.id) return op;
    const m = this.model;
    const head = m.branches[m.branchId(SPEC_REPO, name)]?.head ?? -1;
    if (head < 0) return op;
    body.spec_commit = this.commitRef(head);
    return this.wrap('pipeline', body);
  }

  /** ExtractPipeline: the pipeline's op without its spec commit (SEMANTICS.md §2.5). */
  pipelineOp(name: string): Buffer | undefined {
    const stored = this.pipelineOps.get(name);
    if (!stored) return undefined;
    const op = this.decode('pipeline', stored);
    delete op.spec_commit;
    return this.wrap('pipeline', op);
  }

  /** A commit's ID as clients see it: the model's names for commits pachd makes become pachd-like UUIDs. */
  commitId(c: number): string {
    const id = this.model.commits.id(c);
    if (!(this.model.commits.flags(c) & SYNTHETIC)) return id;
    return createHash('sha256').update(`${this.clusterId}/${id}`).digest('hex').slice(0, 32);
  }

  private commitRef(c: number): Msg {
    return { repo: { name: this.model.repoName(this.model.commits.repoOf(c)) }, id: this.commitId(c) };
  }

  private branchRef(b: number): Msg {
    const s = this.model.branches[b]!;
    return { repo: { name: s.repo }, name: s.name };
  }

  /** A commit pachd made, as its extract writes it (finished now if still open). */
  private commitOp(c: number): Buffer {
    const t = this.model.commits;
    const parent = t.parent(c);
    const op: Msg = { parent: parent >= 0 ? this.commitRef(parent) : { repo: { name: this.model.repoName(t.repoOf(c)) } }, ID: this.commitId(c) };
    op.provenance = t.provenance(c).map(([pc, pb]) => ({ commit: this.commitRef(pc), branch: this.branchRef(pb) }));
    if (this.minor >= 10) {
      const finished = t.flags(c) & FINISHED && Number.isFinite(t.finished(c)) ? t.finished(c) : this.model.now;
      const started = Number.isFinite(t.started(c)) ? t.started(c) : finished;
      op.started = timestamp(started);
      op.finished = timestamp(finished);
    }
    if (this.minor >= 11 && t.origin(c)) op.origin = { kind: t.origin(c) };
    return this.wrap('commit', op);
  }

  private branchOp(b: number): Buffer {
    const s = this.model.branches[b]!;
    const op: Msg = { branch: this.branchRef(b), provenance: s.provenance.map((p) => this.branchRef(p)) };
    if (s.head >= 0) op.head = this.commitRef(s.head);
    return this.wrap('branch', op);
  }

  private wrap(kind: string, body: Msg): Buffer {
    const type = payloadType(this.version, kind)!;
    const payload = type.encode(type.fromObject(body)).finish();
    return Buffer.from(wrapPayload(slotByVersion(this.version).field, kind, payload));
  }
}

export interface ExtractFlags {
  no_objects?: boolean;
  no_repos?: boolean;
  no_pipelines?: boolean;
  no_enterprise?: boolean;
  no_auth?: boolean;
}

/** Writes every buffer, in order, without joining them first. */
function writeAll(fd: number, bufs: Buffer[]): void {
  let i = 0;
  while (i < bufs.length) {
    let n = fs.writevSync(fd, bufs.slice(i, i + 1024));
    // A short write: skip what went out, and cut the buffer it stopped in.
    while (n > 0 && i < bufs.length) {
      const b = bufs[i]!;
      if (n >= b.length) {
        n -= b.length;
        i++;
      } else {
        bufs[i] = b.subarray(n);
        n = 0;
      }
    }
  }
}

function timestamp(sec: number): Msg {
  const whole = Math.floor(sec);
  return { seconds: whole, nanos: Math.round((sec - whole) * 1e9) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function metaPath(statePath: string): string {
  return `${statePath}.json`;
}

function readMeta(statePath: string): (StateMeta & { root?: string[] }) | undefined {
  try {
    return JSON.parse(fs.readFileSync(metaPath(statePath), 'utf8')) as StateMeta;
  } catch {
    return undefined;
  }
}

function writeMeta(statePath: string, meta: StateMeta, root: string[] = []): void {
  const tmp = `${metaPath(statePath)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...meta, root }) + '\n');
  fs.renameSync(tmp, metaPath(statePath));
}

/** The append-only raw-framed log of applied records. */
class RecordLog {
  readonly path: string;
  readonly persistent: boolean;
  private fd: number;
  size: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(statePath?: string) {
    this.persistent = !!statePath;
    this.path = statePath ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pachd-sandbox-')), 'log.raw');
    this.fd = fs.openSync(this.path, 'a+');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends a record; returns the offset of its bytes (after the length). */
  append(op: Buffer): number {
    const len = Buffer.allocUnsafe(8);
    len.writeBigInt64LE(BigInt(op.length));
    this.pending.push(len, op);
    this.pendingBytes += 8 + op.length;
    const at = this.size + 8;
    this.size += 8 + op.length;
    if (this.pendingBytes >= 1 << 20) this.flush();
    return at;
  }

  flush(): void {
    if (!this.pending.length) return;
    writeAll(this.fd, this.pending);
    this.pending = [];
    this.pendingBytes = 0;
  }

  truncate(size: number): void {
    if (size < this.size) {
      fs.ftruncateSync(this.fd, size);
      this.size = size;
    }
  }

  /** The records at [offset, length] pairs, read in order. */
  async *read(pairs: number[]): AsyncGenerator<Buffer> {
    const fh = await fs.promises.open(this.path, 'r');
    try {
      for (let i = 0; i < pairs.length; i += 2) {
        const buf = Buffer.allocUnsafe(pairs[i + 1]!);
        await fh.read(buf, 0, buf.length, pairs[i]!);
        yield buf;
      }
    } finally {
      await fh.close();
    }
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
    if (!this.persistent) fs.rmSync(path.dirname(this.path), { recursive: true, force: true });
  }
}

export function parseSandboxVersion(text: string): OpVersion {
  const v = text.replace(/^v/, '');
  const m = /^1\.(\d+)(?:\.(\d+))?$/.exec(v);
  if (m) {
    const minor = `1.${m[1]}`;
    // pachd 1.11.1 and later write 1.12 ops; 1.6 writes 1.7 ops.
    if (minor === '1.11' && m[2] !== undefined && Number(m[2]) >= 1) return '1.12';
    if (minor === '1.6') return '1.7';
    if ((OP_VERSIONS as readonly string[]).includes(minor)) return minor as OpVersion;
  }
  throw new Error(`--version ${text}: pachd-sandbox emulates pachd 1.7 … 1.13`);
}
