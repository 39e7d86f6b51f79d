/**
 * pach-filter: a filter by default (select, rename, redact, trim: lib/filters/),
 * and three report modes. `--list` prints the table of contents of a stream,
 * `--verify` checks its bytes and replays it through the model of pachd's
 * restore, listing every problem with its record, and `--diff` compares two
 * streams.
 */
import type { Argv } from 'yargs';
import { usageError } from '../../errors.js';
import { problemCounts, contentsOf } from '../../replay/report.js';
import { plural, problemLine, renderContents } from '../../replay/render.js';
import { EXIT } from '../exit-codes.js';
import { parseAt, parsePachd, replayInput, replayOptions, type ReplayArgs } from '../replay-input.js';
import type { CommonArgs, Command, RunContext } from '../run.js';
import { checkTerminal, inputOptions, outputOptions, type InputArgs, type OutputArgs } from '../stream-options.js';
import type { OpVersion } from '../../schema/registry.js';
import { openStream } from '../../codec/read.js';
import { envelopeOf, type RecordBatch, type RecordStream } from '../../codec/record.js';
import { PachError } from '../../errors.js';
import type { ClusterModel } from '../../replay/model.js';
import type { Problem } from '../../replay/problems.js';
import { Replayer } from '../../replay/replay.js';
import { continuedHeader, countedOut, encoderFor } from '../encode.js';
import { fileSink, inputName, openInput, stdoutSink, type ByteCounter, type Sink } from '../io.js';

import { runDiff } from '../../filters/diff.js';
import { filterFlagsGiven, filterOptions, runFilter, type FilterFlags } from '../../filters/command.js';

interface FilterArgs extends InputArgs, OutputArgs, ReplayArgs, FilterFlags {
  list: boolean;
  verify: boolean;
  commits: boolean;
  pass: boolean;
  diff?: string;
}

/**
 * `--verify --pass`: the stream goes on to stdout while it is checked, as a
 * gate in front of pach-restore. It stops before the first record pachd would
 * refuse, and a stream that fails at its end loses its trailer, so nothing
 * downstream takes a stream that did not verify as whole.
 */
async function verifyPass(args: FilterArgs & CommonArgs & { _: (string | number)[] }, ctx: RunContext): Promise<number> {
  if (args._.length > 1) throw usageError(`one input at most, got ${args._.length}`);
  const operand = args._.length ? String(args._[0]) : undefined;
  const name = inputName(operand);
  const counter: ByteCounter = { bytes: 0 };
  const sink: Sink = args.output && args.output !== '-' ? fileSink(args.output) : stdoutSink();
  ctx.onAbort(() => sink.abort());
  checkTerminal(args, sink);
  const opened = await openStream(openInput(operand, counter), { from: args.from, warn: (m) => ctx.log.warn(`${name}: ${m}`) });
  const first = await opened.first();
  const inHeader = opened.header();
  const replayer = new Replayer({ pachdVersion: parsePachd(args.pachdVersion), now: parseAt(args.at) }, (inHeader?.op_version as string | null | undefined) ?? '1.13');
  const model = (): ClusterModel => replayer.model;
  let failure: PachError | undefined;
  const refuse = (p: Problem): void => {
    ctx.log.error(`${name}: ${problemLine(p)}`);
    failure = new PachError('PACH_VERIFY_FAILED', `${name}: the stream stops before record ${p.record}, which pachd would refuse (${p.code}); nothing from it on is written${args.to === 'native' ? ', and no trailer' : ''}`, 'DATA', { record: p.record });
  };
  const checked: RecordStream = (async function* () {
    for await (const batch of opened.records) {
      const ok: RecordBatch = [];
      for (const rec of batch) {
        ctx.stats.records_in++;
        const before = model().problems.length;
        replayer.apply(rec);
        const fresh = model().problems.slice(before);
        for (const p of fresh) if (p.severity === 'hazard') ctx.log.warn(`${name}: ${problemLine(p)}`);
        const bad = fresh.find((p) => p.severity === 'error');
        if (bad) {
          if (ok.length) yield ok;
          return refuse(bad);
        }
        ok.push(rec);
      }
      yield ok;
    }
    const before = model().problems.length;
    replayer.end();
    const bad = model().problems.slice(before).find((p) => p.severity === 'error');
    if (bad) refuse(bad);
  })();
  const header = continuedHeader(inHeader, (first ? envelopeOf(first).version : (inHeader?.op_version ?? null)) as OpVersion | null, 'pach-filter', ctx);
  try {
    let atTrailer = false;
    // What verified is written; a stream that failed ends without its trailer (a cut stream to every reader).
    for await (const chunk of encoderFor(args.to, countedOut(checked, ctx), header, ctx, () => (atTrailer = true))) {
      if (atTrailer && failure) break;
      await sink.write(chunk);
    }
    if (failure && args.output && args.output !== '-') throw failure;
    await sink.close();
    if (failure) throw failure;
  } catch (err) {
    if (err instanceof PachError && err.exit === 'DATA' && err.code !== 'PACH_VERIFY_FAILED') err.input = name;
    throw err;
  } finally {
    ctx.stats.bytes_in = counter.bytes;
    ctx.stats.bytes_out = sink.bytes;
    ctx.stats.problems = model().problems;
  }
  ctx.log.info(`${name}: verified while passing: ${ctx.stats.records_out} records, no errors`);
  return EXIT.OK;
}

