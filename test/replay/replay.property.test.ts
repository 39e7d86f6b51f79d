/**
 * The replay model never breaks on what a stream can hold: the real dumps
 * with records dropped, repeated and moved, and schema-generated ops of every
 * kind mixed in, replay without an exception, with every problem well formed
 * (a known code and its severity, a record index inside the stream), the same
 * problems on a second replay, and a plan that fails exactly when there is an
 * error. PACH_PROPERTY_RUNS sets the number of runs.
 */
import fc from 'fast-check';
import t from 'tap';
import type { OpRecord } from '../../lib/codec/record.js';
import { PROBLEMS } from '../../lib/replay/problems.js';
import { Replayer } from '../../lib/replay/replay.js';
import { planOf } from '../../lib/replay/report.js';
import type { OpVersion } from '../../lib/schema/registry.js';
import { opArb } from '../helpers/op-arbitrary.js';
import { AUTH_DUMP, SORT_DUMP, pachctlRecords, readFixture } from '../helpers/run.js';

const RUNS = Number(process.env.PACH_PROPERTY_RUNS ?? 60);
const NOW = Date.parse('2020-12-16T00:00:00Z') / 1000;

type Edit = { kind: 'drop' | 'repeat' | 'move'; at: number; to: number } | { kind: 'insert'; at: number; op: Uint8Array };

function edited(records: readonly Uint8Array[], edits: readonly Edit[]): Uint8Array[] {
  const out = [...records];
  for (const e of edits) {
    if (!out.length) break;
    const at = e.at % out.length;
    if (e.kind === 'drop') out.splice(at, 1);
    else if (e.kind === 'repeat') out.splice(at, 0, out[at]!);
    else if (e.kind === 'move') out.splice(e.to % out.length, 0, ...out.splice(at, 1));
    else if (e.kind === 'insert') out.splice(at, 0, e.op);
  }
  return out;
}

function replay(records: readonly Uint8Array[], pachdVersion?: string): Replayer {
  const r = new Replayer({ now: NOW, pachdVersion });
  records.forEach((bytes, index) => r.apply({ bytes, index, offset: -1 } as OpRecord));
  r.end();
  return r;
}

for (const [name, file, version] of [['1.7 sort', SORT_DUMP, '1.7'], ['1.11 auth', AUTH_DUMP, '1.11']] as const) {
  t.test(`the ${name} dump, edited at random, replays without breaking`, async (t) => {
    const seen = new Set<string>();
    const records = (await pachctlRecords(readFixture(file))).map((b) => new Uint8Array(b));
    const index = fc.nat({ max: records.length * 2 });
    const edit: fc.Arbitrary<Edit> = fc.oneof(
      fc.record({ kind: fc.constantFrom('drop' as const, 'repeat' as const, 'move' as const), at: index, to: index }),
      fc.record({ kind: fc.constant('insert' as const), at: index, op: opArb(version as OpVersion) }),
    );
    const pachd = fc.constantFrom(undefined, '1.13', version === '1.7' ? '1.8' : '1.12');
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 12 }), pachd, (edits, pachdVersion) => {
        const stream = edited(records, edits);
        const first = replay(stream, pachdVersion);
        const problems = first.model.problems;
        for (const p of problems) {
          seen.add(p.code);
          if (!(p.code in PROBLEMS)) throw new Error(`unknown code ${p.code}`);
          if (p.severity !== PROBLEMS[p.code].severity) throw new Error(`${p.code} has severity ${p.severity}`);
          if (p.record < -1 || p.record >= stream.length) throw new Error(`${p.code} at record ${p.record} of ${stream.length}`);
          if (!p.names.every((n) => typeof n === 'string') || !p.message) throw new Error(`${p.code}: malformed`);
        }
        const again = replay(stream, pachdVersion).model.problems;
        if (JSON.stringify(again) !== JSON.stringify(problems)) throw new Error('a second replay found other problems');
        const plan = planOf(first, {} as never);
        const hasError = problems.some((p) => p.severity === 'error');
        return plan.outcome === (hasError ? 'fails' : 'ok') && (plan.stops_at === null) === !hasError;
      }),
      { numRuns: RUNS },
    );
    t.ok(seen.size >= 3, `the edits reached ${seen.size} problem classes: ${[...seen].sort().join(', ')}`);
  });
}
