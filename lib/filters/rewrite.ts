/**
 * The writing pass of a filter run: each record is kept as it is, dropped,
 * or decoded, changed (renamed, redacted, repaired) and re-encoded. A record
 * nothing changes keeps its bytes. Object and block groups are followed
 * across their ops so a whole group is kept or dropped together.
 */
import protobuf from 'protobufjs';
import { envelopeOf, kindFieldOf, wrappedEnvelope, type OpRecord } from '../codec/record.js';
import { checkMessage } from '../codec/wire-check.js';
import { dataError } from '../errors.js';
import { placeholder, SECRET_FIELDS } from '../replay/redacted.js';
import { typeOf } from '../replay/replay.js';
import { commitKey, decodeBody, SPEC_REPO, type Msg, type StreamGraph } from './graph.js';
import type { ObjectKeep } from './objects.js';
import type { Plan } from './plan.js';

export interface RewriteOptions {
  stripAuth: boolean;
  stripEnterprise: boolean;
  redact: boolean;
}

const AUTH_OPS = new Set(['check_auth_token', 'activate_auth', 'restore_auth_token', 'set_cluster_role_binding', 'set_auth_config', 'set_acl']);
const INPUT_LEAVES = new Set(['PFSInput', 'AtomInput', 'CronInput']);

/** What a run did, per kind and in total, for stderr and --summary. */
export interface RewriteTally {
  dropped: Record<string, number>;
  changed: Record<string, number>;
  redacted: Record<string, number>;
  /** Provenance entries removed because they named dropped commits or branches. */
  provenanceRemoved: number;
  /** Commits that became roots because their parent was dropped. */
  newRoots: number;
}

export class Rewriter {
  readonly tally: RewriteTally = { dropped: {}, changed: {}, redacted: {}, provenanceRemoved: 0, newRoots: 0 };
  private objectOrdinal = 0;
  /** Inside an object or block group: whether it is kept. */
  private group: { kind: string; keep: boolean } | null = null;

  constructor(
    private readonly opts: RewriteOptions,
    private readonly plan: Plan | null,
    private readonly graph: StreamGraph | null,
    private readonly objects: ObjectKeep | null,
  ) {}

  /** The record to write for `rec`, or null to drop it. */
  apply(rec: OpRecord): OpRecord | null {
    const env = envelopeOf(rec);
    const kind = env.kind;
    const out = this.decide(rec, kind);
    if (out === null) this.tally.dropped[kind] = (this.tally.dropped[kind] ?? 0) + 1;
    else if (out !== rec) this.tally.changed[kind] = (this.tally.changed[kind] ?? 0) + 1;
    return out;
  }

  private decide(rec: OpRecord, kind: string): OpRecord | null {
    if (kind === 'object' || kind === 'block') return this.groupOp(rec, kind) ? rec : null;
    if (this.opts.stripAuth && AUTH_OPS.has(kind)) return null;
    if (this.opts.stripEnterprise && kind === 'activate_enterprise') return null;
    const plan = this.plan;
    const objects = this.objects;
    if (kind === 'create_object' || kind === 'tag') {
      // Without an object decision (no pruning, or pruning turned off), data and tags stay.
      if (!objects) return rec;
      if (kind === 'tag' && plan && !plan.keepTags) return null;
      return objects.objects.has(decodeBody(rec).object?.hash ?? '') ? rec : null;
    }
    // Secrets live only in the auth and enterprise ops.
    const redact = this.opts.redact && (AUTH_OPS.has(kind) || kind === 'activate_enterprise');
    const needsBody = plan !== null || redact;
    if (!needsBody || kind === 'check_auth_token') return rec;
    const body = decodeBody(rec);
    let changed = false;
    if (plan) {
      const keep = this.keep(kind, body);
      if (keep === null) return null;
      changed = keep;
      if (plan.repoNames.size || plan.pipelineNames.size) changed = this.rename(typeOf(envelopeOf(rec).version, kind), body) || changed;
    }
    if (redact) changed = this.redact(typeOf(envelopeOf(rec).version, kind), body) || changed;
    return changed ? this.encode(rec, kind, body) : rec;
  }

