#!/usr/bin/env node
import { pendingCommand } from '../lib/cli/commands/pending.js';
import { run } from '../lib/cli/run.js';

void run(pendingCommand('pach-filter', 'select, rename, redact and verify the records of a stream'));
