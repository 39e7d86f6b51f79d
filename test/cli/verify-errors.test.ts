/**
 * Every problem class the replay model knows, provoked by editing the real
 * dumps: the JSON view of each dump is parsed, one thing is changed (a tree
 * dropped, an op moved, a hash broken), and the edited stream goes through
 * `pach-filter --verify --format json` and `pach-restore --dry-run --format
 * json` on stdin (and the text form of --verify for a few cases of each
 * shape, to keep the number of spawns down). Each case reads as a sentence;
 * the records it names are found in the edited record list, never written
 * down as numbers.
 *
 * - verify: exit 65; every wanted problem at its record with its code,
 *   severity, op kind and names; nothing else but the listed follow-on codes
 *   (after the first wanted one); in text, a line `record N (kind): severity:
 *   CODE: …` (`stream: …` for record -1).
 * - dry run: an error stops the restore (exit 65, `stops_at` is the first
 *   wanted error); hazards alone let it run to the end (exit 0) and are
 *   warned about on stderr and listed in `problems`.
 * - Cases marked todo are model bugs: tap does not run their bodies; they
 *   say what pachd does, and pass once the model is fixed.
 *
 * The 1.11 auth dump holds an enterprise activation code and a hashed robot
 * token: records are only ever edited and serialized here, never handed to
 * an assertion that prints them, and every tool output is checked for them.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { PROBLEMS, type ProblemCode, type Severity } from '../../lib/replay/problems.js';
import { nativeFrames } from '../helpers/hostile.js';
import { commitRepo, copyRecords, indexOf, indexesOf, lastIndexOf, moveRecord, objectGroups, parseView, renderView, type JsonRecord } from '../helpers/json-edit.js';
import { AUTH_DUMP, SORT_DUMP, joinRaw, runTool, splitRaw, type RunResult } from '../helpers/run.js';

/** A time at which the auth dump's activation code (expired 2021-08-24) is still valid. */
const AT = ['--at', '2020-12-16T00:00:00Z'];

// ---------------------------------------------------------------------------
// The base streams, converted once and shared (cases copy before editing)

