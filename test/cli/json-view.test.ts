/**
 * The JSON view as people use it: edited with jq, fed back, checked
 * strictly against the schema so that nothing is silently dropped.
 */
import t, { type Test } from 'tap';
import { SORT_DUMP, lines, runShell, runTool, sh, splitRaw } from '../helpers/run.js';

const bad = async (t: Test, json: string, code: string, what: string): Promise<void> => {
  const r = await runTool('pach-convert', ['--from', 'json', '--to', 'raw'], { input: json });
  t.equal(r.code, 65, what);
  t.equal(lines(r.stderr).length, 1, `${what}: one line`);
  t.match(r.stderr, new RegExp(`record \\d+ \\(byte \\d+\\): ${code}: line \\d+`), `${what}: ${code} with record, byte and line`);
  t.equal(r.stdout.length, 0, `${what}: no records written`);
};

t.test('bodies are checked against the schema', async (t) => {
  const repo = (body: string): string => `{"version":"1.7","kind":"repo","body":${body}}\n`;
  await bad(t, repo('{"repo":{"name":"a"},"descripton":"typo"}'), 'PACH_BAD_JSON', 'an unknown field');
  await bad(t, repo('{"repo":{"name":7}}'), 'PACH_BAD_JSON', 'a number where a string belongs');
  await bad(t, repo('{"repo":"left"}'), 'PACH_BAD_JSON', 'a string where a message belongs');
  await bad(t, '{"version":"1.7","kind":"object","body":{"value":"no*base64"}}\n', 'PACH_BAD_JSON', 'bytes that are not base64');
  await bad(t, '{"version":"1.12","kind":"job","body":{"state":"JOB_EXPLODED"}}\n', 'PACH_BAD_JSON', 'an unknown enum name');
  await bad(t, '{"version":"1.12","kind":"commit","body":{"size_bytes":"12x"}}\n', 'PACH_BAD_JSON', 'a malformed 64-bit integer');
  await bad(t, '{"version":"1.7","kind":"job","body":{}}\n', 'PACH_UNKNOWN_KIND', 'a kind the version does not have');
  await bad(t, '{"version":"1.5","kind":"repo","body":{}}\n', 'PACH_UNSUPPORTED_VERSION', 'an unknown op version');
  await bad(t, `${repo('{"repo":{"name":"a"}}')}{"version":"1.7","kind":"repo"`, 'PACH_BAD_JSON', 'a cut-off last line');
});

t.test('an edited view (jq select, no header or trailer) converts back', async (t) => {
  const r = await runShell(`${sh('pach-convert')} --to json '${SORT_DUMP}' | jq -c 'select(.kind != null and .kind != "tag")' | ${sh('pach-convert')} --to raw`);
  t.equal(r.code, 0, r.stderr);
  t.equal(splitRaw(r.stdout).length, 360 - 40, 'every record but the 40 tags');
  t.equal(r.stderr, '', 'no warning: the edited view has no trailer to disagree with');
});

t.test('a kept trailer that no longer matches is a warning, not an error', async (t) => {
  const r = await runShell(`${sh('pach-convert')} --to json '${SORT_DUMP}' | jq -c 'select(.kind != "tag")' | ${sh('pach-convert')} --to raw | wc -c`);
  t.equal(r.code, 0);
  t.match(r.stderr, /warning: stdin: the JSON trailer \(line \d+\) says 360 records, the input has 320/);
});

t.test('64-bit integers, enums and bytes keep their proto3 JSON spelling', async (t) => {
  const line = '{"version":"1.12","kind":"commit","body":{"parent":{"repo":{"name":"r"}},"size_bytes":"9007199254740993","origin":{"kind":"AUTO"}}}\n';
  const r = await runShell(`${sh('pach-convert')} --from json --to native | ${sh('pach-convert')} --to json | sed -n 2p`, { input: line });
  t.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(r.stdout.toString());
  t.equal(rec.body.size_bytes, '9007199254740993', 'above 2^53, exact, as a string');
  t.equal(rec.body.origin.kind, 'AUTO');
});
