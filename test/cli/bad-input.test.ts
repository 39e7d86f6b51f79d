/**
 * Bad input, one case at a time: each exits with its code from DESIGN.md §6,
 * prints exactly one stderr line that names the stable PACH_ code and, where
 * there is one, the record index and byte offset, and never a stack trace.
 * With -o FILE, a failed run leaves neither FILE nor a temporary behind.
 *
 * Records of the 1.11 auth dump hold tokens and activation codes: they are
 * compared with Buffer#equals and never passed to t.same or printed.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import snappy from 'snappy';
import { CONVERT, errorLine, nativeFrames, notCleanDataFailure, SEED, smallStream, spawnCollect } from '../helpers/hostile.js';
import { prng } from '../helpers/prng.js';
import { AUTH_DUMP, SORT_DUMP, joinRaw, lines, nodeCommand, runTool, splitRaw, tempDir, testEnv, type RunResult } from '../helpers/run.js';

const FRAMINGS = ['native', 'raw', 'pachctl', 'json'] as const;

/** Asserts a clean exit-65 failure with `code`, and the record index and byte offset when given. */
function expectDataError(t: Tap, r: RunResult, want: { code: string; record?: number; byte?: number }, label = ''): void {
  const prefix = label ? `${label}: ` : '';
  t.equal(notCleanDataFailure(r), undefined, `${prefix}exit 65, one clean stderr line`);
  const e = errorLine(r);
  t.equal(e.code, want.code, `${prefix}${e.line}`);
  if (want.record !== undefined) t.equal(e.record, want.record, `${prefix}names record ${want.record}`);
  if (want.byte !== undefined) t.equal(e.byte, want.byte, `${prefix}names byte ${want.byte}`);
}

interface Tap {
  equal(found: unknown, wanted: unknown, message: string): boolean;
}

/** A raw stream made of `records`, and where each record's length prefix starts. */
function rawWithOffsets(records: Buffer[]): { raw: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  let at = 0;
  for (const r of records) {
    offsets.push(at);
    at += 8 + r.length;
  }
  return { raw: joinRaw(records), offsets };
}

function lengthPrefix(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

async function snappyFrame(raw: Buffer): Promise<Buffer> {
  const c = new snappy.Compressor();
  return Buffer.concat([c.update(raw), await c.finish()]);
}

/** The native stream's trailer frame: where it starts and its JSON payload. */
function trailerFrame(native: Buffer): { start: number; json: string } {
  const f = nativeFrames(native).at(-1)!;
  return { start: f.start, json: native.subarray(f.payload, f.end).toString('utf8') };
}

t.test('empty input exits 65 with PACH_EMPTY_INPUT at byte 0', async (t) => {
  expectDataError(t, await runTool('pach-convert', []), { code: 'PACH_EMPTY_INPUT', byte: 0 }, 'stdin');
  const dir = tempDir(t);
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(empty, '');
  const r = await runTool('pach-convert', ['--to', 'json', empty]);
  expectDataError(t, r, { code: 'PACH_EMPTY_INPUT', byte: 0 }, 'empty file');
  t.match(r.stderr, `pach-convert: ${empty}: `, 'the line names the file');
});

t.test('random bytes exit 65 with PACH_UNRECOGNISED', async (t) => {
  t.comment(`random seed ${SEED}`);
  for (const k of [0, 1, 2]) {
    const rand = prng(SEED + k);
    const bytes = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256)));
    // A random start that happened to read as a length prefix of 0…256 MiB (4 zero bytes) would be another test.
    if (bytes.readUInt32LE(4) === 0 || bytes[0] === 0x7b) continue;
    expectDataError(t, await runTool('pach-convert', [], { input: bytes }), { code: 'PACH_UNRECOGNISED', byte: 0 }, `seed ${SEED + k}`);
  }
});

t.test('a JSON line with an unknown kind exits 65 with PACH_UNKNOWN_KIND naming its record and byte', async (t) => {
  const { raw } = await smallStream();
  const json = await runTool('pach-convert', ['--from', 'raw', '--to', 'json'], { input: raw });
  t.equal(json.code, 0, json.stderr);
  const ls = json.stdout.toString('utf8').split('\n');
  t.ok(JSON.parse(ls[0]!).header, 'line 1 is the header');
  // Record 3 is line 5 (after the header and records 0–2).
  const k = 3;
  const line = k + 1;
  ls[line] = ls[line]!.replace(/"kind":"[a-z_]+"/, '"kind":"frobnicate"');
  const byte = Buffer.byteLength(ls.slice(0, line).join('\n') + '\n');
  const r = await runTool('pach-convert', ['--to', 'raw'], { input: ls.join('\n') });
  expectDataError(t, r, { code: 'PACH_UNKNOWN_KIND', record: k, byte });
  t.match(r.stderr, /frobnicate/, 'and names the kind');
  t.equal(r.stdout.length, 0, 'nothing is written for a JSON stream that fails before its first record is out');

  // Without the header line (edited JSON has none) the index is still the record's.
  const body = ls.slice(1).join('\n');
  const r2 = await runTool('pach-convert', ['--to', 'raw'], { input: body });
  expectDataError(t, r2, { code: 'PACH_UNKNOWN_KIND', record: k, byte: byte - Buffer.byteLength(ls[0]! + '\n') }, 'no header line');
});

