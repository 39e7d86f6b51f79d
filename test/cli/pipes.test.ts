/**
 * Being a good citizen in a pipe: a closed stdout, signals, terminals,
 * compressed input, summaries, --help and --version for every tool.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OpType } from '../../lib/schema/registry.js';
import { AUTH_DUMP, DUMPS, SORT_DUMP, joinRaw, lines, runShell, runTool, sh, splitRaw, tempDir, testEnv, binPath, type Tool } from '../helpers/run.js';

const has = (cmd: string): boolean => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;

/** A producer that writes `total` bytes of a raw stream (the sort dump's records, over and over) and reports how much it got out. */
function producerScript(rawFile: string, total: number, reportFile: string): string {
  return `'${process.execPath}' -e '
const fs = require("fs");
const chunk = fs.readFileSync(${JSON.stringify(rawFile)});
let written = 0;
const report = () => fs.writeFileSync(${JSON.stringify(reportFile)}, String(written));
process.stdout.on("error", () => { report(); process.exit(0); });
function pump() {
  while (written < ${total}) {
    written += chunk.length;
    if (!process.stdout.write(chunk)) return process.stdout.once("drain", pump);
  }
  report();
}
pump();'`;
}

t.test('pach-convert --to json | head -1 prints one line, exits 141 quietly and stops reading early', async (t) => {
  const dir = tempDir(t);
  const raw = path.join(dir, 'sort.raw');
  fs.writeFileSync(raw, (await runTool('pach-convert', ['--to', 'raw', SORT_DUMP])).stdout);
  const total = 2 * 1024 ** 3;
  const report = path.join(dir, 'written');
  const r = await runShell(`${producerScript(raw, total, report)} | ${sh('pach-convert')} --to json 2>${dir}/err | head -1; echo "\${PIPESTATUS[*]}" > ${dir}/status`);
  const status = fs.readFileSync(path.join(dir, 'status'), 'utf8').trim().split(' ');
  t.equal(r.stdout.toString().split('\n').filter(Boolean).length, 1, 'one line out');
  t.equal(status[1], '141', 'pach-convert exits 141');
  t.equal(fs.readFileSync(path.join(dir, 'err'), 'utf8'), '', 'nothing on stderr: no stack trace, no message');
  const written = Number(fs.readFileSync(report, 'utf8'));
  t.ok(written < 64 * 1024 ** 2, `the producer got ${written} of ${total} bytes out before the pipe closed`);
});

