/**
 * Properties of the ladder, on random valid ops of every version (every
 * field of every reachable message may appear; fast-check prints the seed
 * and the shrunk counterexample on failure):
 *
 * - the output of every conversion is in the target slot and decodes with
 *   no unknown field;
 * - up then down: every record that reported no loss comes back byte for
 *   byte, and for the others the loss report names exactly the fields that
 *   differ (the topmost differing field of each difference);
 * - down then up: the same byte identity without loss, and every difference
 *   is named by the report.
 */
import fc from 'fast-check';
import t from 'tap';
import type { OpRecord, RecordStream } from '../../lib/codec/record.js';
import { checkMessage } from '../../lib/codec/wire-check.js';
import { convertOpVersion } from '../../lib/ops/ladder.js';
import { LossLedger } from '../../lib/ops/loss.js';
import { OP_VERSIONS, OpType, payloadType, type OpVersion } from '../../lib/schema/registry.js';
import { envelopeOf } from '../../lib/codec/record.js';
import { opArb, without } from '../helpers/op-arbitrary.js';

/** A ledger that also remembers every (record, path) it was told about. */
class RecordingLedger extends LossLedger {
  readonly byRecord = new Map<number, Set<string>>();
  override add(hop: string, path: string, reason: string, record: number): boolean {
    let s = this.byRecord.get(record);
    if (!s) this.byRecord.set(record, (s = new Set()));
    s.add(path);
    return super.add(hop, path, reason, record);
  }
}

async function convert(records: Uint8Array[], to: OpVersion, decodeAll = false): Promise<{ out: Map<number, Uint8Array>; ledger: RecordingLedger }> {
  const ledger = new RecordingLedger();
  async function* input(): RecordStream {
    yield records.map((bytes, index): OpRecord => ({ bytes, index, offset: -1 }));
  }
  const out = new Map<number, Uint8Array>();
  for await (const batch of convertOpVersion(input(), { to, ledger }, undefined, { decodeAll })) for (const r of batch) out.set(r.index, r.bytes);
  return { out, ledger };
}

/** The JSON-ish object of a record's payload, for comparing field by field. */
function body(bytes: Uint8Array): { kind: string; obj: Record<string, unknown> } {
  const env = envelopeOf({ bytes, index: 0, offset: -1 });
  const msg = OpType.decode(bytes);
  const o = OpType.toObject(msg, { longs: String, bytes: String, enums: Number }) as Record<string, Record<string, Record<string, unknown>>>;
  const slot = Object.keys(o)[0]!;
  return { kind: env.kind, obj: o[slot]![env.kind] ?? {} };
}

/** Topmost paths where two decoded messages differ (array indices left out). */
function diffPaths(a: unknown, b: unknown, path: string, out: Set<string>): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diffPaths(x, b[i], path, out));
    return;
  }
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffPaths(a[k], b[k], `${path}.${k}`, out);
    return;
  }
  out.add(path);
}

/** The topmost paths (from the op kind down) where two records' payloads differ. */
function differingPaths(a: Uint8Array, b: Uint8Array): Set<string> {
  const x = body(a);
  const diff = new Set<string>();
  diffPaths(x.obj, body(b).obj, x.kind, diff);
  return diff;
}

/** The differing paths of two records, and the bytes when the decoded fields agree. */
function describeDiff(a: Uint8Array, b: Uint8Array): string {
  const diff = differingPaths(a, b);
  return diff.size ? `fields differ at [${[...diff]}]` : `same fields, bytes ${Buffer.from(a).toString('hex')} vs ${Buffer.from(b).toString('hex')}`;
}

/** Every output record is in `to`'s slot and has no field `to`'s schema lacks. */
function checkOutput(t: { fail(message: string): boolean }, out: Map<number, Uint8Array>, to: OpVersion): boolean {
  for (const [i, bytes] of out) {
    const env = envelopeOf({ bytes, index: i, offset: -1 });
    if (env.version !== to) return t.fail(`record ${i} is ${env.version}, not ${to}`);
    const unknown = checkMessage(payloadType(to, env.kind)!, bytes, env.payloadStart, env.payloadEnd);
    if (unknown.length) return t.fail(`record ${i}: unknown fields ${JSON.stringify(unknown)}`);
  }
  return true;
}