t.test('a JSON body with an unknown field exits 65 with PACH_BAD_JSON naming its record and byte', async (t) => {
  const { raw } = await smallStream();
  const json = await runTool('pach-convert', ['--from', 'raw', '--to', 'json'], { input: raw });
  const ls = json.stdout.toString('utf8').split('\n');
  const k = 4;
  ls[k + 1] = ls[k + 1]!.replace(/"body":\{/, '"body":{"no_such_field":1,');
  const byte = Buffer.byteLength(ls.slice(0, k + 1).join('\n') + '\n');
  const r = await runTool('pach-convert', ['--to', 'native'], { input: ls.join('\n') });
  expectDataError(t, r, { code: 'PACH_BAD_JSON', record: k, byte });
  t.match(r.stderr, /no_such_field/, 'and names the field');
});

t.test('an op whose payload does not parse exits 65 with PACH_BAD_RECORD naming record 2 when converted to JSON', async (t) => {
  const { records } = await smallStream();
  // op1_7 { repo: <9 bytes of 0xff> }: a sound envelope around a payload that is one unterminated varint.
  const garbage = Buffer.from([0x0a, 0x0b, 0x22, 0x09, ...Array(9).fill(0xff)]);
  const recs = [records[0]!, records[1]!, garbage, ...records.slice(3)];
  const { raw, offsets } = rawWithOffsets(recs);
  const r = await runTool('pach-convert', ['--to', 'json'], { input: raw });
  expectDataError(t, r, { code: 'PACH_BAD_RECORD', record: 2, byte: offsets[2] });
  // The binary framings never look inside a payload: records pass through byte for byte (DESIGN.md §2).
  const passed = await runTool('pach-convert', ['--to', 'raw'], { input: raw });
  t.equal(passed.code, 0, 'the raw framing passes it through untouched');
  t.ok(passed.stdout.equals(raw), 'byte for byte');
});

t.test('a record that is not an op envelope exits 65 with PACH_BAD_RECORD for every output framing', async (t) => {
  const { records } = await smallStream();
  const notAnOp = Buffer.from('not an admin.Op'); // 0x6e: field 13, wire type 6
  const { raw, offsets } = rawWithOffsets([records[0]!, records[1]!, notAnOp, ...records.slice(3)]);
  for (const to of FRAMINGS) {
    expectDataError(t, await runTool('pach-convert', ['--to', to], { input: raw }), { code: 'PACH_BAD_RECORD', record: 2, byte: offsets[2] }, `--to ${to}`);
  }
  // As the very first record, detection cannot call it raw; --from raw can.
  const first = joinRaw([notAnOp, ...records]);
  expectDataError(t, await runTool('pach-convert', [], { input: first }), { code: 'PACH_UNRECOGNISED', byte: 0 }, 'first record, detected');
  expectDataError(t, await runTool('pach-convert', ['--from', 'raw'], { input: first }), { code: 'PACH_BAD_RECORD', record: 0, byte: 0 }, 'first record, --from raw');
  // Inside pachctl framing, offsets are in the unframed stream.
  expectDataError(t, await runTool('pach-convert', ['--to', 'raw'], { input: await snappyFrame(raw) }), { code: 'PACH_BAD_RECORD', record: 2, byte: offsets[2] }, 'pachctl input');
});

t.test('a length prefix of 2^40 exits 65 with PACH_RECORD_TOO_LARGE before reading on, in bounded memory', async (t) => {
  const { records, native } = await smallStream();
  const huge = lengthPrefix(1n << 40n);
  const r0 = records[0]!;

  // In a raw stream: as record 0 (only --from raw reads it as raw) and as record 1 (detected).
  expectDataError(t, await runTool('pach-convert', ['--from', 'raw'], { input: Buffer.concat([huge, Buffer.alloc(1024)]) }), { code: 'PACH_RECORD_TOO_LARGE', record: 0, byte: 0 }, 'raw, record 0');
  const raw1 = Buffer.concat([joinRaw([r0]), huge, Buffer.alloc(1024)]);
  expectDataError(t, await runTool('pach-convert', [], { input: raw1 }), { code: 'PACH_RECORD_TOO_LARGE', record: 1, byte: 8 + r0.length }, 'raw, record 1');
  // Inside pachctl framing.
  expectDataError(t, await runTool('pach-convert', [], { input: await snappyFrame(raw1) }), { code: 'PACH_RECORD_TOO_LARGE', record: 1, byte: 8 + r0.length }, 'pachctl, record 1');
  // As a native R frame's varint length, right after the header.
  const headerEnd = nativeFrames(native)[1]!.start;
  t.equal(native[headerEnd], 0x52, 'the first record frame follows the header');
  const bigFrame = Buffer.concat([native.subarray(0, headerEnd), Buffer.from([0x52, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]), Buffer.alloc(1024)]);
  expectDataError(t, await runTool('pach-convert', [], { input: bigFrame }), { code: 'PACH_RECORD_TOO_LARGE', record: 0, byte: headerEnd }, 'native R frame');

  // Memory and time: stdin stays open after 8 MiB more, so a reader that
  // waited for (or allocated) the record would never finish.
  const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const dir = tempDir(t);
  const rssFile = path.join(dir, 'rss');
  const [node, nodeArgs] = nodeCommand(CONVERT, ['--from', 'raw'], testEnv());
  const [cmd, args] = timeBin ? [timeBin, ['-f', '%M', '-o', rssFile, node, ...nodeArgs]] : [node, nodeArgs];
  const started = Date.now();
  const run = spawnCollect(cmd, args, Buffer.concat([huge, Buffer.alloc(8 * 1024 * 1024)]), true);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 30_000)));
  const r = await Promise.race([run.result, timedOut]);
  clearTimeout(timer);
  run.closeStdin();
  if (r === 'timeout') {
    run.kill();
    t.fail('still running 30 s after a 2^40 length prefix, with stdin open');
    return;
  }
  const seconds = (Date.now() - started) / 1000;
  expectDataError(t, r, { code: 'PACH_RECORD_TOO_LARGE', record: 0, byte: 0 }, 'stdin held open');
  t.ok(seconds < 30, `exits on its own with stdin still open (${seconds.toFixed(1)} s, mostly Node start-up)`);
  if (timeBin) {
    const kib = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
    t.ok(kib > 0 && kib < 200 * 1024, `peak RSS ${(kib / 1024).toFixed(0)} MiB < 200 MiB`);
  } else t.comment('/usr/bin/time not installed: peak RSS not measured');
});

