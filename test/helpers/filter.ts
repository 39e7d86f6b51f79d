/**
 * Running pach-filter's filter mode as a real process, and reading what it
 * wrote the ways a user would: `--list --format json --commits` (the table of
 * contents), `--verify`, and the JSON view (`pach-convert --to json`).
 *
 * Streams go in as a file operand (a path) or as bytes on stdin (a Buffer),
 * so every helper runs either way. Records of the 1.11 auth dump hold
 * secrets: the helpers never put a record body in an error message.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CommitEntry, Contents } from '../../lib/replay/report.js';
import { parseView, type Body, type JsonRecord } from './json-edit.js';
import { ROOT, nodeCommand, runTool, testEnv, type RunResult, type Tool } from './run.js';

/** The time the 1.11 dump verifies at: its enterprise code expired 2021-08-24. */
export const AT = ['--at', '2020-12-16T00:00:00Z'];

/** A stream: a file path (given as the operand) or bytes (fed on stdin as `-`). */
export type Src = string | Buffer;

/** Runs `tool args SRC`. */
export function runOn(tool: Tool, args: readonly string[], src: Src): Promise<RunResult> {
  return typeof src === 'string' ? runTool(tool, [...args, src]) : runTool(tool, [...args, '-'], { input: src });
}

/** `pach-filter ARGS SRC`: the run, whatever its exit. */
export function pachFilter(args: readonly string[], src: Src): Promise<RunResult> {
  return runOn('pach-filter', args, src);
}

/** A short description of a failed run for an assertion message (stderr only: it never holds a secret). */
export function why(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
}

/** The message for `t.equal(r.code, 0, …)`: "exit 0", or what went wrong. */
export function exit0(r: RunResult): string {
  return r.code === 0 ? 'exit 0' : why(r);
}

/** `pach-filter ARGS SRC`'s stdout; throws (with stderr) unless it exits 0. */
export async function filtered(args: readonly string[], src: Src): Promise<Buffer> {
  const r = await pachFilter(args, src);
  if (r.code !== 0) throw new Error(`pach-filter ${args.join(' ')} ${why(r)}`);
  return r.stdout;
}

/** `pach-filter --list --format json --commits [--at] SRC`. */
export async function listing(src: Src, at: readonly string[] = AT): Promise<Contents> {
  const r = await pachFilter(['--list', '--format', 'json', '--commits', ...at], src);
  if (r.stdout.length === 0) throw new Error(`pach-filter --list ${why(r)}`);
  return JSON.parse(r.stdout.toString()) as Contents;
}

/** `pach-filter --verify [--at] SRC`. */
export async function verify(src: Src, at: readonly string[] = AT): Promise<{ code: number | null; report: string; stderr: string }> {
  const r = await pachFilter(['--verify', ...at], src);
  return { code: r.code, report: r.stdout.toString(), stderr: r.stderr };
}

/** The first problem line of a --verify report (problem lines name records and codes, never secrets). */
export function firstProblem(report: string): string {
  return report.split('\n').find((l) => l.startsWith('record ') || l.startsWith('stream')) ?? report.split('\n')[0] ?? '';
}

export interface View {
  header: Record<string, unknown> | undefined;
  records: JsonRecord[];
}

/** The JSON view of SRC (`pach-convert --to json`): its header line and records. */
export async function view(src: Src): Promise<View> {
  const r = await runOn('pach-convert', ['--to', 'json'], src);
  if (r.code !== 0) throw new Error(`pach-convert --to json ${why(r)}`);
  const text = r.stdout.toString();
  const first = JSON.parse(text.slice(0, text.indexOf('\n'))) as { header?: Record<string, unknown> };
  return { header: first.header, records: parseView(text) };
}

/** SRC's records in raw framing (`pach-convert --to raw`): no header, so two streams compare byte for byte. */
export async function rawOf(src: Src): Promise<Buffer> {
  const r = await runOn('pach-convert', ['--to', 'raw'], src);
  if (r.code !== 0) throw new Error(`pach-convert --to raw ${why(r)}`);
  return r.stdout;
}

/** A commit of a listing, with its repo. */
export interface ListedCommit extends CommitEntry {
  repo: string;
}

/** Every commit of a `--commits` listing, by `repo@id`. */
export function commitsOf(c: Contents): Map<string, ListedCommit> {
  const out = new Map<string, ListedCommit>();
  for (const r of c.repos) for (const e of r.commit_list ?? []) out.set(`${r.name}@${e.id}`, { ...e, repo: r.name });
  return out;
}

