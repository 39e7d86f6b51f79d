/**
 * pach-extract: a live pachd's metadata (and objects) as a stream, the way
 * `pachctl extract` gets it (admin.API/Extract, one admin.Op per message),
 * written in any framing; native by default, whose header says which pachd,
 * which cluster and which flags it came from. `pach-extract pipeline NAME`
 * is one pipeline's op (ExtractPipeline).
 *
 * Records keep pachd's bytes. The gRPC stream is read only as fast as stdout
 * takes it; a closed stdout (141), SIGINT or SIGTERM cancel the call.
 */
import type { Readable } from 'node:stream';
import type { Argv } from 'yargs';
import type { HistoryEntry, NativeHeader } from '../../codec/native.js';
import { envelopeOf, type OpRecord, type RecordBatch, type RecordStream } from '../../codec/record.js';
import { PachError, usageError } from '../../errors.js';
import type { PachdClient } from '../../grpc/client.js';
import { PATHS } from '../../grpc/services.js';
import { firstOf } from '../../grpc/wait.js';
import type { OpVersion } from '../../schema/registry.js';
import { listCluster, renderListing } from '../cluster-listing.js';
import { countedOut, encoderFor } from '../encode.js';
import { fileSink, stdoutSink, type Sink } from '../io.js';
import { connectPachd, opVersionOfRelease, pachdOptions, type PachdArgs } from '../pachd-options.js';
import { startProgress } from '../progress.js';
import type { CommonArgs, Command } from '../run.js';
import { checkTerminal, outputOptions, type OutputArgs } from '../stream-options.js';
import { SUITE_VERSION } from '../version.js';

interface ExtractArgs extends OutputArgs, PachdArgs {
  objects: boolean;
  repos: boolean;
  pipelines: boolean;
  auth: boolean;
  enterprise: boolean;
  url?: string;
  list: boolean;
  format: 'table' | 'json';
}

/** Messages of a server stream in batches of what has already arrived (one await per batch, not per message). */
async function* batchesOf(stream: Readable, onMessage: (bytes: Buffer) => void): RecordStream {
  let ended = false;
  let failure: unknown;
  stream.on('end', () => (ended = true));
  stream.on('error', (err) => (failure = err));
  let index = 0;
  for (;;) {
    const batch: RecordBatch = [];
    let m: Buffer | null;
    while (batch.length < 4096 && (m = stream.read() as Buffer | null) !== null) {
      onMessage(m);
      batch.push({ bytes: m, index: index++, offset: -1 } satisfies OpRecord);
    }
    if (batch.length) {
      yield batch;
      continue;
    }
    if (failure) throw failure;
    if (ended) return;
    await firstOf(stream, ['readable', 'end', 'error']);
  }
}

function flagsOf(args: ExtractArgs): string[] {
  const flags: string[] = [];
  if (!args.objects) flags.push('no_objects');
  if (!args.repos) flags.push('no_repos');
  if (!args.pipelines) flags.push('no_pipelines');
  if (!args.enterprise) flags.push('no_enterprise');
  if (!args.auth) flags.push('no_auth');
  return flags;
}

async function extractPipeline(client: PachdClient, name: string): Promise<RecordStream> {
  const op = await client.unary<Buffer>(PATHS.extractPipeline, { pipeline: { name } }, `ExtractPipeline ${name}`);
  return (async function* () {
    yield [{ bytes: op, index: 0, offset: -1 }];
  })();
}

