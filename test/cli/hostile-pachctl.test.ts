/**
 * A pachctl stream cut or corrupted anywhere is a data error, except where
 * the format itself cannot tell, and there the result is exact:
 *
 *  - Cuts. pachctl streams have no end marker, so a cut exactly at a Snappy
 *    chunk boundary whose unframed bytes end exactly on a record boundary is
 *    a valid, shorter stream (exit 0, an exact prefix of the records). The
 *    smallest such cut is right after the 10-byte stream identifier (no
 *    records). Every other cut ends inside a chunk (PACH_TRUNCATED) or inside
 *    a record (PACH_TRUNCATED_RECORD).
 *  - Flips. The CRC-32C of each chunk's uncompressed data catches every flip
 *    of chunk data or of the CRC itself, and a flipped length or chunk type
 *    breaks the framing. Two flips are undetectable by the format (see
 *    pachctlFlipExpect in test/helpers/hostile.ts): a data chunk's type byte
 *    turned into a skippable type (0x01 ^ 0xff = 0xfe, padding: readers must
 *    skip it, so its records silently go), and a flip inside compressed Snappy
 *    data that still decompresses to the same bytes (harmless: same records).
 *
 * Boundaries and expectations are computed here by walking the chunks with
 * the snappy package, independently of lib/codec. Every case runs
 * in-process; the real executable runs on the structural offsets and a
 * seeded sample (PACH_HOSTILE_SPAWN=all for every one).
 */
import t from 'tap';
import snappy from 'snappy';
import { crc32c } from '@node-rs/crc32';
import {
  POOL,
  SEED,
  SPAWN_ALL,
  convertInProcess,
  notCleanDataFailure,
  notDataError,
  pachctlCutExpect,
  pachctlFlipExpect,
  pool,
  rawBoundaries,
  sameRecords,
  smallStream,
  snappyChunks,
  spawnOffsets,
  type SnappyChunk,
} from '../helpers/hostile.js';
import { SORT_DUMP, pachctlRecords, readFixture, runTool, splitRaw } from '../helpers/run.js';

const FLIPS = [0xff, 0x01] as const;

/** The one assertion the sweep helpers make on the test they run in. */
interface Asserts {
  same(found: unknown, wanted: unknown, message: string): boolean;
}

t.comment(`spawn sample seed ${SEED}${SPAWN_ALL ? ' (every case spawned)' : ''}; rerun with PACH_HOSTILE_SEED=${SEED}`);

interface Subject {
  name: string;
  bytes: Buffer;
  records: Buffer[];
  chunks: SnappyChunk[];
}

/** The masked CRC-32C of the Snappy framing format, from @node-rs/crc32 directly. */
function masked(data: Buffer): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/**
 * A valid pachctl stream with one chunk per record (alternately compressed
 * and stored), framed here: Go's unbuffered snappy.NewWriter writes such
 * streams, and every chunk boundary in it is a record boundary.
 */
function chunkPerRecord(records: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59])];
  records.forEach((rec, i) => {
    const h = Buffer.alloc(8);
    h.writeBigUInt64LE(BigInt(rec.length));
    const data = Buffer.concat([h, rec]);
    const body = i % 2 === 0 ? (snappy.compressSync(data) as Buffer) : data;
    const head = Buffer.alloc(8);
    head[0] = i % 2 === 0 ? 0x00 : 0x01;
    head.writeUIntLE(body.length + 4, 1, 3);
    head.writeUInt32LE(masked(data), 4);
    parts.push(head, body);
  });
  return Buffer.concat(parts);
}

let subjects: Promise<{ small: Subject; perRecord: Subject; sort: Subject; sortRegion: number }> | undefined;
function getSubjects(): NonNullable<typeof subjects> {
  subjects ??= (async () => {
    const s = await smallStream();
    const sortBytes = readFixture(SORT_DUMP);
    const sortRecords = await pachctlRecords(sortBytes);
    const perRecord = chunkPerRecord(s.records);
    const sortChunks = snappyChunks(sortBytes);
    return {
      small: { name: 'our --to pachctl of the small stream', bytes: s.pachctl, records: s.records, chunks: snappyChunks(s.pachctl) },
      perRecord: { name: 'the small stream with one chunk per record', bytes: perRecord, records: s.records, chunks: snappyChunks(perRecord) },
      sort: { name: 'the real 1.7 sort dump', bytes: sortBytes, records: sortRecords, chunks: sortChunks },
      // "The beginning": the stream identifier, the whole first data chunk, and the start of the second.
      sortRegion: sortChunks[1]!.end + 32,
    };
  })();
  return subjects;
}