/**
 * Object ops are left out of the random ops: a random 1.7 object value that
 * happens to parse as a commit tree would be rewritten by the tree hop,
 * which trees.test.ts covers on real trees.
 */
const KINDS_WITHOUT_OBJECTS = [
  'tag', 'repo', 'commit', 'branch', 'pipeline', 'job', 'create_object', 'block', 'set_acl', 'set_cluster_role_binding',
  'set_auth_config', 'activate_auth', 'restore_auth_token', 'activate_enterprise', 'check_auth_token',
];

/**
 * A commit whose tree object is not in the stream keeps its tree hash; that
 * is reported (the tree cannot be rewritten between the 1.7 and 1.8 formats)
 * although the record itself does not change.
 */
const NOT_A_FIELD_CHANGE = new Set(['commit.tree']);

/**
 * 1.8 reads both atom and pfs inputs; 1.7 has only atom and 1.9 only pfs, and
 * 1.7 → 1.8 turns atom into pfs as pachd does, so a 1.8 atom input comes back
 * as the pfs input it became (cli/versions.test.ts shows the case on its own).
 */
const NO_ATOM = (body: Record<string, unknown>): Record<string, unknown> => without('atom', body);

/**
 * A field moved by one hop and dropped by a later one is reported under the
 * name it had when dropped: below 1.10 pipeline metadata annotations travel
 * on the pipeline's service (or its spout's), and 1.8 services have no
 * annotations, 1.8 spouts no service, 1.7 no spouts.
 */
const MOVED: ReadonlyArray<[string, string]> = [
  ['.service.annotations', '.metadata.annotations'],
  ['.spout.service.annotations', '.metadata.annotations'],
  ['.spout.service', '.metadata.annotations'],
  ['.spout', '.metadata.annotations'],
];

const pairs = fc
  .tuple(fc.integer({ min: 0, max: OP_VERSIONS.length - 1 }), fc.integer({ min: 0, max: OP_VERSIONS.length - 1 }))
  .filter(([a, b]) => a < b)
  .map(([a, b]) => [OP_VERSIONS[a]!, OP_VERSIONS[b]!] as const);

const RUNS = Number(process.env.PACH_PROPERTY_RUNS ?? 150);

/** Random ops of `version`, as the round trips use them. */
const opsOf = (version: OpVersion): fc.Arbitrary<Uint8Array[]> =>
  fc.array(opArb(version, KINDS_WITHOUT_OBJECTS, version === '1.8' ? NO_ATOM : undefined), { minLength: 1, maxLength: 8 });

/** One record after `records` went to `via` and back: its original, what came back, the losses the first leg reported. */
interface Returned {
  i: number;
  original: Uint8Array;
  back: Uint8Array;
  lost: Set<string> | undefined;
}

/**
 * Converts `records` to `via` and the result back to their own version,
 * checking both outputs; undefined when a check failed (already reported).
 */
async function roundTrip(t: { fail(message: string): boolean }, records: Uint8Array[], from: OpVersion, via: OpVersion): Promise<{ returned: Returned[]; first: Awaited<ReturnType<typeof convert>> } | undefined> {
  const first = await convert(records, via);
  if (!checkOutput(t, first.out, via)) return undefined;
  const second = await convert([...first.out.values()], from);
  if (!checkOutput(t, second.out, from)) return undefined;
  const firstIndex = [...first.out.keys()];
  const returned = [...second.out.values()].map((back, j): Returned => {
    const i = firstIndex[j]!;
    return { i, original: records[i]!, back, lost: first.ledger.byRecord.get(i) };
  });
  return { returned, first };
}