  /** ≤ 1.8 object ops and 1.9+ block ops: the group's first op decides for the whole group. */
  private groupOp(rec: OpRecord, kind: string): boolean {
    if (!this.objects) return true;
    const body = decodeBody(rec);
    const value: Uint8Array = body.value ?? new Uint8Array(0);
    let g = this.group;
    if (!g) {
      const keep = kind === 'object' ? this.objects.objects.has(this.graph!.objectGroups[this.objectOrdinal] ?? '') : this.objects.blocks.has(body.block?.hash ?? '');
      g = { kind, keep };
      // An empty first op is a whole (empty) block, or ends a zero-length object.
      if (value.length === 0) {
        if (kind === 'object') this.objectOrdinal++;
        return keep;
      }
      this.group = g;
      return keep;
    }
    if (value.length === 0) {
      this.group = null;
      if (kind === 'object') this.objectOrdinal++;
    }
    return g.keep;
  }

  private principalDropped(principal: string): boolean {
    if (!principal.startsWith('pipeline:')) return false;
    const name = principal.slice('pipeline:'.length);
    return this.graph!.pipelines.has(name) && !this.plan!.pipelines.has(name);
  }

  /**
   * Whether a metadata op is kept: null drops it; true keeps it changed (a
   * dropped parent, provenance or head repaired); false keeps it as it is.
   */
  private keep(kind: string, body: Msg): boolean | null {
    const plan = this.plan!;
    const t = this.tally;
    switch (kind) {
      case 'repo':
        return plan.repos.has(body.repo?.name ?? '') ? false : null;
      case 'commit': {
        const repo: string = body.parent?.repo?.name ?? '';
        if (!plan.commits.has(commitKey(repo, body.ID ?? ''))) return null;
        let changed = false;
        if (body.parent?.id && !plan.commits.has(commitKey(repo, body.parent.id))) {
          delete body.parent.id;
          t.newRoots++;
          changed = true;
        }
        const before = (body.provenance ?? []).length;
        if (before) {
          body.provenance = body.provenance.filter((p: Msg) => {
            const c = p.commit ?? p;
            return plan.commits.has(commitKey(c.repo?.name ?? '', c.id ?? ''));
          });
          if (body.provenance.length !== before) {
            t.provenanceRemoved += before - body.provenance.length;
            changed = true;
          }
        }
        return changed;
      }
      case 'branch': {
        const repo: string = body.branch?.repo?.name ?? body.head?.repo?.name ?? '';
        const name: string = body.branch?.name ?? body.s_branch ?? '';
        if (!plan.branches.has(`${repo}@${name}`)) return null;
        let changed = false;
        if (body.head?.id && !plan.commits.has(commitKey(body.head.repo?.name ?? repo, body.head.id))) {
          delete body.head;
          changed = true;
        }
        const before = (body.provenance ?? []).length;
        if (before) {
          body.provenance = body.provenance.filter((b: Msg) => plan.branches.has(`${b.repo?.name ?? ''}@${b.name ?? ''}`));
          if (body.provenance.length !== before) {
            t.provenanceRemoved += before - body.provenance.length;
            changed = true;
          }
        }
        return changed;
      }
      case 'pipeline': {
        const name: string = body.pipeline?.name ?? '';
        if (!plan.pipelines.has(name)) return null;
        if ((plan.clearSpec.has(name) || (body.spec_commit?.id && !plan.commits.has(commitKey(SPEC_REPO, body.spec_commit.id)))) && body.spec_commit) {
          delete body.spec_commit;
          return true;
        }
        return false;
      }
      case 'job': {
        if (!plan.pipelines.has(body.pipeline?.name ?? '')) return null;
        const out = body.output_commit;
        if (out?.id && !plan.commits.has(commitKey(out.repo?.name ?? '', out.id))) return null;
        const stats = body.stats_commit;
        if (stats?.id && !plan.commits.has(commitKey(stats.repo?.name ?? '', stats.id))) {
          delete body.stats_commit;
          return true;
        }
        return false;
      }
      case 'set_acl': {
        if (!plan.repos.has(body.repo ?? '')) return null;
        const before = (body.entries ?? []).length;
        if (!before) return false;
        body.entries = body.entries.filter((e: Msg) => !this.principalDropped(e.username ?? ''));
        return body.entries.length !== before;
      }
      case 'set_cluster_role_binding':
        return this.principalDropped(body.principal ?? '') ? null : false;
      case 'restore_auth_token':
        return this.principalDropped(body.token?.token_info?.subject ?? '') ? null : false;
      default:
        return false;
    }
  }

