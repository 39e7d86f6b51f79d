/** The suite's version and the op versions and framings it handles, for `--version`. */
import { createRequire } from 'node:module';
import { OP_VERSIONS } from '../schema/registry.js';

const require = createRequire(import.meta.url);

function findVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const p = require(rel) as { name?: string; version?: string };
      if (p.name === 'pach-migrate' && p.version) return p.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

export const SUITE_VERSION = findVersion();

export function versionLine(tool: string): string {
  const ops = `${OP_VERSIONS[0]}–${OP_VERSIONS[OP_VERSIONS.length - 1]}`;
  return [
    `${tool} (pach-migrate) ${SUITE_VERSION}`,
    `reads op versions ${ops} (1.6.10 dumps read as 1.7), writes ${ops}`,
    'framings: native (format 1), pachctl, raw, json',
  ].join('\n');
}
