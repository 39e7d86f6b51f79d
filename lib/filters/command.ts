/**
 * pach-filter's filter mode: the flags, and the run that reads a stream
 * (twice when it must: see lib/filters/command.ts) and writes what is kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argv } from 'yargs';
import { continuedHeader, countedOut, encoderFor } from '../cli/encode.js';
import { EXIT } from '../cli/exit-codes.js';
import { fileSink, inputName, openInput, stdoutSink, type ByteCounter, type Sink } from '../cli/io.js';
import { parseAt } from '../cli/replay-input.js';
import type { CommonArgs, RunContext } from '../cli/run.js';
import { checkTerminal, type InputArgs, type OutputArgs } from '../cli/stream-options.js';
import type { NativeHeader } from '../codec/native.js';
import { openStream, type OpenedStream } from '../codec/read.js';
import { envelopeOf, type OpRecord, type RecordBatch, type RecordStream } from '../codec/record.js';
import { PachError, usageError } from '../errors.js';
import type { OpVersion } from '../schema/registry.js';
import { SECRET_FIELDS } from '../replay/redacted.js';
import { StreamGraph } from './graph.js';
import { objectsToKeep, type ObjectKeep } from './objects.js';
import { makePlan, type Plan } from './plan.js';
import { Rewriter } from './rewrite.js';

export interface FilterFlags {
  repo: string[];
  excludeRepo: string[];
  pipeline: string[];
  excludePipeline: string[];
  deps: boolean;
  mapRepo: string[];
  mapPipeline: string[];
  stripAuth: boolean;
  stripEnterprise: boolean;
  redact: boolean;
  keepLast?: number;
  since?: string;
  prune?: boolean;
  tempDir?: string;
}

const list = { type: 'string' as const, array: true as const, nargs: 1, default: [] as string[], requiresArg: true };

export function filterOptions<T>(y: Argv<T>): Argv<T & FilterFlags> {
  return y
    .option('repo', { ...list, describe: 'keep the repos whose name matches GLOB (repeatable), with what they need' })
    .option('exclude-repo', { ...list, describe: 'drop the repos matching GLOB (repeatable), and every pipeline that reads them' })
    .option('pipeline', { ...list, describe: 'keep the pipelines matching GLOB (repeatable), with their inputs, spec and stats' })
    .option('exclude-pipeline', { ...list, describe: 'drop the pipelines matching GLOB (repeatable), and every pipeline that reads them' })
    .option('deps', { type: 'boolean', default: true, describe: 'dependency closure: --no-deps keeps exactly what the globs say, and warns what the output lacks' })
    .option('map-repo', { ...list, describe: 'rename input repo OLD to NEW everywhere it is referenced (OLD=NEW, repeatable)' })
    .option('map-pipeline', { ...list, describe: 'rename pipeline OLD, its output repo and spec branch, to NEW (OLD=NEW, repeatable)' })
    .option('strip-auth', { type: 'boolean', default: false, describe: 'drop every auth op (tokens, role bindings, auth config, ACLs)' })
    .option('strip-enterprise', { type: 'boolean', default: false, describe: 'drop the enterprise activation' })
    .option('redact', { type: 'boolean', default: false, describe: 'replace tokens and activation codes by marked placeholders' })
    .option('keep-last', { type: 'number', requiresArg: true, describe: 'keep the N newest commits of every branch (the oldest kept becomes a root)' })
    .option('since', { type: 'string', requiresArg: true, describe: 'drop commits finished before TIME (RFC 3339), except each branch\'s head' })
    .option('prune', { type: 'boolean', describe: 'keep only the objects, blocks and tags a kept record references (default: when anything is dropped); --no-prune keeps them all' })
    .option('temp-dir', { type: 'string', requiresArg: true, describe: 'where a piped input is spilled for the second pass (default $TMPDIR)' }) as unknown as Argv<T & FilterFlags>;
}

/** The filter flags a command line gave, as the user spelled them (for "does not go with" errors). */
export function filterFlagsGiven(args: FilterFlags): string[] {
  const given: string[] = [];
  for (const [flag, value] of [
    ['--repo', args.repo.length], ['--exclude-repo', args.excludeRepo.length], ['--pipeline', args.pipeline.length],
    ['--exclude-pipeline', args.excludePipeline.length], ['--no-deps', !args.deps], ['--map-repo', args.mapRepo.length],
    ['--map-pipeline', args.mapPipeline.length], ['--strip-auth', args.stripAuth], ['--strip-enterprise', args.stripEnterprise],
    ['--redact', args.redact], ['--keep-last', args.keepLast !== undefined], ['--since', args.since !== undefined],
    ['--prune', args.prune !== undefined], ['--temp-dir', args.tempDir !== undefined],
  ] as const) if (value) given.push(flag);
  return given;
}

/** The flags that need no look at the whole stream. */
const ONE_PASS_FLAGS: ReadonlySet<string> = new Set(['--strip-auth', '--strip-enterprise', '--redact', '--temp-dir']);