t.test('pach-convert --to native | head -c 100 exits 141 too', async (t) => {
  const r = await runShell(`${sh('pach-convert')} '${AUTH_DUMP}' 2>/dev/null | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`);
  t.equal(r.stdout.toString().trim(), '141');
});

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  t.test(`${signal} mid-run exits ${code} and leaves no output file or temporary`, async (t) => {
    const dir = tempDir(t);
    const raw = path.join(dir, 'sort.raw');
    fs.writeFileSync(raw, (await runTool('pach-convert', ['--to', 'raw', SORT_DUMP])).stdout);
    const outDir = path.join(dir, 'out');
    fs.mkdirSync(outDir);
    const target = path.join(outDir, 'backup.native');
    const child = spawn(process.execPath, [binPath('pach-convert'), '--from', 'raw', '-o', target], { env: testEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Feed a few MiB so output is being written, then keep stdin open.
    const chunk = fs.readFileSync(raw);
    for (let i = 0; i < 20; i++) child.stdin.write(chunk);
    await new Promise((r) => setTimeout(r, 1500));
    t.ok(fs.readdirSync(outDir).some((f) => f.endsWith('.tmp')), 'output goes to a temporary while running');
    child.kill(signal);
    const exit = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    t.equal(exit, code);
    t.same(fs.readdirSync(outDir), [], 'no file, no temporary');
    t.notMatch(stderr, /\n\s+at /, 'no stack trace');
  });
}

t.test('binary output to a terminal is refused unless -o - insists', { skip: has('script') ? false : 'script(1) not installed' }, async (t) => {
  const refused = spawnSync('script', ['-qec', `${sh('pach-convert')} '${SORT_DUMP}'`, '/dev/null'], { env: testEnv() });
  t.equal(refused.status, 2, 'usage error');
  t.match(refused.stdout.toString(), /refusing to write native \(binary\) to a terminal/);
  const json = spawnSync('script', ['-qec', `${sh('pach-convert')} --to json '${SORT_DUMP}' | head -c 0`, '/dev/null'], { env: testEnv() });
  t.equal(json.status, 0, 'json to a terminal is fine');
  const forced = spawnSync('script', ['-qec', `${sh('pach-convert')} -o - '${SORT_DUMP}' >/dev/null; ${sh('pach-convert')} -o - '${SORT_DUMP}' | wc -c`, '/dev/null'], { env: testEnv() });
  t.equal(forced.status, 0, '-o - writes anyway');
});

t.test('zstd- and gzip-compressed input is detected and read', async (t) => {
  const dir = tempDir(t);
  const expected = (await runTool('pach-convert', ['--to', 'raw', AUTH_DUMP])).stdout;
  const native = path.join(dir, 'auth.native');
  fs.writeFileSync(native, (await runTool('pach-convert', [AUTH_DUMP])).stdout);
  const cases: Array<[string, string, Record<string, string>]> = [
    ['gzip', `gzip -c '${native}'`, {}],
    ['gzip of the pachctl file', `gzip -c '${AUTH_DUMP}'`, {}],
  ];
  if (has('zstd')) {
    cases.push(['zstd (zstd binary)', `zstd -q -c '${native}'`, { PACH_ZSTD: 'binary' }]);
    cases.push(['zstd (in-process wasm)', `zstd -q -c '${native}'`, { PACH_ZSTD: 'wasm' }]);
  }
  for (const [label, compress, env] of cases) {
    const r = await runShell(`${compress} | ${sh('pach-convert')} --to raw`, { env });
    t.equal(r.code, 0, `${label}: ${r.stderr}`);
    t.ok(r.stdout.equals(expected), `${label}: same records`);
  }
});

/** A raw stream whose first record is one op of exactly `size` bytes. */
function rawWithFirstRecordOf(size: number): Buffer {
  let n = size;
  for (let tries = 0; tries < 10; tries++) {
    const op = OpType.encode(OpType.fromObject({ op1_12: { block: { block: { hash: 'b' }, value: Buffer.alloc(n, 0x61).toString('base64') } } })).finish();
    if (op.length === size) {
      const tail = OpType.encode(OpType.fromObject({ op1_12: { repo: { repo: { name: 'after' } } } })).finish();
      return joinRaw([op, tail]);
    }
    n += size - op.length;
  }
  throw new Error(`cannot make a ${size}-byte op`);
}

t.test('a raw stream that begins like gzip (first record of 559,903 bytes) is read as raw', async (t) => {
  const raw = rawWithFirstRecordOf(559903);
  t.same([...raw.subarray(0, 8)], [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0], 'the length prefix looks exactly like a gzip header');
  const r = await runTool('pach-convert', ['--to', 'raw'], { input: raw });
  t.equal(r.code, 0, r.stderr);
  t.ok(r.stdout.equals(raw), 'records unchanged');
});

t.test('a raw stream whose first record is 123 bytes (begins with "{") is read as raw, not JSON', async (t) => {
  const raw = rawWithFirstRecordOf(123);
  t.equal(raw[0], 0x7b);
  const r = await runTool('pach-convert', ['--to', 'raw'], { input: raw });
  t.equal(r.code, 0, r.stderr);
  t.ok(r.stdout.equals(raw));
});

t.test('--summary writes one JSON object with counts, bytes and the exit code', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'summary.json');
  const r = await runTool('pach-convert', ['--summary', file, '--to', 'raw', SORT_DUMP]);
  t.equal(r.code, 0);
  const s = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.equal(s.tool, 'pach-convert');
  t.equal(s.exit_code, 0);
  t.equal(s.records_in, 360);
  t.equal(s.records_out, 360);
  t.equal(s.bytes_in, fs.statSync(SORT_DUMP).size);
  t.equal(s.bytes_out, r.stdout.length);
  t.same(s.counts, { branch: 2, commit: 6, object: 308, pipeline: 2, repo: 2, tag: 40 });
  t.type(s.duration_ms, 'number');
  const bad = await runTool('pach-convert', ['--summary', '-'], { input: Buffer.from('not a stream at all') });
  t.equal(bad.code, 65);
  const last = JSON.parse(lines(bad.stderr).at(-1)!);
  t.equal(last.exit_code, 65, '--summary - goes to stderr, also on failure');
});

