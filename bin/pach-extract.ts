#!/usr/bin/env node
import { extractCommand } from '../lib/cli/commands/extract.js';
import { run } from '../lib/cli/run.js';

void run(extractCommand);
