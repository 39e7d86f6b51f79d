/**
 * Chunk-boundary sweeps: every framing of both real dumps, fed to the reader
 * in chunks of 1, 2, 3, 7 and 65,536 bytes, gives the same records.
 */
import t from 'tap';
import { openStream } from '../../lib/codec/read.js';
import type { Framing } from '../../lib/codec/detect.js';
import { DUMPS, readFixture, runTool, splitRaw } from '../helpers/run.js';

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(i + size, bytes.length));
}

async function readAll(bytes: Uint8Array, size: number): Promise<{ framing: Framing; records: Buffer[] }> {
  const opened = await openStream(chunked(bytes, size));
  const records: Buffer[] = [];
  for await (const batch of opened.records) for (const r of batch) records.push(Buffer.from(r.bytes));
  return { framing: opened.framing, records };
}

for (const dump of DUMPS) {
  t.test(`the ${dump.name} dump reads the same at every chunk size`, async (t) => {
    const expected = splitRaw((await runTool('pach-convert', ['--to', 'raw', dump.file])).stdout);
    const inputs: Record<Framing, Buffer> = {
      pachctl: readFixture(dump.file),
      native: (await runTool('pach-convert', ['--to', 'native', dump.file])).stdout,
      raw: (await runTool('pach-convert', ['--to', 'raw', dump.file])).stdout,
      json: (await runTool('pach-convert', ['--to', 'json', dump.file])).stdout,
    };
    for (const [framing, bytes] of Object.entries(inputs) as Array<[Framing, Buffer]>) {
      for (const size of [1, 2, 3, 7, 65536]) {
        const got = await readAll(bytes, size);
        t.equal(got.framing, framing, `${framing} detected at chunk size ${size}`);
        t.ok(got.records.length === expected.length && got.records.every((r, i) => r.equals(expected[i]!)), `${framing} in ${size}-byte chunks: ${expected.length} identical records`);
      }
    }
  });
}
