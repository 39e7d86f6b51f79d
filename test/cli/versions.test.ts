/**
 * pach-convert --to-version through the real executable: the real 1.7 dump
 * up to every version and back, the real 1.11 dump to 1.12 and 1.13 and back
 * (byte for byte, no loss reported), down conversions with exactly the
 * losses expected, --strict, --report, bad flags, mixed versions, unknown
 * fields of pachd 1.6 and an enum value a lower version lacks.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { openStream } from '../../lib/codec/read.js';
import { envelopeOf, type OpRecord } from '../../lib/codec/record.js';
import { checkMessage } from '../../lib/codec/wire-check.js';
import { decodeDbTree, decodeTree17, looksLikeDbTree, sha512Hex, type Tree } from '../../lib/ops/hashtree.js';
import type { LossReport } from '../../lib/ops/loss.js';
import { OpType, payloadType, type OpVersion } from '../../lib/schema/registry.js';
import { AUTH_DUMP, SORT_DUMP, joinRaw, lines, pachctlRecords, readFixture, runShell, runTool, sh, tempDir } from '../helpers/run.js';

const UP_FROM_1_7: OpVersion[] = ['1.8', '1.9', '1.10', '1.11', '1.12', '1.13'];

interface Read {
  header: Record<string, unknown> | undefined;
  records: OpRecord[];
}

/** Every record of a stream file, copied, with the native header if any. */
async function readStream(file: string): Promise<Read> {
  async function* chunks(): AsyncIterable<Uint8Array> {
    yield fs.readFileSync(file);
  }
  const s = await openStream(chunks());
  const records: OpRecord[] = [];
  for await (const batch of s.records) for (const r of batch) records.push({ bytes: Buffer.from(r.bytes), index: r.index, offset: r.offset });
  return { header: s.header() as Record<string, unknown> | undefined, records };
}

/** Problems of records that should all be `version` ops with no field that version's schema lacks. */
function notPlainlyOf(records: OpRecord[], version: OpVersion): string[] {
  const problems: string[] = [];
  for (const r of records) {
    const env = envelopeOf(r);
    if (env.version !== version) problems.push(`record ${r.index} is ${env.version}`);
    const unknown = checkMessage(payloadType(version, env.kind)!, r.bytes, env.payloadStart, env.payloadEnd);
    if (unknown.length) problems.push(`record ${r.index}: unknown fields ${JSON.stringify(unknown)}`);
  }
  return problems;
}

function report(file: string): LossReport {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LossReport;
}

/** Decoded payload of one record, as a plain object. */
function body(r: OpRecord): Record<string, unknown> {
  const env = envelopeOf(r);
  const o = OpType.toObject(OpType.decode(r.bytes), { longs: String, bytes: Buffer }) as Record<string, Record<string, Record<string, unknown>>>;
  return Object.values(o)[0]![env.kind]!;
}

/** What a tree says about its files, in either format: path, size, node hash and objects of every node. */
function treeSignature(tree: Tree): string {
  return [...tree.entries()]
    .map(([p, n]) => `${p} ${n.subtreeSize} ${Buffer.from(n.hash).toString('hex')} ${n.file ? `file:${n.file.objects.join(',')}` : 'dir'}`)
    .sort()
    .join('\n');
}

