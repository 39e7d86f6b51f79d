/**
 * The schema walk behind mapping.test.ts: checks one direction of one hop
 * against the two versions' schemas and lists every problem. A field of any
 * message an op can reach that no rule mentions, a target field nothing
 * fills, a `same` message that is not identical on the wire, a stale entry,
 * an unmapped op kind: each is one line.
 */
import protobuf from 'protobufjs';
import { baseName, type DirectionRules } from '../../lib/ops/mapping.js';

/** Every message reachable from the payloads of `Op1_x`, by version-free name. */
export function reachable(root: protobuf.Root, version: string): Map<string, protobuf.Type> {
  const slot = root.lookupType(`admin.Op${version.replace('.', '_')}`);
  const seen = new Map<string, protobuf.Type>();
  const walk = (t: protobuf.Type): void => {
    if (seen.has(baseName(t))) return;
    seen.set(baseName(t), t);
    for (const f of t.fieldsArray) {
      f.resolve();
      if (f.resolvedType instanceof protobuf.Type) walk(f.resolvedType);
    }
  };
  for (const f of slot.fieldsArray) {
    f.resolve();
    walk(f.resolvedType as protobuf.Type);
  }
  return seen;
}

function typeName(f: protobuf.Field): string {
  f.resolve();
  return f.resolvedType ? baseName(f.resolvedType) : f.type;
}

function signature(f: protobuf.Field): string {
  return `${f.id} ${f.repeated ? 'repeated ' : ''}${f instanceof protobuf.MapField ? `map<${f.keyType}> ` : ''}${typeName(f)}`;
}

/** Problems with `rules` against `root` (empty when the table is complete and true). */
export function checkDirection(root: protobuf.Root, rules: DirectionRules): string[] {
  const problems: string[] = [];
  const hop = `${rules.from}→${rules.to}`;
  const src = reachable(root, rules.from);
  const dst = reachable(root, rules.to);
  const say = (text: string): void => void problems.push(`${hop}: ${text}`);

  for (const name of [...rules.same, ...Object.keys(rules.messages), ...Object.keys(rules.gone ?? {})]) {
    if (!src.has(name)) say(`${name} is in the table but no ${rules.from} op reaches it`);
  }
  for (const [name, type] of src) {
    const inSame = rules.same.includes(name);
    const rules1 = rules.messages[name];
    const gone = rules.gone?.[name];
    if (Number(inSame) + Number(Boolean(rules1)) + Number(Boolean(gone)) !== 1) {
      say(`${name} must be listed exactly once (same, messages or gone)`);
      continue;
    }
    if (gone) {
      if (dst.has(name)) say(`${name} is listed as gone but ${rules.to} has it`);
      continue;
    }
    const targetName = rules1?.to ?? name;
    const target = dst.get(targetName);
    if (!target) {
      say(`${name} has no counterpart ${targetName} in ${rules.to}; list it as gone`);
      continue;
    }
    if (inSame) {
      const a = type.fieldsArray.map(signature).concat(type.fieldsArray.map((f) => f.name)).sort().join();
      const b = target.fieldsArray.map(signature).concat(target.fieldsArray.map((f) => f.name)).sort().join();
      if (a !== b) say(`${name} is listed as same but differs: ${a} vs ${b}`);
      continue;
    }
    const produced = new Set<string>();
    for (const f of type.fieldsArray) {
      const rule = rules1!.fields[f.name];
      if (!rule) {
        say(`${name}.${f.name} (#${f.id}) has no rule`);
        continue;
      }
      if (rule === 'kept' || 'renamed' in rule) {
        const to = rule === 'kept' ? f.name : rule.renamed;
        const g = target.fields[to];
        if (!g) {
          say(`${name}.${f.name} is ${rule === 'kept' ? 'kept' : `renamed to ${to}`} but ${targetName} has no ${to}`);
          continue;
        }
        produced.add(to);
        const expect = rules.messages[typeName(f)]?.to ?? typeName(f);
        const sameShape = f.repeated === g.repeated && (f instanceof protobuf.MapField) === (g instanceof protobuf.MapField);
        if (!sameShape || typeName(g) !== expect || (rule === 'kept' && f.id !== g.id)) {
          say(`${name}.${f.name} is ${rule === 'kept' ? 'kept' : 'renamed'} but ${signature(f)} becomes ${signature(g)}`);
        }
      }
    }
    for (const n of Object.keys(rules1!.fields)) if (!type.fields[n]) say(`${name}.${n} has a rule but ${rules.from} has no such field`);
    for (const g of target.fieldsArray) {
      const d = rules1!.defaulted?.[g.name];
      if (!produced.has(g.name) && !d) say(`${targetName}.${g.name} (#${g.id}) in ${rules.to} is filled by nothing: keep, rename or default it`);
      if (produced.has(g.name) && d) say(`${targetName}.${g.name} is both kept and defaulted`);
    }
    for (const n of Object.keys(rules1!.defaulted ?? {})) if (!target.fields[n]) say(`${targetName}.${n} is defaulted but ${rules.to} has no such field`);
  }

  const kindsOf = (v: string): string[] => root.lookupType(`admin.Op${v.replace('.', '_')}`).fieldsArray.map((f) => f.name);
  const a = kindsOf(rules.from);
  const b = kindsOf(rules.to);
  for (const k of a) if (!b.includes(k) && !rules.droppedKinds?.[k as never]) say(`op kind ${k} has no ${rules.to} field and is not dropped`);
  for (const k of b) if (!a.includes(k) && !rules.addedKinds?.[k as never]) say(`op kind ${k} is new in ${rules.to} but not listed as added`);
  for (const k of Object.keys(rules.droppedKinds ?? {})) if (b.includes(k) || !a.includes(k)) say(`op kind ${k} is dropped but ${rules.to} has it or ${rules.from} does not`);
  for (const k of Object.keys(rules.addedKinds ?? {})) if (a.includes(k) || !b.includes(k)) say(`op kind ${k} is listed as added wrongly`);
  return problems;
}
