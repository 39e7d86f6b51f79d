/**
 * The text forms of the replay's reports: the table of contents, the problem
 * lines and the restore plan. Plain text, aligned, one fact per line, so a
 * person can read it and grep/awk can cut it.
 */
import type { Problem } from './problems.js';
import type { Contents, Plan, StreamFacts } from './report.js';

/** `1 error`, `2 errors`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `label` padded into a column, then the text; continuation lines indented to match. */
function field(label: string, text: string | string[]): string {
  const lines = Array.isArray(text) ? text : [text];
  const pad = ' '.repeat(12);
  return lines.map((l, i) => (i === 0 ? label.padEnd(12) : pad) + l).join('\n');
}

/** One problem per line: where, what, and what pachd would say. */
export function problemLine(p: Problem): string {
  const where = p.record >= 0 ? `record ${p.record}${p.kind ? ` (${p.kind})` : ''}` : 'stream';
  const pachd = p.pachd ? ` [pachd: ${p.pachd}]` : '';
  return `${where}: ${p.severity}: ${p.code}: ${p.message}${pachd}`;
}

function streamLines(s: StreamFacts): string[] {
  const what = [`${s.compression ? `${s.compression}-compressed ` : ''}${s.framing}`];
  what.push(s.op_version ? `op version ${s.op_version}` : 'no records');
  if (s.written_by) what.push(`written by ${s.written_by}`);
  return [
    field('stream', `${s.input}: ${what.join(', ')}; ${plural(s.records, 'record')}, ${plural(s.bytes, 'byte')}`),
    field('integrity', `${s.integrity.state}: ${s.integrity.detail}`),
  ];
}

function headerLines(header: unknown): string[] {
  const h = header as { created?: string; source?: Record<string, unknown> | null; history?: Array<{ tool: string; version: string; args: string[]; time: string }> } | null;
  if (!h) return [field('header', 'none (only native streams and JSON views carry one)')];
  const lines = [`created ${h.created ?? '?'}`];
  if (h.source && Object.keys(h.source).length) lines.push(`source ${JSON.stringify(h.source)}`);
  for (const [i, e] of (h.history ?? []).entries()) lines.push(`${i + 1}. ${e.tool} ${e.version} at ${e.time}: ${e.args.join(' ')}`);
  return [field('header', lines)];
}

function countsLine(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([k, n]) => `${k} ${n}`);
  return field('ops', parts.length ? parts.join(', ') : 'none');
}

export function renderContents(c: Contents): string {
  const out: string[] = [...streamLines(c.stream), ...headerLines(c.stream.header), countsLine(c.counts), ''];
  out.push(`REPOS (${c.repos.length})`);
  for (const r of c.repos) {
    const made = r.made_by === 'repo op' ? '' : r.made_by === 'pipeline' ? ' (made by its pipeline)' : ' (made by pachd)';
    const desc = r.description ? ` "${r.description}"` : '';
    out.push(`  ${r.name}${made}: ${plural(r.commits, 'commit')}, ${plural(r.size_bytes, 'byte')}${desc}`);
    const width = Math.max(...r.branches.map((b) => b.name.length), 6);
    for (const b of r.branches) {
      const head = b.head ? `head ${b.head}` : 'no head';
      const prov = b.provenance.length ? `  <- ${b.provenance.join(', ')}` : '';
      const by = b.made_by === 'branch op' ? '' : ` (${b.made_by === 'pachd' ? 'made by pachd' : 'from a commit op'})`;
      out.push(`    ${b.name.padEnd(width)}  ${head}  ${plural(b.commits, 'commit')}${prov}${by}`);
    }
    for (const cm of r.commit_list ?? []) {
      const bits = [cm.finished ? 'finished' : 'OPEN', cm.origin, `${cm.size_bytes} bytes`];
      if (cm.parent) bits.push(`parent ${cm.parent}`);
      if (cm.provenance.length) bits.push(`provenance ${cm.provenance.join(', ')}`);
      out.push(`      commit ${cm.id}: ${bits.join(', ')}`);
    }
  }
  out.push('', `PIPELINES (${c.pipelines.length})`);
  for (const p of c.pipelines) {
    const inputs = p.inputs.map((i) => `${i.kind} ${i.repo}@${i.branch}${i.glob ? ` ${i.glob}` : ''}`).join(', ') || 'no inputs';
    const jobs = Object.entries(p.jobs).map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
    const extras = [p.stats ? 'stats' : '', p.salt ? 'salt' : 'no salt', p.spec_commit ? `spec ${p.spec_commit}` : 'no spec commit'].filter(Boolean).join(', ');
    out.push(`  ${p.name}: ${inputs} -> ${p.name}@${p.output_branch} (${extras}); jobs: ${jobs}`);
  }
  const o = c.objects;
  out.push('');
  out.push(field('objects', `${plural(o.objects, 'object')} (${plural(o.object_bytes, 'byte')}), ${plural(o.blocks, 'block')} (${plural(o.block_bytes, 'byte')}), ${plural(o.object_index, 'indexed object')}, ${plural(o.tags, 'tag')}`));
  const a = c.auth;
  if (!a.activated && !a.check_auth_token && !a.tokens && !Object.keys(a.acls).length) out.push(field('auth', 'none'));
  else {
    const lines = [`${a.activated ? 'activated' : 'not activated'}${a.check_auth_token ? ', restore needs an admin token (check_auth_token)' : ''}`];
    lines.push(`robot tokens: ${a.tokens}${a.token_subjects.length ? ` (${a.token_subjects.join(', ')})` : ''}`);
    if (a.redacted) lines.push(`redacted by pach-filter --redact: ${Object.entries(a.redacted).map(([f, n]) => `${f} ${n}`).join(', ')} (placeholders: a restore cannot use them)`);
    for (const [who, roles] of Object.entries(a.role_bindings)) lines.push(`role binding ${who}: ${roles.join(', ')}`);
    lines.push(`config: ${a.config ? `identity providers ${a.config.id_providers.join(', ') || 'none'}` : 'none'}`);
    for (const [repo, entries] of Object.entries(a.acls)) lines.push(`acl ${repo}: ${entries.map((e) => `${e.username} ${e.scope}`).join(', ') || 'empty'}`);
    out.push(field('auth', lines));
  }
  const e = c.enterprise;
  out.push(field('enterprise', !e.activated ? 'none' : e.redacted ? 'activation code redacted (pach-filter --redact): pachd refuses the placeholder; restore with --strip-enterprise and activate by hand' : `activation code present, expires ${e.expires ?? '?'}`));
  const pr = c.problems;
  out.push(field('problems', pr.errors + pr.hazards ? `${plural(pr.errors, 'error')}, ${plural(pr.hazards, 'hazard')} (pach-filter --verify lists them)` : 'none'));
  return out.join('\n') + '\n';
}