/** Object groups (value ops up to the empty one) of a 1.7-style stream, by sha512 of their bytes. */
function objectsByHash(records: OpRecord[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let parts: Buffer[] = [];
  for (const r of records) {
    if (envelopeOf(r).kind !== 'object') continue;
    const value = body(r)['value'] as Buffer | undefined;
    if (value?.length) {
      parts.push(value);
    } else {
      const all = Buffer.concat(parts);
      out.set(sha512Hex(all), all);
      parts = [];
    }
  }
  return out;
}

t.test('the real 1.7 dump goes up to every version and back, byte for byte, without loss', async (t) => {
  const dir = tempDir(t);
  const original = readFixture(SORT_DUMP);
  const originalTrees = objectsByHash((await pachctlRecords(original)).map((bytes, index) => ({ bytes, index, offset: -1 })));
  const originalSignatures = new Set<string>();
  for (const o of originalTrees.values()) {
    try {
      originalSignatures.add(treeSignature(decodeTree17(o)));
    } catch {
      /* a file, not a tree */
    }
  }
  for (const v of UP_FROM_1_7) {
    const out = path.join(dir, `sort-${v}.native`);
    const rep = path.join(dir, `sort-${v}.report.json`);
    const up = await runTool('pach-convert', ['--to-version', v, '--report', rep, SORT_DUMP, '-o', out]);
    t.equal(up.code, 0, `to ${v}: exit 0 ${up.stderr}`);
    t.equal(up.stderr, '', `to ${v}: nothing on stderr (no loss to report)`);
    const r = report(rep);
    t.same([r.from, r.to, r.records_in, r.records_with_loss, r.losses], ['1.7', v, 360, 0, []], `to ${v}: the report says nothing was lost`);
    t.match(r.written_by, /^pachd 1\.7 /, `to ${v}: the report says which pachd wrote the dump`);
    const { header, records } = await readStream(out);
    t.equal(header?.['op_version'], v, `to ${v}: the header says ${v}`);
    const history = header?.['history'] as Array<{ tool: string; args: string[] }>;
    t.same(history.at(-1)?.args.slice(0, 2), ['--to-version', v], `to ${v}: the history names the conversion`);
    t.same(notPlainlyOf(records, v), [], `to ${v}: every op is a ${v} op with no unknown field`);
    t.equal(records.length, r.records_out, `to ${v}: records_out is what was written`);

    // Each commit names a 1.8-format tree with the entries of its 1.7 tree.
    const objects = objectsByHash(records);
    const commits = records.filter((x) => envelopeOf(x).kind === 'commit');
    t.equal(commits.length, 6, `to ${v}: six commits`);
    for (const c of commits) {
      const hash = (body(c)['tree'] as { hash: string }).hash;
      const tree = objects.get(hash);
      t.ok(tree && looksLikeDbTree(tree), `to ${v}: commit tree ${hash.slice(0, 12)} is a DB tree in the stream`);
      if (!tree) continue;
      const signature = treeSignature(decodeDbTree(tree));
      t.ok(originalSignatures.has(signature), `to ${v}: commit tree ${hash.slice(0, 12)} holds the paths, sizes, hashes and objects of a 1.7 tree of the original`);
    }

    const back = path.join(dir, `sort-${v}-back.pachctl`);
    const down = await runTool('pach-convert', ['--to-version', '1.7', '--to', 'pachctl', '--strict', out, '-o', back]);
    t.equal(down.code, 0, `${v} → 1.7 under --strict: exit 0 ${down.stderr}`);
    t.ok(Buffer.compare(fs.readFileSync(back), original) === 0, `${v} → 1.7: the pachctl file is byte-identical to the one pachctl wrote`);
  }
});

t.test('the real 1.11 dump goes to 1.12 and 1.13 and back, byte for byte, without loss', async (t) => {
  const dir = tempDir(t);
  const original = readFixture(AUTH_DUMP);
  for (const v of ['1.12', '1.13'] as const) {
    const out = path.join(dir, `auth-${v}.native`);
    const up = await runTool('pach-convert', ['--to-version', v, '--strict', '--report', '-', AUTH_DUMP, '-o', out]);
    t.equal(up.code, 0, `to ${v}: exit 0`);
    const r = JSON.parse(up.stderr) as LossReport;
    t.same([r.from, r.to, r.records_in, r.records_out, r.losses.length], ['1.11', v, 631, 631, 0], `to ${v}: --report - prints a report with no loss on stderr`);
    t.equal(r.written_by, 'pachd 1.11.x, release branch (1.11 ops with 11 auth ops)', 'the 1.11.x release branch, known by its auth ops');
    const { records } = await readStream(out);
    t.same(notPlainlyOf(records, v), [], `to ${v}: every op is a ${v} op with no unknown field`);
    const back = path.join(dir, `auth-${v}-back.pachctl`);
    const down = await runTool('pach-convert', ['--to-version', '1.11', '--to', 'pachctl', out, '-o', back]);
    t.equal(down.code, 0, `${v} → 1.11: exit 0 ${down.stderr}`);
    t.ok(Buffer.compare(fs.readFileSync(back), original) === 0, `${v} → 1.11: byte-identical to the dump pachctl wrote`);
  }
});

t.test('going down reports exactly what the lower version cannot hold', async (t) => {
  const dir = tempDir(t);
  const rep = path.join(dir, 'r.json');
  const out = path.join(dir, 'auth-1.10.native');
  const r = await runTool('pach-convert', ['--to-version', '1.10', '--report', rep, AUTH_DUMP, '-o', out]);
  t.equal(r.code, 0, 'a lossy conversion without --strict succeeds');
  const got = report(rep);
  const losses = Object.fromEntries(got.losses.map((l) => [`${l.hop} ${l.path}`, l.count]));
  t.same(losses, {
    '1.11→1.10 commit.origin': 28,
    '1.11→1.10 check_auth_token': 1,
    '1.11→1.10 activate_enterprise': 1,
    '1.11→1.10 activate_auth': 1,
    '1.11→1.10 restore_auth_token': 1,
    '1.11→1.10 set_cluster_role_binding': 1,
    '1.11→1.10 set_auth_config': 1,
    '1.11→1.10 set_acl': 5,
  });
  t.equal(got.records_out, 631 - 11, 'the auth and enterprise ops left the stream');
  t.equal(got.records_with_loss, 28 + 11);
  t.equal(got.losses.find((l) => l.path === 'check_auth_token')?.first_record, 0, 'the first record of each loss is named');
  const warned = lines(r.stderr);
  t.match(warned[0], /^pach-convert: warning: 39 records lost something on the way to 1\.10$/);
  t.ok(warned.some((l) => /lost commit\.origin ×28 at 1\.11→1\.10 \(first in record 573\)/.test(l)), 'stderr names the field, the count and the first record');
  t.notOk(/activation|hashed_token|[0-9a-f]{64}/.test(r.stderr), 'no secret from the dump on stderr');
  const { records } = await readStream(out);
  t.same(notPlainlyOf(records, '1.10'), []);
  const started = records.filter((x) => envelopeOf(x).kind === 'commit').every((c) => 'started' in body(c) && 'finished' in body(c));
  t.ok(started, '1.10 keeps commit started/finished (pachd\'s own 1.11 converter dropped them)');

  const r9 = await runTool('pach-convert', ['--to-version', '1.9', '--report', '-', '-q', out, '-o', path.join(dir, 'x')]);
  t.equal(r9.code, 0);
  const paths9 = (JSON.parse(r9.stderr) as LossReport).losses.map((l) => l.path).sort();
  t.same(paths9, ['commit.finished', 'commit.started'], '1.10 → 1.9 loses only the commit times (-q keeps warnings off stderr)');
});

t.test('--strict turns the first loss into exit 65 naming the record, and leaves no output file', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'never.native');
  const r = await runTool('pach-convert', ['--to-version', '1.10', '--strict', AUTH_DUMP, '-o', out]);
  t.equal(r.code, 65);
  const l = lines(r.stderr);
  t.equal(l.length, 1, 'one line');
  t.match(l[0], /^pach-convert: .*pachctl-1\.11-auth\.metadata: record 0 \(byte \d+\): PACH_LOSS: check_auth_token cannot be carried to 1\.10/);
  t.notOk(fs.existsSync(out), 'no output file');
  t.same(fs.readdirSync(dir), [], 'and no temporary file left behind');
});