export const extractCommand: Command<ExtractArgs> = {
  name: 'pach-extract',
  summary: 'back up a live pachd (1.7 … 1.13) as a stream',
  synopsis: '[options] [pipeline NAME]',
  description: [
    'Calls admin.API/Extract on pachd and writes every op it sends, byte for byte, as a stream',
    '(native by default: with a header naming the pachd release, cluster id, address and flags,',
    'and a trailer with counts and SHA-256). `pipeline NAME` writes that one pipeline\'s op',
    '(admin.API/ExtractPipeline), as `pachctl extract pipeline` does.',
    '',
    'Where pachd is: --pachd, else PACHD_ADDRESS, else the active pachctl context (PACH_CONFIG,',
    'PACH_CONTEXT), else localhost:30650. The token: PACH_TOKEN, --token-file or the context\'s',
    'session token — never argv. TLS with grpcs://, --tls, --ca, PACH_CA_CERTS or server_cas.',
    '',
    'Progress (records, bytes, rate) goes to stderr: a bar on a TTY, plain lines in CI.',
    '--list prints the cluster as pachd\'s list calls show it (what pachctl list repo/branch/',
    'commit/pipeline print, including what pachd made itself), as a table or JSON.',
    '',
    'A reader that stops early (| head) ends the call with exit 141; nothing is left running.',
  ].join('\n'),
  examples: [
    ['pach-extract --pachd grpc://pachd:30650 | zstd > backup.zst', 'back up a cluster, compressed'],
    ['PACH_TOKEN=$(cat token) pach-extract --no-objects -o meta.native', 'metadata only, into a file (temporary name until complete)'],
    ['pach-extract --to pachctl > backup.pachctl', 'exactly what pachctl extract writes'],
    ['pach-extract pipeline edges --to json | jq .body', 'one pipeline\'s spec'],
    ['diff <(pach-extract --list --pachd old:30650) <(pach-extract --list --pachd new:30650)', 'compare two clusters'],
  ],
  options: (y: Argv<CommonArgs>) =>
    pachdOptions(outputOptions(y))
      .option('objects', { type: 'boolean', default: true, describe: 'include objects/blocks (--no-objects: metadata only)' })
      .option('repos', { type: 'boolean', default: true, describe: 'include repos, commits and branches (--no-repos)' })
      .option('pipelines', { type: 'boolean', default: true, describe: 'include pipelines and jobs (--no-pipelines)' })
      .option('auth', { type: 'boolean', default: true, describe: 'include auth state, 1.11+ (--no-auth)' })
      .option('enterprise', { type: 'boolean', default: true, describe: 'include the enterprise activation, 1.11+ (--no-enterprise)' })
      .option('list', { type: 'boolean', default: false, describe: 'print the cluster as pachd lists it (repos, branches, commits, pipelines) instead of extracting' })
      .option('format', { choices: ['table', 'json'] as const, default: 'table' as const, describe: 'with --list: a text table or one JSON object' })
      .option('url', { type: 'string', requiresArg: true, describe: 'have pachd write the extract to object storage at URL instead (nothing on stdout)' }) as unknown as Argv<ExtractArgs>,

  async run(args, ctx) {
    const operands = args._.map(String);
    let pipeline: string | undefined;
    if (operands.length) {
      if (operands[0] !== 'pipeline' || operands.length !== 2) throw usageError(`expected no operand or "pipeline NAME", got ${operands.join(' ')}`);
      pipeline = operands[1];
    }
    const sink: Sink = args.output && args.output !== '-' ? fileSink(args.output) : stdoutSink();
    ctx.onAbort(() => sink.abort());
    if (args.list) {
      if (pipeline || args.url) throw usageError('--list lists the whole cluster: no pipeline NAME, no --url');
      const { client, release } = await connectPachd(args, ctx);
      try {
        const listing = await listCluster(client, release);
        await sink.write(Buffer.from(args.format === 'json' ? JSON.stringify(listing) + '\n' : renderListing(listing)));
        await sink.close();
      } finally {
        client.close();
      }
      return;
    }
    if (!args.url) checkTerminal(args, sink);
    const { client, release } = await connectPachd(args, ctx);
    const cluster = await client.unary<{ id?: string; deployment_id?: string }>(PATHS.inspectCluster, {}, 'InspectCluster').catch(() => ({}) as { id?: string });
    const flags = flagsOf(args);
    let bytesIn = 0;
    const stopProgress = startProgress(args.progress, ctx.log.tool, () => ({ records: ctx.stats.records_in, bytes: bytesIn }));
    try {
      let records: RecordStream;
      if (pipeline) {
        records = await extractPipeline(client, pipeline);
      } else {
        const call = client.serverStream(PATHS.extract, { URL: args.url ?? '', no_objects: !args.objects, no_repos: !args.repos, no_pipelines: !args.pipelines, no_enterprise: !args.enterprise, no_auth: !args.auth });
        ctx.onAbort(() => call.cancel());
        records = batchesOf(call as unknown as Readable, (b) => {
          bytesIn += b.length;
          ctx.stats.records_in++;
        });
      }
      const it = records[Symbol.asyncIterator]();
      let head: IteratorResult<RecordBatch>;
      try {
        head = await it.next();
      } catch (err) {
        throw client.failure(err, pipeline ? 'ExtractPipeline' : 'Extract');
      }
      if (args.url) {
        if (!head.done && head.value.length) throw new PachError('PACH_PACHD_ERROR', 'unexpected response from extract: pachd sent ops although it was asked to write to a URL', 'FAILURE');
        ctx.log.info(`pachd wrote the extract to ${args.url}`);
        await sink.close();
        return;
      }
      const first = head.done ? undefined : head.value[0];
      const now = new Date().toISOString();
      const entry: HistoryEntry = { tool: 'pach-extract', version: SUITE_VERSION, args: ctx.safeArgs, time: now };
      const header: NativeHeader = {
        format: 'pach-migrate',
        format_version: 1,
        op_version: (first ? envelopeOf(first).version : opVersionOfRelease(release) || null) as OpVersion | null,
        created: now,
        source: { pachd_version: release, cluster_id: cluster.id ?? '', address: client.target.display, extract_flags: pipeline ? [`pipeline ${pipeline}`] : flags },
        history: [entry],
      };
      const all: RecordStream = (async function* () {
        if (!head.done) yield head.value;
        for (;;) {
          let r: IteratorResult<RecordBatch>;
          try {
            r = await it.next();
          } catch (err) {
            throw client.failure(err, 'Extract');
          }
          if (r.done) return;
          yield r.value;
        }
      })();
      if (pipeline) ctx.stats.records_in = 1;
      for await (const chunk of encoderFor(args.to, countedOut(all, ctx), header, ctx)) await sink.write(chunk);
      await sink.close();
      ctx.log.info(`${ctx.stats.records_out} ops from pachd ${release} (${Object.entries(ctx.stats.counts).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'})`);
    } finally {
      stopProgress();
      ctx.stats.bytes_in = bytesIn;
      ctx.stats.bytes_out = sink.bytes;
      client.close();
    }
  },
};
