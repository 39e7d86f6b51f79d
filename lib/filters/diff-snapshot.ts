/**
 * One side of `pach-filter --diff`: a stream read into what a diff compares,
 * keyed the way pachd names things (repo, repo@branch, repo@commit,
 * pipeline, …). Bodies are decoded under the stream's op version into proto3
 * JSON with their secrets masked, and kept as JSON text (a few hundred bytes
 * a commit); object and block bytes are hashed on the way past and
 * forgotten, so memory grows with metadata only.
 *
 * Repos and branches are what a restore of the stream holds, as
 * `pach-filter --list` shows them: the ones the stream's ops name, plus the
 * ones pachd makes (a pipeline's output repo, output, stats and spec
 * branches, the branches its inputs and branch provenance name, the spec
 * repo from 1.9), worked out from the ops alone, with no validation.
 * Repeated ops count as pachd's restore takes them: the first repo,
 * pipeline and commit of a name, the last branch, ACL, role binding and tag.
 */
import { createHash, type Hash } from 'node:crypto';
import type protobuf from 'protobufjs';
import { envelopeOf, type RecordStream } from '../codec/record.js';
import { bodyToJson } from '../codec/json.js';
import { checkActivationCode } from '../replay/model.js';
import { typeOf } from '../replay/replay.js';
import type { OpVersion } from '../schema/registry.js';
import { decodeBody } from './graph.js';
import { maskSecrets } from './diff-values.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

/** Who makes a repo or branch in a restore of the stream. */
export type MadeBy = 'repo op' | 'branch op' | 'commit op' | 'pipeline' | 'pachd';

export interface RepoFacts {
  made_by: MadeBy;
  description: string;
  /** The repo op's other fields (`update`, …) as JSON text, when there is a repo op. */
  rest: string | null;
}

export interface BranchFacts {
  made_by: MadeBy;
  /** Head commit id, or null for a headless branch. */
  head: string | null;
  /** Direct provenance, `repo@branch`, sorted. */
  provenance: string[];
  /** The branch op's other fields (`trigger`, …) as JSON text, when there is a branch op. */
  rest: string | null;
}

export interface BlockFacts {
  bytes: number;
  /** SHA-256 of the block's content: a block is named by its first op, not by what it holds. */
  digest: string;
}

export interface AuthFacts {
  check_auth_token: boolean;
  /** Masked bodies as JSON text; null when the stream has no such op. */
  activate_enterprise: string | null;
  activate_auth: string | null;
  auth_config: string | null;
  /** Robot tokens by subject, each masked token as JSON text, in stream order. */
  tokens: Map<string, string[]>;
  /** Cluster role bindings: principal → roles. */
  role_bindings: Map<string, string[]>;
  /** ACLs: repo → username → scope. */
  acls: Map<string, Map<string, string>>;
}

export interface Snapshot {
  /** The op version the bodies were decoded in (after any conversion), null for a stream without records. */
  version: OpVersion | null;
  repos: Map<string, RepoFacts>;
  branches: Map<string, BranchFacts>;
  /** `repo@id` → masked body as JSON text (provenance as sorted `repo@id (repo@branch)` strings). */
  commits: Map<string, string>;
  pipelines: Map<string, string>;
  /** `pipeline@output-commit-id` → masked body as JSON text. */
  jobs: Map<string, string>;
  /** ≤ 1.8 objects: SHA-512 of the content (pachd's name for it) → bytes. */
  objects: Map<string, number>;
  blocks: Map<string, BlockFacts>;
  /** create_object: object hash → its block_ref as JSON text. */
  objectIndex: Map<string, string>;
  /** tag name → object hash. */
  tags: Map<string, string>;
  auth: AuthFacts;
}

/** Byte totals of a snapshot's objects and blocks. */
export function dataTotals(s: Snapshot): { objects: number; object_bytes: number; blocks: number; block_bytes: number } {
  let objectBytes = 0;
  let blockBytes = 0;
  for (const n of s.objects.values()) objectBytes += n;
  for (const b of s.blocks.values()) blockBytes += b.bytes;
  return { objects: s.objects.size, object_bytes: objectBytes, blocks: s.blocks.size, block_bytes: blockBytes };
}