t.test('bad --to-version, --strict or --report without it: usage errors', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--to-version', '1.6'], /pachd 1\.6 reads and writes 1\.7 ops; use --to-version 1\.7/],
    [['--to-version', '1.11.9'], /1\.11\.1 and later read and write 1\.12 ops; use --to-version 1\.12/],
    [['--to-version', '1.13.4'], /give the op version, 1\.13/],
    [['--to-version', '2.0'], /not an op version \(1\.7, 1\.8, 1\.9, 1\.10, 1\.11, 1\.12, 1\.13\)/],
    [['--strict'], /--strict and --report go with --to-version/],
    [['--report', 'r.json'], /--strict and --report go with --to-version/],
  ];
  for (const [args, re] of cases) {
    const r = await runTool('pach-convert', [...args, SORT_DUMP]);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, re, `${args.join(' ')}: says why`);
    t.equal(r.stdout.length, 0, 'nothing on stdout');
  }
});

/** One serialized op: `slot` (1 = op1_7 …), kind field number, payload bytes. */
function op(slot: number, kind: number, payload: Uint8Array): Uint8Array {
  const inner = Buffer.concat([Buffer.from([(kind << 3) | 2, payload.length]), payload]);
  return Buffer.concat([Buffer.from([(slot << 3) | 2, inner.length]), inner]);
}

function encode(version: OpVersion, kind: string, body: Record<string, unknown>): Uint8Array {
  const type = payloadType(version, kind)!;
  return type.encode(type.fromObject(body)).finish();
}

t.test('mixed versions are a data error naming the first record of another version', async (t) => {
  const repo7 = op(1, 4, encode('1.7', 'repo', { repo: { name: 'a' } }));
  const repo8 = op(2, 4, encode('1.8', 'repo', { repo: { name: 'b' } }));
  const r = await runTool('pach-convert', ['--from', 'raw', '--to-version', '1.13'], { input: joinRaw([repo7, repo7, repo8]) });
  t.equal(r.code, 65);
  t.match(r.stderr, /stdin: record 2 \(byte \d+\): PACH_MIXED_VERSIONS/);
  t.equal(r.stdout.length, 0, 'nothing written when the first batch already fails');
});

