#!/usr/bin/env node
import { pendingCommand } from '../lib/cli/commands/pending.js';
import { run } from '../lib/cli/run.js';

void run(pendingCommand('pachd-sandbox', 'an embedded pachd stand-in for tests and demos'));