interface PipelineShape {
  name: string;
  outputBranch: string;
  stats: boolean;
  spout: boolean;
  /** Input branches as [repo, branch]; cron and git inputs make their repo. */
  inputs: Array<[string, string]>;
  madeRepos: string[];
}

function pipelineShape(body: Body): PipelineShape {
  const name: string = body.pipeline?.name ?? '';
  const shape: PipelineShape = { name, outputBranch: body.output_branch || 'master', stats: !!body.enable_stats, spout: !!body.spout, inputs: [], madeRepos: [] };
  const walk = (input: Body | undefined): void => {
    if (!input) return;
    for (const k of ['pfs', 'atom']) {
      const i = input[k];
      if (i) shape.inputs.push([i.repo ?? '', i.branch || 'master']);
    }
    if (input.cron) {
      const repo = input.cron.repo || `${name}_${input.cron.name ?? ''}`;
      shape.madeRepos.push(repo);
      shape.inputs.push([repo, 'master']);
    }
    if (input.git) {
      shape.madeRepos.push(input.git.name ?? '');
      shape.inputs.push([input.git.name ?? '', input.git.branch || 'master']);
    }
    for (const group of ['cross', 'union', 'join', 'group']) for (const i of (input[group] ?? []) as Body[]) walk(i);
  };
  walk(body.input);
  return shape;
}

/** An object (≤ 1.8) or block (1.9+) being read: data ops, then the empty op that ends it. */
interface Group {
  kind: 'object' | 'block';
  hash: Hash;
  block: string;
  bytes: number;
  tags: string[];
  record: number;
}

/** Builds a Snapshot op by op; `finish` adds what pachd makes and returns it. */
export class SnapshotBuilder {
  private readonly s: Snapshot = {
    version: null,
    repos: new Map(),
    branches: new Map(),
    commits: new Map(),
    pipelines: new Map(),
    jobs: new Map(),
    objects: new Map(),
    blocks: new Map(),
    objectIndex: new Map(),
    tags: new Map(),
    auth: { check_auth_token: false, activate_enterprise: null, activate_auth: null, auth_config: null, tokens: new Map(), role_bindings: new Map(), acls: new Map() },
  };
  private group: Group | null = null;
  private readonly shapes: PipelineShape[] = [];
  /** Branches named by branch-op provenance (pachd upserts them). */
  private readonly named = new Set<string>();
  /** Branch heads set by commit ops (1.7/1.8 `branch` field), for branches without a branch op. */
  private readonly commitHeads = new Map<string, string>();
  private readonly jobsWithoutCommit = new Map<string, number>();

  /** `warn`: things about the stream worth a line on stderr (an object that never ends). */
  constructor(private readonly warn: (message: string) => void = () => {}) {}

  /** Reads every record of `records` (one op version, as the reader enforces). */
  async read(records: RecordStream): Promise<void> {
    for await (const batch of records) {
      for (const rec of batch) {
        const env = envelopeOf(rec);
        this.s.version ??= env.version;
        const msg = decodeBody(rec, env) as protobuf.Message;
        if (env.kind === 'object' || env.kind === 'block') {
          this.data(env.kind, msg as unknown as Body, rec.index);
          continue;
        }
        if (this.group) this.dropGroup(`a ${env.kind} op at record ${rec.index}`);
        const body = bodyToJson(typeOf(env.version, env.kind), msg) as Body;
        // The code's expiry is not a secret (--list shows it): compared in the open, the code by digest.
        if (env.kind === 'activate_enterprise') {
          const expiry = checkActivationCode(String(body.activation_code ?? ''), 0).expiry;
          if (expiry) body.code_expires = expiry;
        }
        this.apply(env.kind, maskSecrets(body));
      }
    }
  }

