/**
 * The registry's slot and kind tables match the schema README, and the two
 * real `pachctl extract` dumps decode completely with admin.Op and re-encode
 * to the same bytes, record by record. The 1.11 dump holds live-looking
 * tokens: nothing here prints a decoded value.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { FIXTURES } from '../helpers/run.js';
import {
  OP_KINDS,
  OP_SLOTS,
  OP_VERSIONS,
  OpType,
  isOpKind,
  kindByField,
  kindField,
  payloadType,
  root,
  slotByField,
  slotByVersion,
  type OpKind,
  type OpVersion,
} from '../../lib/schema/registry.js';

/** The project root: tests run compiled from dist/test/schema/, so walk up to our package.json. */

const fixturesDir = FIXTURES;

t.test('the seven admin.Op slots, by field number', async (t) => {
  t.equal(OpType.fullName, '.admin.Op');
  t.equal(root.lookupType('admin.Op'), OpType);
  t.strictSame(
    OP_SLOTS.map((s) => [s.field, s.name, s.version, s.message.fullName]),
    [
      [1, 'op1_7', '1.7', '.admin.Op1_7'],
      [2, 'op1_8', '1.8', '.admin.Op1_8'],
      [3, 'op1_9', '1.9', '.admin.Op1_9'],
      [4, 'op1_10', '1.10', '.admin.Op1_10'],
      [5, 'op1_11', '1.11', '.admin.Op1_11'],
      [6, 'op1_12', '1.12', '.admin.Op1_12'],
      [7, 'op1_13', '1.13', '.admin.Op1_13'],
    ],
  );
  t.strictSame(OP_SLOTS.map((s) => s.version), [...OP_VERSIONS]);
  for (const s of OP_SLOTS) {
    t.equal(slotByField(s.field), s);
    t.equal(slotByVersion(s.version), s);
  }
  t.equal(slotByField(0), undefined);
  t.equal(slotByField(8), undefined);
  t.throws(() => slotByVersion('1.6' as OpVersion), RangeError);
});

t.test('the payload kinds, by field number', async (t) => {
  t.strictSame(
    OP_KINDS.map((k) => [k.field, k.name]),
    [
      [2, 'object'],
      [3, 'tag'],
      [4, 'repo'],
      [5, 'commit'],
      [6, 'branch'],
      [7, 'pipeline'],
      [8, 'job'],
      [9, 'create_object'],
      [10, 'block'],
      [11, 'set_acl'],
      [12, 'set_cluster_role_binding'],
      [13, 'set_auth_config'],
      [14, 'activate_auth'],
      [15, 'restore_auth_token'],
      [16, 'activate_enterprise'],
      [17, 'check_auth_token'],
    ],
  );
  for (const k of OP_KINDS) {
    t.equal(kindByField(k.field), k.name);
    t.ok(isOpKind(k.name));
  }
  t.equal(kindByField(1), undefined, 'field 1 is never used');
  t.equal(kindByField(18), undefined);
  for (const bogus of ['op1_7', 'constructor', 'toString', '__proto__', 'hasOwnProperty', '']) {
    t.notOk(isOpKind(bogus), `${JSON.stringify(bogus)} is not a kind`);
    t.equal(kindField('1.13', bogus), undefined);
    t.equal(payloadType('1.13', bogus), undefined);
  }
});

// The schema README's payload table: message per kind, and the first slot that has it.
const PAYLOADS: Record<OpKind, [pkg: string, message: string, since: OpVersion]> = {
  object: ['pfs', 'PutObjectRequest', '1.7'],
  tag: ['pfs', 'TagObjectRequest', '1.7'],
  repo: ['pfs', 'CreateRepoRequest', '1.7'],
  commit: ['pfs', 'BuildCommitRequest', '1.7'],
  branch: ['pfs', 'CreateBranchRequest', '1.7'],
  pipeline: ['pps', 'CreatePipelineRequest', '1.7'],
  job: ['pps', 'CreateJobRequest', '1.9'],
  create_object: ['pfs', 'CreateObjectRequest', '1.9'],
  block: ['pfs', 'PutBlockRequest', '1.9'],
  set_acl: ['auth', 'SetACLRequest', '1.11'],
  set_cluster_role_binding: ['auth', 'ModifyClusterRoleBindingRequest', '1.11'],
  set_auth_config: ['auth', 'SetConfigurationRequest', '1.11'],
  activate_auth: ['auth', 'ActivateRequest', '1.11'],
  restore_auth_token: ['auth', 'RestoreAuthTokenRequest', '1.11'],
  activate_enterprise: ['enterprise', 'ActivateRequest', '1.11'],
  check_auth_token: ['admin', 'CheckAuthToken', '1.11'],
};

