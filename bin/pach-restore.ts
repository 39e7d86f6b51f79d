#!/usr/bin/env node
import { restoreCommand } from '../lib/cli/commands/restore.js';
import { run } from '../lib/cli/run.js';

void run(restoreCommand);
