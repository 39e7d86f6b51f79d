#!/usr/bin/env node
import { pendingCommand } from '../lib/cli/commands/pending.js';
import { run } from '../lib/cli/run.js';

void run(pendingCommand('pach-extract', 'back up a pachd cluster as a stream'));
