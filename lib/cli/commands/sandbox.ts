/**
 * pachd-sandbox: a pachd stand-in on loopback for tests, demos and dry runs.
 * It serves the calls the suite and pachctl-like clients make (see
 * lib/sandbox/server.ts) at a chosen 1.x release, from the replay model.
 */
import fs from 'node:fs';
import type { Argv } from 'yargs';
import { openStream } from '../../codec/read.js';
import { envelopeOf } from '../../codec/record.js';
import { PachError, usageError } from '../../errors.js';
import { convertUpTo } from '../../ops/ladder.js';
import { parseSandboxVersion, Refusal, SandboxCluster } from '../../sandbox/cluster.js';
import { SandboxServer } from '../../sandbox/server.js';
import { inputName, openInput } from '../io.js';
import { parseAt } from '../replay-input.js';
import type { CommonArgs, Command, RunContext } from '../run.js';

interface SandboxArgs {
  pachdVersion: string;
  host: string;
  port: number;
  portFile?: string;
  load?: string;
  state?: string;
  tlsCert?: string;
  tlsKey?: string;
  at?: string;
  failAfter?: number;
  delay?: number;
  unavailableFor?: number;
}

/** Restores a stream into the cluster in-process (`--load`): the same rules as a Restore call. */
async function load(cluster: SandboxCluster, file: string, ctx: RunContext, token: string | undefined): Promise<number> {
  const name = inputName(file);
  const opened = await openStream(openInput(file, { bytes: 0 }), { warn: (m) => ctx.log.warn(`${name}: ${m}`) });
  const first = await opened.first();
  if (!first) return 0;
  const version = envelopeOf(first).version;
  const records = convertUpTo(opened.records, version, cluster.version);
  if (!records) throw new PachError('PACH_STREAM_TOO_NEW', `${name}: a ${version} stream cannot be loaded into pachd ${cluster.release}`, 'DATA');
  let n = 0;
  for await (const batch of records) {
    for (const rec of batch) {
      try {
        cluster.apply(rec, token);
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        const e =
          err.kind === 'auth'
            ? new PachError('PACH_AUTH', `the stream restores auth and needs the loading caller's token: set PACH_TOKEN (it becomes the root token)`, 'NO_PERM', { record: rec.index })
            : new PachError('PACH_LOAD_REFUSED', `pachd ${cluster.release} refuses this ${envelopeOf(rec).kind} op: ${err.message}`, 'DATA', { record: rec.index });
        e.input = name;
        throw e;
      }
      n++;
    }
  }
  cluster.endCall();
  return n;
}

