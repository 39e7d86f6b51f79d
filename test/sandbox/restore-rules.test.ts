/**
 * pachd-sandbox's Restore takes what pachd of its release takes: an older
 * stream converted up, a refused op ending the call with pachd's words (the
 * ops before it staying applied), a stream mixing versions or newer than the
 * release refused. Through the real executables where a user would go, and
 * through a raw gRPC call for what pach-restore never sends.
 */
import t from 'tap';
import { PachdClient } from '../../lib/grpc/client.js';
import { PATHS, wrapRestoreRequest } from '../../lib/grpc/services.js';
import { resolveTarget } from '../../lib/grpc/target.js';
import { PachError } from '../../lib/errors.js';
import { AUTH_DUMP, SORT_DUMP, readFixture, runTool, splitRaw, tempDir } from '../helpers/run.js';
import { startSandbox } from '../helpers/sandbox.js';
import { commit, commitId, ndjson, repo } from '../helpers/streams.js';

type Listing = { repos: Array<{ name: string; commits: Array<{ id: string }>; branches: Array<{ name: string; head: string | null; provenance: string[] }> }>; pipelines: Array<{ name: string; inputs: string[] }> };

async function list(address: string): Promise<Listing> {
  const r = await runTool('pach-extract', ['--list', '--format', 'json', '--pachd', address]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.toString()) as Listing;
}

/** Records of a JSON view, in raw framing's record bytes. */
async function records(version: string, ops: Parameters<typeof ndjson>[1]): Promise<Buffer[]> {
  const r = await runTool('pach-convert', ['--from', 'json', '--to', 'raw'], { input: ndjson(version, ops) });
  if (r.code !== 0) throw new Error(r.stderr);
  return splitRaw(r.stdout);
}

/** One Restore call carrying `ops`; resolves with pachd's error text, or '' when it answered OK. */
async function restoreCall(address: string, ops: Buffer[]): Promise<string> {
  const client = new PachdClient(resolveTarget({ pachd: address, env: {} }));
  try {
    const { call, done } = client.clientStream(PATHS.restore, 'Restore');
    for (const op of ops) call.write(wrapRestoreRequest(op));
    call.end();
    await done;
    return '';
  } catch (err) {
    return err instanceof PachError ? err.message : String(err);
  } finally {
    client.close();
  }
}

t.test('a 1.7 dump loaded into pachd 1.13 is converted up as pachd converts it', async (t) => {
  const dir = tempDir(t);
  const sb = await startSandbox(t, { dir, version: '1.13', load: SORT_DUMP });
  t.match(sb.stderr(), /loaded .*: \d+ ops/);
  const l = await list(sb.address);
  t.same(l.repos.map((r) => r.name).sort(), ['copy', 'left', 'right', 'sort']);
  t.same(l.pipelines.map((p) => [p.name, p.inputs]).sort(), [['copy', ['left@master:/*', 'right@master:/*']], ['sort', ['copy@master:/']]], 'atom inputs became pfs inputs');
  const left = l.repos.find((r) => r.name === 'left')!;
  t.equal(left.commits.length, 3);
  const copyMaster = l.repos.find((r) => r.name === 'copy')!.branches.find((b) => b.name === 'master')!;
  t.same(copyMaster.provenance, ['__spec__@copy', 'left@master', 'right@master'], 'the output branch has 1.9+ provenance, spec branch included');
});

