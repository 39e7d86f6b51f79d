/**
 * End to end with the real dumps: pachd-sandbox processes holding them on
 * loopback, and pach-extract, pach-convert, pach-filter and pach-restore run
 * as processes in real shell pipes, checked the way a user would: what a
 * backup holds, what a migrated cluster lists, what an auth-enabled cluster
 * refuses, what a live dry run plans.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { AUTH_DUMP, DUMPS, SORT_DUMP, joinRaw, lines, pachctlRecords, readFixture, runShell, runTool, sh, tempDir, type RunResult } from '../helpers/run.js';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';

/** The root token the 1.11 dump's auth is restored with (pachd makes the restoring caller's token root). */
const TOKEN = 'e2e-root-token-6f3a';
/** The 1.11 dump's enterprise activation expired in 2021: sandboxes and plans run at the dump's own time. */
const AT = ['--at', '2020-12-16T00:00:00Z'];
const HEX32 = /^[0-9a-f]{32}$/;
const RELEASE: Record<string, string> = { '1.7': '1.7.14', '1.11': '1.11.0' };

const dir = tempDir(t);

/**
 * The environment of a client tool: a token only when given, and nothing
 * from this machine's pachctl config (HOME is a fresh directory, which also
 * keeps default journals out of the real one).
 */
function client(token?: string): Record<string, string> {
  return { HOME: dir, PACH_TOKEN: token ?? '', PACH_CA_CERTS: '', PACHD_ADDRESS: '', PACH_CONTEXT: '' };
}

/**
 * One sandbox per dump for the whole file, started on first use: a sandbox
 * that cannot start fails the tests that need it, not the others.
 */
const sources = new Map<string, Promise<Sandbox>>();
function source(version: '1.7' | '1.11'): Promise<Sandbox> {
  let s = sources.get(version);
  if (!s) {
    s =
      version === '1.7'
        ? startSandbox(t, { version, load: SORT_DUMP, dir })
        : startSandbox(t, { version, load: AUTH_DUMP, dir, args: AT, env: { PACH_TOKEN: TOKEN } });
    sources.set(version, s);
  }
  return s;
}
const tokenOf = (version: string): string | undefined => (version === '1.11' ? TOKEN : undefined);

/** The statuses bash's PIPESTATUS recorded in `file`. */
function pipeStatus(file: string): number[] {
  return fs.readFileSync(file, 'utf8').trim().split(' ').map(Number);
}

function ok(t: Test, r: RunResult, what: string): void {
  t.equal(r.code, 0, `${what} exits 0${r.stderr ? `: ${r.stderr}` : ''}`);
}

interface Listing {
  stream: { header: { source: { cluster_id: string; extract_flags: string[] } } };
  repos: Array<{
    name: string;
    branches: Array<{ name: string; head: string | null; commits: number; provenance: string[] }>;
    commit_list: Array<{ id: string }>;
  }>;
  pipelines: Array<{ name: string; inputs: Array<{ kind: string; repo?: string; branch?: string; glob?: string }>; output_branch: string; spec_commit?: string | null }>;
}

/** What `pach-extract --no-objects | pach-filter --list --format json --commits` says the cluster at `address` holds. */
async function listLive(t: Test, address: string, token?: string): Promise<Listing> {
  const status = path.join(dir, `list-${address.replace(/\W/g, '-')}.status`);
  const r = await runShell(`${sh('pach-extract')} --pachd ${address} --no-objects | ${sh('pach-filter')} --list --format json --commits; echo "\${PIPESTATUS[*]}" > ${status}`, { env: client(token) });
  t.same(pipeStatus(status), [0, 0], `listing ${address}: pach-extract and pach-filter exit 0${r.stderr ? `: ${r.stderr}` : ''}`);
  return JSON.parse(r.stdout.toString()) as Listing;
}

