/**
 * Progress on stderr: `bar` redraws one line (TTY only), `plain` prints a
 * line every few seconds (for CI logs), `none` is silent. `auto` picks bar on
 * a TTY, plain when CI is set, otherwise none.
 */
export type ProgressMode = 'auto' | 'bar' | 'plain' | 'none';
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'plain', 'none'];

export interface ProgressStats {
  records: number;
  bytes: number;
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}

/** Starts reporting; returns the function that stops it. */
export function startProgress(mode: ProgressMode, tool: string, stats: () => ProgressStats): () => void {
  const err = process.stderr;
  const resolved = mode === 'auto' ? (err.isTTY ? 'bar' : process.env.CI ? 'plain' : 'none') : mode;
  if (resolved === 'none' || (resolved === 'bar' && !err.isTTY)) return () => {};
  const t0 = Date.now();
  const render = (): string => {
    const s = stats();
    const secs = Math.max((Date.now() - t0) / 1000, 0.001);
    return `${tool}: ${s.records} records, ${mib(s.bytes)} MiB in, ${mib(s.bytes / secs)} MiB/s`;
  };
  const timer = setInterval(
    () => (resolved === 'bar' ? err.write(`\r\x1b[K${render()}`) : err.write(`${render()}\n`)),
    resolved === 'bar' ? 250 : 5000,
  );
  timer.unref();
  return () => {
    clearInterval(timer);
    if (resolved === 'bar') err.write('\r\x1b[K');
  };
}