  /** Object and block ops: a first op with data starts a group, the op with no data ends it. */
  private data(kind: 'object' | 'block', body: Body, index: number): void {
    const value: Uint8Array = body.value ?? new Uint8Array(0);
    if (this.group && this.group.kind !== kind) this.dropGroup(`a ${kind} op at record ${index}`);
    let g = this.group;
    if (!g) {
      g = this.group = { kind, hash: createHash(kind === 'object' ? 'sha512' : 'sha256'), block: body.block?.hash ?? '', bytes: 0, tags: [], record: index };
    }
    for (const t of (body.tags ?? []) as Body[]) if (t.name) g.tags.push(String(t.name));
    if (value.length) {
      g.hash.update(value);
      g.bytes += value.length;
      return;
    }
    const digest = g.hash.digest('hex');
    if (kind === 'object') {
      this.s.objects.set(digest, g.bytes);
      for (const t of g.tags) this.s.tags.set(t, digest);
    } else {
      this.s.blocks.set(g.block, { bytes: g.bytes, digest });
    }
    this.group = null;
  }

  private dropGroup(why: string): void {
    const g = this.group!;
    this.warn(`the ${g.kind} that begins at record ${g.record} never ends (${why} comes first): it is left out of the comparison`);
    this.group = null;
  }

  private apply(kind: string, body: Body): void {
    const s = this.s;
    switch (kind) {
      case 'repo': {
        const name: string = body.repo?.name ?? '';
        if (s.repos.has(name)) return;
        const { repo: _repo, description, ...rest } = body;
        s.repos.set(name, { made_by: 'repo op', description: description ?? '', rest: Object.keys(rest).length ? JSON.stringify(rest) : null });
        return;
      }
      case 'branch': {
        const { head, branch, s_branch, provenance, ...rest } = body;
        const repo: string = branch?.repo?.name ?? head?.repo?.name ?? '';
        const key = `${repo}@${branch ? (branch.name ?? '') : (s_branch ?? '')}`;
        const prov = ((provenance ?? []) as Body[]).map((p) => `${p.repo?.name ?? ''}@${p.name ?? ''}`);
        for (const p of prov) this.named.add(p);
        const before = s.branches.get(key);
        s.branches.set(key, {
          made_by: 'branch op',
          head: head?.id || before?.head || null,
          provenance: prov.length ? prov.sort() : (before?.provenance ?? []),
          rest: Object.keys(rest).length ? JSON.stringify(rest) : null,
        });
        return;
      }
      case 'commit': {
        const repo: string = body.parent?.repo?.name ?? '';
        const id: string = body.ID ?? '';
        const key = `${repo}@${id}`;
        if (s.commits.has(key)) return;
        if (body.provenance) {
          body.provenance = (body.provenance as Body[])
            .map((p) => {
              const c = p.commit ?? p;
              return `${c.repo?.name ?? ''}@${c.id ?? ''}${p.branch ? ` (${p.branch.repo?.name ?? ''}@${p.branch.name ?? ''})` : ''}`;
            })
            .sort();
        }
        if (body.branch) this.commitHeads.set(`${repo}@${body.branch}`, id);
        s.commits.set(key, JSON.stringify(body));
        return;
      }
      case 'pipeline': {
        const name: string = body.pipeline?.name ?? '';
        if (s.pipelines.has(name)) return;
        s.pipelines.set(name, JSON.stringify(body));
        this.shapes.push(pipelineShape(body));
        return;
      }
      case 'job': {
        const pipeline: string = body.pipeline?.name ?? '';
        let id: string = body.output_commit?.id ?? '';
        if (!id) {
          // A job without an output commit: the n-th such job of its pipeline.
          const n = (this.jobsWithoutCommit.get(pipeline) ?? 0) + 1;
          this.jobsWithoutCommit.set(pipeline, n);
          id = `(no output commit #${n})`;
        }
        s.jobs.set(`${pipeline}@${id}`, JSON.stringify(body));
        return;
      }
      case 'tag':
        for (const t of (body.tags ?? []) as Body[]) s.tags.set(String(t.name ?? ''), body.object?.hash ?? '');
        return;
      case 'create_object':
        s.objectIndex.set(body.object?.hash ?? '', JSON.stringify(body.block_ref ?? {}));
        return;
      case 'activate_enterprise':
        s.auth.activate_enterprise = JSON.stringify(body);
        return;
      case 'activate_auth':
        s.auth.activate_auth = JSON.stringify(body);
        return;
      case 'check_auth_token':
        s.auth.check_auth_token = true;
        return;
      case 'restore_auth_token': {
        const token: Body = body.token ?? {};
        const subject = String(token.token_info?.subject ?? '');
        const list = s.auth.tokens.get(subject) ?? [];
        list.push(JSON.stringify(token));
        s.auth.tokens.set(subject, list);
        return;
      }
      case 'set_cluster_role_binding': {
        const roles = ((body.roles?.roles ?? []) as unknown[]).map(String);
        // No roles removes the binding, as pachd's ModifyClusterRoleBinding does.
        if (roles.length) s.auth.role_bindings.set(String(body.principal ?? ''), roles);
        else s.auth.role_bindings.delete(String(body.principal ?? ''));
        return;
      }
      case 'set_auth_config':
        s.auth.auth_config = JSON.stringify(body);
        return;
      case 'set_acl': {
        const entries = new Map<string, string>();
        for (const e of (body.entries ?? []) as Body[]) entries.set(String(e.username ?? ''), String(e.scope ?? 'NONE'));
        s.auth.acls.set(String(body.repo ?? ''), entries);
        return;
      }
    }
  }