export const sandboxCommand: Command<SandboxArgs> = {
  name: 'pachd-sandbox',
  summary: 'an embedded pachd stand-in (gRPC, on loopback) for tests, demos and dry runs',
  synopsis: '[--pachd-version 1.x] [--port N] [--load FILE] [--state FILE] [options]',
  description: [
    'Serves pachd\'s own gRPC calls — versionpb GetVersion; admin Extract, ExtractPipeline,',
    'Restore, InspectCluster; pfs ListRepo, InspectRepo, ListBranch, ListCommit(Stream),',
    'InspectCommit; pps ListPipeline, InspectPipeline, ListJob(Stream); auth WhoAmI — as the',
    'chosen pachd release would, from the replay model (no data is processed: pipelines never',
    'run, their output commits stay open). Anything else answers UNIMPLEMENTED.',
    '',
    'Restore accepts what that pachd accepts: older streams are converted up, mixing versions',
    'or a newer stream is refused, a refused op ends the call with pachd\'s error text. Once',
    'auth ops are restored, every call needs a token: the restoring caller\'s token is root',
    '(for --load, the token in PACH_TOKEN).',
    '',
    'It prints "listening on HOST:PORT" on stderr (and the port to --port-file) when ready,',
    'and runs until SIGINT or SIGTERM. --state keeps the cluster across restarts (a raw stream',
    'of the applied ops, readable by every pach-* tool, plus FILE.json).',
    '',
    '--version V is read as --pachd-version V; --version alone prints the suite version.',
  ].join('\n'),
  examples: [
    ['pachd-sandbox --pachd-version 1.7 --port 0 --port-file old.port --load sort.metadata &', 'a pachd 1.7 holding a real dump'],
    ['pachd-sandbox --pachd-version 1.13 --port 30651 --state new.state', 'an empty pachd 1.13 that remembers what is restored into it'],
    ['pachd-sandbox --tls-cert cert.pem --tls-key key.pem', 'serve grpcs:// (clients then use --ca cert.pem)'],
    ['pachd-sandbox --fail-after 100 --port 0 --port-file p', 'drop the restore call after 100 requests, once (resume tests)'],
  ],
  options: (y: Argv<CommonArgs>) =>
    y
      .option('pachd-version', { type: 'string', default: '1.13', requiresArg: true, describe: 'pachd release to emulate: 1.7 … 1.13 (1.6 serves 1.7 ops; 1.11.1+ 1.12 ops)' })
      .option('host', { type: 'string', default: '127.0.0.1', requiresArg: true, describe: 'address to listen on' })
      .option('port', { type: 'number', default: 30650, requiresArg: true, describe: 'port to listen on; 0 picks a free one' })
      .option('port-file', { type: 'string', requiresArg: true, describe: 'write the port to FILE once listening' })
      .option('load', { type: 'string', requiresArg: true, describe: 'restore this stream (any framing) before serving' })
      .option('state', { type: 'string', requiresArg: true, describe: 'keep the cluster in FILE (and FILE.json) across restarts' })
      .option('tls-cert', { type: 'string', requiresArg: true, describe: 'serve TLS with this PEM certificate (with --tls-key)' })
      .option('tls-key', { type: 'string', requiresArg: true, describe: 'PEM private key of --tls-cert' })
      .option('at', { type: 'string', requiresArg: true, describe: 'the cluster clock for expirations (RFC 3339; default: now)' })
      .option('fail-after', { type: 'number', requiresArg: true, describe: 'fault: drop the restore call after N restore requests (once)' })
      .option('delay', { type: 'number', requiresArg: true, describe: 'fault: wait MS milliseconds before serving every call' })
      .option('unavailable-for', { type: 'number', requiresArg: true, describe: 'fault: answer UNAVAILABLE to every call for the first S seconds' }) as unknown as Argv<SandboxArgs>,

  async run(args, ctx) {
    if (args._.length) throw usageError(`pachd-sandbox takes no operands (got ${String(args._[0])})`);
    let version;
    try {
      version = parseSandboxVersion(args.pachdVersion);
    } catch (err) {
      throw usageError((err as Error).message);
    }
    if (!!args.tlsCert !== !!args.tlsKey) throw usageError('--tls-cert and --tls-key go together');
    for (const [flag, v] of [['port', args.port], ['fail-after', args.failAfter], ['delay', args.delay], ['unavailable-for', args.unavailableFor]] as const) {
      if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw usageError(`--${flag} ${v}: expected a number ≥ 0`);
    }
    const say = (line: string): void => {
      if (ctx.log.verbosity >= 0) process.stderr.write(`pachd-sandbox: ${line}\n`);
    };
    let cluster: SandboxCluster;
    try {
      cluster = new SandboxCluster({ version, now: parseAt(args.at), statePath: args.state });
    } catch (err) {
      if (err instanceof Refusal) throw new PachError('PACH_STATE', err.message, 'DATA');
      throw err;
    }
    ctx.onAbort(() => cluster.close());
    if (cluster.applied) say(`state ${args.state}: ${cluster.applied} ops reloaded`);
    if (args.load) say(`loaded ${args.load}: ${await load(cluster, args.load, ctx, process.env.PACH_TOKEN || undefined)} ops`);
    cluster.flush();
    const tls = args.tlsCert ? { cert: fs.readFileSync(args.tlsCert), key: fs.readFileSync(args.tlsKey!) } : undefined;
    const server = new SandboxServer(cluster, {
      host: args.host,
      port: args.port,
      tls,
      say,
      faults: { failAfter: args.failAfter, delayMs: args.delay, unavailableForS: args.unavailableFor },
    });
    let port: number;
    try {
      port = await server.listen();
    } catch (err) {
      throw new PachError('PACH_LISTEN', `cannot listen on ${args.host}:${args.port}: ${(err as Error).message}`, 'UNAVAILABLE');
    }
    ctx.onAbort(() => server.forceClose());
    if (args.portFile) {
      fs.writeFileSync(`${args.portFile}.tmp`, `${port}\n`);
      fs.renameSync(`${args.portFile}.tmp`, args.portFile);
    }
    process.stderr.write(`pachd-sandbox: pachd ${cluster.release} (op ${version}) listening on ${args.host}:${port}${tls ? ' (TLS)' : ''}\n`);
    await new Promise<never>(() => undefined);
  },
};