/** Every branch of a listing, by `repo@name`. */
export function branchesOf(c: Contents): Map<string, Contents['repos'][number]['branches'][number]> {
  const out = new Map<string, Contents['repos'][number]['branches'][number]>();
  for (const r of c.repos) for (const b of r.branches) out.set(`${r.name}@${b.name}`, b);
  return out;
}

/** `repo@id` of a listed provenance entry (`repo@id (repo@branch)`). */
export function provenanceCommit(entry: string): string {
  return entry.split(' ')[0]!;
}

/** The repo names of a listing, sorted. */
export function repoNames(c: Contents): string[] {
  return c.repos.map((r) => r.name).sort();
}

/** Pipeline names of a listing, sorted. */
export function pipelineNames(c: Contents): string[] {
  return c.pipelines.map((p) => p.name).sort();
}

/** Input repos: neither `__spec__` nor a pipeline's output. */
export function inputRepos(c: Contents): string[] {
  const pipes = new Set(c.pipelines.map((p) => p.name));
  return repoNames(c).filter((n) => n !== '__spec__' && !pipes.has(n));
}

/** Sum of the commits of a listing's repos. */
export function commitCount(c: Contents): number {
  return c.repos.reduce((n, r) => n + (r.commit_list?.length ?? r.commits), 0);
}

/**
 * What a history that pachd can restore looks like in a listing: each
 * commit's parent is a root marker (null) or a commit of the output; each
 * provenance entry names a commit of the output; each branch head is a
 * commit of the output. Returns the breaches, named by repo@id (no secrets
 * in a listing).
 */
export function historyBreaches(c: Contents): string[] {
  const commits = commitsOf(c);
  const out: string[] = [];
  for (const [at, e] of commits) {
    if (e.parent !== null && !commits.has(`${e.repo}@${e.parent}`)) out.push(`${at}: parent ${e.repo}@${e.parent} is not in the output`);
    for (const p of e.provenance) if (!commits.has(provenanceCommit(p))) out.push(`${at}: provenance ${p} is not in the output`);
  }
  for (const [at, b] of branchesOf(c)) if (b.head !== null && !commits.has(`${at.split('@')[0]}@${b.head}`)) out.push(`branch ${at}: head ${b.head} is not in the output`);
  return out;
}

/** Calls `fn` on every string in `value`, with its path (`a.b[2].c`). */
export function walkStrings(value: unknown, fn: (p: string, s: string) => void, p = ''): void {
  if (typeof value === 'string') fn(p, value);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, fn, `${p}[${i}]`));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, fn, p ? `${p}.${k}` : k);
}

/**
 * The paths where two JSON values differ (paths only, so a difference in a
 * secret field is named without its value).
 */
export function diffPaths(a: unknown, b: unknown, p = ''): string[] {
  if (a === b) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...diffPaths(a[i], b[i], `${p}[${i}]`));
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: string[] = [];
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) out.push(...diffPaths((a as Body)[k], (b as Body)[k], p ? `${p}.${k}` : k));
    return out;
  }
  return [p || '(top)'];
}

/** The native header's history, as `--list --format json` shows it. */
export function historyOf(c: Contents): Array<Record<string, unknown>> {
  const header = c.stream.header as { history?: Array<Record<string, unknown>> } | null;
  return header?.history ?? [];
}

/** `node dist/bench/history.js ARGS > FILE`: a generated consistent 1.12 history (raw framing). */
export function generateHistory(file: string, opts: { repos: number; commits: number; seed: number; extra?: string[] }): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = testEnv();
    const args = ['--repos', String(opts.repos), '--commits', String(opts.commits), '--seed', String(opts.seed), ...(opts.extra ?? [])];
    const [cmd, argv] = nodeCommand(path.join(ROOT, 'dist', 'bench', 'history.js'), args, env);
    const out = fs.openSync(file, 'w');
    const child = spawn(cmd, argv, { env, stdio: ['ignore', out, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`bench/history.js ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

/** Every file below `dir` (relative paths): what a run left in a temp dir. */
export function filesBelow(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => path.relative(dir, path.join(d.parentPath ?? d.path, d.name)));
}

/** Every entry (file or directory) in `dir`. */
export function entriesIn(dir: string): string[] {
  return fs.readdirSync(dir);
}

/** How many times `needle` occurs in `hay`, byte for byte. */
export function occurrences(hay: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}
