/**
 * pach-restore: in this build, the dry run. It replays the stream into an
 * empty model of pachd (lib/replay/) and prints the plan: what the restore
 * would create, what pachd would answer "already exists" to, the pipeline
 * outputs pachd would have to recompute, and where the restore would stop.
 * Restoring into a live pachd needs the gRPC client, which is not in this build.
 */
import type { Argv } from 'yargs';
import { PachError } from '../../errors.js';
import { planOf } from '../../replay/report.js';
import { problemLine, renderPlan } from '../../replay/render.js';
import { EXIT } from '../exit-codes.js';
import { stdoutSink } from '../io.js';
import { replayInput, replayOptions, type ReplayArgs } from '../replay-input.js';
import type { CommonArgs, Command } from '../run.js';
import { inputOptions, type InputArgs } from '../stream-options.js';

interface RestoreArgs extends InputArgs, ReplayArgs {
  dryRun: boolean;
}

export const restoreCommand: Command<RestoreArgs> = {
  name: 'pach-restore',
  summary: 'plan the restore of a Pachyderm backup stream (--dry-run)',
  synopsis: '--dry-run [options] [FILE|-]',
  description: [
    '--dry-run replays the stream into an empty model of pachd, with the rules of pachd\'s',
    'restore at the stream\'s op version (or --pachd-version), and prints the plan: what would',
    'be created per kind (with real counts), what pachd answers "already exists" to, the',
    'pipelines whose outputs pachd will recompute (jobs and input commits), whether the',
    'restore needs a token, and the record where it would fail. Exit 0 when the restore would',
    'run to the end, 65 when it would stop on an error. Nothing is contacted.',
    '',
    'Restoring into a live pachd is not in this build yet.',
  ].join('\n'),
  examples: [
    ['pach-restore --dry-run backup.pachctl', 'what a restore of this backup would do'],
    ['pach-convert --to-version 1.13 old.pachctl | pach-restore --dry-run --format json | jq .recompute', 'the jobs pachd 1.13 would re-run after a migration'],
  ],
  options: (y: Argv<CommonArgs>) =>
    replayOptions(inputOptions(y)).option('dry-run', { type: 'boolean', default: false, describe: 'plan the restore offline; contact nothing' }) as unknown as Argv<RestoreArgs>,

  async run(args, ctx) {
    if (!args.dryRun) throw new PachError('PACH_NOT_IMPLEMENTED', 'restoring into a pachd is not in this build yet; --dry-run plans a restore offline', 'FAILURE');
    const { replayer, stream, name } = await replayInput(args, ctx);
    const plan = planOf(replayer, stream);
    ctx.stats.problems = plan.problems;
    ctx.stats.outcome = plan.outcome;
    const sink = stdoutSink();
    await sink.write(Buffer.from(args.format === 'json' ? JSON.stringify(plan) + '\n' : renderPlan(plan)));
    await sink.close();
    for (const p of plan.problems) if (p.severity === 'hazard') ctx.log.warn(`${name}: ${problemLine(p)}`);
    if (plan.stops_at) {
      ctx.log.error(`${name}: the restore would fail at record ${plan.stops_at.record}: ${plan.stops_at.code}: ${plan.stops_at.message}`);
      return EXIT.DATA;
    }
    return EXIT.OK;
  },
};