async function convert(args: string[]): Promise<Buffer> {
  const r = await runTool('pach-convert', args);
  if (r.code !== 0) throw new Error(`pach-convert ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const [sortJson, authJson, auth19Json, sortRawBytes, sortNative] = await Promise.all([
  convert(['--to', 'json', SORT_DUMP]),
  convert(['--to', 'json', AUTH_DUMP]),
  convert(['--to', 'json', '--to-version', '1.9', AUTH_DUMP]),
  convert(['--to', 'raw', SORT_DUMP]),
  convert(['--to', 'native', SORT_DUMP]),
]);

interface Bases {
  /** 1.7 sort dump (360 records). */
  sort: JsonRecord[];
  /** 1.11 auth dump (631 records). */
  auth: JsonRecord[];
  /** The auth dump converted down to 1.9 (no started/finished, no auth ops). */
  auth19: JsonRecord[];
  /** The sort dump's records as raw bytes. */
  sortRaw: Buffer[];
  /** The sort dump in native framing. */
  sortNative: Buffer;
}

const BASES: Bases = {
  sort: parseView(sortJson.toString('utf8')),
  auth: parseView(authJson.toString('utf8')),
  auth19: parseView(auth19Json.toString('utf8')),
  sortRaw: splitRaw(sortRawBytes),
  sortNative,
};

/** The secrets of the auth dump: no tool output may contain them. */
const SECRETS: string[] = [];
for (const r of BASES.auth) {
  if (r.kind === 'activate_enterprise' && r.body.activation_code) SECRETS.push(String(r.body.activation_code));
  if (r.kind === 'restore_auth_token' && r.body.token?.hashed_token) SECRETS.push(String(r.body.token.hashed_token));
}

/** Every stdout and stderr the tools wrote, for the secrets check at the end. */
const OUTPUTS: string[] = [];

function redact(text: string): string {
  let out = text;
  for (const s of SECRETS) out = out.split(s).join('<secret>');
  return out;
}

const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');

// ---------------------------------------------------------------------------
// Cases

interface Want {
  code: ProblemCode;
  /** Record index in the edited stream, -1 for the stream. */
  record: number;
  /** Op kind the problem is reported under ('' for the stream or an unreadable record). */
  kind: string;
  /** Names that must appear among the problem's names. */
  names: string[];
}

interface Crafted {
  /** The edited records (sent as JSON), or the bytes to send. */
  records?: JsonRecord[];
  bytes?: Buffer;
  args?: string[];
  /** Problems that must be reported, in stream order (none: the stream is clean). */
  want: Want[];
  /** Codes of follow-on problems that may be reported after the first wanted one. */
  cascade?: ProblemCode[];
}

interface Case {
  it: string;
  craft: (b: Bases) => Crafted;
  todo?: string;
  /** Also check the text form of --verify (one spawn more; done for a few cases of each shape). */
  text?: true;
}

/** A wanted problem at record `i` of `records`, reported under that record's kind. */
function at(records: readonly JsonRecord[], i: number, code: ProblemCode, names: string[] = []): Want {
  if (i < 0 || i >= records.length) throw new Error(`record ${i} is not in the stream`);
  return { code, record: i, kind: records[i]!.kind, names };
}

/** The stream as a whole (record -1). */
function stream(code: ProblemCode): Want {
  return { code, record: -1, kind: '', names: [] };
}

const isLeft = (b: JsonRecord['body']): boolean => commitRepo(b) === 'left';
const isCopy = (b: JsonRecord['body']): boolean => commitRepo(b) === 'copy';
const branchIs = (repo: string, name: string) => (b: JsonRecord['body']): boolean => b.branch?.repo?.name === repo && b.branch?.name === name;
const pipelineIs = (name: string) => (b: JsonRecord['body']): boolean => b.pipeline?.name === name;
const OBJECT_KINDS = new Set(['object', 'block', 'create_object', 'tag']);

/** Drops the tree of the first `left` commit; returns it and its child (the left commit whose parent it is). */
function openFirstLeftCommit(recs: JsonRecord[], dropFinished: boolean): { open: number; child: number; id: string; childId: string } {
  const open = indexOf(recs, 'commit', isLeft, 'left commit');
  const body = recs[open]!.body;
  delete body.tree;
  if (dropFinished) {
    delete body.finished;
    delete body.started;
  }
  const id = String(body.ID);
  const child = indexOf(recs, 'commit', (b) => isLeft(b) && b.parent?.id === id, 'child of the first left commit');
  return { open, child, id, childId: String(recs[child]!.body.ID) };
}

const OPEN_COMMITS: Case[] = [
  {
    text: true,
    it: 'in a 1.9 stream a commit whose tree was dropped is restored open (PACH_OPEN_COMMIT hazard at its record), and its child is refused with PACH_PARENT_NOT_FINISHED at the child\'s record (#4661, #4694, #4676)',
    craft: ({ auth19 }) => {
      const recs = copyRecords(auth19);
      const { open, child, id, childId } = openFirstLeftCommit(recs, false);
      return { records: recs, want: [at(recs, open, 'PACH_OPEN_COMMIT', [`left@${id}`]), at(recs, child, 'PACH_PARENT_NOT_FINISHED', [`left@${childId}`, `left@${id}`])] };
    },
  },
  {
    it: 'in a 1.9 stream an open commit nothing builds on is only a hazard: the dry run warns about PACH_OPEN_COMMIT and runs to the end (#4676)',
    craft: ({ auth19 }) => {
      const recs = copyRecords(auth19);
      const last = lastIndexOf(recs, 'commit', isLeft, 'left commit');
      const id = String(recs[last]!.body.ID);
      delete recs[last]!.body.tree;
      return { records: recs, want: [at(recs, last, 'PACH_OPEN_COMMIT', [`left@${id}`])] };
    },
  },
  {
    text: true,
    it: 'pachd 1.10+ stamps finished: the same edit on the 1.11 stream (the first left commit\'s tree dropped) is clean',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      openFirstLeftCommit(recs, false);
      return { records: recs, args: AT, want: [] };
    },
  },
  {
    it: 'pachd 1.10+ stamps finished: a 1.11 commit with neither tree nor started/finished times is still restored finished, and its child is accepted',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      openFirstLeftCommit(recs, true);
      return { records: recs, args: AT, want: [] };
    },
  },
  {
    it: 'with --pachd-version 1.9 that 1.11 stream is refused outright with PACH_STREAM_TOO_NEW at its first record (pachd 1.9 cannot read 1.11 ops; 1.9\'s rules apply to it once converted, as above)',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      openFirstLeftCommit(recs, true);
      return { records: recs, args: [...AT, '--pachd-version', '1.9'], want: [at(recs, 0, 'PACH_STREAM_TOO_NEW')] };
    },
  },
];

const PROVENANCE: Case[] = [
  {
    text: true,
    it: 'a commit whose provenance holds two __spec__ commits labelled __spec__@copy is refused with PACH_PROVENANCE_SAME_BRANCH (#4540)',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const c = indexOf(recs, 'commit', isCopy, 'copy commit');
      const body = recs[c]!.body;
      const specs = indexesOf(recs, 'commit', (b) => commitRepo(b) === '__spec__').map((i) => String(recs[i]!.body.ID));
      const already = (body.provenance as Array<{ commit: { id: string } }>).map((p) => p.commit.id);
      const other = specs.find((id) => !already.includes(id));
      if (!other) throw new Error('no second __spec__ commit to add');
      body.provenance.push({ commit: { repo: { name: '__spec__' }, id: other }, branch: { repo: { name: '__spec__' }, name: 'copy' } });
      return { records: recs, args: AT, want: [at(recs, c, 'PACH_PROVENANCE_SAME_BRANCH', [`copy@${body.ID}`, '__spec__@copy'])] };
    },
  },
  {
    it: 'a commit whose provenance names a commit the stream never made is refused with PACH_PROVENANCE_NOT_FOUND',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const c = indexOf(recs, 'commit', isCopy, 'copy commit');
      const body = recs[c]!.body;
      const left = (body.provenance as Array<{ commit: { repo: { name: string }; id: string } }>).find((p) => p.commit.repo.name === 'left')!;
      left.commit.id = 'f'.repeat(32);
      return { records: recs, args: AT, want: [at(recs, c, 'PACH_PROVENANCE_NOT_FOUND', [`copy@${body.ID}`, `left@${'f'.repeat(32)}`])] };
    },
  },
  {
    it: 'a 1.7 commit on copy@master with provenance on left@dev, a branch copy@master is not provenant on, is refused with PACH_PROVENANCE_NOT_IN_BRANCH',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const tree = recs[indexOf(recs, 'commit', isLeft, 'left commit')]!.body.tree;
      const devId = 'd'.repeat(32);
      const copyId = 'c'.repeat(32);
      // After the pipelines (they make copy@master with its provenance), before the input commits.
      const first = indexOf(recs, 'commit');
      recs.splice(first, 0, { version: '1.7', kind: 'commit', body: { parent: { repo: { name: 'left' } }, tree, branch: 'dev', ID: devId } }, { version: '1.7', kind: 'commit', body: { parent: { repo: { name: 'copy' } }, provenance: [{ repo: { name: 'left' }, id: devId }], tree, branch: 'master', ID: copyId } });
      const c = indexOf(recs, 'commit', (b) => b.ID === copyId);
      return { records: recs, want: [at(recs, c, 'PACH_PROVENANCE_NOT_IN_BRANCH', [`copy@${copyId}`, 'left@dev'])] };
    },
  },
  {
    it: 'a 1.7 commit started on copy@master (an output branch) without a tree is refused with PACH_OUTPUT_BRANCH_COMMIT',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const id = '0123456789abcdef0123456789abcdef';
      const c = indexOf(recs, 'commit');
      recs.splice(c, 0, { version: '1.7', kind: 'commit', body: { parent: { repo: { name: 'copy' } }, branch: 'master', ID: id } });
      // The model also calls the refused commit open (a hazard at the same record); tolerated, not wanted.
      return { records: recs, want: [at(recs, c, 'PACH_OUTPUT_BRANCH_COMMIT', [`copy@${id}`, 'copy@master'])], cascade: ['PACH_OPEN_COMMIT'] };
    },
  },
];

const REPOS: Case[] = [
  {
    text: true,
    it: 'a second repo op for left is a PACH_REPO_EXISTS hazard at the duplicate (pachd ignores it)',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'repo', (b) => b.repo?.name === 'left');
      recs.splice(i + 1, 0, copyRecords([recs[i]!])[0]!);
      return { records: recs, args: AT, want: [at(recs, i + 1, 'PACH_REPO_EXISTS', ['left'])] };
    },
  },
  {
    it: 'without the repo op for right, right\'s first commit is refused with PACH_REPO_NOT_FOUND',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      recs.splice(indexOf(recs, 'repo', (b) => b.repo?.name === 'right'), 1);
      const c = indexOf(recs, 'commit', (b) => commitRepo(b) === 'right', 'right commit');
      return {
        records: recs,
        args: AT,
        want: [at(recs, c, 'PACH_REPO_NOT_FOUND', ['right'])],
        // Everything downstream of right: its other commits, copy and sort commits, branches, the copy pipeline and its jobs.
        cascade: ['PACH_REPO_NOT_FOUND', 'PACH_PROVENANCE_NOT_FOUND', 'PACH_PIPELINE_INPUT_NOT_FOUND', 'PACH_PIPELINE_NOT_FOUND'],
      };
    },
  },
  {
    it: 'a repo named "my repo" in a 1.7 stream is refused with PACH_INVALID_NAME',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const i = indexOf(recs, 'repo') + 1;
      recs.splice(i, 0, { version: '1.7', kind: 'repo', body: { repo: { name: 'my repo' } } });
      return { records: recs, want: [at(recs, i, 'PACH_INVALID_NAME', ['my repo'])] };
    },
  },
  {
    it: 'the same repo name in a 1.11 stream is a PACH_NAME_SANITIZED hazard (pachd 1.9+ restores it as my_repo)',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'repo') + 1;
      recs.splice(i, 0, { version: '1.11', kind: 'repo', body: { repo: { name: 'my repo' } } });
      return { records: recs, args: AT, want: [at(recs, i, 'PACH_NAME_SANITIZED', ['my repo'])] };
    },
  },
  {
    it: 'and the 1.7 stream restored into pachd 1.9 (--pachd-version 1.9) gets the hazard instead of the error',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const i = indexOf(recs, 'repo') + 1;
      recs.splice(i, 0, { version: '1.7', kind: 'repo', body: { repo: { name: 'my repo' } } });
      return { records: recs, args: ['--pachd-version', '1.9'], want: [at(recs, i, 'PACH_NAME_SANITIZED', ['my repo'])] };
    },
  },
];

const COMMITS: Case[] = [
  {
    it: 'a commit without a parent field is refused with PACH_COMMIT_NO_PARENT (and its child then has no parent to find)',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const c = indexOf(recs, 'commit', (b) => commitRepo(b) === 'right', 'right commit');
      const id = String(recs[c]!.body.ID);
      delete recs[c]!.body.parent;
      const child = indexOf(recs, 'commit', (b) => b.parent?.id === id);
      return { records: recs, want: [at(recs, c, 'PACH_COMMIT_NO_PARENT', [id]), at(recs, child, 'PACH_PARENT_NOT_FOUND', [`right@${id}`])] };
    },
  },
  {
    it: 'a commit whose parent was cut out of the stream is refused with PACH_PARENT_NOT_FOUND at its record',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const c = indexOf(recs, 'commit', (b) => commitRepo(b) === 'right', 'right commit');
      const id = String(recs[c]!.body.ID);
      recs.splice(c, 1);
      const child = indexOf(recs, 'commit', (b) => b.parent?.id === id);
      return { records: recs, want: [at(recs, child, 'PACH_PARENT_NOT_FOUND', [`right@${recs[child]!.body.ID}`, `right@${id}`])] };
    },
  },
  {
    it: 'a branch whose head commit does not exist is refused with PACH_COMMIT_NOT_FOUND',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const b = indexOf(recs, 'branch', branchIs('left', 'master'));
      recs[b]!.body.head.id = 'e'.repeat(32);
      return { records: recs, want: [at(recs, b, 'PACH_COMMIT_NOT_FOUND', ['left@master', `left@${'e'.repeat(32)}`])] };
    },
  },
];

const BRANCHES: Case[] = [
  {
    it: 'a branch that names itself in its provenance is refused with PACH_BRANCH_SELF_PROVENANCE',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const b = indexOf(recs, 'branch', branchIs('left', 'master'));
      recs[b]!.body.provenance = [{ repo: { name: 'left' }, name: 'master' }];
      return { records: recs, args: AT, want: [at(recs, b, 'PACH_BRANCH_SELF_PROVENANCE', ['left@master'])] };
    },
  },
  {
    it: 'with left@master restored first, copy@master pointed at an older copy commit (whose left provenance is not left@master\'s head) is refused with PACH_BRANCH_HEAD_PROVENANCE',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const copyMaster = indexOf(recs, 'branch', branchIs('copy', 'master'));
      moveRecord(recs, indexOf(recs, 'branch', branchIs('left', 'master')), copyMaster);
      const b = indexOf(recs, 'branch', branchIs('copy', 'master'));
      // The oldest commit of copy@master: follow parents back from its head.
      const copyCommits = new Map(indexesOf(recs, 'commit', isCopy).map((i) => [String(recs[i]!.body.ID), recs[i]!.body]));
      let oldest = copyCommits.get(String(recs[b]!.body.head.id))!;
      while (oldest.parent?.id) oldest = copyCommits.get(String(oldest.parent.id))!;
      if (oldest.ID === recs[b]!.body.head.id) throw new Error('copy@master has a single commit');
      recs[b]!.body.head.id = oldest.ID;
      return {
        records: recs,
        args: AT,
        want: [at(recs, b, 'PACH_BRANCH_HEAD_PROVENANCE', ['copy@master', `copy@${oldest.ID}`, 'left@master'])],
        // The model applies the refused head anyway, so copy@stats and sort@master then disagree with it.
        cascade: ['PACH_BRANCH_HEAD_PROVENANCE'],
      };
    },
  },
];

const PIPELINES: Case[] = [
  {
    it: 'a 1.7 pipeline whose input repo does not exist is refused with PACH_PIPELINE_INPUT_NOT_FOUND',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const p = indexOf(recs, 'pipeline', pipelineIs('sort'));
      recs[p]!.body.input.atom.repo = 'ghost';
      return { records: recs, want: [at(recs, p, 'PACH_PIPELINE_INPUT_NOT_FOUND', ['sort', 'ghost'])] };
    },
  },
  {
    it: 'a pipeline whose spec_commit is not in __spec__ is refused with PACH_SPEC_COMMIT_NOT_FOUND (and its jobs then have no pipeline)',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const p = indexOf(recs, 'pipeline', pipelineIs('sort'));
      recs[p]!.body.spec_commit.id = 'd'.repeat(32);
      return { records: recs, args: AT, want: [at(recs, p, 'PACH_SPEC_COMMIT_NOT_FOUND', ['sort', `__spec__@${'d'.repeat(32)}`])], cascade: ['PACH_PIPELINE_NOT_FOUND'] };
    },
  },
  {
    it: 'a pipeline with a spec_commit moved before its output branch exists is refused with PACH_OUTPUT_BRANCH_NOT_FOUND',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      // Right after the __spec__ commits (so its spec commit exists), before any copy commit names copy@master.
      const to = indexOf(recs, 'commit', (b) => commitRepo(b) !== '__spec__', 'first non-spec commit');
      const p = moveRecord(recs, indexOf(recs, 'pipeline', pipelineIs('copy')), to);
      return { records: recs, args: AT, want: [at(recs, p, 'PACH_OUTPUT_BRANCH_NOT_FOUND', ['copy', 'copy@master'])], cascade: ['PACH_PIPELINE_NOT_FOUND'] };
    },
  },
  {
    it: 'a job moved before its pipeline is refused with PACH_PIPELINE_NOT_FOUND',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const j = moveRecord(recs, indexOf(recs, 'job', pipelineIs('copy')), indexOf(recs, 'pipeline', pipelineIs('copy')));
      return { records: recs, args: AT, want: [at(recs, j, 'PACH_PIPELINE_NOT_FOUND', ['copy'])] };
    },
  },
];

/** The sort dump without the object group holding the tree of its first commit, and that commit's index. */
function withoutFirstTree(sort: readonly JsonRecord[]): { recs: JsonRecord[]; c: number; label: string } {
  const recs = copyRecords(sort);
  const first = recs[indexOf(recs, 'commit')]!.body;
  const g = objectGroups(recs, sha512).find((x) => x.hash === first.tree.hash);
  if (!g) throw new Error('the first commit\'s tree is not an object of the stream');
  recs.splice(g.first, g.last - g.first + 1);
  const c = indexOf(recs, 'commit', (b) => b.ID === first.ID);
  return { recs, c, label: `${commitRepo(first)}@${first.ID}` };
}

const OBJECTS: Case[] = [
  {
    text: true,
    it: 'the 1.11 stream without its block, create_object and tag ops (--no-objects) is a PACH_NO_OBJECTS hazard for the stream (#4677)',
    craft: ({ auth }) => ({ records: copyRecords(auth).filter((r) => !OBJECT_KINDS.has(r.kind)), args: AT, want: [stream('PACH_NO_OBJECTS')] }),
  },
  {
    it: 'the 1.7 stream without its object and tag ops is a PACH_NO_OBJECTS hazard for the stream (#4677)',
    craft: ({ sort }) => ({ records: copyRecords(sort).filter((r) => !OBJECT_KINDS.has(r.kind)), want: [stream('PACH_NO_OBJECTS')] }),
  },
  {
    it: 'a 1.7 commit whose tree object was cut out of the stream is refused with PACH_TREE_NOT_FOUND (pachd 1.7 reads it in BuildCommit)',
    craft: ({ sort }) => {
      const { recs, c, label } = withoutFirstTree(sort);
      return { records: recs, want: [at(recs, c, 'PACH_TREE_NOT_FOUND', [label])] };
    },
  },
  {
    it: 'and so it is under --pachd-version 1.13, which reads every 1.7 tree to convert it',
    craft: ({ sort }) => {
      const { recs, c, label } = withoutFirstTree(sort);
      return { records: recs, args: ['--pachd-version', '1.13'], want: [at(recs, c, 'PACH_TREE_NOT_FOUND', [label])] };
    },
  },
  {
    it: 'a 1.11 block group cut out of the stream makes the create_object ops that index into it PACH_MISSING_OBJECT hazards',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const block = String(recs[indexOf(recs, 'create_object')]!.body.block_ref.block.hash);
      const kept = recs.filter((r) => !(r.kind === 'block' && r.body.block?.hash === block));
      if (kept.length === recs.length) throw new Error('no block ops for the first create_object\'s block');
      const refs = indexesOf(kept, 'create_object', (b) => b.block_ref?.block?.hash === block);
      return { records: kept, args: AT, want: refs.map((i) => at(kept, i, 'PACH_MISSING_OBJECT', [block])) };
    },
  },
  {
    it: 'a tag on an object the stream does not hold is refused with PACH_TAG_OBJECT_NOT_FOUND',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const i = indexOf(recs, 'tag');
      const hash = 'ab'.repeat(64);
      recs[i]!.body.object.hash = hash;
      return { records: recs, want: [at(recs, i, 'PACH_TAG_OBJECT_NOT_FOUND', [hash.slice(0, 12)])] };
    },
  },
  {
    it: 'a tag whose object hash is not 128 lowercase hex characters is refused with PACH_INVALID_OBJECT_HASH',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const i = indexOf(recs, 'tag');
      recs[i]!.body.object.hash = 'not-a-hash';
      return { records: recs, want: [at(recs, i, 'PACH_INVALID_OBJECT_HASH', ['not-a-hash'])] };
    },
  },
  {
    it: 'a tag op inside an object group of the 1.7 stream is refused with PACH_OBJECT_GROUP at the tag',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const g = objectGroups(recs, sha512)[0]!;
      // Between the first object's data op and the empty op that ends it.
      const i = g.last;
      recs.splice(i, 0, copyRecords([recs[indexOf(recs, 'tag')]!])[0]!);
      // The tag is then applied before any object exists, and the orphaned closing op reads as a zero-length object.
      return { records: recs, want: [at(recs, i, 'PACH_OBJECT_GROUP')], cascade: ['PACH_TAG_OBJECT_NOT_FOUND', 'PACH_EMPTY_OBJECT'] };
    },
  },
  {
    it: 'an object group the stream never ends is refused with PACH_OBJECT_GROUP at the group\'s first op',
    craft: ({ sort }) => {
      const groups = objectGroups(sort, sha512);
      const g = groups[groups.length - 1]!;
      // The stream cut just before the last object's closing op.
      const recs = copyRecords(sort.slice(0, g.last));
      return { records: recs, want: [at(recs, g.first, 'PACH_OBJECT_GROUP')] };
    },
  },
  {
    it: 'a 1.11 block group whose closing op was dropped swallows the next op: PACH_OBJECT_GROUP at that create_object',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const close = lastIndexOf(recs, 'block');
      if (recs[close]!.body.value || !recs[close - 1]!.body.value) throw new Error('the last block op does not close a group with data');
      recs.splice(close, 1);
      if (recs[close]!.kind === 'block') throw new Error('the op after the last block is a block');
      // The block never being added, the create_object ops that index into it are missing objects.
      return { records: recs, args: AT, want: [at(recs, close, 'PACH_OBJECT_GROUP')], cascade: ['PACH_MISSING_OBJECT'] };
    },
  },
  {
    it: 'an empty object op between two objects of the 1.7 stream is a PACH_EMPTY_OBJECT hazard (pachd merges it into the next object)',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const i = objectGroups(recs, sha512)[0]!.last + 1;
      recs.splice(i, 0, { version: '1.7', kind: 'object', body: {} });
      return { records: recs, want: [at(recs, i, 'PACH_EMPTY_OBJECT')] };
    },
  },
  {
    it: 'a tag moved before the objects of a stream that holds them is refused with PACH_TAG_OBJECT_NOT_FOUND (the object does not exist yet)',
    craft: ({ sort }) => {
      const recs = copyRecords(sort);
      const hash = String(recs[indexOf(recs, 'tag')]!.body.object.hash);
      moveRecord(recs, indexOf(recs, 'tag'), 0);
      return { records: recs, want: [at(recs, 0, 'PACH_TAG_OBJECT_NOT_FOUND', [hash.slice(0, 12)])] };
    },
  },
];

const AUTH: Case[] = [
  {
    it: 'an activation code that is not base64 is refused with PACH_BAD_ACTIVATION_CODE',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'activate_enterprise');
      recs[i]!.body.activation_code = 'not base64!';
      return { records: recs, args: AT, want: [at(recs, i, 'PACH_BAD_ACTIVATION_CODE')] };
    },
  },
  {
    it: 'the real 1.11 dump replayed now is refused with PACH_ACTIVATION_EXPIRED (its code expired 2021-08-24)',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      return { records: recs, want: [at(recs, indexOf(recs, 'activate_enterprise'), 'PACH_ACTIVATION_EXPIRED')] };
    },
  },
  {
    it: 'and so it is at --at 2021-08-25, the day after',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      return { records: recs, args: ['--at', '2021-08-25T00:00:00Z'], want: [at(recs, indexOf(recs, 'activate_enterprise'), 'PACH_ACTIVATION_EXPIRED')] };
    },
  },
  {
    it: 'activate_auth without an activate_enterprise before it is refused with PACH_ENTERPRISE_INACTIVE',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      recs.splice(indexOf(recs, 'activate_enterprise'), 1);
      return { records: recs, args: AT, want: [at(recs, indexOf(recs, 'activate_auth'), 'PACH_ENTERPRISE_INACTIVE')] };
    },
  },
  {
    it: 'auth ops without activate_auth are refused with PACH_AUTH_INACTIVE from the first of them',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'activate_auth');
      recs.splice(i, 1);
      return { records: recs, args: AT, want: [at(recs, i, 'PACH_AUTH_INACTIVE')], cascade: ['PACH_AUTH_INACTIVE'] };
    },
  },
  {
    it: 'a second activate_auth is refused with PACH_AUTH_ACTIVE',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'activate_auth');
      recs.splice(i + 1, 0, copyRecords([recs[i]!])[0]!);
      return { records: recs, args: AT, want: [at(recs, i + 1, 'PACH_AUTH_ACTIVE')] };
    },
  },
  {
    text: true,
    it: 'a robot token whose expiration has passed is refused with PACH_TOKEN_EXPIRED',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'restore_auth_token');
      const subject = String(recs[i]!.body.token.token_info.subject);
      // 2020-09-13, before --at.
      recs[i]!.body.token.expiration = { seconds: '1600000000' };
      return { records: recs, args: AT, want: [at(recs, i, 'PACH_TOKEN_EXPIRED', [subject])] };
    },
  },
  {
    it: 'the same robot token restored twice is refused with PACH_TOKEN_EXISTS at the second',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'restore_auth_token');
      const subject = String(recs[i]!.body.token.token_info.subject);
      recs.splice(i + 1, 0, copyRecords([recs[i]!])[0]!);
      return { records: recs, args: AT, want: [at(recs, i + 1, 'PACH_TOKEN_EXISTS', [subject])] };
    },
  },
  {
    it: 'an auth config with live_config_version 3 is refused with PACH_AUTH_CONFIG_VERSION',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'set_auth_config');
      recs[i]!.body.configuration.live_config_version = '3';
      return { records: recs, args: AT, want: [at(recs, i, 'PACH_AUTH_CONFIG_VERSION')] };
    },
  },
];

/** Where each record frame of a native stream starts and ends. */
function recordFrames(native: Buffer): Array<{ payload: number; end: number }> {
  return nativeFrames(native).filter((f) => f.type === 'R');
}

/** A raw sort stream with `rec` inserted before the first repo op (between two object groups' worth of ops). */
function rawWith(b: Bases, rec: Buffer): { bytes: Buffer; i: number } {
  const i = indexOf(b.sort, 'repo');
  const recs = [...b.sortRaw];
  recs.splice(i, 0, rec);
  return { bytes: joinRaw(recs), i };
}

/** op1_7 { repo: 9 bytes of 0xff }: a sound envelope around a payload that does not decode. */
const BAD_PAYLOAD = Buffer.from([0x0a, 0x0b, 0x22, 0x09, ...Array<number>(9).fill(0xff)]);
/** op1_7 { #15: empty }: a kind no Op1_7 field has. */
const UNKNOWN_KIND = Buffer.from([0x0a, 0x02, 0x7a, 0x00]);

const STREAMS: Case[] = [
  {
    text: true,
    it: 'a 1.12 record in a 1.11 JSON stream is refused with PACH_MIXED_VERSIONS at that record',
    craft: ({ auth }) => {
      const recs = copyRecords(auth);
      const i = indexOf(recs, 'repo', (b) => b.repo?.name === 'left');
      recs[i]!.version = '1.12';
      // The reader stops there, before the model sees the op: no kind.
      return { records: recs, args: AT, want: [{ code: 'PACH_MIXED_VERSIONS', record: i, kind: '', names: [] }] };
    },
  },
  {
    text: true,
    it: 'a native stream cut inside a record frame is refused with PACH_INTEGRITY at that record',
    craft: ({ sort, sortNative: native }) => {
      const k = indexOf(sort, 'repo');
      const f = recordFrames(native)[k]!;
      return { bytes: native.subarray(0, f.payload + Math.floor((f.end - f.payload) / 2)), want: [{ code: 'PACH_INTEGRITY', record: k, kind: '', names: [] }] };
    },
  },
  {
    it: 'a native stream cut inside its trailer is refused with PACH_INTEGRITY after its last record',
    craft: ({ sortNative: native }) => {
      const frames = recordFrames(native);
      return { bytes: native.subarray(0, native.length - 5), want: [{ code: 'PACH_INTEGRITY', record: frames.length, kind: '', names: [] }] };
    },
  },
  {
    it: 'a record whose payload does not decode is refused with PACH_BAD_OP',
    craft: (b) => {
      const { bytes, i } = rawWith(b, BAD_PAYLOAD);
      return { bytes, want: [{ code: 'PACH_BAD_OP', record: i, kind: 'repo', names: [] }] };
    },
  },
  {
    text: true,
    it: 'an op kind Op1_7 has no field for is refused with PACH_UNKNOWN_OP by pachd 1.13 (its converters answer "unrecognized op type")',
    craft: (b) => {
      const { bytes, i } = rawWith(b, UNKNOWN_KIND);
      return { bytes, args: ['--pachd-version', '1.13'], want: [{ code: 'PACH_UNKNOWN_OP', record: i, kind: '', names: [] }] };
    },
  },
];

// ---------------------------------------------------------------------------
// Running and checking

interface JsonProblem {
  code: string;
  severity: Severity;
  record: number;
  kind: string;
  names: string[];
  message: string;
  pachd?: string;
}

interface VerifyReport {
  ok: boolean;
  errors: number;
  hazards: number;
  problem_list: JsonProblem[];
}

interface Plan {
  outcome: 'ok' | 'fails';
  stops_at: JsonProblem | null;
  problems: JsonProblem[];
  already_exist: Record<string, number>;
}

async function run(tool: 'pach-filter' | 'pach-restore', args: string[], input: string | Buffer): Promise<RunResult> {
  const r = await runTool(tool, args, { input });
  OUTPUTS.push(r.stdout.toString('utf8'), r.stderr);
  return r;
}

interface Runs {
  text: RunResult | undefined;
  json: RunResult;
  plan: RunResult;
}

async function runAll(input: string | Buffer, args: string[], withText: boolean): Promise<Runs> {
  const [json, plan, text] = await Promise.all([
    run('pach-filter', ['--verify', '--format', 'json', ...args, '-'], input),
    run('pach-restore', ['--dry-run', '--format', 'json', ...args, '-'], input),
    withText ? run('pach-filter', ['--verify', ...args, '-'], input) : undefined,
  ]);
  return { text, json, plan };
}

function parse<T>(t: Tap, r: RunResult, what: string): T | undefined {
  try {
    return JSON.parse(r.stdout.toString('utf8')) as T;
  } catch {
    t.fail(`${what}: stdout is not one JSON object: ${redact(r.stdout.toString('utf8')).slice(0, 300)} ${redact(r.stderr)}`);
    return undefined;
  }
}

interface Tap {
  equal(found: unknown, wanted: unknown, message?: string): boolean;
  ok(v: unknown, message?: string): boolean;
  fail(message?: string): boolean;
}

function where(p: { record: number; kind: string }): string {
  return p.record >= 0 ? `record ${p.record}${p.kind ? ` (${p.kind})` : ''}` : 'stream';
}

function brief(ps: readonly JsonProblem[]): string {
  return ps.map((p) => `${where(p)} ${p.code}`).join(', ') || 'none';
}

function hasName(names: readonly string[], want: string): boolean {
  return names.some((n) => n === want || n.includes(want));
}

async function check(t: Tap, c: Crafted, withText: boolean): Promise<void> {
  const input = c.records ? renderView(c.records) : c.bytes!;
  const args = c.args ?? [];
  const { text, json, plan } = await runAll(input, args, withText);
  const clean = c.want.length === 0;

  // pach-filter --verify, text: one line per problem
  if (text) {
    const textOut = redact(text.stdout.toString('utf8'));
    t.equal(text.code, clean ? 0 : 65, `verify exits ${clean ? 0 : 65}: ${textOut.slice(0, 400)}`);
    if (clean) t.ok(/ records replayed, no problems\n$/.test(textOut), `verify says no problems: ${textOut.slice(0, 400)}`);
    const textLines = textOut.split('\n');
    for (const w of c.want) {
      const severity = PROBLEMS[w.code].severity;
      const prefix = `${where(w)}: ${severity}: ${w.code}: `;
      t.ok(textLines.some((l) => l.startsWith(prefix)), `text line "${prefix}…"`);
    }
  }

  // pach-filter --verify --format json
  const report = parse<VerifyReport>(t, json, 'verify --format json');
  const listed = report ? redact(brief(report.problem_list)) : '';
  t.equal(json.code, clean ? 0 : 65, `verify exits ${clean ? 0 : 65} (problems: ${listed})`);
  if (!report) return;
  const list = report.problem_list;
  t.equal(report.ok, clean, `ok is ${clean}`);
  t.equal(report.errors, list.filter((p) => p.severity === 'error').length, 'errors counts the error problems');
  t.equal(report.hazards, list.filter((p) => p.severity === 'hazard').length, 'hazards counts the hazard problems');
  const matched = new Set<JsonProblem>();
  for (const w of c.want) {
    const p = list.find((x) => x.code === w.code && x.record === w.record && !matched.has(x));
    if (!t.ok(p, `${w.code} at ${where(w)} (found: ${brief(list)})`) || !p) continue;
    matched.add(p);
    t.equal(p.severity, PROBLEMS[w.code].severity, `${w.code} is a${PROBLEMS[w.code].severity === 'error' ? 'n error' : ' hazard'}`);
    t.equal(p.kind, w.kind, `${w.code} is reported under kind "${w.kind}"`);
    for (const n of w.names) t.ok(hasName(p.names, n), `${w.code} names ${n} (names: ${redact(JSON.stringify(p.names))})`);
    t.ok(!!p.message, `${w.code} has a message`);
  }
  const firstWanted = c.want.length ? Math.min(...c.want.map((w) => w.record)) : Infinity;
  const others = list.filter((p) => !matched.has(p));
  const unexpected = others.filter((p) => !(c.cascade ?? []).includes(p.code as ProblemCode) || p.record < firstWanted);
  t.equal(unexpected.length, 0, `no other problems than the wanted ones${c.cascade ? ` and follow-on ${c.cascade.join('/')}` : ''} (others: ${brief(unexpected)})`);

  // pach-restore --dry-run --format json
  const p = parse<Plan>(t, plan, 'dry-run --format json');
  if (!p) return;
  const stop = c.want.find((w) => PROBLEMS[w.code].severity === 'error');
  const planErr = redact(plan.stderr);
  if (stop) {
    t.equal(plan.code, 65, 'the dry run exits 65: the restore would stop');
    t.equal(p.outcome, 'fails', 'outcome "fails"');
    t.equal(p.stops_at?.code, stop.code, `it stops with ${stop.code}`);
    t.equal(p.stops_at?.record, stop.record, `at ${where(stop)}`);
    t.ok(planErr.includes(`would fail at record ${stop.record}: ${stop.code}:`), `stderr says where it would fail: ${planErr.slice(0, 300)}`);
  } else {
    t.equal(plan.code, 0, `the dry run exits 0: the restore runs to the end (${brief(p.problems)})`);
    t.equal(p.outcome, 'ok', 'outcome "ok"');
    t.equal(p.stops_at, null, 'no stop');
  }
  for (const w of c.want.filter((x) => PROBLEMS[x.code].severity === 'hazard')) {
    t.ok(p.problems.some((x) => x.code === w.code && x.record === w.record), `the plan lists the ${w.code} hazard at ${where(w)}`);
    // Hazards are warned about on stderr, in the --verify line form (a stream-wide one as `stream:`).
    const place = w.record >= 0 ? `record ${w.record} (` : 'stream: ';
    t.ok(planErr.split('\n').some((l) => l.includes('warning:') && l.includes(place) && l.includes(`hazard: ${w.code}:`)), `stderr warns about ${w.code}`);
  }
  if (clean) t.equal(p.problems.length, 0, 'the plan lists no problems');
}

const GROUPS: Array<[string, Case[]]> = [
  ['open commits and unfinished parents', OPEN_COMMITS],
  ['commit provenance', PROVENANCE],
  ['repos and names', REPOS],
  ['commits and branch heads', COMMITS],
  ['branch provenance', BRANCHES],
  ['pipelines and jobs', PIPELINES],
  ['objects, blocks and tags', OBJECTS],
  ['auth and enterprise', AUTH],
  ['stream integrity and op versions', STREAMS],
];

t.test('both real dumps verify clean and plan a full restore', async (t) => {
  for (const [name, file, args] of [
    ['1.7 sort', SORT_DUMP, []],
    ['1.11 auth (at 2020-12-16)', AUTH_DUMP, AT],
  ] as const) {
    const [text, json, plan] = await Promise.all([
      run('pach-filter', ['--verify', ...args, file], ''),
      run('pach-filter', ['--verify', '--format', 'json', ...args, file], ''),
      run('pach-restore', ['--dry-run', '--format', 'json', ...args, file], ''),
    ]);
    const said = redact(text.stdout.toString('utf8'));
    t.equal(text.code, 0, `${name}: verify exits 0: ${said.slice(0, 300)}`);
    t.ok(/ records replayed, no problems\n$/.test(said), `${name}: says no problems`);
    const report = JSON.parse(json.stdout.toString('utf8')) as VerifyReport;
    t.equal(report.ok, true, `${name}: ok`);
    t.equal(report.problem_list.length, 0, `${name}: empty problem_list (${brief(report.problem_list)})`);
    const p = JSON.parse(plan.stdout.toString('utf8')) as Plan;
    t.equal(plan.code, 0, `${name}: the dry run exits 0`);
    t.equal(p.outcome, 'ok', `${name}: outcome ok`);
    t.equal(p.problems.length, 0, `${name}: no problems in the plan`);
    t.notOk(/warning:/.test(plan.stderr), `${name}: no warnings on stderr`);
  }
});

t.test('the __spec__ repo op of the real 1.11 dump is ignored by pachd without being reported', async (t) => {
  const plan = await run('pach-restore', ['--dry-run', '--format', 'json', ...AT, AUTH_DUMP], '');
  const p = JSON.parse(plan.stdout.toString('utf8')) as Plan;
  t.equal(p.already_exist.repo, 1, 'one repo op is answered "already exists" (__spec__, made by pachd at startup)');
  t.notOk(p.problems.some((x) => x.code === 'PACH_REPO_EXISTS'), 'no PACH_REPO_EXISTS');
});

for (const [group, cases] of GROUPS) {
  t.test(group, async (t) => {
    for (const c of cases) {
      await t.test(c.it, c.todo ? { todo: c.todo } : {}, async (t) => {
        await check(t as unknown as Tap, c.craft(BASES), !!c.text);
      });
    }
  });
}

t.test('under pachd 1.7 rules an op kind pachd does not know is skipped (SEMANTICS §3.1): a PACH_IGNORED_OP hazard, and the dry run runs to the end', async (t) => {
  const { bytes, i } = rawWith(BASES, UNKNOWN_KIND);
  const plan = await run('pach-restore', ['--dry-run', '--format', 'json', '-'], bytes);
  const p = JSON.parse(plan.stdout.toString('utf8')) as Plan;
  t.equal(plan.code, 0, `the dry run exits 0 (stops at: ${p.stops_at ? where(p.stops_at) + ' ' + p.stops_at.code : 'nothing'})`);
  t.equal(p.outcome, 'ok', 'outcome ok');
  t.same(p.problems.map((x) => [x.code, x.record]), [['PACH_IGNORED_OP', i]], 'the skipped op is a hazard at its record');
});

t.test('no tool output holds a secret of the auth dump', async (t) => {
  t.ok(SECRETS.length >= 2, `the auth dump has an activation code and a hashed token (${SECRETS.length} secrets)`);
  t.ok(OUTPUTS.length > 0, `${OUTPUTS.length} outputs checked`);
  const leaks = OUTPUTS.filter((o) => SECRETS.some((s) => o.includes(s))).length;
  t.equal(leaks, 0, 'no stdout or stderr contains an activation code or a hashed token');
});
