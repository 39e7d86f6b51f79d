/**
 * pach-restore: into a live pachd (restore-live.ts), or the dry run: the
 * stream replayed into a model of pachd (lib/replay/), empty or seeded with
 * the target, and the plan printed: what the restore would create, what pachd
 * would answer "already exists" to, the pipeline outputs pachd would have to
 * recompute, and where the restore would stop.
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
  summary: 'restore a Pachyderm backup stream into a live pachd, or plan it (--dry-run)',
  synopsis: '[--pachd ADDR] [--journal FILE] [--resume] [options] [FILE|-]\n       pach-restore --dry-run [--pachd ADDR | --onto EXTRACT] [options] [FILE|-]',
  description: [
    'Replays the stream into pachd through admin.API/Restore, each record as one RestoreRequest',
    'with its bytes unchanged (a stream older than pachd is converted on the way, as pachd would).',
    'Pre-flight first: pachd answers and reads the op version, the token and admin rights are',
    'there, the target is empty (or --on-conflict=skip), running jobs are reported.',
    '',
    'Records go in Restore calls that never split an object; after each call pachd acknowledges,',
    'the journal (--journal, default ~/.local/state/pach-migrate/restore-CLUSTER.journal.json) is',
    'rewritten atomically with the stream\'s SHA-256 up to there. A dropped connection or deadline',
    'is retried with backoff; anything that stops the restore names the records not acknowledged',
    'and prints the --resume command. --resume proves it reads the same stream, and looks in the',
    'target for the jobs, tokens and activations of the interrupted call before sending them again.',
    '',
    '--dry-run replays the stream into a model of pachd, with the rules of pachd\'s restore at the',
    'stream\'s op version (or --pachd-version), and prints the plan: what would be created per',
    'kind (real counts), what pachd answers "already exists" to, the pipelines whose outputs',
    'pachd will recompute (jobs and input commits), whether the restore needs a token, and the',
    'record where it would fail. Exit 0 when the restore would run to the end, 65 when it would',
    'stop on an error. The model starts empty, or from the live target (--pachd: its extract),',
    'or from --onto EXTRACT (the target as a stream of it holds it).',
  ].join('\n'),
  examples: [
    ['pach-extract --pachd old:30650 | pach-convert --to-version 1.13 | pach-restore --pachd new:30650', 'migrate a cluster'],
    ['PACH_TOKEN=$(cat admin.token) pach-restore --pachd grpcs://pachd:30650 --ca ca.pem backup.native', 'restore a backup with auth, over TLS'],
    ['pach-restore --resume --journal restore.journal.json --pachd new:30650 backup.native', 'finish a restore that was interrupted'],
    ['pach-restore --dry-run backup.pachctl', 'what a restore of this backup would do'],
    ['pach-restore --dry-run --pachd new:30650 backup.native', 'the plan against the live target'],
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
