/**
 * `pach-filter --list` of the two real dumps, as golden files in test/golden/
 * (text and JSON), checked against what SEMANTICS.md §7.1 says the dumps
 * hold. The facts are asserted one by one first, so a golden file cannot
 * drift into agreeing with a wrong model; the golden comparison then pins
 * everything else (layout, counts, heads). `make golden` rewrites them
 * (PACH_UPDATE_GOLDEN=1); review the diff before committing.
 *
 * The 1.11 dump is listed `--at` a day after it was extracted: its
 * enterprise activation code expired in 2021, which a listing made today
 * reports as a problem (tested in verify-errors.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Contents } from '../../lib/replay/report.js';
import { AUTH_DUMP, ROOT, SORT_DUMP, runTool } from '../helpers/run.js';

const GOLDEN = path.join(ROOT, 'test', 'golden');
const UPDATE = process.env.PACH_UPDATE_GOLDEN === '1';
const AT = ['--at', '2020-12-16T00:00:00Z'];

async function list(file: string, extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runTool('pach-filter', ['--list', ...extra], { input: fs.readFileSync(file) });
  return { code: r.code ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The golden file's text (rewritten first under `make golden`). */
function golden(name: string, actual: string): string {
  const file = path.join(GOLDEN, name);
  if (UPDATE) fs.writeFileSync(file, actual);
  return fs.readFileSync(file, 'utf8');
}

function repo(c: Contents, name: string) {
  const r = c.repos.find((x) => x.name === name);
  if (!r) throw new Error(`no repo ${name}`);
  return r;
}

function branch(c: Contents, repoName: string, name: string) {
  const b = repo(c, repoName).branches.find((x) => x.name === name);
  if (!b) throw new Error(`no branch ${repoName}@${name}`);
  return b;
}

t.test('the 1.7 sort dump lists what SEMANTICS §7.1 says it holds', async (t) => {
  const json = await list(SORT_DUMP, ['--format', 'json']);
  t.equal(json.code, 0, json.stderr);
  const c = JSON.parse(json.stdout) as Contents;
  t.equal(c.stream.framing, 'pachctl');
  t.equal(c.stream.op_version, '1.7');
  t.equal(c.stream.records, 360);
  t.equal(c.stream.integrity.state, 'verified');
  t.same(c.counts, { branch: 2, commit: 6, object: 308, pipeline: 2, repo: 2, tag: 40 });
  t.same(c.objects, { objects: 154, object_bytes: c.objects.object_bytes, blocks: 0, block_bytes: 0, object_index: 0, tags: 40 }, '154 objects, 40 tags');
  t.same(c.repos.filter((r) => r.made_by === 'repo op').map((r) => r.name), ['right', 'left'], 'repo ops for the input repos only, right first');
  t.same(c.repos.filter((r) => r.made_by === 'pipeline').map((r) => r.name), ['copy', 'sort'], 'output repos come from the pipelines');
  for (const name of ['right', 'left']) {
    t.equal(repo(c, name).commits, 3, `${name}: 3 commits`);
    const master = branch(c, name, 'master');
    t.equal(master.commits, 3, `${name}@master reaches all 3`);
    t.equal(master.made_by, 'branch op');
    t.match(master.head, /^[0-9a-f]{32}$/);
  }
  const [copy, sort] = c.pipelines;
  t.equal(copy?.name, 'copy');
  t.same(copy?.inputs.map((i) => `${i.kind} ${i.repo}@${i.branch} ${i.glob}`), ['atom left@master /*', 'atom right@master /*'], 'copy: union of two atom inputs');
  t.ok(copy?.salt, 'copy keeps its salt');
  t.equal(sort?.name, 'sort');
  t.same(sort?.inputs.map((i) => `${i.kind} ${i.repo}@${i.branch} ${i.glob}`), ['atom copy@master /']);
  t.same(branch(c, 'copy', 'master').provenance, ['left@master', 'right@master']);
  t.same(branch(c, 'sort', 'stats').provenance, ['sort@master'], 'stats branches hang off master');
  t.same(c.auth.acls, {});
  t.equal(c.enterprise.activated, false);
  t.same(c.problems, { errors: 0, hazards: 0 });
  const pretty = JSON.stringify(c, null, 2) + '\n';
  t.equal(pretty, golden('list-sort-1.7.json', pretty), 'list-sort-1.7.json matches (make golden rewrites it)');
  const text = await list(SORT_DUMP, []);
  t.equal(text.code, 0);
  t.equal(text.stdout, golden('list-sort-1.7.txt', text.stdout), 'list-sort-1.7.txt matches (make golden rewrites it)');
});

