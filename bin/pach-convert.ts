#!/usr/bin/env node
import { convertCommand } from '../lib/cli/commands/convert.js';
import { run } from '../lib/cli/run.js';

void run(convertCommand);
