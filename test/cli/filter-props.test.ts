/**
 * Properties of pach-filter's filter mode, on generated consistent 1.12
 * histories (bench/history.ts, several seeds and sizes) and on the two real
 * dumps, with the real executable in real pipes:
 *
 *   idempotence  f(f(x)) = f(x), compared as raw records (raw has no header,
 *                so the run's history entry does not come into it);
 *   clean        f(x) of a clean stream verifies (unless --no-deps, which
 *                promises nothing);
 *   commute      selection then renaming = renaming then the renamed
 *                selection = both in one run (globs match names before
 *                renaming: docs/pach-filter.md, "Renaming");
 *   round trip   renaming A=B, then B=A, then A=B gives what A=B gave.
 *
 * The filters are drawn from the names each stream holds (its listing) with a
 * seeded generator: PACH_FILTER_SEED=N reruns one draw; the seed is printed
 * and named in every failure. Each check spawns 3-5 processes, so a run
 * draws a few per stream (about a minute); PACH_FILTER_FULL=1 draws more
 * streams, filters and pairs.
 */
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Contents } from '../../lib/replay/report.js';
import { AT, filtered, firstProblem, generateHistory, inputRepos, listing, pachFilter, pipelineNames, verify, why, type Src } from '../helpers/filter.js';
import { pool } from '../helpers/hostile.js';
import { prng } from '../helpers/prng.js';
import { AUTH_DUMP, SORT_DUMP, tempDir } from '../helpers/run.js';

const SEED = process.env.PACH_FILTER_SEED !== undefined ? Number(process.env.PACH_FILTER_SEED) : Math.floor(Math.random() * 2 ** 31);
const FULL = process.env.PACH_FILTER_FULL === '1';
const PARALLEL = 3;
t.comment(`PACH_FILTER_SEED=${SEED}`);

interface Stream {
  name: string;
  file: string;
  /** --at for --list and --verify (the 1.11 dump's code expired in 2021). */
  at: string[];
  contents: Contents;
}

/**
 * The generated histories: a few fixed shapes that hold a pipeline reading
 * another pipeline's output, stats and staging branches (found by listing
 * them), and a few drawn from SEED.
 */
function historyShapes(rand: () => number): Array<{ repos: number; commits: number; seed: number }> {
  const fixed = [
    { repos: 20, commits: 200, seed: 11 }, // a pipeline over a pipeline, stats, staging
    { repos: 30, commits: 240, seed: 2 }, // the same, three pipelines
    { repos: 12, commits: 80, seed: 3 }, // finish times out of order along a chain
    ...(FULL ? [{ repos: 20, commits: 160, seed: 10 }] : []), // two stats pipelines, two staging branches
  ];
  const drawn = Array.from({ length: FULL ? 8 : 3 }, () => {
    const repos = 10 + Math.floor(rand() * 21);
    return { repos, commits: repos * (4 + Math.floor(rand() * 5)), seed: 1 + Math.floor(rand() * 100000) };
  });
  return [...fixed, ...drawn];
}

/** Picks one element. */
function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}

/** Picks `n` distinct elements (fewer when there are fewer). */
function sample<T>(rand: () => number, xs: readonly T[], n: number): T[] {
  const pool = [...xs];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
  return out;
}

/** A time between the stream's commits (the median finish), or a fixed one when commits carry no times. */
function midTime(c: Contents): string {
  const times = c.repos.flatMap((r) => (r.commit_list ?? []).map((e) => e.finished_at).filter((x): x is string => !!x)).sort();
  return times.length ? times[times.length >> 1]! : '2020-12-15T19:31:18Z';
}

/** Repos some pipeline reads. */
function readRepos(c: Contents): string[] {
  return [...new Set(c.pipelines.flatMap((p) => p.inputs.map((i) => i.repo)))].sort();
}