t.test('extract from a sandbox holding each real dump gives back the dump', async (t) => {
  for (const dump of DUMPS) {
    t.test(dump.name, async (t) => {
      const sb = await source(dump.version);
      const env = client(tokenOf(dump.version));
      const fixture = readFixture(dump.file);

      // pachctl framing: what `pachctl extract` would have written, byte for byte.
      const pachctl = await runTool('pach-extract', ['--pachd', sb.address, '--to', 'pachctl'], { env });
      ok(t, pachctl, 'pach-extract --to pachctl');
      t.ok(pachctl.stdout.equals(fixture), `--to pachctl is byte-identical to ${path.basename(dump.file)} (${pachctl.stdout.length} vs ${fixture.length} bytes)`);

      // native framing: the header says where the backup came from; the records are the dump's.
      const native = path.join(dir, `extract-${dump.version}.native`);
      ok(t, await runTool('pach-extract', ['--pachd', sb.address, '-o', native], { env }), 'pach-extract -o FILE');
      const view = await runTool('pach-convert', ['--to', 'json', native], { env });
      ok(t, view, 'pach-convert --to json');
      const header = (JSON.parse(view.stdout.toString().split('\n')[0]!) as { header: { op_version: string; source: Record<string, unknown> } }).header;
      t.equal(header.op_version, dump.version);
      t.equal(header.source.pachd_version, RELEASE[dump.version]);
      t.match(header.source.cluster_id, HEX32, 'a cluster id');
      t.equal(header.source.address, `grpc://${sb.address}`, 'the address as given, with its scheme');
      t.same(header.source.extract_flags, []);
      t.notMatch(JSON.stringify(header), TOKEN, 'no credential anywhere in the header');

      const raw = await runTool('pach-convert', ['--to', 'raw', native], { env });
      ok(t, raw, 'pach-convert --to raw');
      const expected = joinRaw(await pachctlRecords(fixture));
      t.equal(raw.stdout.length, expected.length, 'as many record bytes as the dump');
      t.ok(raw.stdout.equals(expected), `the ${dump.ops} records are the dump's, in its order`);
    });
  }
});

/**
 * The two listings describe the same cluster, but for what the versions make
 * differ, which is named and checked rather than ignored blindly:
 *  - 1.7 has no __spec__ repo; pachd 1.13 keeps one branch (and spec commit) per
 *    pipeline there, and adds `__spec__@PIPELINE` to the output branches' provenance;
 *  - pachd 1.7 extracts no output commits (its restore re-runs the jobs), while the
 *    1.13 target makes output commits itself: they get new IDs;
 *  - 1.7 `atom` inputs are `pfs` inputs from 1.9 on.
 */
function compareListings(t: Test, src: Listing, dst: Listing, o: { remade: string[] }): void {
  const user = (l: Listing): Listing['repos'] => l.repos.filter((r) => r.name !== '__spec__');
  const sorted = <T>(xs: T[]): T[] => [...xs].sort();
  t.same(sorted(user(dst).map((r) => r.name)), sorted(user(src).map((r) => r.name)), 'the same repos (besides __spec__)');

  const pipelines = sorted(src.pipelines.map((p) => p.name));
  const spec = dst.repos.find((r) => r.name === '__spec__');
  t.same(sorted(spec?.branches.map((b) => b.name) ?? []), pipelines, 'the target has one __spec__ branch per pipeline');
  for (const p of dst.pipelines) {
    const head = spec?.branches.find((b) => b.name === p.name)?.head;
    t.ok(head && p.spec_commit === head, `pipeline ${p.name}: its spec commit is the head of __spec__@${p.name} (${p.spec_commit})`);
  }

  const srcIds = new Set(src.repos.flatMap((r) => r.commit_list.map((c) => c.id)));
  const remade: string[] = [];
  for (const repo of user(src)) {
    const there = dst.repos.find((r) => r.name === repo.name);
    if (!there) continue;
    const branches = (r: Listing['repos'][number]): Array<[string, string[]]> =>
      r.branches.map((b) => [b.name, sorted(b.provenance.filter((p) => !p.startsWith('__spec__@')))] as [string, string[]]).sort((a, b) => a[0].localeCompare(b[0]));
    t.same(branches(there), branches(repo), `${repo.name}: the same branches with the same provenance`);

    const input = repo.branches.every((b) => b.provenance.length === 0);
    if (input) {
      t.same(there.commit_list.map((c) => c.id), repo.commit_list.map((c) => c.id), `${repo.name} (input repo): the same commit IDs`);
      t.same(there.branches.map((b) => b.head), repo.branches.map((b) => b.head), `${repo.name}: the same branch heads`);
    }
    for (const b of repo.branches) {
      const tb: Listing['repos'][number]['branches'][number] | undefined = there.branches.find((x) => x.name === b.name);
      if (!tb) continue;
      if (b.commits > 0) {
        t.equal(tb.commits, b.commits, `${repo.name}@${b.name}: ${b.commits} commits on both sides`);
      } else {
        remade.push(`${repo.name}@${b.name}`);
        t.ok(tb.commits > 0 && tb.head !== null, `${repo.name}@${b.name}: the target made output commits (${tb.commits})`);
      }
    }
    if (repo.branches.some((b) => b.commits === 0)) {
      const fresh = there.commit_list.filter((c) => !srcIds.has(c.id));
      t.equal(fresh.length, there.commit_list.length, `${repo.name}: every output commit the target made has a new ID`);
    }
  }
  t.same(sorted(remade), sorted(o.remade), 'the branches whose commits the target made');

  const shape = (l: Listing): unknown =>
    [...l.pipelines]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((p) => ({ name: p.name, output_branch: p.output_branch, inputs: p.inputs.map((i) => ({ ...i, kind: i.kind === 'atom' ? 'pfs' : i.kind })) }));
  t.same(shape(dst), shape(src), 'the same pipelines with the same inputs');
}