  /** The end of the stream: what pachd makes when it restores the stream's ops. */
  finish(): Snapshot {
    const s = this.s;
    if (this.group) this.dropGroup('the end of the stream');
    const fromSpec = s.version !== null && Number(s.version.split('.')[1]) >= 9;
    const addRepo = (name: string, made_by: MadeBy, description = ''): void => {
      if (!s.repos.has(name)) s.repos.set(name, { made_by, description, rest: null });
    };
    const addBranch = (key: string, made_by: MadeBy, provenance: string[] = []): void => {
      const b = s.branches.get(key);
      if (!b) s.branches.set(key, { made_by, head: this.commitHeads.get(key) ?? null, provenance: [...provenance].sort(), rest: null });
      else if (!b.provenance.length && provenance.length) b.provenance = [...provenance].sort();
    };
    // Branches commit ops move (1.7/1.8), before anything pachd makes; a branch op without a head keeps theirs.
    for (const [key, id] of this.commitHeads) {
      const b = s.branches.get(key);
      if (b) b.head ??= id;
      else addBranch(key, 'commit op');
    }
    if (fromSpec) addRepo('__spec__', 'pachd');
    for (const p of this.shapes) {
      addRepo(p.name, 'pipeline', `Output repo for pipeline ${p.name}.`);
      for (const r of p.madeRepos) addRepo(r, 'pipeline');
      const spec = `__spec__@${p.name}`;
      const inputs = p.inputs.map(([repo, branch]) => `${repo}@${branch}`);
      if (fromSpec) addBranch(spec, 'pachd');
      for (const i of inputs) addBranch(i, 'pachd');
      const output = `${p.name}@${p.outputBranch}`;
      addBranch(output, 'pachd', p.spout ? [] : [...(fromSpec ? [spec] : []), ...inputs]);
      if (p.stats) addBranch(`${p.name}@stats`, 'pachd', [output]);
    }
    for (const key of this.named) addBranch(key, 'pachd');
    // pachd upserts a branch only in a repo that exists: a name in a missing repo is no branch.
    for (const [key, b] of s.branches) if (b.made_by === 'pachd' && !s.repos.has(key.slice(0, key.indexOf('@')))) s.branches.delete(key);
    return s;
  }
}
