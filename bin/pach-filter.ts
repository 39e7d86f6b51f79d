#!/usr/bin/env node
import { filterCommand } from '../lib/cli/commands/filter.js';
import { run } from '../lib/cli/run.js';

void run(filterCommand);
