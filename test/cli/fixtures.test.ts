/**
 * The real `pachctl extract` dumps through the real executable: complete
 * decoding, and round trips between framings that keep every record's bytes.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { OpType, OP_SLOTS } from '../../lib/schema/registry.js';
import { DUMPS, pachctlRecords, readFixture, runTool, splitRaw, tempDir } from '../helpers/run.js';

/** Per-kind counts by decoding records with the schema directly (not through our codec). */
function schemaCounts(records: Buffer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) {
    const op = OpType.toObject(OpType.decode(r)) as Record<string, Record<string, unknown>>;
    const slots = Object.keys(op);
    if (slots.length !== 1) throw new Error(`op with ${slots.length} slots`);
    for (const kind of Object.keys(op[slots[0]!]!)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

for (const dump of DUMPS) {
  t.test(`the ${dump.name} dump`, async (t) => {
    const original = readFixture(dump.file);
    const expected = await pachctlRecords(original);
    const dir = tempDir(t);

    t.test('decodes completely: per-kind counts in the JSON view match a schema decode', async (t) => {
      const r = await runTool('pach-convert', ['--to', 'json', dump.file]);
      t.equal(r.code, 0, r.stderr);
      const lines = r.stdout.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
      t.ok(lines[0].header, 'first line is the header');
      t.ok(lines.at(-1).trailer, 'last line is the trailer');
      const recs = lines.slice(1, -1);
      t.equal(recs.length, dump.ops, `${dump.ops} ops`);
      const counts: Record<string, number> = {};
      for (const l of recs) counts[l.kind] = (counts[l.kind] ?? 0) + 1;
      t.same(counts, schemaCounts(expected));
      t.same(lines.at(-1).trailer.counts, counts, 'trailer counts agree');
      t.ok(recs.every((l: { version: string }) => l.version === dump.version), `every record is op version ${dump.version}`);
      t.same(recs.map((l: { i: number }) => l.i), recs.map((_: unknown, i: number) => i), 'records are numbered from 0');
    });

    t.test('pachctl → native → pachctl reproduces the pachctl file byte for byte', async (t) => {
      const native = await runTool('pach-convert', [dump.file]);
      t.equal(native.code, 0, native.stderr);
      const back = await runTool('pach-convert', ['--to', 'pachctl'], { input: native.stdout });
      t.equal(back.code, 0, back.stderr);
      t.ok(back.stdout.equals(original), 'identical to what pachctl extract wrote');
    });

    t.test('pachctl → native → pachctl → native keeps identical native record bytes', async (t) => {
      const n1 = path.join(dir, 'a.native');
      const p1 = path.join(dir, 'b.pachctl');
      const n2 = path.join(dir, 'c.native');
      for (const [args, label] of [
        [[dump.file, '-o', n1], 'to native'],
        [['--to', 'pachctl', n1, '-o', p1], 'to pachctl'],
        [[p1, '-o', n2], 'to native again'],
      ] as const) {
        const r = await runTool('pach-convert', [...args]);
        t.equal(r.code, 0, `${label}: ${r.stderr}`);
      }
      const raw1 = await runTool('pach-convert', ['--to', 'raw', n1]);
      const raw2 = await runTool('pach-convert', ['--to', 'raw', n2]);
      t.ok(raw1.stdout.equals(raw2.stdout), 'same records, same bytes');
      const got = splitRaw(raw1.stdout);
      t.ok(got.length === expected.length && got.every((r, i) => r.equals(expected[i]!)), 'and they are the records pachd wrote');
    });

    t.test('native → json → native returns every record byte-identical to what pachd wrote', async (t) => {
      const native = path.join(dir, 'd.native');
      t.equal((await runTool('pach-convert', [dump.file, '-o', native])).code, 0);
      const json = await runTool('pach-convert', ['--to', 'json', native]);
      t.equal(json.code, 0, json.stderr);
      const back = await runTool('pach-convert', ['--from', 'json', '--to', 'raw'], { input: json.stdout });
      t.equal(back.code, 0, back.stderr);
      const got = splitRaw(back.stdout);
      t.equal(got.length, expected.length);
      const differing = got.findIndex((r, i) => !r.equals(expected[i]!));
      t.equal(differing, -1, 'no record differs');
    });

    t.test('the native header names the op version and the history of the stream', async (t) => {
      const a = await runTool('pach-convert', [dump.file]);
      const b = await runTool('pach-convert', ['--to', 'json'], { input: a.stdout });
      const header = JSON.parse(b.stdout.toString('utf8').split('\n')[0]!).header;
      t.equal(header.format, 'pach-migrate');
      t.equal(header.format_version, 1);
      t.equal(header.op_version, dump.version);
      t.same(header.history.map((h: { tool: string }) => h.tool), ['pach-convert', 'pach-convert'], 'one history entry per tool run, oldest first');
      t.same(header.history[0].args, [dump.file]);
      t.match(header.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    });
  });
}

t.test('our op slots cover every version a dump can carry', async (t) => {
  t.same(OP_SLOTS.map((s) => s.version), ['1.7', '1.8', '1.9', '1.10', '1.11', '1.12', '1.13']);
});

t.test('-o writes the file only when the run succeeds, with no temporary left', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.native');
  const r = await runTool('pach-convert', [DUMPS[0].file, '-o', out]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.length, 0, 'nothing on stdout');
  t.same(fs.readdirSync(dir), ['out.native']);
});
