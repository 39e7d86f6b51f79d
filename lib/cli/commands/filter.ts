/**
 * pach-filter: for now its report modes. `--list` prints the table of
 * contents of a stream, `--verify` checks its bytes and replays it through
 * the model of pachd's restore, listing every problem with its record.
 * Selecting, renaming and redacting records come with their own issue.
 */
import type { Argv } from 'yargs';
import { usageError } from '../../errors.js';
import { problemCounts, contentsOf } from '../../replay/report.js';
import { plural, problemLine, renderContents } from '../../replay/render.js';
import { EXIT } from '../exit-codes.js';
import { stdoutSink } from '../io.js';
import { replayInput, replayOptions, type ReplayArgs } from '../replay-input.js';
import type { CommonArgs, Command } from '../run.js';
import { inputOptions, type InputArgs } from '../stream-options.js';

interface FilterArgs extends InputArgs, ReplayArgs {
  list: boolean;
  verify: boolean;
  commits: boolean;
}

export const filterCommand: Command<FilterArgs> = {
  name: 'pach-filter',
  summary: 'list and verify the records of a Pachyderm backup stream',
  synopsis: '--list|--verify [options] [FILE|-]',
  description: [
    '--list prints the table of contents of a stream: its framing, op version, header and',
    'history, ops per kind, every repo with its branches (head, commits, provenance), every',
    'pipeline with its inputs and jobs, objects and blocks, auth and enterprise (never a secret).',
    '',
    '--verify checks the stream\'s bytes (native trailer and SHA-256, pachctl CRCs) and replays',
    'it through a model of pachd\'s restore: every op pachd would refuse (an error) or accept',
    'into a cluster that is not the one extracted (a hazard) is listed on stdout with its',
    'record, op kind, names and what pachd would answer. Exit 0 when clean, 65 otherwise.',
    'The rules are those of pachd at the stream\'s op version; --pachd-version names another.',
    '',
    'Selecting, renaming and redacting records are not in this build yet.',
  ].join('\n'),
  examples: [
    ['pach-filter --list backup.pachctl', 'what is in a backup'],
    ['zstd -dc backup.zst | pach-filter --verify', 'lint a backup before restoring it'],
    ['pach-filter --verify --pachd-version 1.13 old-1.7.pachctl', 'will this 1.7 backup restore into pachd 1.13?'],
    ['pach-filter --list --format json --commits backup.native | jq \'.repos[].commit_list | length\'', 'every commit, as JSON'],
  ],
  options: (y: Argv<CommonArgs>) =>
    replayOptions(inputOptions(y))
      .option('list', { type: 'boolean', default: false, describe: 'print the table of contents of the stream' })
      .option('verify', { type: 'boolean', default: false, describe: 'check integrity and replay the stream; list every problem; exit 65 if any' })
      .option('commits', { type: 'boolean', default: false, describe: 'with --list: every commit of every repo (id, parent, provenance, times, size, origin)' }) as unknown as Argv<FilterArgs>,

  async run(args, ctx) {
    if (!args.list && !args.verify) throw usageError('pach-filter needs --list or --verify in this build (selection is not implemented yet)');
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
