/**
 * stderr for people: `<tool>: <message>` lines, quiet by default. Warnings
 * are also kept for the run's summary. Colour only on a TTY without NO_COLOR.
 */
export type Verbosity = -1 | 0 | 1;

export class Logger {
  readonly warnings: string[] = [];
  private readonly color: boolean;

  constructor(
    readonly tool: string,
    readonly verbosity: Verbosity = 0,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.color = Boolean(stream.isTTY) && !('NO_COLOR' in process.env);
  }

  private line(text: string, sgr?: string): void {
    const prefix = this.color && sgr ? `\x1b[${sgr}m${this.tool}:\x1b[0m` : `${this.tool}:`;
    this.stream.write(`${prefix} ${text}\n`);
  }

  /** A fatal problem, always printed. */
  error(text: string): void {
    this.line(text, '31');
  }

  /** Something the user should know; kept for the summary; hidden by -q. */
  warn(text: string): void {
    this.warnings.push(text);
    if (this.verbosity >= 0) this.line(`warning: ${text}`, '33');
  }

  /** Shown with -v. */
  info(text: string): void {
    if (this.verbosity >= 1) this.line(text);
  }
}