t.test('every slot resolves every kind it has to the versioned payload type', async (t) => {
  for (const v of OP_VERSIONS) {
    for (const k of OP_KINDS) {
      const [pkg, message, since] = PAYLOADS[k.name];
      const has = OP_VERSIONS.indexOf(v) >= OP_VERSIONS.indexOf(since);
      const type = payloadType(v, k.name);
      if (!has) {
        t.equal(type, undefined, `${v} has no ${k.name}`);
        t.equal(kindField(v, k.name), undefined);
        continue;
      }
      const versioned = pkg === 'admin' || v === '1.13' ? pkg : `${pkg}_${v.replace('.', '_')}`;
      t.equal(type?.fullName, `.${versioned}.${message}`, `${v} ${k.name}`);
      t.equal(kindField(v, k.name)?.id, k.field);
      t.equal(kindField(v, k.name)?.parent, slotByVersion(v).message);
    }
  }
});

async function unframe(file: string): Promise<Buffer> {
  const d = new snappy.Decompressor();
  const a = d.update(fs.readFileSync(file));
  const b = await d.finish();
  return Buffer.concat([a, b]);
}

/** Splits the unframed stream into its records: 8-byte little-endian length, then one admin.Op. */
function splitRecords(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 8 > buf.length) throw new Error(`partial length prefix at byte ${off}`);
    const len = buf.readBigInt64LE(off);
    if (len < 0n || off + 8 + Number(len) > buf.length) throw new Error(`record at byte ${off} claims ${len} bytes, ${buf.length - off - 8} left`);
    out.push(buf.subarray(off + 8, off + 8 + Number(len)));
    off += 8 + Number(len);
  }
  return out;
}

const present = (msg: protobuf.Message, name: string): boolean => (msg as unknown as Record<string, unknown>)[name] != null;

const DUMPS: Array<{ file: string; version: OpVersion; total: number; kinds: Partial<Record<OpKind, number>> }> = [
  {
    file: 'pachctl-1.7-sort.metadata',
    version: '1.7',
    total: 360,
    kinds: { object: 308, tag: 40, commit: 6, repo: 2, branch: 2, pipeline: 2 },
  },
  {
    file: 'pachctl-1.11-auth.metadata',
    version: '1.11',
    total: 631,
    kinds: {
      block: 378,
      create_object: 149,
      tag: 40,
      commit: 28,
      job: 10,
      branch: 8,
      repo: 5,
      set_acl: 5,
      pipeline: 2,
      check_auth_token: 1,
      activate_enterprise: 1,
      activate_auth: 1,
      restore_auth_token: 1,
      set_cluster_role_binding: 1,
      set_auth_config: 1,
    },
  },
];

for (const dump of DUMPS) {
  t.test(`${dump.file} decodes completely as ${dump.version} ops and re-encodes byte for byte`, async (t) => {
    const records = splitRecords(await unframe(path.join(fixturesDir, dump.file)));
    t.equal(records.length, dump.total, 'record count');
    const slot = slotByVersion(dump.version);
    const counts: Record<string, number> = {};
    const problems: string[] = [];
    records.forEach((bytes, i) => {
      let op: protobuf.Message;
      try {
        op = OpType.decode(bytes);
      } catch (err) {
        problems.push(`record ${i}: does not decode: ${(err as Error).message}`);
        return;
      }
      const slots = OP_SLOTS.filter((s) => present(op, s.name)).map((s) => s.name);
      if (slots.length !== 1 || slots[0] !== slot.name) problems.push(`record ${i}: slots [${slots.join(', ')}], expected ${slot.name}`);
      const inner = (op as unknown as Record<string, protobuf.Message>)[slot.name];
      const kinds = inner ? OP_KINDS.filter((k) => present(inner, k.name)).map((k) => k.name) : [];
      if (kinds.length !== 1) problems.push(`record ${i}: kinds [${kinds.join(', ')}]`);
      for (const k of kinds) counts[k] = (counts[k] ?? 0) + 1;
      // Dropped unknown fields, reordered fields or changed packing would all show here.
      const again = Buffer.from(OpType.encode(op).finish());
      if (!again.equals(bytes)) problems.push(`record ${i} (${kinds.join(', ')}): re-encoded to ${again.length} bytes, not the same ${bytes.length}`);
    });
    t.strictSame(problems, [], 'every record decodes to one slot and one kind, and re-encodes identically');
    const sorted = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort());
    t.strictSame(sorted(counts), sorted(dump.kinds), 'ops per kind, as in the schema README');
  });
}
