/**
 * The option groups shared by every tool that reads or writes a stream
 * (DESIGN.md §7), with the one normaliser that fills defaults and validates.
 */
import type { Argv } from 'yargs';
import { FRAMINGS, type Framing } from '../codec/detect.js';
import { usageError } from '../errors.js';
import type { Sink } from './io.js';

export interface InputArgs {
  from: Framing | 'auto';
}

export interface OutputArgs {
  to: Framing;
  output?: string;
}

export function inputOptions<T>(y: Argv<T>): Argv<T & InputArgs> {
  return y.option('from', {
    choices: ['auto', ...FRAMINGS] as const,
    default: 'auto' as const,
    describe: 'framing of the input; auto detects it (zstd and gzip are undone first)',
  }) as Argv<T & InputArgs>;
}

export function outputOptions<T>(y: Argv<T>): Argv<T & OutputArgs> {
  return y
    .option('to', { choices: FRAMINGS, default: 'native' as const, describe: 'framing of the output' })
    .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'write to FILE (temporary name, renamed on success); - forces stdout' }) as Argv<T & OutputArgs>;
}

/** Binary never goes to a terminal by accident: `-o -` says it is on purpose. */
export function checkTerminal(args: OutputArgs, sink: Sink): void {
  if (sink.isTTY && args.to !== 'json' && args.output !== '-') {
    throw usageError(`refusing to write ${args.to} (binary) to a terminal; pipe it, use -o FILE, --to json, or -o - to insist`);
  }
}
