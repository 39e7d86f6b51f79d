/**
 * The one runner every pach-* executable goes through: parses arguments
 * with the command's yargs definition, answers --help and --version, runs the
 * command, and turns every outcome into the exit codes of DESIGN.md §6 with
 * one line on stderr. Signals and a closed stdout end the run cleanly: no
 * stack trace, no partial output file.
 */
import yargs, { type Argv } from 'yargs';
import { PachError, usageError } from '../errors.js';
import { EXIT, EXIT_TABLE } from './exit-codes.js';
import { writeJsonTo } from './io.js';
import { Logger, type Verbosity } from './log.js';
import { PROGRESS_MODES, type ProgressMode } from './progress.js';
import { SUITE_VERSION, versionLine } from './version.js';

export interface CommonArgs {
  quiet: boolean;
  verbose: boolean;
  summary?: string;
  progress: ProgressMode;
}

/** What a command reports for `--summary`. */
export interface RunStats {
  records_in: number;
  bytes_in: number;
  records_out: number;
  bytes_out: number;
  counts: Record<string, number>;
  [extra: string]: unknown;
}

export interface RunContext {
  log: Logger;
  stats: RunStats;
  /** Registers cleanup to run when the run fails or is interrupted (removing temp files, cancelling RPCs). */
  onAbort(fn: () => void): void;
  /** The arguments as given, with secret values removed, for history entries. */
  safeArgs: string[];
}

export interface Command<A> {
  name: string;
  /** One line: what the tool does. */
  summary: string;
  /** The synopsis line(s) after the name. */
  synopsis: string;
  /** Extra paragraph(s) for --help. */
  description?: string;
  examples: Array<[string, string]>;
  options(y: Argv<CommonArgs>): Argv<A>;
  run(args: A & CommonArgs & { _: (string | number)[] }, ctx: RunContext): Promise<number | void>;
}

/** Flags whose values are secrets; never echoed into history, logs or summaries. */
const SECRET_FLAGS = /^--?(token|password|activation-code|root-token|auth-token)(=|$)/;

/** argv with secret values and URL credentials replaced by `<redacted>`. */
export function redactArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = SECRET_FLAGS.exec(a);
    if (m) {
      out.push(m[2] === '=' ? `${a.slice(0, a.indexOf('='))}=<redacted>` : a);
      if (m[2] !== '=' && i + 1 < argv.length) {
        out.push('<redacted>');
        i++;
      }
      continue;
    }
    out.push(a.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1'));
  }
  return out;
}

function addCommon(y: Argv): Argv<CommonArgs> {
  return y
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only errors on stderr' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'more detail on stderr' })
    .option('summary', { type: 'string', requiresArg: true, describe: 'write a JSON summary of the run to FILE (- for stderr)' })
    .option('progress', { choices: PROGRESS_MODES, default: 'auto' as ProgressMode, describe: 'progress on stderr: bar (TTY only), plain lines, none; auto = bar on a TTY, plain in CI' })
    .option('help', { alias: 'h', type: 'boolean', describe: 'show this help' })
    .option('version', { type: 'boolean', describe: 'show the suite version and the op versions it reads and writes' }) as unknown as Argv<CommonArgs>;
}

function epilogue(): string {
  const codes = EXIT_TABLE.map(([c, what]) => `  ${String(c).padStart(3)}  ${what}`).join('\n');
  return `Exit codes:\n${codes}`;
}

/** Runs `cmd` with `argv` (without node and script) and exits the process. */
export async function run<A>(cmd: Command<A>, argv: string[] = process.argv.slice(2)): Promise<never> {
  // stderr is for the tool's own lines: Node's deprecation notices (grpc-js sets a TLS server
  // name for IP addresses, DEP0123) are not the user's concern.
  process.noDeprecation = true;
  const t0 = Date.now();
  const cleanups: Array<() => void> = [];
  const abort = (): void => {
    while (cleanups.length) {
      try {
        cleanups.pop()!();
      } catch {
        /* best effort */
      }
    }
  };
  let log = new Logger(cmd.name);
  const stats: RunStats = { records_in: 0, bytes_in: 0, records_out: 0, bytes_out: 0, counts: {} };
  let summaryTarget: string | undefined;

  const finish = async (code: number): Promise<never> => {
    if (summaryTarget) {
      try {
        writeJsonTo(summaryTarget, { tool: cmd.name, version: SUITE_VERSION, exit_code: code, ...stats, duration_ms: Date.now() - t0, warnings: log.warnings });
      } catch (err) {
        log.error(`cannot write summary ${summaryTarget}: ${(err as Error).message}`);
      }
    }
    // Let stdout drain before leaving (pipes may be asynchronous).
    if (process.stdout.writableLength > 0 && !process.stdout.destroyed) {
      await new Promise((r) => {
        process.stdout.once('drain', r);
        process.stdout.once('error', r);
      });
    }
    process.exit(code);
  };

  for (const [sig, code] of [['SIGINT', EXIT.SIGINT], ['SIGTERM', EXIT.SIGTERM]] as const) {
    process.on(sig, () => {
      abort();
      log.error(`interrupted by ${sig}`);
      void finish(code);
    });
  }

  let y: Argv<A>;
  try {
    y = cmd
      .options(addCommon(yargs(argv).scriptName(cmd.name).help(false).version(false)))
      .usage(`${cmd.name} — ${cmd.summary}\n\nUsage: ${cmd.name} ${cmd.synopsis}${cmd.description ? `\n\n${cmd.description}` : ''}`)
      .epilogue(epilogue())
      .strictOptions()
      .wrap(null)
      .exitProcess(false)
      .fail((msg, err) => {
        throw err instanceof PachError ? err : usageError(msg ?? (err as Error)?.message ?? 'bad arguments', err);
      });
    for (const [ex, what] of cmd.examples) y = y.example(ex, what);
  } catch (err) {
    log.error((err as Error).message);
    return finish(EXIT.FAILURE);
  }

  let args: A & CommonArgs & { _: (string | number)[]; help?: boolean; version?: boolean };
  try {
    args = (await y.parseAsync()) as typeof args;
  } catch (err) {
    const msg = err instanceof PachError ? err.message : (err as Error).message;
    log.error(`${msg.split('\n')[0]} (see ${cmd.name} --help)`);
    return finish(EXIT.USAGE);
  }
  if (args.help) {
    process.stdout.write((await y.getHelp()) + '\n');
    return finish(EXIT.OK);
  }
  if (args.version) {
    process.stdout.write(versionLine(cmd.name) + '\n');
    return finish(EXIT.OK);
  }
  const verbosity: Verbosity = args.quiet ? -1 : args.verbose ? 1 : 0;
  log = new Logger(cmd.name, verbosity);
  summaryTarget = args.summary;

  try {
    const code = await cmd.run(args, { log, stats, onAbort: (fn) => cleanups.push(fn), safeArgs: redactArgs(argv) });
    cleanups.length = 0;
    return finish(code ?? EXIT.OK);
  } catch (err) {
    abort();
    if (err instanceof PachError) {
      if (err.exit !== 'EPIPE') log.error(err.message.startsWith(err.code) ? err.message : err.describe());
      return finish(err.exitCode);
    }
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'EPIPE') return finish(EXIT.EPIPE);
    log.error(`internal error: ${e?.stack ?? String(err)}`);
    return finish(EXIT.FAILURE);
  }
}
