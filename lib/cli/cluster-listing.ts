/**
 * `pach-extract --list`: a live cluster as pachd's own list calls show it
 * (pfs ListRepo, ListBranch, ListCommit; pps ListPipeline), which is what
 * `pachctl list repo/branch/commit/pipeline` print. Unlike an extract, it
 * includes what pachd made itself at every release (1.7 and 1.8 extracts
 * leave out output repos and commits), so two clusters can be compared.
 */
import type { PachdClient } from '../grpc/client.js';
import { PATHS } from '../grpc/services.js';

type Msg = Record<string, any>;

export interface ClusterListing {
  pachd_version: string;
  address: string;
  repos: Array<{
    name: string;
    description: string;
    branches: Array<{ name: string; head: string | null; provenance: string[] }>;
    commits: Array<{ id: string; parent: string | null; branch: string | null; origin: string; finished: boolean; provenance: string[] }>;
  }>;
  pipelines: Array<{ name: string; inputs: string[]; output_branch: string; stats: boolean; state: string }>;
}

/** pfs inputs of a pipeline's input tree, as `repo@branch:glob`. */
function inputsOf(input: Msg | undefined, out: string[] = []): string[] {
  if (!input) return out;
  if (input.pfs) out.push(`${input.pfs.repo}@${input.pfs.branch || 'master'}:${input.pfs.glob ?? ''}`);
  for (const key of ['union', 'cross', 'join', 'group']) for (const i of (input[key] ?? []) as Msg[]) inputsOf(i, out);
  if (input.cron) out.push(`cron:${input.cron.name}`);
  if (input.git) out.push(`git:${input.git.name}`);
  return out;
}

const ref = (b: Msg | undefined): string => `${b?.repo?.name ?? ''}@${b?.name ?? ''}`;

export async function listCluster(client: PachdClient, release: string): Promise<ClusterListing> {
  const repos = ((await client.unary<Msg>(PATHS.listRepo, {}, 'ListRepo')).repo_info ?? []) as Msg[];
  const listing: ClusterListing = { pachd_version: release, address: client.target.display, repos: [], pipelines: [] };
  for (const r of repos.reverse()) {
    const name: string = r.repo?.name ?? '';
    const branches = ((await client.unary<Msg>(PATHS.listBranch, { repo: { name } }, `ListBranch ${name}`)).branch_info ?? []) as Msg[];
    const commits = ((await client.unary<Msg>(PATHS.listCommit, { repo: { name }, reverse: true }, `ListCommit ${name}`)).commit_info ?? []) as Msg[];
    listing.repos.push({
      name,
      description: r.description ?? '',
      branches: branches
        .map((b) => ({ name: b.branch?.name ?? b.name ?? '', head: b.head?.id ?? null, provenance: ((b.direct_provenance ?? []) as Msg[]).map(ref).sort() }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      commits: commits.map((c) => ({
        id: c.commit?.id ?? '',
        parent: c.parent_commit?.id ?? null,
        branch: c.branch?.name ?? null,
        origin: c.origin?.kind ?? 'USER',
        finished: !!c.finished,
        provenance: ((c.provenance ?? []) as Msg[]).map((p) => `${p.commit?.repo?.name ?? ''}@${p.commit?.id ?? ''}`),
      })),
    });
  }
  const pipelines = ((await client.unary<Msg>(PATHS.listPipeline, {}, 'ListPipeline')).pipeline_info ?? []) as Msg[];
  for (const p of pipelines.reverse()) {
    listing.pipelines.push({ name: p.pipeline?.name ?? '', inputs: inputsOf(p.input), output_branch: p.output_branch ?? 'master', stats: !!p.enable_stats, state: p.state ?? '' });
  }
  return listing;
}

export function renderListing(l: ClusterListing): string {
  const out: string[] = [`pachd ${l.pachd_version} at ${l.address}`, '', `REPOS (${l.repos.length})`];
  for (const r of l.repos) {
    out.push(`  ${r.name}: ${r.commits.length} commits${r.description ? ` "${r.description}"` : ''}`);
    const parents = new Map(r.commits.map((c) => [c.id, c.parent]));
    for (const b of r.branches) {
      // The branch's history: its head and the head's ancestors.
      let n = 0;
      for (let id = b.head; id && n <= parents.size; id = parents.get(id) ?? null) n++;
      out.push(`    ${b.name.padEnd(8)} head ${b.head ?? '(none)'}${n ? `  ${n} commits` : ''}${b.provenance.length ? `  <- ${b.provenance.join(', ')}` : ''}`);
    }
  }
  out.push('', `PIPELINES (${l.pipelines.length})`);
  for (const p of l.pipelines) out.push(`  ${p.name}: ${p.inputs.join(' + ') || '(no pfs input)'} -> ${p.name}@${p.output_branch}${p.stats ? ' (stats)' : ''} ${p.state}`);
  return out.join('\n') + '\n';
}