t.test('migrating through a real pipe: pach-extract | pach-convert --to-version 1.13 | pach-restore', async (t) => {
  const cases = [
    { from: '1.7' as const, remade: ['copy@master', 'copy@stats', 'sort@master', 'sort@stats'] },
    { from: '1.11' as const, remade: [] },
  ];
  for (const c of cases) {
    t.test(`${c.from} → 1.13`, async (t) => {
      const token = tokenOf(c.from);
      const [src, dst] = await Promise.all([source(c.from), startSandbox(t, { version: '1.13', dir, args: AT })]);
      const journal = path.join(dir, `migrate-${c.from}.journal.json`);
      const status = path.join(dir, `migrate-${c.from}.status`);
      const r = await runShell(
        `${sh('pach-extract')} --pachd ${src.address} | ${sh('pach-convert')} --to-version 1.13 | ${sh('pach-restore')} --pachd ${dst.address} --journal ${journal}; echo "\${PIPESTATUS[*]}" > ${status}`,
        { env: client(token) },
      );
      t.same(pipeStatus(status), [0, 0, 0], `every stage exits 0${r.stderr ? `: ${r.stderr}` : ''}`);
      t.equal(r.stdout.length, 0, 'nothing on stdout: the restore is the end of the pipe');
      t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
      t.match(dst.stderr(), /Restore: \d+ ops applied/, 'the target saw Restore calls');
      const j = JSON.parse(fs.readFileSync(journal, 'utf8')) as { complete: boolean; target: { pachd_version: string } };
      t.equal(j.complete, true, 'the journal says the restore finished');
      t.equal(j.target.pachd_version, '1.13.4');

      const before = await listLive(t, src.address, token);
      const after = await listLive(t, dst.address, token);
      t.same(before.stream.header.source.extract_flags, ['no_objects'], 'the listings\' extracts name their flag');
      t.match(after.stream.header.source.cluster_id, HEX32);
      t.not(after.stream.header.source.cluster_id, before.stream.header.source.cluster_id, 'two clusters, two ids');
      compareListings(t, before, after, { remade: c.remade });
    });
  }
});

