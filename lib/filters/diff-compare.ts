/**
 * Compares two Snapshots (diff-snapshot.ts) section by section: what only
 * the old side holds is removed, what only the new side holds is added, and
 * what both hold under the same name but differently is changed, with the
 * changes field by field (diff-values.ts). Every list is sorted by name, so
 * the same two streams always give the same diff.
 */
import { diffValues, type Change } from './diff-values.js';
import type { Snapshot } from './diff-snapshot.js';

/** The sections of a diff, in the order they are reported. */
export const SECTIONS = ['repos', 'branches', 'commits', 'pipelines', 'jobs', 'objects', 'blocks', 'object_index', 'tags', 'auth', 'tokens', 'role_bindings', 'acls'] as const;
export type Section = (typeof SECTIONS)[number];

/** Something only one side holds: its name (as the table shows it) and a few facts about it. */
export interface Entry {
  name: string;
  [fact: string]: unknown;
}

/** Something both sides hold, differently. */
export interface ChangedEntry {
  name: string;
  changes: Change[];
}

export interface Diff {
  /** The two op versions, when they differ (the older side was converted up before comparing). */
  op_version: { old: string | null; new: string | null } | null;
  added: Record<Section, Entry[]>;
  removed: Record<Section, Entry[]>;
  changed: Record<Section, ChangedEntry[]>;
}

