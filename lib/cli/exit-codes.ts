/**
 * The exit codes every pach-* tool uses (DESIGN.md §6). Code refers to them by
 * name; the numbers live here and nowhere else.
 */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  SKIPPED: 3,
  DATA: 65,
  NO_INPUT: 66,
  UNAVAILABLE: 69,
  IO: 74,
  TEMPFAIL: 75,
  NO_PERM: 77,
  SIGINT: 130,
  EPIPE: 141,
  SIGTERM: 143,
} as const;

export type ExitName = keyof typeof EXIT;
export type ExitCode = (typeof EXIT)[ExitName];

/** One line per code, for `--help` epilogues and the README. */
export const EXIT_TABLE: ReadonlyArray<[ExitCode, string]> = [
  [EXIT.OK, 'success'],
  [EXIT.FAILURE, 'failure not covered below'],
  [EXIT.USAGE, 'usage error (bad flag or operand)'],
  [EXIT.SKIPPED, 'finished, but some records were skipped (--keep-going, --on-conflict=skip)'],
  [EXIT.DATA, 'bad data: unrecognised, truncated, corrupt, unsupported version, failed --verify/--strict'],
  [EXIT.NO_INPUT, 'input file missing or unreadable'],
  [EXIT.UNAVAILABLE, 'pachd unreachable'],
  [EXIT.IO, 'I/O error writing output'],
  [EXIT.TEMPFAIL, 'temporary failure worth retrying'],
  [EXIT.NO_PERM, 'authentication or permission refused'],
  [EXIT.SIGINT, 'interrupted (SIGINT); 143 for SIGTERM'],
  [EXIT.EPIPE, 'stdout closed by the reader (EPIPE)'],
];
