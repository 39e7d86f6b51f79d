/**
 * A pachd-sandbox process for a test: started on a free loopback port (the
 * port comes back through --port-file), stopped with SIGTERM at teardown, its
 * stderr kept for assertions ("Extract cancelled …", "Restore: …").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { binPath, nodeCommand, pachctlRecords, runShell, runTool, sh, testEnv } from './run.js';

export interface Sandbox {
  /** `127.0.0.1:PORT`, for --pachd. */
  address: string;
  port: number;
  /** Everything the sandbox wrote on stderr so far. */
  stderr(): string;
  /** Resolves once stderr contains `text` (or rejects after `ms`). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  stop(): Promise<number | null>;
  child: ChildProcess;
}

export interface SandboxOptions {
  version?: string;
  load?: string;
  state?: string;
  /** Extra flags (--fail-after, --tls-cert, --at …). */
  args?: string[];
  env?: Record<string, string>;
  /** Directory for the port file. */
  dir: string;
}

let seq = 0;

export async function startSandbox(t: { teardown(fn: () => unknown): void }, o: SandboxOptions): Promise<Sandbox> {
  const portFile = path.join(o.dir, `sandbox-${process.pid}-${++seq}.port`);
  const args = ['--pachd-version', o.version ?? '1.13', '--port', '0', '--port-file', portFile];
  if (o.load) args.push('--load', o.load);
  if (o.state) args.push('--state', o.state);
  args.push(...(o.args ?? []));
  const env = testEnv(o.env);
  const [cmd, argv] = nodeCommand(binPath('pachd-sandbox'), args, env);
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const waiters: Array<() => void> = [];
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    for (const w of waiters.splice(0)) w();
  });
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve((exited = code));
      for (const w of waiters.splice(0)) w();
    }),
  );
  const waitFor = (text: string | RegExp, ms = 20_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`sandbox stderr never showed ${String(text)}:\n${err}`)), ms);
      const check = (): void => {
        if (typeof text === 'string' ? err.includes(text) : text.test(err)) {
          clearTimeout(deadline);
          resolve();
        } else if (exited !== undefined) {
          clearTimeout(deadline);
          reject(new Error(`sandbox exited (${exited}) before showing ${String(text)}:\n${err}`));
        } else waiters.push(check);
      };
      check();
    });
  const stop = async (): Promise<number | null> => {
    if (exited === undefined) child.kill('SIGTERM');
    return exit;
  };
  t.teardown(stop);
  await waitFor('listening on');
  const port = Number(fs.readFileSync(portFile, 'utf8').trim());
  return { address: `127.0.0.1:${port}`, port, stderr: () => err, waitFor, stop, child };
}

/**
 * The cluster holds exactly the real 1.11 dump: its extract, as pachctl writes it, is the dump
 * byte for byte (else the first record that differs is named), and it lists 10 jobs and one
 * restored token (a job or token applied twice would show).
 */
export async function checkAuthDumpCluster(t: Test, sb: Sandbox, env: Record<string, string>, dump: Buffer, records: Buffer[]): Promise<void> {
  const x = await runTool('pach-extract', ['--pachd', sb.address, '--to', 'pachctl'], { env });
  t.equal(x.code, 0, `pach-extract exits 0 ${x.stderr}`);
  if (x.stdout.equals(dump)) t.pass('the extract is byte-identical to the dump');
  else {
    const got = await pachctlRecords(x.stdout);
    const at = got.findIndex((r, i) => !records[i] || !r.equals(records[i]!));
    t.fail(`the extract differs from the dump: ${got.length} records (dump: ${records.length}), first difference at record ${at}`);
  }
  const list = await runShell(`${sh('pach-extract')} --pachd ${sb.address} --no-objects | ${sh('pach-filter')} --list --format json`, { env });
  t.equal(list.stderr, '', 'nothing on stderr from extract | list');
  const toc = JSON.parse(list.stdout.toString());
  t.equal(toc.counts.job, 10, '10 jobs in the cluster');
  t.equal(toc.auth.tokens, 1, 'one restored token');
}