/** Small spilled records are gathered into a buffer of this size before a write. */
const SPILL_BUFFER = 1 << 20;

type FilterRunArgs = FilterFlags & InputArgs & OutputArgs & CommonArgs & { _: (string | number)[] };

/**
 * Where the records come from, once per pass. A regular file is opened again
 * for each pass (and must not change in between); anything else (a pipe,
 * stdin) is read once and spilled, raw-framed, to a temporary file that the
 * later passes read and that is removed at the end, whatever the end.
 */
class Source {
  private spill: { dir: string; file: string; fd: number } | null = null;
  private stat: fs.Stats | null = null;
  private passes = 0;
  readonly counter: ByteCounter = { bytes: 0 };

  constructor(private readonly operand: string | undefined, private readonly from: InputArgs['from'], private readonly tempDir: string | undefined, private readonly warn: (m: string) => void) {
    if (operand && operand !== '-') {
      try {
        const st = fs.statSync(operand);
        if (st.isFile()) this.stat = st;
      } catch {
        /* openInput reports it */
      }
    }
  }

  get name(): string {
    return inputName(this.operand);
  }

  /** Opens the next pass. The first reads the input; later ones re-read the file or the spill. */
  async open(): Promise<OpenedStream> {
    const first = this.passes++ === 0;
    const warn = (m: string): void => this.warn(`${this.name}: ${m}`);
    if (first) {
      const opened = await openStream(openInput(this.operand, this.counter), { from: this.from, warn });
      if (this.stat) return opened;
      const dir = fs.mkdtempSync(path.join(this.tempDir ?? os.tmpdir(), 'pach-filter-'));
      const file = path.join(dir, 'spill.raw');
      this.spill = { dir, file, fd: fs.openSync(file, 'wx', 0o600) };
      return { ...opened, records: this.teed(opened.records) };
    }
    if (this.stat) {
      this.checkUnchanged();
      return openStream(openInput(this.operand, { bytes: 0 }), { from: this.from, warn });
    }
    return openStream(openInput(this.spill!.file, { bytes: 0 }), { from: 'raw', warn });
  }

  /**
   * Writes every record of the first pass to the spill file as it goes by (8-byte
   * length, then the record). Small records are gathered into one 1 MiB buffer;
   * a big one is written from where it lies, so spilling copies no large record.
   */
  private async *teed(records: RecordStream): RecordStream {
    const s = this.spill!;
    const buf = Buffer.allocUnsafe(SPILL_BUFFER);
    let used = 0;
    const write = (bytes: Uint8Array): void => {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(s.fd, bytes, off);
    };
    const flush = (): void => {
      if (used) write(buf.subarray(0, used));
      used = 0;
    };
    for await (const batch of records) {
      for (const rec of batch) {
        const n = rec.bytes.length;
        if (used + 8 + n > SPILL_BUFFER) flush();
        buf.writeBigUInt64LE(BigInt(n), used);
        used += 8;
        if (n > SPILL_BUFFER - used) {
          flush();
          write(rec.bytes);
        } else {
          buf.set(rec.bytes, used);
          used += n;
        }
      }
      yield batch;
    }
    flush();
    fs.closeSync(s.fd);
    s.fd = -1;
  }

  /** A file that changed between passes would make the plan wrong for what is written. */
  checkUnchanged(): void {
    if (!this.stat) return;
    const now = fs.statSync(this.operand!);
    if (now.size !== this.stat.size || now.mtimeMs !== this.stat.mtimeMs) {
      throw new PachError('PACH_INPUT_CHANGED', `${this.name} changed while it was being filtered (it is read twice); nothing is kept`, 'DATA');
    }
  }

  /** Removes the spill. Never throws. */
  cleanup(): void {
    const s = this.spill;
    if (!s) return;
    this.spill = null;
    try {
      if (s.fd >= 0) fs.closeSync(s.fd);
    } catch {
      /* closed */
    }
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
}

/** Drains a stream (the first pass) into `each`. */
async function drain(records: RecordStream, each: (rec: OpRecord) => void): Promise<void> {
  for await (const batch of records) for (const rec of batch) each(rec);
}

function parseKeepLast(n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < 1) throw usageError(`--keep-last ${n}: expected a whole number of commits, 1 or more`);
  return n;
}

function parseSince(text: string | undefined): number | undefined {
  try {
    return parseAt(text);
  } catch {
    throw usageError(`--since ${text}: not an RFC 3339 time (e.g. 2020-12-16T00:00:00Z)`);
  }
}