export const filterCommand: Command<FilterArgs> = {
  name: 'pach-filter',
  summary: 'select, rename, redact and trim a Pachyderm backup stream; list, verify and compare streams',
  synopsis: '[--repo G] [--pipeline G] [--exclude-repo G] [--map-repo OLD=NEW] [--redact] [--keep-last N] … [FILE|-]\n       pach-filter --list|--verify|--diff OTHER [options] [FILE|-]',
  description: [
    'Without --list, --verify or --diff it is a filter: the stream goes to stdout (or -o FILE)',
    'minus what the flags take out. --repo/--pipeline GLOB keep units (a pipeline is one unit',
    'with its output repo, spec and stats branches and jobs) with everything they need;',
    '--exclude-repo/--exclude-pipeline drop units and every pipeline downstream of them; --no-deps',
    'keeps exactly what the globs say. Objects, blocks and tags no kept record references are',
    'dropped when anything is. --map-repo/--map-pipeline rename every reference. --strip-auth,',
    '--strip-enterprise and --redact remove secrets. --keep-last N and --since TIME trim history',
    '(the oldest kept commit becomes a root). Decisions need the whole stream: a file is read',
    'twice, a pipe is spilled to a temporary file. The header\'s history records the run.',
    '',
    '--list prints the table of contents of a stream: its framing, op version, header and',
    'history, ops per kind, every repo with its branches (head, commits, provenance), every',
    'pipeline with its inputs and jobs, objects and blocks, auth and enterprise (never a secret).',
    '',
    '--verify --pass is the same check as a gate in a pipe: the stream passes on to stdout (any',
    '--to framing) with hazards on stderr, and stops before the first record pachd would refuse',
    '(exit 65, and no trailer, so a pach-restore downstream stops too).',
    '',
    '--verify checks the stream\'s bytes (native trailer and SHA-256, pachctl CRCs) and replays',
    'it through a model of pachd\'s restore: every op pachd would refuse (an error) or accept',
    'into a cluster that is not the one extracted (a hazard) is listed on stdout with its',
    'record, op kind, names and what pachd would answer. Exit 0 when clean, 65 otherwise.',
    'The rules are those of pachd at the stream\'s op version; --pachd-version names another.',
    '',
    '',
    '--diff OTHER compares the input (old) with OTHER (new): - removed, + added, ~ changed;',
    'exit 0 when they hold the same, 1 when they differ.',
  ].join('\n'),
  examples: [
    ['pach-filter --pipeline sort backup.native > sort.native', 'pipeline sort with its inputs, spec, stats and data'],
    ['pach-filter --exclude-repo right backup.native > no-right.native', 'drop repo right and the pipelines that read it'],
    ['zstd -dc backup.zst | pach-filter --map-repo left=left2 | pach-restore --pachd new:30650', 'restore under another name'],
    ['pach-filter --redact --keep-last 1 backup.native | zstd > share.zst', 'heads only, secrets replaced'],
    ['pach-filter backup.native --diff filtered.native', 'what a filter took out'],
    ['pach-filter --list backup.pachctl', 'what is in a backup'],
    ['zstd -dc backup.zst | pach-filter --verify', 'lint a backup before restoring it'],
    ['pach-extract --pachd old:30650 | pach-filter --verify --pass | pach-restore --pachd new:30650', 'restore only what verifies'],
    ['pach-filter --verify --pachd-version 1.13 old-1.7.pachctl', 'will this 1.7 backup restore into pachd 1.13?'],
    ['pach-filter --list --format json --commits backup.native | jq \'.repos[].commit_list | length\'', 'every commit, as JSON'],
  ],
  options: (y: Argv<CommonArgs>) =>
    filterOptions(outputOptions(replayOptions(inputOptions(y))))
      .option('diff', { type: 'string', describe: 'compare the input with the stream OTHER: what was added, removed or changed; exit 0 same, 1 different', requiresArg: true })
      .option('pass', { type: 'boolean', default: false, describe: 'with --verify: pass the stream on to stdout (--to, -o) and report on stderr; stop before the first record pachd would refuse' })
      .option('list', { type: 'boolean', default: false, describe: 'print the table of contents of the stream' })
      .option('verify', { type: 'boolean', default: false, describe: 'check integrity and replay the stream; list every problem; exit 65 if any' })
      .option('commits', { type: 'boolean', default: false, describe: 'with --list: every commit of every repo (id, parent, provenance, times, size, origin)' }) as unknown as Argv<FilterArgs>,

  async run(args, ctx) {
    const report = args.list || args.verify || args.diff !== undefined;
    const given = filterFlagsGiven(args);
    if (report && given.length) throw usageError(`${given[0]} filters a stream; it does not go with --list, --verify or --diff (pipe one pach-filter into another)`);
    if ([args.list, args.verify, args.diff !== undefined].filter(Boolean).length > 1 && !(args.list && args.verify)) throw usageError('--diff does not go with --list or --verify');
    if (args.pass && (!args.verify || args.list)) throw usageError('--pass goes with --verify (and not --list)');
    if (args.pass) return verifyPass(args, ctx);
    if (args.diff !== undefined) return runDiff(args as typeof args & { diff: string }, ctx);
    if (!report) return runFilter(args, ctx);
    if (args.commits && !args.list) throw usageError('--commits goes with --list');
    const { replayer, stream, name } = await replayInput(args, ctx);
    const problems = replayer.model.problems;
    const { errors, hazards } = problemCounts(problems);
    ctx.stats.records_out = 0;
    ctx.stats.problems = problems;
    const out: string[] = [];
    if (args.format === 'json') {
      const report: Record<string, unknown> = {};
      if (args.list) Object.assign(report, contentsOf(replayer, stream, { commits: args.commits }));
      else report.stream = stream;
      if (args.verify) Object.assign(report, { ok: problems.length === 0, errors, hazards, problem_list: problems });
      out.push(JSON.stringify(report) + '\n');
    } else {
      if (args.list) out.push(renderContents(contentsOf(replayer, stream, { commits: args.commits })));
      if (args.verify) {
        if (args.list) out.push('\n');
        out.push(problems.length ? problems.map(problemLine).join('\n') + '\n' : `${name}: ${stream.records} records replayed, no problems\n`);
      }
    }
    const sink = stdoutSink();
    for (const chunk of out) await sink.write(Buffer.from(chunk));
    await sink.close();
    if (!args.verify) return stream.integrity.state === 'failed' ? EXIT.DATA : EXIT.OK;
    if (!problems.length) {
      ctx.log.info(`${name}: clean: ${stream.records} records, integrity ${stream.integrity.state}`);
      return EXIT.OK;
    }
    const first = problems[0]!;
    ctx.log.error(`${name}: ${plural(errors, 'error')}, ${plural(hazards, 'hazard')}; first at ${first.record >= 0 ? `record ${first.record}` : 'the end of the stream'}: ${first.code}`);
    return EXIT.DATA;
  },
};