t.test('a refused op ends the call with pachd\'s text; the ops before it stay applied', async (t) => {
  const dir = tempDir(t);
  const sb = await startSandbox(t, { dir, version: '1.12' });
  const ops = await records('1.12', [repo('kept'), commit({ repo: 'kept', id: commitId('orphan'), parent: commitId('missing'), finished: 1600000000 })]);
  const said = await restoreCall(sb.address, ops);
  t.match(said, /parent commit .*not found|not found/, `pachd's words: ${said}`);
  t.same((await list(sb.address)).repos.map((r) => r.name), ['kept'], 'the repo op before the refused commit is applied, as pachd leaves it');
  await sb.waitFor(/Restore: refused after 1 ops/);

  // Through pach-restore, the error names the records, the op the model blames, and the resume command.
  const sb2 = await startSandbox(t, { dir, version: '1.12' });
  const file = `${dir}/orphan.raw`;
  const fs = await import('node:fs');
  fs.writeFileSync(file, (await runTool('pach-convert', ['--from', 'json', '--to', 'raw'], { input: ndjson('1.12', [repo('kept'), commit({ repo: 'kept', id: commitId('orphan'), parent: commitId('missing'), finished: 1600000000 })]) })).stdout);
  const r = await runTool('pach-restore', ['--pachd', sb2.address, '--journal', `${dir}/j.json`, file]);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /records 0–1 \(not acknowledged\)/);
  t.match(r.stderr, /the replay model points at record 1, commit/);
  t.match(r.stderr, /resume with: pach-restore --resume --journal/);
});

t.test('mixing versions in one call, or a stream newer than the release, is refused', async (t) => {
  const dir = tempDir(t);
  const sb = await startSandbox(t, { dir, version: '1.12' });
  const mixed = [...(await records('1.11', [repo('a')])), ...(await records('1.12', [repo('b')]))];
  t.match(await restoreCall(sb.address, mixed), /cannot mix different versions of pachd operation within a metadata dumps \(found both 1\.11 and 1\.12\)/);
  t.match(await restoreCall(sb.address, await records('1.13', [repo('c')])), /unrecognized stream version: 1\.13/);
  t.same((await list(sb.address)).repos.map((r) => r.name), ['a'], 'only the op before the mix was applied (converted from 1.11)');

  const file = `${dir}/new.raw`;
  (await import('node:fs')).writeFileSync(file, Buffer.concat((await records('1.13', [repo('c')])).map((b) => { const l = Buffer.alloc(8); l.writeBigInt64LE(BigInt(b.length)); return Buffer.concat([l, b]); })));
  const r = await runTool('pach-restore', ['--pachd', sb.address, '--journal', `${dir}/j.json`, '--on-conflict', 'skip', file]);
  t.equal(r.code, 65, 'pach-restore refuses a stream newer than pachd before sending it');
  t.match(r.stderr, /PACH_STREAM_TOO_NEW: .*convert it first \(pach-convert --to-version 1\.12\)/);
});

t.test('--on-conflict=skip into a cluster that has it all sends only what pachd overwrites, and exits 3', async (t) => {
  const dir = tempDir(t);
  const env = { PACH_TOKEN: 'tok-skip-41d7' };
  const sb = await startSandbox(t, { dir, version: '1.11', args: ['--at', '2020-12-16T00:00:00Z'], env });
  const first = await runTool('pach-restore', ['--pachd', sb.address, '--journal', `${dir}/j1.json`, AUTH_DUMP], { env });
  t.equal(first.code, 0, first.stderr);
  const again = await runTool('pach-restore', ['--pachd', sb.address, '--journal', `${dir}/j2.json`, AUTH_DUMP], { env });
  t.equal(again.code, 1, 'a second restore into a cluster that is not empty is refused');
  t.match(again.stderr, /PACH_TARGET_NOT_EMPTY/);
  const skip = await runTool('pach-restore', ['--pachd', sb.address, '--journal', `${dir}/j3.json`, '--on-conflict', 'skip', '--summary', '-', AUTH_DUMP], { env });
  t.equal(skip.code, 3, skip.stderr);
  const summary = JSON.parse(skip.stderr.trim().split('\n').at(-1)!) as { skipped: number; counts: Record<string, number> };
  t.ok(summary.skipped > 0, `${summary.skipped} records left out`);
  t.notOk(summary.counts.job, 'no job is sent again (pachd would make a new one)');
  t.notOk(summary.counts.restore_auth_token, 'no token is sent again (pachd would refuse it)');
  const back = await runTool('pach-extract', ['--pachd', sb.address, '--to', 'pachctl'], { env });
  t.equal(back.code, 0, back.stderr);
  t.ok(back.stdout.equals(readFixture(AUTH_DUMP)), 'the cluster still extracts byte-identical to the dump: nothing doubled');
});
