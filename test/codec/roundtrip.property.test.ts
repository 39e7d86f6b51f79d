/**
 * Property: for random valid ops of every version, decode(encode(records))
 * gives back the same record bytes in every framing, and the JSON view
 * re-encodes each record byte-identically.
 */
import t from 'tap';
import fc from 'fast-check';
import { encodeJson } from '../../lib/codec/json.js';
import { encodeNative, type NativeHeader } from '../../lib/codec/native.js';
import { encodePachctl } from '../../lib/codec/pachctl.js';
import { encodeRaw } from '../../lib/codec/raw.js';
import { openStream } from '../../lib/codec/read.js';
import type { Framing } from '../../lib/codec/detect.js';
import type { OpRecord, RecordStream } from '../../lib/codec/record.js';
import { OP_VERSIONS, OpType, slotByVersion, type OpVersion } from '../../lib/schema/registry.js';

const name = fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/);
const hash = fc.stringMatching(/^[0-9a-f]{128}$/);
const int64 = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }).map(String);

/** Bodies valid in every version's schema (field names shared by all slots). */
const bodies: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  repo: fc.record({ repo: fc.record({ name }), description: fc.string() }, { requiredKeys: ['repo'] }),
  tag: fc.record({ object: fc.record({ hash }), tags: fc.array(fc.record({ name }), { maxLength: 3 }) }),
  commit: fc.record({ parent: fc.record({ repo: fc.record({ name }), ID: fc.stringMatching(/^[0-9a-f]{0,32}$/) }), ID: fc.stringMatching(/^[0-9a-f]{32}$/), tree: fc.record({ hash }) }, { requiredKeys: ['parent'] }),
  branch: fc.record({ head: fc.record({ repo: fc.record({ name }), ID: fc.stringMatching(/^[0-9a-f]{32}$/) }), s_branch: name }),
  object: fc.record({ value: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')) }, { requiredKeys: [] }),
};
const newer: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  create_object: fc.record({ object: fc.record({ hash }), block_ref: fc.record({ block: fc.record({ hash: name }), range: fc.record({ lower: int64, upper: int64 }) }) }),
  block: fc.record({ block: fc.record({ hash: name }), value: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')) }),
};

function opArb(version: OpVersion): fc.Arbitrary<Uint8Array> {
  const kinds = { ...bodies, ...(['1.7', '1.8'].includes(version) ? {} : newer) };
  const slot = slotByVersion(version).name;
  return fc.oneof(...Object.entries(kinds).map(([kind, body]) => body.map((b) => OpType.encode(OpType.fromObject({ [slot]: { [kind]: b } })).finish())));
}

async function* once(records: Uint8Array[]): RecordStream {
  yield records.map((bytes, index): OpRecord => ({ bytes, index, offset: -1 }));
}

async function collect(chunks: AsyncIterable<Uint8Array>, chunkSize: number): Promise<Uint8Array[]> {
  const all: Uint8Array[] = [];
  for await (const c of chunks) all.push(Buffer.from(c)); // encoders reuse their chunks: copy
  const bytes = Buffer.concat(all);
  async function* split(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  }
  const opened = await openStream(split());
  const out: Uint8Array[] = [];
  for await (const batch of opened.records) for (const r of batch) out.push(Buffer.from(r.bytes));
  return out;
}

const header = (v: OpVersion): NativeHeader => ({ format: 'pach-migrate', format_version: 1, op_version: v, created: '2026-01-01T00:00:00Z', source: null, history: [] });

t.test('decode(encode(records)) returns the same bytes in every framing', async (t) => {
  const streamArb = fc.constantFrom(...OP_VERSIONS).chain((v) => fc.tuple(fc.constant(v), fc.array(opArb(v), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4096 })));
  await fc.assert(
    fc.asyncProperty(streamArb, async ([version, records, chunkSize]) => {
      const encoders: Record<Framing, AsyncIterable<Uint8Array>> = {
        native: encodeNative(once(records), header(version)),
        pachctl: encodePachctl(once(records)),
        raw: encodeRaw(once(records)),
        json: encodeJson(once(records)),
      };
      for (const [framing, enc] of Object.entries(encoders)) {
        const back = await collect(enc, chunkSize);
        if (back.length !== records.length || back.some((r, i) => !Buffer.from(r).equals(records[i]!))) {
          throw new Error(`${framing}: records differ after a round trip (version ${version}, ${records.length} records)`);
        }
      }
    }),
    { numRuns: 150 },
  );
  t.pass('150 generated streams round-tripped through native, pachctl, raw and json');
});