function describeExpect(e: Buffer[] | 'error'): string {
  return e === 'error' ? 'a data error' : `exit 0 with the first ${e.length} records`;
}

const every = (s: Subject): number[] => Array.from({ length: s.bytes.length }, (_, i) => i);

/** In-process: `s.bytes` cut at each of `offsets` against pachctlCutExpect; returns the cuts that succeed. */
async function sweepCuts(t: Asserts, s: Subject, offsets: number[], chunkSizes: number[]): Promise<number[]> {
  const failures: string[] = [];
  const ok = new Set<number>();
  for (const chunk of chunkSizes) {
    for (const at of offsets) {
      const want = pachctlCutExpect(s.chunks, s.records, at);
      const o = await convertInProcess(s.bytes.subarray(0, at), chunk);
      if (want === 'error') {
        if (o.ok) failures.push(`cut at ${at}: exit 0 with ${o.records.length} records, want a data error`);
        else {
          const why = notDataError(o.error);
          if (why) failures.push(`cut at ${at}: ${why}`);
        }
      } else if (!o.ok) {
        failures.push(`cut at ${at}: ${(o.error as Error).message}, want ${describeExpect(want)}`);
      } else if (!sameRecords(o.records, want)) {
        failures.push(`cut at ${at}: ${o.records.length} records that are not the first ${want.length}`);
      } else ok.add(at);
    }
  }
  t.same(failures, [], `${s.name}: each of ${offsets.length} cuts is what the chunk and record boundaries say`);
  return [...ok].sort((a, b) => a - b);
}

