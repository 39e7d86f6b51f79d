/**
 * Docs that something checks: every flag --help prints is documented in the
 * command's page (or the shared options page), and the README's two
 * commands and exit-code table match the code.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT_TABLE } from '../../lib/cli/exit-codes.js';
import { PROBLEMS } from '../../lib/replay/problems.js';
import { ROOT, runShell, runTool, type Tool } from '../helpers/run.js';

const TOOLS: Tool[] = ['pach-convert', 'pach-extract', 'pach-filter', 'pach-restore', 'pachd-sandbox'];
const common = fs.readFileSync(path.join(ROOT, 'docs', 'common.md'), 'utf8');

for (const tool of TOOLS) {
  t.test(`every flag in ${tool} --help is documented`, async (t) => {
    const help = (await runTool(tool, ['--help'])).stdout.toString();
    const flags = [...new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!))];
    t.ok(flags.length >= 5, `${flags.length} flags found`);
    const page = path.join(ROOT, 'docs', `${tool}.md`);
    const doc = (fs.existsSync(page) ? fs.readFileSync(page, 'utf8') : '') + common;
    for (const f of flags) t.match(doc, new RegExp(`\`[^\`]*${f}\\b`), `${f} is documented`);
  });
}

t.test('every replay problem code is documented in docs/pach-filter.md, with its severity', async (t) => {
  // Rows read `| codes | severity | what |`; a row of several codes gives one severity for all,
  // or one per code (`error / hazard`) in the order the codes are named.
  const documented = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(ROOT, 'docs', 'pach-filter.md'), 'utf8').split('\n')) {
    const cells = line.split(' | ');
    if (!line.startsWith('| `PACH_') || cells.length < 3) continue;
    const codes = [...cells[0]!.matchAll(/`(PACH_[A-Z_]+)`/g)].map((m) => m[1]!);
    const severities = cells[1]!.split(' / ');
    codes.forEach((c, i) => documented.set(c, severities.length === 1 ? severities[0]! : (severities[i] ?? '?')));
  }
  for (const [code, { severity }] of Object.entries(PROBLEMS)) t.equal(documented.get(code), severity, `${code}: documented as ${severity}`);
});

t.test('the README opens with the two commands and lists every exit code', async (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const firstScreen = readme.split('\n').slice(0, 20).join('\n');
  t.match(firstScreen, /make demo/);
  t.match(firstScreen, /make test/);
  for (const [code] of EXIT_TABLE) t.match(readme, new RegExp(`^\\| ${code}\\b`, 'm'), `exit ${code} in the README`);
});

t.test('make demo runs the real job and proves the records equal', async (t) => {
  const r = await runShell('bash scripts/demo.sh');
  t.equal(r.code, 0, r.stderr);
  const out = r.stdout.toString();
  t.match(out, /repos:\s+right, left/);
  t.match(out, /pipelines: copy \(input: left \+ right\); sort \(input: copy\)/);
  t.match(out, /byte-identical to the file pachctl extract wrote/);
  t.match(out, /recompute\s+copy: 6 jobs over 6 input commits/, 'the dry run plans the re-runs of a migrated 1.7 dump');
  t.match(out, /record 621 \(activate_enterprise\): error: PACH_ACTIVATION_EXPIRED/, 'verify names the op a restore today would fail on');
  t.match(out, /exit 65/);
  t.match(out, /restored \d+ records in \d+ Restore call/, 'a real migration between two sandboxes through a shell pipe');
  t.match(out, /the 1\.7 and the 1\.13 cluster hold the same repos, branches \(provenance, history\), input commits and pipelines/);
  t.match(out, /copy: left@master:\/\* \+ right@master:\/\* -> copy@master/, 'the target lists the migrated pipelines');
  if (/zstd/.test(out)) t.match(out, /identical listing after the zstd round trip/);
});