t.test('the 1.11 auth dump lists what SEMANTICS §7.1 says it holds', async (t) => {
  const json = await list(AUTH_DUMP, ['--format', 'json', ...AT]);
  t.equal(json.code, 0, json.stderr);
  const c = JSON.parse(json.stdout) as Contents;
  t.equal(c.stream.op_version, '1.11');
  t.equal(c.stream.records, 631);
  t.equal(c.counts.block, 378);
  t.same({ blocks: c.objects.blocks, index: c.objects.object_index, tags: c.objects.tags }, { blocks: 209, index: 149, tags: 40 }, '378 block ops are 209 blocks');
  t.same(c.repos.map((r) => r.name), ['__spec__', 'left', 'right', 'copy', 'sort']);
  t.equal(c.repos.reduce((n, r) => n + r.commits, 0), 28, '28 commits');
  const branches = c.repos.flatMap((r) => r.branches.map((b) => `${r.name}@${b.name} <- ${b.provenance.join(',')}`)).sort();
  t.same(branches, [
    '__spec__@copy <- ',
    '__spec__@sort <- ',
    'copy@master <- __spec__@copy,left@master,right@master',
    'copy@stats <- copy@master',
    'left@master <- ',
    'right@master <- ',
    'sort@master <- __spec__@sort,copy@master',
    'sort@stats <- sort@master',
  ]);
  for (const [r, b, n] of [['__spec__', 'copy', 1], ['left', 'master', 3], ['right', 'master', 3], ['copy', 'master', 5], ['copy', 'stats', 5], ['sort', 'master', 5], ['sort', 'stats', 5]] as const) {
    t.equal(branch(c, r, b).commits, n, `${r}@${b}: ${n} commits`);
  }
  t.same(c.pipelines.map((p) => [p.name, p.jobs, p.salt, !!p.spec_commit]), [
    ['copy', { JOB_SUCCESS: 5 }, true, true],
    ['sort', { JOB_SUCCESS: 5 }, true, true],
  ]);
  t.equal(c.auth.check_auth_token, true);
  t.equal(c.auth.activated, true);
  t.same(c.auth.token_subjects, ['robot:test']);
  t.same(c.auth.role_bindings, { 'pach:root': ['SUPER'], 'robot:test': ['SUPER'] });
  t.same(c.auth.config, { id_providers: ['GitHub'] });
  t.same(Object.keys(c.auth.acls), ['sort', 'copy', 'right', 'left', '__spec__'], 'ACLs in the dump order, __spec__ last');
  t.same(c.auth.acls.__spec__, [], '__spec__ has an empty ACL');
  t.equal(c.enterprise.activated, true);
  t.same(c.problems, { errors: 0, hazards: 0 });
  const secretFree = !/hashed_token|activation_code|eyJ0b2tlbiI6/.test(json.stdout);
  t.ok(secretFree, 'no token hash or activation code in the listing');
  const pretty = JSON.stringify(c, null, 2) + '\n';
  t.equal(pretty, golden('list-auth-1.11.json', pretty), 'list-auth-1.11.json matches (make golden rewrites it)');
  const text = await list(AUTH_DUMP, AT);
  t.equal(text.code, 0);
  t.equal(text.stdout, golden('list-auth-1.11.txt', text.stdout), 'list-auth-1.11.txt matches (make golden rewrites it)');
});