export function renderPlan(p: Plan): string {
  const out: string[] = [...streamLines(p.stream)];
  const o = p.onto;
  out.push(field('onto', o ? `${o.input}: the target cluster as its ${o.op_version ?? 'empty'} extract holds it (${plural(o.records, 'record')}${o.problems ? `; its own replay found ${plural(o.problems, 'problem')}` : ''})` : 'an empty cluster'));
  out.push(field('rules', `pachd ${p.pachd_version}'s restore`));
  if (p.stops_at) {
    out.push(field('outcome', [`FAILS at record ${p.stops_at.record} (${p.stops_at.kind || 'stream'}): ${p.stops_at.code}: ${p.stops_at.message}`, `pachd: ${p.stops_at.pachd ?? '?'}`, `${plural(p.not_applied, 'later record')} would not be applied; the cluster would be left half-restored`]));
  } else {
    out.push(field('outcome', 'the restore would run to the end'));
  }
  const create = Object.entries(p.create).map(([k, n]) => `${k} ${n}`);
  out.push(field('create', create.length ? create.join(', ') : 'nothing'));
  if (p.bytes.objects || p.bytes.blocks) out.push(field('bytes', `${p.bytes.objects} in objects, ${p.bytes.blocks} in blocks`));
  const exists = Object.entries(p.already_exist).map(([k, n]) => `${k} ${n}`);
  if (exists.length) out.push(field('exists', `${exists.join(', ')}: ops pachd answers "already exists" to (restore ignores them)`));
  const m = p.pachd_makes;
  out.push(field('pachd makes', `${plural(m.output_repos, 'output repo')}, ${plural(m.branches, 'branch', 'branches')}, ${plural(m.spec_commits, 'spec commit')}`));
  if (p.recompute.length) {
    out.push(field('recompute', p.recompute.map((r) => `${r.pipeline}: ${plural(r.jobs, 'job')} over ${plural(r.input_commits, 'input commit')} (new commits: ${Object.entries(r.output_commits).map(([b, n]) => `${b} ${n}`).join(', ')})`)));
  } else {
    out.push(field('recompute', 'nothing: every pipeline output is in the stream'));
  }
  if (p.needs_token) out.push(field('token', 'the stream starts with check_auth_token: the restore must carry a token'));
  const rest = p.problems.filter((x) => x !== p.stops_at);
  if (rest.length) out.push(field('problems', rest.map(problemLine)));
  return out.join('\n') + '\n';
}