/** How many lines of difference: one per entry added, removed or changed, plus the op version. */
export function diffCount(d: Diff): { added: number; removed: number; changed: number } {
  let added = 0;
  let removed = 0;
  let changed = d.op_version ? 1 : 0;
  for (const s of SECTIONS) {
    added += d.added[s].length;
    removed += d.removed[s].length;
    changed += d.changed[s].length;
  }
  return { added, removed, changed };
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function emptySections<T>(): Record<Section, T[]> {
  return Object.fromEntries(SECTIONS.map((s) => [s, []])) as unknown as Record<Section, T[]>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Plain = Record<string, any>;

function parse(text: string | null): Plain | undefined {
  return text === null ? undefined : (JSON.parse(text) as Plain);
}

/** `{made_by, head, …}` without the nulls: a side with no value has nothing there. */
function defined(o: Plain): Plain {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/**
 * The diff from `a` (old) to `b` (new). `versions` are the op versions the
 * two inputs were written in, when a conversion made their snapshots' equal.
 */
export function compareSnapshots(a: Snapshot, b: Snapshot, versions: { old: string | null; new: string | null } = { old: a.version, new: b.version }): Diff {
  const d: Diff = {
    op_version: versions.old !== versions.new && versions.old !== null && versions.new !== null ? versions : null,
    added: emptySections(),
    removed: emptySections(),
    changed: emptySections(),
  };

  /** One section: the names of both maps, in order; `entry` describes one side's value, `changes` compares two. */
  function section<V>(name: Section, old: Map<string, V>, now: Map<string, V>, entry: (key: string, v: V) => Entry, changes: (x: V, y: V) => Change[]): void {
    const keys = [...new Set([...old.keys(), ...now.keys()])].sort(byName);
    for (const k of keys) {
      const x = old.get(k);
      const y = now.get(k);
      if (x === undefined) d.added[name].push(entry(k, y!));
      else if (y === undefined) d.removed[name].push(entry(k, x));
      else {
        const c = changes(x, y);
        if (c.length) d.changed[name].push({ name: k, changes: c });
      }
    }
  }
  const bodies = (x: string, y: string): Change[] => (x === y ? [] : diffValues(JSON.parse(x), JSON.parse(y)));

  section('repos', a.repos, b.repos, (name, r) => ({ name, made_by: r.made_by, description: r.description }), (x, y) =>
    diffValues(defined({ made_by: x.made_by, description: x.description, ...parse(x.rest) }), defined({ made_by: y.made_by, description: y.description, ...parse(y.rest) })),
  );
  section('branches', a.branches, b.branches, (name, br) => ({ name, head: br.head, provenance: br.provenance, made_by: br.made_by }), (x, y) =>
    diffValues(defined({ made_by: x.made_by, head: x.head, provenance: x.provenance, ...parse(x.rest) }), defined({ made_by: y.made_by, head: y.head, provenance: y.provenance, ...parse(y.rest) })),
  );
  section('commits', a.commits, b.commits, (name) => ({ name, repo: name.slice(0, name.indexOf('@')), id: name.slice(name.indexOf('@') + 1) }), bodies);
  section('pipelines', a.pipelines, b.pipelines, (name) => ({ name }), bodies);
  section('jobs', a.jobs, b.jobs, (name, text) => {
    const job = JSON.parse(text) as Plain;
    return { name, pipeline: job.pipeline?.name ?? '', output_commit: job.output_commit?.id ?? null, state: job.state ?? 'JOB_STARTING' };
  }, bodies);
  section('objects', a.objects, b.objects, (name, bytes) => ({ name, bytes }), () => []);
  section('blocks', a.blocks, b.blocks, (name, blk) => ({ name, bytes: blk.bytes }), (x, y) =>
    x.digest === y.digest ? [] : [{ path: 'sha256', old: x.digest, new: y.digest }, ...(x.bytes === y.bytes ? [] : [{ path: 'bytes', old: x.bytes, new: y.bytes }])],
  );
  section('object_index', a.objectIndex, b.objectIndex, (name, ref) => ({ name, block: (JSON.parse(ref) as Plain).block?.hash ?? null }), (x, y) =>
    x === y ? [] : diffValues(JSON.parse(x), JSON.parse(y), 'block_ref'),
  );
  section('tags', a.tags, b.tags, (name, object) => ({ name, object }), (x, y) => (x === y ? [] : [{ path: 'object', old: x, new: y }]));

  // Auth: the ops a stream holds at most one of (the last counts), by op kind.
  const singles = (s: Snapshot): Map<string, string> => {
    const m = new Map<string, string>();
    if (s.auth.activate_enterprise !== null) m.set('enterprise', s.auth.activate_enterprise);
    if (s.auth.activate_auth !== null) m.set('activate_auth', s.auth.activate_auth);
    if (s.auth.check_auth_token) m.set('check_auth_token', '{}');
    if (s.auth.auth_config !== null) m.set('auth_config', s.auth.auth_config);
    return m;
  };
  section('auth', singles(a), singles(b), (name, text) => (name === 'enterprise' ? { name, expires: (JSON.parse(text) as Plain).code_expires ?? null } : { name }), bodies);
  section('tokens', a.auth.tokens, b.auth.tokens, (name, list) => ({ name, count: list.length }), (x, y) => {
    if (x.length !== y.length) return [{ path: 'count', old: x.length, new: y.length }];
    // Same count: compared in stream order (a path `[i]` names the token when the subject has several).
    return x.flatMap((t, i) => (t === y[i] ? [] : diffValues(JSON.parse(t), JSON.parse(y[i]!), x.length > 1 ? `[${i}]` : '')));
  });
  section('role_bindings', a.auth.role_bindings, b.auth.role_bindings, (name, roles) => ({ name, roles }), (x, y) => diffValues(x, y, 'roles'));
  section('acls', a.auth.acls, b.auth.acls, (name, entries) => ({ name, entries: [...entries].map(([username, scope]) => ({ username, scope })) }), (x, y) => {
    // One change per username whose scope differs; the path is the username.
    const out: Change[] = [];
    for (const u of [...new Set([...x.keys(), ...y.keys()])].sort(byName)) {
      const [s, t] = [x.get(u), y.get(u)];
      if (s === t) continue;
      const c: Change = { path: u };
      if (s !== undefined) c.old = s;
      if (t !== undefined) c.new = t;
      out.push(c);
    }
    return out;
  });
  return d;
}
