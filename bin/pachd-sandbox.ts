#!/usr/bin/env node
import { sandboxCommand } from '../lib/cli/commands/sandbox.js';
import { run } from '../lib/cli/run.js';

// `--version 1.13` names the release to emulate; `--version` alone is the suite's version.
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--version' && /^v?1\.\d+(\.\d+)?$/.test(argv[i + 1] ?? '')) argv[i] = '--pachd-version';
  else if (/^--version=v?1\.\d+/.test(argv[i]!)) argv[i] = argv[i]!.replace('--version=', '--pachd-version=');
}
void run(sandboxCommand, argv);
