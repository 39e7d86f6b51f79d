#!/usr/bin/env node
import { pendingCommand } from '../lib/cli/commands/pending.js';
import { run } from '../lib/cli/run.js';

void run(pendingCommand('pach-restore', 'replay a stream into a pachd cluster'));
