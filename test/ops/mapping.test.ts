/**
 * The schema walk: every field of every message an op can reach, in every
 * version, has a rule in every hop that leaves that version (kept, renamed,
 * moved, dropped with a reason), and every field of the target is filled by
 * a rule or listed as defaulted. A field added to a schema without a rule
 * fails here — shown on a doctored copy of the schema.
 */
import protobuf from 'protobufjs';
import t from 'tap';
import { DirectionEngine } from '../../lib/ops/hop-engine.js';
import { HOPS } from '../../lib/ops/ladder.js';
import { opsDescriptor } from '../../lib/schema/gen/ops.js';
import { root } from '../../lib/schema/registry.js';
import { checkDirection, reachable } from './table-check.js';

const DIRECTIONS = HOPS.flatMap((h) => [h.up, h.down]);

t.test('every hop direction maps every field of every reachable message, both ways', async (t) => {
  t.equal(DIRECTIONS.length, 12, 'six hops, two directions each');
  for (const rules of DIRECTIONS) {
    const problems = checkDirection(root, rules);
    t.same(problems, [], `${rules.from}→${rules.to}: no unmapped or wrongly mapped field`);
  }
});

t.test('the walk covers every field (it is not vacuous)', async (t) => {
  for (const rules of DIRECTIONS) {
    const fields = [...reachable(root, rules.from).values()].reduce((n, m) => n + m.fieldsArray.length, 0);
    t.ok(fields >= 100, `${rules.from}→${rules.to}: ${fields} source fields walked`);
  }
});

t.test('the engine compiles every op kind of every direction without a missing rule', async (t) => {
  for (const rules of DIRECTIONS) {
    const e = new DirectionEngine(rules);
    const kinds = root.lookupType(`admin.Op${rules.from.replace('.', '_')}`).fieldsArray.map((f) => f.name);
    for (const k of kinds) t.doesNotThrow(() => e.kindPlan(k as never), `${rules.from}→${rules.to} ${k}`);
  }
});

/** The ops schema with one more field in one message. */
function doctored(pkg: string, message: string, field: string, id: number, type = 'string'): protobuf.Root {
  const json = JSON.parse(JSON.stringify(opsDescriptor)) as { nested: Record<string, { nested: Record<string, { fields: Record<string, unknown> }> }> };
  json.nested[pkg]!.nested[message]!.fields[field] = { type, id };
  return protobuf.Root.fromJSON(json as unknown as protobuf.INamespace);
}

t.test('a field added to a schema without a rule fails the walk', async (t) => {
  const r = doctored('pps_1_9', 'CreatePipelineRequest', 'flux_capacitor', 99);
  const up = HOPS[2]!.up; // 1.9 → 1.10: a source field with no rule
  const down = HOPS[1]!.up; // 1.8 → 1.9: a target field nothing fills
  t.match(checkDirection(r, up).join('\n'), /pps\.CreatePipelineRequest\.flux_capacitor \(#99\) has no rule/);
  t.match(checkDirection(r, down).join('\n'), /pps\.CreatePipelineRequest\.flux_capacitor \(#99\) in 1\.9 is filled by nothing/);
  const r2 = doctored('pfs_1_12', 'Commit', 'color', 3);
  t.match(checkDirection(r2, HOPS[5]!.up).join('\n'), /pfs\.Commit is listed as same but differs/, 'a "same" message that changed is caught');
  t.throws(() => new DirectionEngine(HOPS[2]!.up).ruleFor(r.lookupType('pps_1_9.CreatePipelineRequest'), r.lookupType('pps_1_9.CreatePipelineRequest').fields['flux_capacitor']!), /no rule for pps.CreatePipelineRequest.flux_capacitor/, 'and the engine refuses to run it');
});
