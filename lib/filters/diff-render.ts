/**
 * A Diff for people and for jq. The table is one line per difference,
 * `-` removed, `+` added, `~` changed, grouped by section in the order of
 * SECTIONS and sorted by name within one; the JSON report is one object
 * (documented in docs/pach-filter.md, `--diff`). Neither ever holds a
 * secret: changes on secret fields carry no values (diff-values.ts).
 */
import { SECTIONS, diffCount, type ChangedEntry, type Diff, type Entry, type Section } from './diff-compare.js';
import { showChange, showValue, type Change } from './diff-values.js';

/** What the report says about each input. */
export interface SideFacts {
  name: string;
  framing: string;
  compression: string | null;
  op_version: string | null;
  records: number;
  bytes: number;
  counts: Record<string, number>;
  objects: number;
  object_bytes: number;
  blocks: number;
  block_bytes: number;
}

const NOUN: Record<Section, string> = {
  repos: 'repo',
  branches: 'branch',
  commits: 'commit',
  pipelines: 'pipeline',
  jobs: 'job',
  objects: 'object',
  blocks: 'block',
  object_index: 'object-index',
  tags: 'tag',
  auth: '',
  tokens: 'robot token',
  role_bindings: 'role binding',
  acls: 'acl',
};

const AUTH_NAMES: Record<string, string> = { enterprise: 'enterprise', activate_auth: 'auth activation', check_auth_token: 'check_auth_token', auth_config: 'auth config' };

function title(section: Section, name: string): string {
  return section === 'auth' ? (AUTH_NAMES[name] ?? name) : `${NOUN[section]} ${name}`;
}

/** The rest of an added or removed entry's line. */
function entryDetail(section: Section, e: Entry): string {
  switch (section) {
    case 'repos':
      return e.made_by === 'repo op' ? '' : ` (made by ${e.made_by === 'pipeline' ? 'its pipeline' : 'pachd'})`;
    case 'branches':
      return e.made_by === 'pachd' ? ' (made by pachd)' : '';
    case 'jobs':
      return ` (${String(e.state)})`;
    case 'objects':
    case 'blocks':
      return ` (${String(e.bytes)} bytes)`;
    case 'object_index':
      return ` -> block ${String(e.block)}`;
    case 'tags':
      return ` -> object ${String(e.object)}`;
    case 'auth':
      return e.expires ? ` (activation code expires ${String(e.expires)})` : '';
    case 'tokens':
      return (e.count as number) > 1 ? ` (${String(e.count)} tokens)` : '';
    case 'role_bindings':
      return `: ${(e.roles as string[]).join(', ')}`;
    case 'acls': {
      const entries = e.entries as Array<{ username: string; scope: string }>;
      return `: ${entries.length ? entries.map((x) => `${x.username} ${x.scope}`).join(', ') : 'empty'}`;
    }
    default:
      return '';
  }
}

/** The top-level fields a list of changes touches, in order, once each. */
function fields(changes: Change[]): string[] {
  return [...new Set(changes.map((c) => /^[^.[]*/.exec(c.path)![0] || c.path))];
}

/** The lines of one changed entry. */
function changedLines(section: Section, c: ChangedEntry): string[] {
  const head = `~ ${title(section, c.name)}`;
  switch (section) {
    case 'commits':
      return [`${head}: ${fields(c.changes).join(', ')}`];
    case 'jobs': {
      const state = c.changes.find((x) => x.path === 'state');
      const rest = fields(c.changes.filter((x) => x.path !== 'state'));
      return [`${head}: ${[...(state ? [`state ${String(state.old ?? 'JOB_STARTING')} -> ${String(state.new ?? 'JOB_STARTING')}`] : []), ...rest].join(', ')}`];
    }
    case 'blocks': {
      const bytes = c.changes.find((x) => x.path === 'bytes');
      const size = bytes ? `${String(bytes.old)} -> ${String(bytes.new)} bytes` : 'same size';
      return [`${head}: content changed (${size})`];
    }
    case 'acls':
      // An ACL both sides hold: its entries added, removed, or given another scope.
      return c.changes.map((x) =>
        x.old === undefined ? `+ acl ${c.name}: ${x.path} ${String(x.new)}` : x.new === undefined ? `- acl ${c.name}: ${x.path} ${String(x.old)}` : `~ acl ${c.name}: ${x.path} ${String(x.old)} -> ${String(x.new)}`,
      );
    case 'tokens':
    case 'role_bindings':
    case 'tags':
      return c.changes.map((x) => `${head}: ${x.secret ? showChange(x) : `${x.path} ${showPlain(x.old)} -> ${showPlain(x.new)}`}`);
    default:
      return c.changes.map((x) => `${head}: ${showChange(x)}`);
  }
}

/** Counts, role lists and hashes without JSON quotes. */
function showPlain(v: unknown): string {
  if (Array.isArray(v)) return v.join(', ') || '(none)';
  return typeof v === 'string' || typeof v === 'number' ? String(v) : showValue(v);
}

/** The table: one line per difference (no trailing newline on each). Empty when the streams hold the same. */
export function diffLines(d: Diff): string[] {
  const out: string[] = [];
  if (d.op_version) out.push(`~ op version ${d.op_version.old ?? '(none)'} -> ${d.op_version.new ?? '(none)'}`);
  for (const section of SECTIONS) {
    const items: Array<[string, number, string[]]> = [
      ...d.removed[section].map((e): [string, number, string[]] => [e.name, 0, [`- ${title(section, e.name)}${entryDetail(section, e)}`]]),
      ...d.added[section].map((e): [string, number, string[]] => [e.name, 1, [`+ ${title(section, e.name)}${entryDetail(section, e)}`]]),
      ...d.changed[section].map((c): [string, number, string[]] => [c.name, 2, changedLines(section, c)]),
    ];
    items.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]));
    for (const [, , lines] of items) out.push(...lines);
  }
  return out;
}

/** The JSON report (`--format json`). */
export function diffReport(d: Diff, old: SideFacts, now: SideFacts, comparedAt: string | null): Record<string, unknown> {
  const counts = diffCount(d);
  return {
    same: counts.added + counts.removed + counts.changed === 0,
    old,
    new: now,
    compared_at: comparedAt,
    differences: counts,
    added: d.added,
    removed: d.removed,
    changed: { op_version: d.op_version, ...d.changed },
  };
}