  /** Renames every reference in a decoded message (walked by its type); true when anything changed. */
  private rename(type: protobuf.Type, msg: Msg): boolean {
    const plan = this.plan!;
    let changed = false;
    const set = (obj: Msg, field: string, to: string | undefined): void => {
      if (to !== undefined && obj[field] !== to) {
        obj[field] = to;
        changed = true;
      }
    };
    const principal = (obj: Msg, field: string): void => {
      const v: string = obj[field] ?? '';
      if (v.startsWith('pipeline:')) {
        const to = plan.pipelineNames.get(v.slice('pipeline:'.length));
        if (to !== undefined) set(obj, field, `pipeline:${to}`);
      }
    };
    walk(type, msg, (t, m) => {
      switch (t.name) {
        case 'Repo':
          if (m.name) set(m, 'name', plan.repoNames.get(m.name));
          break;
        case 'Pipeline':
          if (m.name) set(m, 'name', plan.pipelineNames.get(m.name));
          break;
        case 'Branch':
          if (m.repo?.name === SPEC_REPO && m.name) set(m, 'name', plan.pipelineNames.get(m.name));
          break;
        case 'SetACLRequest':
          if (m.repo) set(m, 'repo', plan.repoNames.get(m.repo));
          break;
        case 'ACLEntry':
          principal(m, 'username');
          break;
        case 'ModifyClusterRoleBindingRequest':
          principal(m, 'principal');
          break;
        case 'TokenInfo':
          principal(m, 'subject');
          break;
        default:
          if (INPUT_LEAVES.has(t.name) && m.repo) set(m, 'repo', plan.repoNames.get(m.repo));
      }
    });
    return changed;
  }

  /** Replaces every secret string by its placeholder; true when anything changed. */
  private redact(type: protobuf.Type, msg: Msg): boolean {
    let changed = false;
    walk(type, msg, (t, m) => {
      for (const f of t.fieldsArray) {
        if (f.type !== 'string' || f.repeated || !SECRET_FIELDS.has(f.name)) continue;
        const v = m[f.name];
        if (typeof v !== 'string' || v === '') continue;
        const n = (this.tally.redacted[f.name] = (this.tally.redacted[f.name] ?? 0) + 1);
        m[f.name] = placeholder(f.name, n);
        changed = true;
      }
    });
    return changed;
  }

  /** Re-encodes a changed payload inside its envelope. A payload with fields the schema does not know cannot be rewritten without losing them. */
  private encode(rec: OpRecord, kind: string, body: Msg): OpRecord {
    const env = envelopeOf(rec);
    const type = typeOf(env.version, kind);
    const unknown = checkMessage(type, rec.bytes, env.payloadStart, env.payloadEnd);
    if (unknown.length) {
      throw dataError('PACH_UNKNOWN_FIELD', `${kind} op has ${unknown.map((u) => `${u.path} field #${u.field}`).join(', ')}, which the schema does not know; rewriting it would lose them (filter it unchanged, or convert it first)`, { record: rec.index });
    }
    const w = protobuf.Writer.create();
    w.uint32(env.slotField * 8 + 2).fork().uint32(kindFieldOf(kind) * 8 + 2).fork();
    const payloadAt = w.len;
    type.encode(body, w);
    const length = w.len - payloadAt;
    w.ldelim().ldelim();
    const bytes = w.finish();
    return { bytes, index: rec.index, offset: rec.offset, env: wrappedEnvelope(bytes, env.slotField, kind, length) };
  }
}

/** Calls `visit` on a decoded message and every message inside it, depth first, parents first. */
function walk(type: protobuf.Type, msg: Msg, visit: (type: protobuf.Type, msg: Msg) => void): void {
  if (!msg) return;
  visit(type, msg);
  for (const f of type.fieldsArray) {
    const child = f.resolvedType;
    if (!(child instanceof protobuf.Type)) continue;
    const v = msg[f.name];
    if (v === null || v === undefined) continue;
    if (f.map) for (const item of Object.values(v)) walk(child, item, visit);
    else if (f.repeated) for (const item of v as Msg[]) walk(child, item, visit);
    else walk(child, v, visit);
  }
}