/** The filter arg-lists to try on a stream, named by what it holds. */
function filterCandidates(c: Contents, rand: () => number): string[][] {
  const inputs = inputRepos(c);
  const pipes = pipelineNames(c);
  const read = readRepos(c);
  const since = midTime(c);
  const out: string[][] = [
    ['--keep-last', '1'],
    ['--keep-last', '2'],
    ['--since', since],
    ['--redact'],
    ['--strip-auth'],
    ['--strip-auth', '--strip-enterprise'],
    ['--strip-auth', '--redact'],
    ['--since', since, '--keep-last', '2'],
  ];
  if (inputs.length) {
    const r = pick(rand, inputs);
    out.push(['--repo', r], ['--repo', `${r.slice(0, 3)}*`], ['--exclude-repo', r, '--redact'], ['--repo', '*-000[0-4]', '--strip-auth']);
    out.push(['--no-deps', '--repo', r]);
  }
  if (pipes.length) {
    const p = pick(rand, pipes);
    out.push(['--pipeline', p], ['--exclude-pipeline', p], ['--pipeline', p, '--keep-last', '1', '--redact'], ['--no-prune', '--exclude-pipeline', p]);
    out.push(['--no-deps', '--pipeline', p]);
  }
  if (read.length) out.push(['--exclude-repo', pick(rand, read)], ['--exclude-repo', pick(rand, read), '--since', since, '--keep-last', '2']);
  return out;
}

/** A name not in the stream, made from `old`. */
function fresh(c: Contents, old: string): string {
  const taken = new Set(c.repos.map((r) => r.name));
  let name = `${old}-zz`;
  while (taken.has(name)) name += 'z';
  return name;
}

interface Pair {
  /** What the pair shows. */
  name: string;
  /** selection, then renaming */
  first: [string[], string[]];
  /** renaming, then the renamed selection */
  second: [string[], string[]];
  /** both in one run (globs match names before renaming) */
  single: string[];
}

/** Selection/renaming pairs over a stream's names. */
function commutePairs(c: Contents, rand: () => number): Pair[] {
  const inputs = inputRepos(c);
  const pipes = pipelineNames(c);
  const read = readRepos(c);
  const out: Pair[] = [];
  if (pipes.length) {
    const p = pick(rand, pipes);
    const p2 = fresh(c, p);
    out.push({ name: `--pipeline ${p} / --map-pipeline ${p}=${p2}`, first: [['--pipeline', p], ['--map-pipeline', `${p}=${p2}`]], second: [['--map-pipeline', `${p}=${p2}`], ['--pipeline', p2]], single: ['--pipeline', p, '--map-pipeline', `${p}=${p2}`] });
    const pi = c.pipelines.find((x) => x.name === p)!.inputs.map((i) => i.repo).filter((r) => inputs.includes(r));
    if (pi.length) {
      const r = pick(rand, pi);
      const r2 = fresh(c, r);
      out.push({ name: `--pipeline ${p} / --map-repo ${r}=${r2} (an input of ${p})`, first: [['--pipeline', p], ['--map-repo', `${r}=${r2}`]], second: [['--map-repo', `${r}=${r2}`], ['--pipeline', p]], single: ['--pipeline', p, '--map-repo', `${r}=${r2}`] });
    }
    const p3 = fresh(c, p);
    out.push({ name: `--keep-last 1 / --map-pipeline ${p}=${p3}`, first: [['--keep-last', '1'], ['--map-pipeline', `${p}=${p3}`]], second: [['--map-pipeline', `${p}=${p3}`], ['--keep-last', '1']], single: ['--keep-last', '1', '--map-pipeline', `${p}=${p3}`] });
  }
  if (inputs.length) {
    const r = pick(rand, inputs);
    const r2 = fresh(c, r);
    const glob = `${r.slice(0, r.lastIndexOf('-') + 1)}*`;
    out.push({ name: `--repo '${glob}' / --map-repo ${r}=${r2} (still matches)`, first: [['--repo', glob], ['--map-repo', `${r}=${r2}`]], second: [['--map-repo', `${r}=${r2}`], ['--repo', glob]], single: ['--repo', glob, '--map-repo', `${r}=${r2}`] });
    out.push({ name: `--repo ${r} / --map-repo ${r}=zz`, first: [['--repo', r], ['--map-repo', `${r}=zz`]], second: [['--map-repo', `${r}=zz`], ['--repo', 'zz']], single: ['--repo', r, '--map-repo', `${r}=zz`] });
  }
  const excludable = read.filter((x) => inputs.includes(x));
  if (excludable.length && inputs.length > 1) {
    const x = pick(rand, excludable);
    const r = pick(rand, inputs.filter((n) => n !== x));
    const r2 = fresh(c, r);
    out.push({ name: `--exclude-repo ${x} / --map-repo ${r}=${r2}`, first: [['--exclude-repo', x], ['--map-repo', `${r}=${r2}`]], second: [['--map-repo', `${r}=${r2}`], ['--exclude-repo', x]], single: ['--exclude-repo', x, '--map-repo', `${r}=${r2}`] });
  }
  return out;
}