t.test('pachd 1.6 fields the 1.7 schema dropped are counted as loss, not silently dropped', async (t) => {
  // A 1.6 CreateRepoRequest: repo, then #2 provenance (repeated Repo), which 1.7 removed.
  const repo16 = Buffer.concat([encode('1.7', 'repo', { repo: { name: 'out' } }), Buffer.from([0x12, 0x05, 0x0a, 0x03, 0x69, 0x6e, 0x31])]);
  // A 1.6 SetBranchRequest{commit, branch}: the wire shape of CreateBranchRequest{head, s_branch}.
  const branch16 = encode('1.7', 'branch', { head: { repo: { name: 'in1' }, id: 'c0ffee' }, s_branch: 'master' });
  const input = joinRaw([op(1, 4, repo16), op(1, 6, branch16)]);
  const r = await runTool('pach-convert', ['--from', 'raw', '--to-version', '1.13', '--to', 'json', '--report', '-', '-q'], { input });
  t.equal(r.code, 0);
  const rep = JSON.parse(r.stderr) as LossReport;
  t.same(rep.losses.map((l) => [l.path, l.count, l.first_record]), [['repo.#2', 1, 0]], 'the 1.6 repo provenance is the one loss');
  t.match(rep.losses[0]!.reason, /pachd 1\.6 repo provenance/);
  t.equal(rep.written_by, "pachd 1.6 (1.7 ops; 2 ops in pachd 1.6's shape)", 'the writer is recognised as pachd 1.6');
  const out = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  t.same(out[2].body, { head: { repo: { name: 'in1' }, id: 'c0ffee' }, s_branch: 'master' }, 'the 1.6 branch op reaches 1.13 as it was');
  const strict = await runTool('pach-convert', ['--from', 'raw', '--to-version', '1.8', '--strict'], { input });
  t.equal(strict.code, 65, '--strict refuses it');
  t.match(strict.stderr, /record 0.*PACH_LOSS: repo\.#2 cannot be carried to 1\.8/);
});

t.test('an enum value the lower version lacks is kept as a number and reported', async (t) => {
  const job = op(7, 8, encode('1.13', 'job', { pipeline: { name: 'p' }, state: 'JOB_EGRESSING' }));
  const r = await runTool('pach-convert', ['--from', 'raw', '--to-version', '1.10', '--to', 'json', '--report', '-', '-q'], { input: joinRaw([job]) });
  t.equal(r.code, 0);
  const rep = JSON.parse(r.stderr) as LossReport;
  t.same(rep.losses.map((l) => l.path), ['job.state']);
  t.match(rep.losses[0]!.reason, /value 6 is not in 1\.10's pps\.JobState; kept as a number/);
  const line = JSON.parse(r.stdout.toString().trim().split('\n')[1]!);
  t.equal(line.body.state, 6, 'the value travels as the number 6');
});

t.test('1.8 atom inputs become pfs inputs in 1.9; an input with both loses the atom, reported', async (t) => {
  const atomOnly = encode('1.8', 'pipeline', { pipeline: { name: 'a' }, input: { atom: { name: 'x', repo: 'x', glob: '/*', empty_files: true } } });
  const both = encode('1.8', 'pipeline', { pipeline: { name: 'b' }, input: { atom: { repo: 'x' }, pfs: { repo: 'y' } } });
  const r = await runTool('pach-convert', ['--from', 'raw', '--to-version', '1.9', '--to', 'json', '--report', '-', '-q'], { input: joinRaw([op(2, 7, atomOnly), op(2, 7, both)]) });
  t.equal(r.code, 0);
  const out = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  t.same(out[1].body.input, { pfs: { name: 'x', repo: 'x', glob: '/*', empty_files: true } });
  t.same(out[2].body.input, { pfs: { repo: 'y' } });
  t.same((JSON.parse(r.stderr) as LossReport).losses.map((l) => [l.path, l.first_record]), [['pipeline.input.atom', 1]]);
});

t.test('conversion in a pipe: stdin to stdout, then jq reads the 1.13 pipelines', async (t) => {
  const r = await runShell(`cat '${SORT_DUMP}' | ${sh('pach-convert')} --to-version 1.13 | ${sh('pach-convert')} --to json | jq -c 'select(.kind == "pipeline") | [.version, .body.pipeline.name, (.body.input | keys), .body.salt]'`);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l)), [
    ['1.13', 'copy', ['union'], 'b319f8637433488aa8d8d01458a96f63'],
    ['1.13', 'sort', ['pfs'], '3f55166c918e49679126f7bd28f60228'],
  ], 'atom inputs are pfs inputs and the salt is kept');
});