t.test('mixed op versions exit 65 with PACH_MIXED_VERSIONS naming the first 1.11 record, for every output framing', async (t) => {
  const sort = await runTool('pach-convert', ['--to', 'raw', SORT_DUMP]);
  const auth = await runTool('pach-convert', ['--to', 'raw', AUTH_DUMP]);
  t.equal(sort.code, 0);
  t.equal(auth.code, 0);
  const sortRecords = splitRaw(sort.stdout);
  const authRecords = splitRaw(auth.stdout).slice(0, 3);
  const mixed = Buffer.concat([sort.stdout, joinRaw(authRecords)]);
  const want = { code: 'PACH_MIXED_VERSIONS', record: sortRecords.length, byte: sort.stdout.length };
  for (const to of FRAMINGS) {
    const r = await runTool('pach-convert', ['--to', to], { input: mixed });
    expectDataError(t, r, want, `raw → ${to}`);
    t.match(r.stderr, /op1_11/, `raw → ${to}: says which version it met`);
  }
  expectDataError(t, await runTool('pach-convert', ['--to', 'raw'], { input: await snappyFrame(mixed) }), want, 'pachctl → raw');
  // JSON input: a hand-written 1.11 line (no secrets) after 1.7 lines.
  const { raw } = await smallStream();
  const json = (await runTool('pach-convert', ['--from', 'raw', '--to', 'json'], { input: raw })).stdout.toString('utf8').trimEnd().split('\n').slice(1, -1);
  json.push('{"version":"1.11","kind":"repo","body":{"repo":{"name":"late"}}}');
  const r = await runTool('pach-convert', ['--to', 'raw'], { input: json.join('\n') + '\n' });
  expectDataError(t, r, { code: 'PACH_MIXED_VERSIONS', record: 8, byte: Buffer.byteLength(json.slice(0, 8).join('\n') + '\n') }, 'json → raw');
});

t.test('a native stream with a bad trailer sha256 exits 65 with PACH_BAD_CHECKSUM', async (t) => {
  const { native } = await smallStream();
  const tr = trailerFrame(native);
  const sha = (JSON.parse(tr.json) as { sha256: string }).sha256;
  const at = native.indexOf(sha, tr.start) + 7;
  const bad = Buffer.from(native);
  bad[at] = bad[at] === 0x30 ? 0x31 : 0x30; // still a hex digit, still valid JSON
  expectDataError(t, await runTool('pach-convert', ['--to', 'raw'], { input: bad }), { code: 'PACH_BAD_CHECKSUM', record: 8, byte: tr.start });
});

