/**
 * pach-filter --diff OTHER: what differs between two backups. (Being built.)
 */
import type { RunContext } from '../cli/run.js';
import { usageError } from '../errors.js';

export interface DiffArgs {
  diff: string;
  format: 'table' | 'json';
  from?: string;
  _: (string | number)[];
}

export async function runDiff(_args: DiffArgs, _ctx: RunContext): Promise<number> {
  throw usageError('--diff is not built yet');
}