const TOOLS: Tool[] = ['pach-convert', 'pach-extract', 'pach-filter', 'pach-restore', 'pachd-sandbox'];
for (const tool of TOOLS) {
  t.test(`${tool} answers --help on stdout and --version with the op versions`, async (t) => {
    const help = await runTool(tool, ['--help']);
    t.equal(help.code, 0);
    t.match(help.stdout.toString(), new RegExp(`Usage: ${tool}`));
    t.match(help.stdout.toString(), /Exit codes:[\s\S]*141/);
    t.equal(help.stderr, '');
    const version = await runTool(tool, ['--version']);
    t.equal(version.code, 0);
    t.match(version.stdout.toString(), /op versions 1\.7–1\.13/);
    const usage = await runTool(tool, ['--no-such-flag']);
    t.equal(usage.code, 2);
    t.equal(lines(usage.stderr).length, 1);
    t.match(usage.stderr, /--help/);
  });
}

t.test('pach-convert --help shows real pipelines', async (t) => {
  const help = (await runTool('pach-convert', ['--help'])).stdout.toString();
  t.match(help, /Examples:/);
  t.match(help, /\| jq/);
  t.match(help, /cannot be told\s+from a complete stream/, 'says what pachctl framing cannot detect');
});

t.test('pach-filter without a mode or a flag passes every record through untouched, and says so in the history', async (t) => {
  for (const dump of DUMPS) {
    const filtered = await runTool('pach-filter', [dump.file]);
    t.equal(filtered.code, 0, `${dump.name}: exit 0`);
    t.equal(filtered.stderr, '', `${dump.name}: nothing on stderr`);
    const raw = (await runTool('pach-convert', ['--to', 'raw', dump.file])).stdout;
    const back = await runTool('pach-convert', ['--to', 'raw'], { input: filtered.stdout });
    t.ok(back.stdout.equals(raw), `${dump.name}: the same records, byte for byte`);
    const header = JSON.parse((await runTool('pach-convert', ['--to', 'json'], { input: filtered.stdout })).stdout.toString().split('\n')[0]!).header;
    t.same(header.history.map((h: { tool: string }) => h.tool), ['pach-filter', 'pach-convert'], `${dump.name}: the filter run is in the history`);
  }
  const both = await runTool('pach-filter', ['--list', '--repo', 'left', SORT_DUMP]);
  t.equal(both.code, 2, 'a filter flag with a report mode is a usage error');
  t.match(both.stderr, /--repo filters a stream; it does not go with --list/);
});

t.test('records pass through every framing untouched', async (t) => {
  for (const dump of DUMPS) {
    const raw = (await runTool('pach-convert', ['--to', 'raw', dump.file])).stdout;
    for (const to of ['native', 'pachctl', 'json']) {
      const there = await runTool('pach-convert', ['--from', 'raw', '--to', to], { input: raw });
      const back = await runTool('pach-convert', ['--to', 'raw'], { input: there.stdout });
      t.ok(back.stdout.equals(raw), `${dump.name}: raw → ${to} → raw`);
    }
    t.equal(splitRaw(raw).length, dump.ops);
  }
});

t.test('a generated multi-MiB stream survives every framing in a real pipe', async (t) => {
  const gen = `'${process.execPath}' '${path.join(path.dirname(binPath('pach-convert')), '..', 'bench', 'generate.js')}'`;
  for (const [mix, size] of [['objects', '40MiB'], ['metadata', '8MiB']] as const) {
    const want = await runShell(`${gen} --mix ${mix} --size ${size} --seed 7 2>/dev/null | sha256sum`);
    for (const to of ['native', 'pachctl', 'json']) {
      const r = await runShell(`set -o pipefail; ${gen} --mix ${mix} --size ${size} --seed 7 2>/dev/null | ${sh('pach-convert')} --from raw --to ${to} | ${sh('pach-convert')} --to raw | sha256sum`);
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout.toString(), want.stdout.toString(), `${mix} ${size}: raw → ${to} → raw is identical`);
    }
  }
});