t.test('an auth-enabled target refuses callers without its token', async (t) => {
  const target = await startSandbox(t, { version: '1.13', dir, args: AT });
  // pach-restore converts the 1.11 ops to 1.13 on the way; the caller's token becomes root.
  const restored = await runTool('pach-restore', ['--pachd', target.address, '--journal', path.join(dir, 'auth.journal.json'), AUTH_DUMP], { env: client(TOKEN) });
  ok(t, restored, 'the restore of the auth dump with PACH_TOKEN');
  const appliedBefore = (target.stderr().match(/Restore: /g) ?? []).length;

  t.test('a second pach-restore (of a stream without auth) without a token: exit 77, one line naming the missing token', async (t) => {
    const journal = path.join(dir, 'no-token.journal.json');
    const r = await runTool('pach-restore', ['--pachd', target.address, '--journal', journal, SORT_DUMP], { env: client() });
    t.equal(r.code, 77);
    t.equal(lines(r.stderr).length, 1, r.stderr);
    t.match(r.stderr, /^pach-restore: PACH_AUTH: .*no authentication token.*PACH_TOKEN/);
    t.notOk(fs.existsSync(journal), 'no journal: nothing was sent');
  });

  t.test('a restore of an auth stream without a token stops before sending anything', async (t) => {
    const journal = path.join(dir, 'no-token-auth.journal.json');
    const r = await runTool('pach-restore', ['--pachd', target.address, '--journal', journal, AUTH_DUMP], { env: client() });
    t.equal(r.code, 77);
    t.equal(lines(r.stderr).length, 1, r.stderr);
    t.match(r.stderr, /^pach-restore: PACH_AUTH: .*(PACH_TOKEN|token)/);
    t.notOk(fs.existsSync(journal));
  });

  t.test('pach-extract without a token: exit 77', async (t) => {
    const r = await runTool('pach-extract', ['--pachd', target.address, '--to', 'json'], { env: client() });
    t.equal(r.code, 77);
    t.equal(r.stdout.length, 0, 'no partial backup on stdout');
    t.equal(lines(r.stderr).length, 1, r.stderr);
    t.match(r.stderr, new RegExp(`^pach-extract: PACH_AUTH: .*${target.address}.*no authentication token`));
  });

  t.test('pach-extract with a wrong token: exit 77, and the token is not echoed', async (t) => {
    const wrong = 'not-the-root-token-91c2';
    const r = await runTool('pach-extract', ['--pachd', target.address, '--to', 'json'], { env: client(wrong) });
    t.equal(r.code, 77);
    t.equal(r.stdout.length, 0);
    t.equal(lines(r.stderr).length, 1, r.stderr);
    t.match(r.stderr, /^pach-extract: PACH_AUTH: .*refused the credentials/);
    t.notMatch(r.stderr, wrong);
  });

  t.test('none of the refused calls restored anything', async (t) => {
    t.equal((target.stderr().match(/Restore: /g) ?? []).length, appliedBefore);
  });
});

t.test('pach-restore --dry-run --pachd plans against the live target', async (t) => {
  const sb = await source('1.11');
  const live = await runTool('pach-restore', ['--dry-run', '--pachd', sb.address, ...AT, '--format', 'json', AUTH_DUMP], { env: client(TOKEN) });
  const offline = await runTool('pach-restore', ['--dry-run', ...AT, '--format', 'json', AUTH_DUMP], { env: client() });
  ok(t, offline, 'the offline plan');
  const plan = JSON.parse(live.stdout.toString()) as {
    onto: { input: string; op_version: string } | null;
    outcome: string;
    stops_at: { code: string; kind: string } | null;
    already_exist: Record<string, number>;
  };
  const empty = JSON.parse(offline.stdout.toString()) as typeof plan;
  t.match(plan.onto?.input, `pachd 1.11.0 at grpc://${sb.address}`, 'the plan names the live target');
  t.same(plan.already_exist, { commit: 28, pipeline: 2, repo: 5 }, 'what the target already holds answers "already exists"');
  // The target already has auth: pachd would refuse to activate it again.
  t.equal(plan.outcome, 'fails');
  t.match(plan.stops_at, { code: 'PACH_AUTH_ACTIVE', kind: 'activate_auth' });
  t.equal(live.code, 65, 'exit 65: the restore would stop');
  t.equal(empty.onto, null, 'the offline plan has no target');
  t.equal(empty.outcome, 'ok', 'into an empty cluster the same stream restores');
});

t.test('pach-extract pipeline sort --to json: one pipeline record, without spec_commit', async (t) => {
  const sb = await source('1.11');
  const r = await runTool('pach-extract', ['--pachd', sb.address, 'pipeline', 'sort', '--to', 'json'], { env: client(TOKEN) });
  ok(t, r, 'pach-extract pipeline sort');
  const objs = r.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const records = objs.filter((o) => 'kind' in o);
  t.equal(records.length, 1, 'one record');
  t.equal(records[0]!.kind, 'pipeline');
  t.equal(records[0]!.body.pipeline.name, 'sort');
  t.notOk('spec_commit' in records[0]!.body, 'no spec_commit');
  t.same(objs[0]!.header.source.extract_flags, ['pipeline sort']);
  // The rest is the dump's own pipeline op for sort.
  const dump = (await runTool('pach-convert', ['--to', 'json', AUTH_DUMP])).stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const original = dump.find((o) => o.kind === 'pipeline' && o.body.pipeline.name === 'sort')!;
  t.ok(original.body.spec_commit, 'the full extract does carry the spec commit');
  delete original.body.spec_commit;
  t.same(records[0]!.body, original.body, 'otherwise the dump\'s pipeline op');
});
