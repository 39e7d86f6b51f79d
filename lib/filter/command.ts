/**
 * pach-filter's filter mode: the flags, and the run that reads a stream
 * (twice when it must: see lib/filter/passes.ts) and writes what is kept.
 */
import type { Argv } from 'yargs';
import type { RunContext } from '../cli/run.js';
import { usageError } from '../errors.js';

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

const list = { type: 'string' as const, array: true as const, default: [] as string[], requiresArg: true };

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

export async function runFilter(_args: FilterFlags, _ctx: RunContext): Promise<number> {
  throw usageError('the filter mode is being built');
}
