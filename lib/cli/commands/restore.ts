/**
 * pach-restore: in this build, the dry run. It replays the stream into an
 * empty model of pachd (lib/replay/) and prints the plan: what the restore
 * would create, what pachd would answer "already exists" to, the pipeline
 * outputs pachd would have to recompute, and where the restore would stop.
 * Restoring into a live pachd needs the gRPC client, which is not in this build.
 */
import type { Argv } from 'yargs';
import { PachError, usageError } from '../../errors.js';
import type { ClusterModel } from '../../replay/model.js';
import { connectPachd, opVersionOfRelease } from '../pachd-options.js';
import { liveOptions, readTarget, restoreLive, type LiveArgs } from './restore-live.js';
import type { OpVersion } from '../../schema/registry.js';
import { planOf, type OntoFacts } from '../../replay/report.js';
import { problemLine, renderPlan } from '../../replay/render.js';
import { EXIT } from '../exit-codes.js';
import { stdoutSink } from '../io.js';
import { replayInput, replayOptions, type ReplayArgs } from '../replay-input.js';
import type { CommonArgs, Command } from '../run.js';
import { inputOptions, type InputArgs } from '../stream-options.js';

interface RestoreArgs extends InputArgs, ReplayArgs, LiveArgs {
  dryRun: boolean;
  onto?: string;
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
    '--onto EXTRACT starts the model from the target cluster as it stands (an extract of it, any',
    'framing) instead of an empty one: repos, commits and pipelines already there, auth already',
    'active, objects the target already holds. The rules are then those of the target\'s op version.',
    '',
    'Restoring into a live pachd is not in this build yet.',
  ].join('\n'),
  examples: [
    ['pach-restore --dry-run backup.pachctl', 'what a restore of this backup would do'],
    ['pach-convert --to-version 1.13 old.pachctl | pach-restore --dry-run --format json | jq .recompute', 'the jobs pachd 1.13 would re-run after a migration'],
    ['pach-restore --dry-run --onto target-now.native backup.native', 'restoring into a cluster that is not empty'],
  ],
  options: (y: Argv<CommonArgs>) =>
    liveOptions(replayOptions(inputOptions(y)))
      .option('dry-run', { type: 'boolean', default: false, describe: 'plan the restore and restore nothing: offline against an empty cluster, or against the live target with --pachd' })
      .option('onto', { type: 'string', requiresArg: true, describe: 'with --dry-run: plan against the target cluster as EXTRACT (a stream of it) holds it, instead of an empty one' }) as unknown as Argv<RestoreArgs>,

  async run(args, ctx) {
    if (!args.dryRun) {
      if (args.onto) throw usageError('--onto goes with --dry-run');
      return restoreLive(args, ctx);
    }
    if (args.onto && args.pachd) throw usageError('--onto and --pachd both name the target: give one');
    if (args.onto === '-' && (args._[0] === undefined || String(args._[0]) === '-')) throw usageError('--onto - and the stream to restore cannot both come from stdin');
    let target: { model: ClusterModel; facts: OntoFacts } | undefined;
    if (args.onto) {
      const t = await replayInput({ ...args, from: 'auto' }, ctx, { file: args.onto });
      const problems = t.replayer.model.settle();
      if (t.stream.integrity.state === 'failed') throw new PachError('PACH_ONTO_BROKEN', `--onto ${args.onto}: ${t.stream.integrity.detail}`, 'DATA');
      if (problems.length) ctx.log.warn(`--onto ${args.onto}: replaying the target's own extract found ${problems.length} problem(s) (pach-filter --verify ${args.onto} lists them); the plan starts from what it holds`);
      target = { model: t.replayer.model, facts: { input: t.name, op_version: t.stream.op_version, records: t.stream.records, problems: problems.length } };
    } else if (args.pachd) {
      // The live target: its extract (without objects) replayed, as --onto replays a file.
      const { client, release } = await connectPachd(args, ctx);
      try {
        const op = opVersionOfRelease(release) as OpVersion;
        const { model, records } = await readTarget(client, op, args);
        args.pachdVersion ??= op;
        target = { model, facts: { input: `pachd ${release} at ${client.target.display}`, op_version: op, records, problems: 0 } };
      } finally {
        client.close();
      }
    }
    const { replayer, stream, name } = await replayInput(args, ctx, { onto: target?.model });
    const plan = planOf(replayer, stream, target?.facts);
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