/** The history entry's account of what the run does (secrets are never in it). */
function filterRecord(args: FilterRunArgs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const sel: Record<string, string[]> = {};
  if (args.repo.length) sel.repo = args.repo;
  if (args.excludeRepo.length) sel.exclude_repo = args.excludeRepo;
  if (args.pipeline.length) sel.pipeline = args.pipeline;
  if (args.excludePipeline.length) sel.exclude_pipeline = args.excludePipeline;
  if (Object.keys(sel).length) out.select = { ...sel, deps: args.deps };
  if (args.mapRepo.length || args.mapPipeline.length) out.renamed = { repos: args.mapRepo, pipelines: args.mapPipeline };
  if (args.keepLast !== undefined) out.keep_last = args.keepLast;
  if (args.since !== undefined) out.since = args.since;
  const strip = [...(args.stripAuth ? ['auth'] : []), ...(args.stripEnterprise ? ['enterprise'] : [])];
  if (strip.length) out.strip = strip;
  if (args.redact) out.redacted = [...SECRET_FIELDS];
  return out;
}

/**
 * The filter mode: plan on a first pass (when the flags need one), read the
 * kept trees on a second (when objects are pruned), write on the last.
 */
export async function runFilter(args: FilterRunArgs, ctx: RunContext): Promise<number> {
  if (args._.length > 1) throw usageError(`one input at most, got ${args._.length}`);
  const keepLast = parseKeepLast(args.keepLast);
  const since = parseSince(args.since);
  const operand = args._.length ? String(args._[0]) : undefined;
  // Only stripping and redacting go without a plan: they decide op by op.
  const needsPlan = filterFlagsGiven(args).some((flag) => !ONE_PASS_FLAGS.has(flag));
  const source = new Source(operand, args.from, args.tempDir, (m) => ctx.log.warn(m));
  const name = source.name;
  const sink: Sink = args.output && args.output !== '-' ? fileSink(args.output) : stdoutSink();
  ctx.onAbort(() => {
    sink.abort();
    source.cleanup();
  });
  checkTerminal(args, sink);
  try {
    let opened = await source.open();
    let graph: StreamGraph | null = null;
    let plan: Plan | null = null;
    let objects: ObjectKeep | null = null;
    let inputHeader: NativeHeader | undefined;
    if (needsPlan) {
      const g = new StreamGraph();
      await drain(opened.records, (rec) => g.add(rec));
      graph = g;
      plan = makePlan(g, { repo: args.repo, excludeRepo: args.excludeRepo, pipeline: args.pipeline, excludePipeline: args.excludePipeline, deps: args.deps, mapRepo: args.mapRepo, mapPipeline: args.mapPipeline, keepLast, since, prune: args.prune });
      for (const n of plan.notes) ctx.log.info(`${name}: ${n}`);
      for (const w of plan.warnings) ctx.log.warn(`${name}: ${w}`);
      if (plan.prune && g.lastDataRecord >= 0) objects = await objectsToKeep((await source.open()).records, g, plan, (m) => ctx.log.warn(`${name}: ${m}`));
      // The input's header, from the first pass: a spill file is raw framing and has none.
      inputHeader = opened.header();
      opened = await source.open();
    } else {
      await opened.first();
      inputHeader = opened.header();
    }
    const rewriter = new Rewriter({ stripAuth: args.stripAuth, stripEnterprise: args.stripEnterprise, redact: args.redact }, plan, graph, objects);
    const kept: RecordStream = (async function* () {
      for await (const batch of opened.records) {
        const out: RecordBatch = [];
        for (const rec of batch) {
          ctx.stats.records_in++;
          const r = rewriter.apply(rec);
          if (r) out.push(r);
        }
        if (out.length) yield out;
      }
    })();
    const firstRecord = graph ? undefined : await opened.first();
    const first = graph?.version ?? (firstRecord ? envelopeOf(firstRecord).version : undefined);
    const header = continuedHeader(inputHeader, (first ?? inputHeader?.op_version ?? null) as OpVersion | null, 'pach-filter', ctx, { filter: filterRecord(args) });
    for await (const chunk of encoderFor(args.to, countedOut(kept, ctx), header, ctx)) await sink.write(chunk);
    source.checkUnchanged();
    await sink.close();
    const t = rewriter.tally;
    const dropped = Object.entries(t.dropped).map(([k, n]) => `${k} ${n}`).join(', ');
    const redacted = Object.values(t.redacted).reduce((a, b) => a + b, 0);
    ctx.log.info(`${name}: kept ${ctx.stats.records_out} of ${ctx.stats.records_in} records${dropped ? ` (dropped: ${dropped})` : ''}${t.newRoots ? `; ${t.newRoots} commits became roots` : ''}${t.provenanceRemoved ? `; ${t.provenanceRemoved} provenance entries removed` : ''}${redacted ? `; ${redacted} secrets redacted` : ''}`);
    if (args.stripAuth && !args.redact && ctx.stats.counts.activate_enterprise) {
      ctx.log.warn(`${name}: the output still carries the enterprise activation code (a secret): add --strip-enterprise or --redact`);
    }
    Object.assign(ctx.stats, { dropped: t.dropped, changed: t.changed, redacted: t.redacted });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof PachError && err.exit === 'DATA' && err.input === undefined) err.input = name;
    throw err;
  } finally {
    ctx.stats.bytes_in = source.counter.bytes;
    ctx.stats.bytes_out = sink.bytes;
    source.cleanup();
  }
}
