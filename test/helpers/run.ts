/**
 * Test plumbing: where things are, and running the built executables as
 * real processes with real pipes (stdin, stdout, stderr, exit code).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import snappy from 'snappy';

/** The project root (tests run from dist/test/…). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHARED = path.resolve(ROOT, '..', 'shared');
export const FIXTURES = path.join(SHARED, 'fixtures');
export const SORT_DUMP = path.join(FIXTURES, 'pachctl-1.7-sort.metadata');
export const AUTH_DUMP = path.join(FIXTURES, 'pachctl-1.11-auth.metadata');
export const DUMPS = [
  { name: '1.7 sort', file: SORT_DUMP, ops: 360, version: '1.7' },
  { name: '1.11 auth', file: AUTH_DUMP, ops: 631, version: '1.11' },
] as const;

export type Tool = 'pach-convert' | 'pach-extract' | 'pach-filter' | 'pach-restore' | 'pachd-sandbox';

export function binPath(tool: Tool): string {
  return path.join(ROOT, 'dist', 'bin', `${tool}.js`);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** Bytes to write to stdin (then closed); omit for an empty stdin. */
  input?: Uint8Array | string;
  env?: Record<string, string>;
  cwd?: string;
}

/** The environment every spawned tool gets: pinned, colourless, no CI progress lines. */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', NO_COLOR: '1', ...extra };
  delete env.CI;
  // tap's process-info hook (`--import=…@tapjs/processinfo…`) is not for the tools under test.
  const nodeOptions = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o && !o.includes('@tapjs/')).join(' ');
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  else delete env.NODE_OPTIONS;
  return env;
}

const ENV_BIN = ['/usr/bin/env', '/bin/env'].find((p) => fs.existsSync(p));

/**
 * The command that starts `node script …args` with `env`'s NODE_OPTIONS.
 * Under tap, @tapjs/processinfo wraps child_process and puts its `--import`
 * hook back into every child's NODE_OPTIONS (coverage is off, so nothing uses
 * it), which more than doubles the CPU each spawned tool costs; env(1) sets
 * NODE_OPTIONS after that wrapper has run, then execs node (same pid, so
 * signals still reach it).
 */
export function nodeCommand(script: string, args: string[], env: NodeJS.ProcessEnv): [string, string[]] {
  if (!ENV_BIN) return [process.execPath, [script, ...args]];
  return [ENV_BIN, [`NODE_OPTIONS=${env.NODE_OPTIONS ?? ''}`, process.execPath, script, ...args]];
}

/** Runs a built tool with `args`, feeding `input` on stdin. */
export function runTool(tool: Tool, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = testEnv(opts.env);
    const [cmd, argv] = nodeCommand(binPath(tool), args, env);
    const child = spawn(cmd, argv, { env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => {
      /* the tool may exit before reading everything */
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Runs a shell pipeline with bash (pipefail off; PIPESTATUS is echoed on stderr's last line if asked). */
export function runShell(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = testEnv({ ...opts.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` });
    // Through env(1), like runTool: the tools in the script start without tap's process-info hook.
    const [cmd, args] = ENV_BIN ? [ENV_BIN, [`NODE_OPTIONS=${env.NODE_OPTIONS ?? ''}`, 'bash', '-c', script]] : ['bash', ['-c', script]];
    const child = spawn(cmd, args, { env, cwd: opts.cwd ?? ROOT });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Shell-quoted command prefix for a tool, for use inside runShell scripts. */
export function sh(tool: Tool): string {
  return `'${process.execPath}' '${binPath(tool)}'`;
}

/**
 * Independent decoding of a pachctl stream (the snappy package's own
 * streaming Decompressor, not our codec), split into its raw records.
 */
export async function pachctlRecords(bytes: Uint8Array): Promise<Buffer[]> {
  const d = new snappy.Decompressor();
  const a = d.update(bytes);
  const b = await d.finish();
  return splitRaw(Buffer.concat([a, b]));
}

/** Splits a raw stream (8-byte little-endian length + record) into records. */
export function splitRaw(raw: Buffer): Buffer[] {
  const recs: Buffer[] = [];
  let off = 0;
  while (off < raw.length) {
    const len = Number(raw.readBigInt64LE(off));
    recs.push(raw.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  if (off !== raw.length) throw new Error('raw stream does not end on a record boundary');
  return recs;
}

/** Joins records back into a raw stream. */
export function joinRaw(records: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const h = Buffer.alloc(8);
    h.writeBigInt64LE(BigInt(r.length));
    parts.push(h, Buffer.from(r));
  }
  return Buffer.concat(parts);
}

export function readFixture(file: string): Buffer {
  return fs.readFileSync(file);
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'pach-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The stderr lines of a run, without empty ones. */
export function lines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.length > 0);
}