t.test('up then down: identity without loss, and the report names exactly the fields that differ', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      pairs.chain(([lo, hi]) => fc.tuple(fc.constant(lo), fc.constant(hi), opsOf(lo))),
      async ([lo, hi, records]) => {
        const trip = await roundTrip(t, records, lo, hi);
        if (!trip) return false;
        for (const { i, original, back, lost: reported } of trip.returned) {
          const lost = reported && new Set([...reported].filter((p) => !NOT_A_FIELD_CHANGE.has(p)));
          if (!lost?.size) {
            if (Buffer.compare(Buffer.from(original), Buffer.from(back)) !== 0) {
              t.fail(`${lo}→${hi}→${lo}: record ${i} changed without a reported loss: ${describeDiff(original, back)}`);
              return false;
            }
            continue;
          }
          const diff = differingPaths(original, back);
          if ([...diff].sort().join() !== [...lost].sort().join()) {
            t.fail(`${lo}→${hi}→${lo}: record ${i} differs at [${[...diff]}] but the report says [${[...lost]}]`);
            return false;
          }
        }
        return true;
      },
    ),
    { numRuns: RUNS },
  );
});

t.test('down then up: identity without loss, every difference reported', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      pairs.chain(([lo, hi]) => fc.tuple(fc.constant(lo), fc.constant(hi), opsOf(hi))),
      async ([lo, hi, records]) => {
        const trip = await roundTrip(t, records, hi, lo);
        if (!trip) return false;
        for (const { i, original, back, lost } of trip.returned) {
          const same = Buffer.compare(Buffer.from(original), Buffer.from(back)) === 0;
          if (!lost && !same) {
            t.fail(`${hi}→${lo}→${hi}: record ${i} changed without a reported loss: ${describeDiff(original, back)}`);
            return false;
          }
          if (lost && !same) {
            const diff = differingPaths(original, back);
            const named = [...lost].flatMap((l) => [l, ...MOVED.flatMap(([at, from]) => (l.endsWith(at) ? [l.slice(0, -at.length) + from] : []))]);
            const unreported = [...diff].filter((d) => !named.some((l) => d === l || d.startsWith(`${l}.`) || l.startsWith(`${d}.`)));
            if (unreported.length) {
              t.fail(`${hi}→${lo}→${hi}: record ${i} differs at [${unreported}], not in the report [${[...lost]}]`);
              return false;
            }
          }
        }
        for (const i of records.keys()) {
          if (!trip.first.out.has(i) && !trip.first.ledger.byRecord.has(i)) {
            t.fail(`record ${i} left the stream without a reported loss`);
            return false;
          }
        }
        return true;
      },
    ),
    { numRuns: RUNS },
  );
});


t.test('byte-level carrying and cutting give the same records and report as decoding everything', async (t) => {
  const versions = fc.tuple(fc.constantFrom(...OP_VERSIONS), fc.constantFrom(...OP_VERSIONS)).filter(([a, b]) => a !== b);
  await fc.assert(
    fc.asyncProperty(
      versions.chain(([from, to]) => fc.tuple(fc.constant(from), fc.constant(to), fc.array(opArb(from, KINDS_WITHOUT_OBJECTS), { minLength: 1, maxLength: 8 }))),
      async ([from, to, records]) => {
        const fast = await convert(records, to);
        const slow = await convert(records, to, true);
        const same = [...fast.out.keys()].join() === [...slow.out.keys()].join() && [...fast.out].every(([i, b]) => Buffer.compare(Buffer.from(b), Buffer.from(slow.out.get(i)!)) === 0);
        if (!same) {
          const i = [...fast.out.keys()].find((k) => Buffer.compare(Buffer.from(fast.out.get(k)!), Buffer.from(slow.out.get(k) ?? [])) !== 0)!;
          t.fail(`${from}→${to}: record ${i} differs between byte level and decoding: ${describeDiff(fast.out.get(i)!, slow.out.get(i) ?? new Uint8Array())}`);
          return false;
        }
        const a = fast.ledger.entries().map((e) => `${e.hop} ${e.path} ${e.count} ${e.first_record}`).sort();
        const b = slow.ledger.entries().map((e) => `${e.hop} ${e.path} ${e.count} ${e.first_record}`).sort();
        if (a.join('\n') !== b.join('\n')) {
          t.fail(`${from}→${to}: reports differ: byte level [${a}] vs decoding [${b}]`);
          return false;
        }
        return true;
      },
    ),
    { numRuns: RUNS },
  );
});