/** `pach-filter A --to raw SRC | pach-filter B --from raw --to raw`. */
async function twoRuns(a: string[], b: string[], src: Src): Promise<Buffer> {
  return filtered([...b, '--from', 'raw', '--to', 'raw'], await filtered([...a, '--to', 'raw'], src));
}

async function checkIdempotent(t: Test, s: Stream, args: string[]): Promise<void> {
  const what = `seed ${SEED}, ${s.name}: pach-filter ${args.join(' ')}`;
  const once = await pachFilter([...args, '--to', 'raw'], s.file);
  if (once.code !== 0) return void t.fail(`${what}: ${why(once)}`);
  // --from raw: an output with no record at all is an empty raw stream, which detection cannot tell.
  const twice = await pachFilter([...args, '--from', 'raw', '--to', 'raw'], once.stdout);
  if (twice.code !== 0) return void t.fail(`${what}, applied to its own output: ${why(twice)}`);
  t.ok(twice.stdout.equals(once.stdout), `${what}: f(f(x)) = f(x), byte for byte`);
  if (args.includes('--no-deps')) return;
  const v = await verify(once.stdout, [...s.at, '--from', 'raw']);
  if (v.code === 0) return void t.pass(`${what}: the output verifies`);
  const input = await verify(s.file, s.at);
  t.fail(`${what}: the output does not verify (${firstProblem(v.report)})${input.code === 0 ? ', the input does' : `; nor does the input (${firstProblem(input.report)})`}`);
}

async function checkCommute(t: Test, s: Stream, pair: Pair): Promise<void> {
  const what = `seed ${SEED}, ${s.name}: ${pair.name}`;
  let first: Buffer, second: Buffer, single: Buffer;
  try {
    [first, second, single] = await Promise.all([twoRuns(...pair.first, s.file), twoRuns(...pair.second, s.file), filtered([...pair.single, '--to', 'raw'], s.file)]);
  } catch (err) {
    return void t.fail(`${what}: ${(err as Error).message}`);
  }
  t.ok(first.equals(second), `${what}: selection then renaming = renaming then the renamed selection`);
  t.ok(single.equals(first), `${what}: = both flags in one run`);
}

async function checkRoundTrip(t: Test, s: Stream, flag: '--map-repo' | '--map-pipeline', a: string, b: string): Promise<void> {
  const what = `seed ${SEED}, ${s.name}: ${flag} ${a}=${b}, ${b}=${a}, ${a}=${b}`;
  try {
    const once = await filtered([flag, `${a}=${b}`, '--to', 'raw'], s.file);
    const thrice = await filtered([flag, `${a}=${b}`, '--from', 'raw', '--to', 'raw'], await filtered([flag, `${b}=${a}`, '--from', 'raw', '--to', 'raw'], once));
    t.ok(thrice.equals(once), `${what}: lands where ${a}=${b} did`);
  } catch (err) {
    t.fail(`${what}: ${(err as Error).message}`);
  }
}

/** Every check of one stream: `nFilters` idempotence cases, `nPairs` commute pairs, and a rename round trip if `roundTrip`. */
async function checkStream(t: Test, s: Stream, rand: () => number, nFilters: number, nPairs: number, roundTrip: boolean): Promise<void> {
  const filters = sample(rand, filterCandidates(s.contents, rand), nFilters);
  const pairs = sample(rand, commutePairs(s.contents, rand), nPairs);
  const jobs: Array<() => Promise<void>> = [
    ...filters.map((f) => () => checkIdempotent(t, s, f)),
    ...pairs.map((p) => () => checkCommute(t, s, p)),
  ];
  const pipes = pipelineNames(s.contents);
  const inputs = inputRepos(s.contents);
  if (roundTrip && pipes.length && rand() < 0.5) {
    const p = pick(rand, pipes);
    jobs.push(() => checkRoundTrip(t, s, '--map-pipeline', p, fresh(s.contents, p)));
  } else if (roundTrip && inputs.length) {
    const r = pick(rand, inputs);
    jobs.push(() => checkRoundTrip(t, s, '--map-repo', r, fresh(s.contents, r)));
  }
  await pool(jobs, PARALLEL, (job) => job());
}

