/**
 * Tools whose issues have not landed yet: they answer --help and --version
 * like the others and otherwise say plainly that they are not implemented.
 */
import type { Argv } from 'yargs';
import { PachError } from '../../errors.js';
import type { CommonArgs, Command } from '../run.js';

export function pendingCommand(name: string, summary: string): Command<CommonArgs> {
  return {
    name,
    summary: `${summary} (not implemented yet)`,
    synopsis: '[options]',
    description: `${name} is planned (see the README); this build only answers --help and --version.`,
    examples: [],
    options: (y: Argv<CommonArgs>) => y,
    async run() {
      throw new PachError('PACH_NOT_IMPLEMENTED', `${name} is not implemented yet in this build`, 'FAILURE');
    },
  };
}