t.test('bytes after the trailer exit 65 with PACH_TRAILING_BYTES', async (t) => {
  const { native } = await smallStream();
  for (const [label, extra] of [['one zero byte', Buffer.alloc(1)], ['a second copy of the stream', native]] as const) {
    expectDataError(t, await runTool('pach-convert', ['--to', 'raw'], { input: Buffer.concat([native, extra]) }), { code: 'PACH_TRAILING_BYTES', byte: native.length }, label);
  }
});

t.test('a missing input file exits 66 with one line naming it', async (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'no-such-backup.native');
  const r = await runTool('pach-convert', [missing]);
  t.equal(r.code, 66);
  t.equal(lines(r.stderr).length, 1, r.stderr);
  t.match(r.stderr, /^pach-convert: PACH_NO_INPUT: cannot read .*no-such-backup\.native: no such file\n$/);
  t.equal(r.stdout.length, 0);
});

t.test('an unknown flag exits 2 with one line mentioning --help', async (t) => {
  const r = await runTool('pach-convert', ['--frobnicate'], { input: Buffer.alloc(0) });
  t.equal(r.code, 2);
  t.equal(lines(r.stderr).length, 1, r.stderr);
  t.match(r.stderr, /frobnicate/);
  t.match(r.stderr, /--help/);
  t.notMatch(r.stderr, /\n\s+at /);
  t.equal(r.stdout.length, 0);
});

t.test('-o FILE with bad input leaves no FILE and no temporary in its directory', async (t) => {
  const { native, raw } = await smallStream();
  const dir = tempDir(t);
  // A stream large enough that output reaches the temporary before the checksum fails at the end.
  const sortRaw = (await runTool('pach-convert', ['--to', 'raw', SORT_DUMP])).stdout;
  const big = await runTool('pach-convert', ['--from', 'raw'], { input: Buffer.concat(Array(8).fill(sortRaw)) });
  t.equal(big.code, 0, big.stderr);
  const tr = trailerFrame(big.stdout);
  const badBig = Buffer.from(big.stdout);
  const at = badBig.indexOf((JSON.parse(tr.json) as { sha256: string }).sha256, tr.start);
  badBig[at] = badBig[at] === 0x30 ? 0x31 : 0x30;
  const authRaw = (await runTool('pach-convert', ['--to', 'raw', AUTH_DUMP])).stdout;
  const mixed = Buffer.concat([sortRaw, joinRaw(splitRaw(authRaw).slice(0, 1))]);

  const cases: Array<[string, string[], Buffer, number]> = [
    ['empty input', [], Buffer.alloc(0), 65],
    ['a truncated native stream', [], native.subarray(0, native.length - 1), 65],
    ['a 2.3 MB native stream with a bad checksum', [], badBig, 65],
    ['mixed versions, to json', ['--to', 'json'], mixed, 65],
    ['mixed versions, to pachctl', ['--to', 'pachctl'], mixed, 65],
    ['a missing input file', [path.join(dir, 'missing')], Buffer.alloc(0), 66],
  ];
  for (const [label, args, input, code] of cases) {
    const out = path.join(dir, 'out', 'backup.bin');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const r = await runTool('pach-convert', [...args, '-o', out], { input });
    t.equal(r.code, code, `${label}: exit ${code} (${r.stderr.trim()})`);
    t.equal(lines(r.stderr).length, 1, `${label}: one stderr line`);
    t.same(fs.readdirSync(path.dirname(out)), [], `${label}: no FILE, no temporary`);
    fs.rmSync(path.dirname(out), { recursive: true });
  }

  // An existing FILE is left as it was.
  const keep = path.join(dir, 'keep', 'backup.native');
  fs.mkdirSync(path.dirname(keep));
  fs.writeFileSync(keep, 'the previous backup');
  const r = await runTool('pach-convert', ['-o', keep], { input: badBig });
  t.equal(r.code, 65);
  t.same(fs.readdirSync(path.dirname(keep)), ['backup.native'], 'no temporary beside it');
  t.equal(fs.readFileSync(keep, 'utf8'), 'the previous backup', 'FILE untouched');
  // And the good input still works, so the cases above failed for their input alone.
  const ok = await runTool('pach-convert', ['--from', 'raw', '-o', keep], { input: raw });
  t.equal(ok.code, 0, ok.stderr);
  t.same(fs.readdirSync(path.dirname(keep)), ['backup.native']);
});