t.test('generated histories: every filter is idempotent and keeps a clean stream clean; selection and renaming commute', async (t) => {
  const dir = tempDir(t);
  const rand = prng(SEED);
  const shapes = historyShapes(rand);
  const streams = await pool(shapes, PARALLEL, async (shape): Promise<Stream> => {
    const file = path.join(dir, `history-${shape.repos}-${shape.commits}-${shape.seed}.raw`);
    await generateHistory(file, shape);
    return { name: `history --repos ${shape.repos} --commits ${shape.commits} --seed ${shape.seed}`, file, at: [], contents: await listing(file, []) };
  });
  for (const [i, s] of streams.entries()) {
    // Every stream gets idempotence cases; commute pairs and rename round trips take turns, unless FULL.
    await checkStream(t, s, rand, FULL ? 5 : 2, FULL || i % 2 === 0 ? 1 : 0, FULL || i % 2 === 1);
  }
});

t.test('--since is idempotent on a history whose commits finish out of order along a chain', async (t) => {
  // In this history a master commit can finish after its child did (frames-0010: 207a… finishes at
  // 03:22:56, its child feb3… at 03:16:17), so the commits --since keeps are not one run back from the head.
  const dir = tempDir(t);
  const shape = { repos: 12, commits: 80, seed: 3 };
  const file = path.join(dir, 'history.raw');
  await generateHistory(file, shape);
  const contents = await listing(file, []);
  const s: Stream = { name: `history --repos ${shape.repos} --commits ${shape.commits} --seed ${shape.seed}`, file, at: [], contents };
  await checkIdempotent(t, s, ['--since', midTime(contents)]);
});

t.test('the real dumps: every filter is idempotent and keeps them clean; selection and renaming commute', async (t) => {
  const rand = prng(SEED ^ 0x5eed);
  for (const [name, file] of [['1.7 sort', SORT_DUMP], ['1.11 auth', AUTH_DUMP]] as const) {
    const s: Stream = { name, file, at: AT, contents: await listing(file) };
    await checkStream(t, s, rand, FULL ? 8 : 2, FULL ? 2 : 0, FULL);
  }
});

t.test('the real dumps: the documented commuting pairs', async (t) => {
  const pairs: Array<Pair & { dumps: string[] }> = [
    { name: '--pipeline sort / --map-pipeline sort=s2', first: [['--pipeline', 'sort'], ['--map-pipeline', 'sort=s2']], second: [['--map-pipeline', 'sort=s2'], ['--pipeline', 's2']], single: ['--pipeline', 'sort', '--map-pipeline', 'sort=s2'], dumps: [SORT_DUMP, AUTH_DUMP] },
    { name: '--repo \'l*\' / --map-repo left=zz', first: [['--repo', 'l*'], ['--map-repo', 'left=zz']], second: [['--map-repo', 'left=zz'], ['--repo', 'zz']], single: ['--repo', 'l*', '--map-repo', 'left=zz'], dumps: [AUTH_DUMP] },
    { name: '--exclude-repo right / --map-repo left=left2', first: [['--exclude-repo', 'right'], ['--map-repo', 'left=left2']], second: [['--map-repo', 'left=left2'], ['--exclude-repo', 'right']], single: ['--exclude-repo', 'right', '--map-repo', 'left=left2'], dumps: FULL ? [SORT_DUMP, AUTH_DUMP] : [SORT_DUMP] },
    { name: '--pipeline copy / --map-repo right=r2', first: [['--pipeline', 'copy'], ['--map-repo', 'right=r2']], second: [['--map-repo', 'right=r2'], ['--pipeline', 'copy']], single: ['--pipeline', 'copy', '--map-repo', 'right=r2'], dumps: FULL ? [SORT_DUMP, AUTH_DUMP] : [AUTH_DUMP] },
  ];
  const cases = pairs.flatMap((p) => p.dumps.map((file) => ({ p, file })));
  await pool(cases, 2, ({ p, file }) => checkCommute(t, { name: file === AUTH_DUMP ? '1.11 auth' : '1.7 sort', file, at: AT, contents: undefined as unknown as Contents }, p));
});