/** In-process: both flips at each of `offsets` against pachctlFlipExpect; returns the flips that succeed. */
async function sweepFlips(t: Asserts, s: Subject, offsets: number[], chunkSizes: number[]): Promise<Array<[number, number]>> {
  const failures: string[] = [];
  const ok = new Map<string, [number, number]>();
  const work = Buffer.from(s.bytes);
  for (const chunk of chunkSizes) {
    for (const at of offsets) {
      for (const x of FLIPS) {
        const want = pachctlFlipExpect(s.bytes, s.chunks, s.records, at, x);
        work[at] ^= x;
        const o = await convertInProcess(work, chunk);
        work[at] ^= x;
        const what = `0x${x.toString(16)} at ${at}`;
        if (want === 'error') {
          if (o.ok) failures.push(`${what}: exit 0 with ${o.records.length} records${sameRecords(o.records, s.records) ? ' (the same)' : ''}, want a data error`);
          else {
            const why = notDataError(o.error);
            if (why) failures.push(`${what}: ${why}`);
          }
        } else if (!o.ok) {
          failures.push(`${what}: ${(o.error as Error).message}, want ${describeExpect(want)}`);
        } else if (!sameRecords(o.records, want)) {
          failures.push(`${what}: ${o.records.length} records, not the ${want.length} expected`);
        } else ok.set(`${at}/${x}`, [at, x]);
      }
    }
  }
  t.same(failures, [], `${s.name}: each of ${offsets.length * FLIPS.length} flips is a data error or one of the two undetectable kinds`);
  return [...ok.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** Spawns `pach-convert --to raw` on each input; checks exit 65 + one clean line, or exit 0 with exactly the expected records. */
async function spawnCases(t: Asserts, cases: Array<{ label: string; input: Buffer; want: Buffer[] | 'error' }>): Promise<void> {
  const failures: string[] = [];
  await pool(cases, POOL, async (c) => {
    const r = await runTool('pach-convert', ['--to', 'raw'], { input: c.input });
    if (c.want === 'error') {
      const why = notCleanDataFailure(r, { located: true });
      if (why) failures.push(`${c.label}: ${why}`);
      return;
    }
    if (r.code !== 0 || r.stderr !== '') {
      failures.push(`${c.label}: exit ${r.code} (${r.stderr.trim()}), want ${describeExpect(c.want)}`);
      return;
    }
    let got: Buffer[];
    try {
      got = splitRaw(r.stdout);
    } catch {
      failures.push(`${c.label}: exit 0 with unreadable output`);
      return;
    }
    if (!sameRecords(got, c.want)) failures.push(`${c.label}: exit 0 with ${got.length} records, not the ${c.want.length} expected`);
  });
  t.same(failures, [], `${cases.length} runs`);
}

function cutCases(s: Subject, offsets: number[]): Array<{ label: string; input: Buffer; want: Buffer[] | 'error' }> {
  return offsets.map((at) => ({ label: `cut at ${at}`, input: s.bytes.subarray(0, at), want: pachctlCutExpect(s.chunks, s.records, at) }));
}

function flipCases(s: Subject, flips: Array<[number, number]>): Array<{ label: string; input: Buffer; want: Buffer[] | 'error' }> {
  return flips.map(([at, x]) => {
    const input = Buffer.from(s.bytes);
    input[at] ^= x;
    return { label: `0x${x.toString(16)} at ${at}`, input, want: pachctlFlipExpect(s.bytes, s.chunks, s.records, at, x) };
  });
}

/** The stream identifier, chunk headers and CRCs, each chunk's first and last byte, and the record boundaries in stored chunks (±1). */
function structuralOffsets(s: Subject): number[] {
  const out: number[] = [];
  for (let i = 0; i <= 10; i++) out.push(i);
  for (const c of s.chunks) {
    for (let i = c.start; i < Math.min(c.end, c.body + 5); i++) out.push(i);
    out.push(c.end - 1, c.end);
    if (c.type === 1) for (const b of rawBoundaries(c.data!)) out.push(c.body + 4 + b - 1, c.body + 4 + b, c.body + 4 + b + 1);
  }
  return out;
}

/**
 * "The beginning" of the sort dump swept in-process: its first 8 KiB and
 * 256 bytes either side of the end of its first data chunk. (Sweeping the
 * whole first chunk, 20,326 bytes, takes ~30 s of CPU; it finds the same
 * kinds of case: only 0x01 flips inside compressed data pass — 9 of them,
 * decompressing to the same bytes — and the same two kinds of cut.)
 */
function sortSweep(sort: Subject): number[] {
  const end = sort.chunks[1]!.end;
  const out: number[] = [];
  for (let i = 0; i < 8192; i++) out.push(i);
  for (let i = end - 256; i < end + 256; i++) out.push(i);
  return out;
}

t.test('the pachctl subjects decode completely (the baseline cuts and flips are measured against)', async (t) => {
  const { small, perRecord, sort } = await getSubjects();
  for (const s of [small, perRecord, sort]) {
    const r = await runTool('pach-convert', ['--to', 'raw'], { input: s.bytes });
    t.equal(r.code, 0, `${s.name}: ${r.stderr}`);
    t.ok(sameRecords(splitRaw(r.stdout), s.records), `${s.name}: all ${s.records.length} records`);
  }
  t.same(small.chunks.map((c) => c.type), [0xff, 0x01], 'the small stream is one stored chunk (too small to compress)');
  t.ok(sort.chunks.slice(1).every((c) => c.type === 0x00), 'the sort dump is compressed chunks only');
  t.comment(`sort dump chunks at ${sort.chunks.map((c) => c.start).join(', ')} (${sort.bytes.length} bytes)`);
});

t.test('cutting a pachctl stream is a data error except at a record-aligned chunk boundary (in-process, every offset)', async (t) => {
  const { small, perRecord, sort } = await getSubjects();

  const smallOk = await sweepCuts(t, small, every(small), [64 * 1024, 7]);
  t.same(smallOk, [10], 'small stream: only the cut right after the stream identifier is a valid (empty) stream');

  const perOk = await sweepCuts(t, perRecord, every(perRecord), [64 * 1024, 5]);
  t.same(perOk, perRecord.chunks.slice(0, -1).map((c) => c.end), 'one chunk per record: every chunk boundary, and nothing else, is a valid shorter stream');

  const sortOk = await sweepCuts(t, sort, sortSweep(sort), [64 * 1024]);
  t.same(sortOk, [10], 'the sort dump, from its start to past its first data chunk: only after the stream identifier');
  const bounds = sort.chunks.map((c) => c.end).filter((e) => e < sort.bytes.length);
  const aligned = bounds.filter((b) => pachctlCutExpect(sort.chunks, sort.records, b) !== 'error');
  t.same(aligned, [10], `no chunk boundary of the sort dump (${bounds.join(', ')}) falls on a record boundary`);
});

t.test('flipping a byte of a pachctl stream is a data error unless the format cannot tell (in-process, every offset, xor 0xff and 0x01)', async (t) => {
  const { small, perRecord, sort } = await getSubjects();

  const smallOk = await sweepFlips(t, small, every(small), [64 * 1024, 7]);
  t.same(smallOk, [[10, 0xff]], 'small stream: only its stored chunk turned into padding (0x01 ^ 0xff = 0xfe) passes, as an empty stream');

  const perOk = await sweepFlips(t, perRecord, every(perRecord), [64 * 1024]);
  const stored = perRecord.chunks.filter((c) => c.type === 0x01);
  t.same(
    perOk.filter(([at]) => perRecord.chunks.some((c) => c.start === at)),
    stored.map((c) => [c.start, 0xff]),
    'one chunk per record: each stored chunk turned into padding drops exactly its record, silently',
  );
  t.comment(`one chunk per record: ${perOk.length} flips pass (${perOk.map(([a, x]) => `0x${x.toString(16)}@${a}`).join(' ')})`);

  const sortOk = await sweepFlips(t, sort, sortSweep(sort), [64 * 1024]);
  t.ok(sortOk.every(([at]) => at >= sort.chunks[1]!.body + 4), 'in the sort dump, only flips inside compressed data pass, and those give the same records');
  t.comment(`sort dump start: ${sortOk.length} of ${sortSweep(sort).length * 2} flips swept decompress to the same bytes (${sortOk.map(([a, x]) => `0x${x.toString(16)}@${a}`).join(' ')})`);
});

t.test('a pachctl stream cut at any byte exits 65 with one stderr line, or 0 with an exact prefix at a record-aligned chunk boundary (real processes)', async (t) => {
  const { small, perRecord, sort, sortRegion } = await getSubjects();
  const cases = [
    ...cutCases(small, spawnOffsets(small.bytes.length, structuralOffsets(small), 24, 0x9c01)),
    ...cutCases(perRecord, spawnOffsets(perRecord.bytes.length, perRecord.chunks.flatMap((c) => [c.end - 1, c.end, c.end + 1]), Infinity, 0x9c02)),
    ...cutCases(sort, [
      ...sort.chunks.flatMap((c) => [c.start - 1, c.start, c.start + 1, c.start + 4, c.start + 8]).filter((o) => o >= 0 && o < sort.bytes.length),
      ...spawnOffsets(sortRegion, [], 1400, 0x9c03, false),
    ]),
  ];
  await spawnCases(t, cases);
});

t.test('a pachctl stream with a byte flipped exits 65 with one stderr line, except the flips the format cannot see (real processes)', async (t) => {
  const { small, perRecord, sort, sortRegion } = await getSubjects();
  const flips = (offsets: number[], x: number): Array<[number, number]> => offsets.map((o) => [o, x]);
  // The harmless flips of the sort dump's first chunk, found by the in-process sweep's oracle, run as processes too.
  const harmless: Array<[number, number]> = [];
  for (let at = sort.chunks[1]!.body + 4; at < sort.chunks[1]!.end; at++) {
    if (pachctlFlipExpect(sort.bytes, sort.chunks, sort.records, at, 0x01) !== 'error') harmless.push([at, 0x01]);
    if (pachctlFlipExpect(sort.bytes, sort.chunks, sort.records, at, 0xff) !== 'error') harmless.push([at, 0xff]);
  }
  t.ok(harmless.length > 0, `${harmless.length} harmless flips in the first chunk of the sort dump`);
  const cases = [
    ...flipCases(small, flips(spawnOffsets(small.bytes.length, structuralOffsets(small), 32, 0x9c11), 0xff)),
    ...flipCases(small, flips(spawnOffsets(small.bytes.length, [], 48, 0x9c12), 0x01)),
    ...flipCases(perRecord, perRecord.chunks.map((c) => [c.start, 0xff] as [number, number])),
    ...flipCases(sort, flips(spawnOffsets(sortRegion, structuralOffsets(sort).filter((o) => o < sortRegion), 1400, 0x9c13, false), 0xff)),
    ...flipCases(sort, flips(spawnOffsets(sortRegion, [], 2800, 0x9c14, false), 0x01)),
    ...flipCases(sort, harmless),
  ];
  await spawnCases(t, cases);
});
