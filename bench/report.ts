/**
 * bench/report.ts: turns the measurements bench/run.sh left in its work
 * directory into BENCHMARKS.md (printed on stdout): the machine, the data sets,
 * one table row per case, the targets with pass or fail, and the exact commands.
 *
 * Run: `node dist/bench/report.js DIR` where DIR holds run.sh's machine.tsv
 * (key, value), datasets.tsv (data set, key, value), results.tsv (case, data
 * set, input bytes, records, walls, peak RSS KiB per run, status, command),
 * ladder.tsv (version/ case, records carried, re-encoded, dropped, records with
 * a loss, the losses joined by ';', records rewritten at byte level, from
 * `pach-convert -v`) and replay.tsv (data set, key, value: the figures
 * bench/replay.ts printed, plus `verify_lines` and `verify_first`, what
 * `pach-filter --verify` wrote on stdout) and grpc.tsv (case, key, value: per
 * grpc/ run the sandbox's peak RSS, the client's --summary JSON, the extract
 * sandbox's load time and peak; bench/grpc.sh) and filter.tsv (case, key, value: the
 * last run's `pach-filter --summary` JSON per filter case, and `config` select/rename; bench/filter.sh).
 * run.sh calls it; running it by hand only makes sense on a kept work directory.
 *
 * How to read the output: see the "How to read" section it writes. A target
 * whose cases were not run (BENCH_FILTER) says so instead of passing.
 */
import fs from 'node:fs';
import path from 'node:path';

interface Case {
  name: string;
  dataset: string;
  inputBytes: number;
  records: number;
  walls: number[];
  rssKiB: number[];
  ok: boolean;
  command: string;
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: report DIR (the work directory of bench/run.sh)\n');
  process.exit(2);
}

const lines = (file: string): string[][] => {
  const p = path.join(dir, file);
  if (!fs.existsSync(p)) return [];
  return fs.readFileSync(p, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
};

const machine = new Map(lines('machine.tsv').map(([k, ...v]) => [k!, v.join('\t')]));
const datasets = new Map<string, Map<string, string>>();
for (const [label, key, ...v] of lines('datasets.tsv')) {
  if (!datasets.has(label!)) datasets.set(label!, new Map());
  datasets.get(label!)!.set(key!, v.join('\t'));
}
const nums = (s: string | undefined): number[] => (s ?? '').split(' ').filter((x) => x !== '').map(Number);
const cases: Case[] = lines('results.tsv').map(([name, dataset, inputBytes, records, walls, rss, status, ...cmd]) => ({
  name: name!,
  dataset: dataset!,
  inputBytes: Number(inputBytes),
  records: Number(records),
  walls: nums(walls),
  rssKiB: nums(rss),
  ok: status === 'ok',
  command: cmd.join('\t'),
}));
const byName = new Map(cases.map((c) => [c.name, c]));

interface LadderRow {
  carried: number;
  spliced: number;
  reencoded: number;
  dropped: number;
  lossy: number;
  losses: string[];
}
const ladderRows = new Map<string, LadderRow>(lines('ladder.tsv').map(([name, carried, reencoded, dropped, lossy, losses, spliced]) => [name!, {
  carried: Number(carried),
  spliced: Number(spliced ?? 0),
  reencoded: Number(reencoded),
  dropped: Number(dropped),
  lossy: Number(lossy),
  losses: (losses ?? '').split(';').filter((x) => x !== ''),
}]));

/** replay.tsv: per replay data set, bench/replay.ts's figures and what pach-filter --verify said. */
const replayFigures = new Map<string, Map<string, string>>();
for (const [label, key, ...v] of lines('replay.tsv')) {
  if (!replayFigures.has(label!)) replayFigures.set(label!, new Map());
  replayFigures.get(label!)!.set(key!, v.join('\t'));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const wall = (c: Case): number => median(c.walls);
const dsNum = (label: string, key: string): number => Number(datasets.get(label)?.get(key) ?? NaN);
/** Bytes of the case's input; for the streamed cases, of the generated stream. */
const inputBytes = (c: Case): number => (c.inputBytes || dsNum(c.dataset, 'raw'));
const records = (c: Case): number => c.records || dsNum(c.dataset, 'records');
const mbps = (c: Case): number => inputBytes(c) / 1e6 / wall(c);
const streamMbps = (c: Case): number => dsNum(c.dataset, 'raw') / 1e6 / wall(c);
const rssMiB = (c: Case): number => Math.max(...c.rssKiB) / 1024;
const measured = (c: Case | undefined): boolean => c !== undefined && c.ok && c.walls.length > 0;

const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');
const fmtBytes = (n: number): string => {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 2 : 0)} ${units[i]}`;
};

/** The `cat | cat` anchor a case is compared with: the one on the same data set (`generate | cat` for streamed cases). */
const catFor = (c: Case): Case | undefined =>
  cases.find((a) => a.dataset === c.dataset && (a.name.startsWith('anchor/cat-cat-') || a.name.startsWith('stream/generate-cat-')));

const out: string[] = [];
const w = (s = ''): void => {
  out.push(s);
};

w('# Benchmarks');
w();
w(`Generated by \`make bench\` (\`bench/run.sh\`, then \`bench/report.ts\`) on ${machine.get('date') ?? '?'}; do not edit by hand.`);
if (machine.get('filter')) w(`**Partial run:** only cases matching \`BENCH_FILTER=${machine.get('filter')}\`.`);
w('The method and the knobs are in the comment at the top of `bench/run.sh`; the data generator is `bench/generate.ts`.');
const summaryAt = out.length;
w();
const load = (k: string): number => Number((machine.get(k) ?? '').split(' ')[0]);
const cores = Number(machine.get('cores'));
if (Math.max(load('load_start'), load('load_end')) > cores / 2) {
  w(`**The machine was busy:** the 1-minute load average was ${machine.get('load_start')?.split(' ')[0]} at the start and ` +
    `${machine.get('load_end')?.split(' ')[0]} at the end, on ${cores} cores. Other processes competed for the CPU, so walls are ` +
    'longer and noisier than on an idle box (see the spread of the runs below); ratios within this run are the figures to trust.');
  w();
}
w('## Machine');
w();
w('| | |');
w('|---|---|');
w(`| CPU | ${machine.get('cpu')}, ${machine.get('cores')} cores |`);
w(`| RAM | ${machine.get('ram')} |`);
w(`| OS | ${machine.get('os')} |`);
w(`| Node | ${machine.get('node')} |`);
w(`| anchors | GNU coreutils cat, zstd ${machine.get('zstd')}, ${machine.get('jq')} |`);
w(`| pach-migrate | commit ${machine.get('commit')} |`);
w(`| data sets in | ${machine.get('tmpdir')} |`);
w(`| load average (1/5/15 min) | ${machine.get('load_start')} at start, ${machine.get('load_end')} at the end |`);
w(`| runs | median wall of ${machine.get('runs')} runs per case (${machine.get('stream_runs')} for the streamed ones), largest peak RSS; total ${machine.get('elapsed')} s |`);
w();

w('## Data sets');
w();
w(`Made by \`generate --seed ${machine.get('seed')}\`; **ops** is the op version the generator wrote (\`--version\`, the \`Op1_x\` slot of every record;`);
w('1.12 unless a `v1.x-` data set says otherwise); sizes of each stored framing.');
w();
w('| data set | mix | ops | records | raw | native | pachctl | json | native.zst | generator (stderr) |');
w('|---|---|---|---:|---:|---:|---:|---:|---:|---|');
for (const [label, d] of datasets) {
  const raw = Number(d.get('raw'));
  const rel = (k: string): string => (d.has(k) ? `${fmtBytes(Number(d.get(k)))} (${(Number(d.get(k)) / raw).toFixed(2)})` : '–');
  w(`| ${label} | ${d.get('mix') ?? ''} | ${d.get('version') ?? ''} | ${fmt(Number(d.get('records')))} | ${fmtBytes(raw)} | ${rel('native')} | ${rel('pachctl')} | ${rel('json')} | ${rel('native.zst')} | \`${(d.get('gen') ?? '').replace(/^(generate|history): /, '')}\` |`);
}
w();
w('(In brackets: size relative to raw. The streamed data set is generated inside the pipeline and never stored; the `v1.x-` ones');
w('are piped from the generator into `pach-convert --from raw --to native` and stored as native only, so their raw is the generator\'s count;');
w('the `replay-` and `grpc-` ones are consistent histories from `bench/history.ts`, stored as raw only; `filter-1GiB` one with real');
w('commit trees (`--real-trees`), stored as native only, and `filter-stream-` the same generated inside its pipeline.)');
w();

w('## Results');
w();
w('| case | input | wall s (median) | MB/s of input | stream MB/s | records/s | peak RSS MiB | × cat\\|cat |');
w('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const c of cases) {
  if (!measured(c)) {
    w(`| \`${c.name}\` | ${fmtBytes(inputBytes(c))} | **failed** | | | | | |`);
    continue;
  }
  const cat = catFor(c);
  const ratio = cat && measured(cat) && cat !== c ? (c.name.startsWith('stream/') ? streamMbps(c) / streamMbps(cat) : mbps(c) / mbps(cat)) : NaN;
  const recs = c.name.startsWith('anchor/jq') ? NaN : records(c) / wall(c);
  w(`| \`${c.name}\` | ${fmtBytes(inputBytes(c))} | ${wall(c).toFixed(2)} | ${fmt(mbps(c))} | ${c.name.startsWith('anchor/jq') ? '–' : fmt(streamMbps(c))} | ` +
    `${fmt(recs)} | ${rssMiB(c).toFixed(0)} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : ''} |`);
}
w();
w('All runs, wall seconds: ' + cases.filter(measured).map((c) => `${c.name} ${c.walls.join('/')}`).join('; ') + '.');
w();

// ---------------------------------------------------------------- version conversion

/** The version/ cases: a conversion FROM → TO on data set LABEL beside the pass-through on the same file. */
interface VersionPair {
  from: string;
  to: string;
  /** The size part of the case names: 1GiB, meta-256MiB. */
  size: string;
  conv: Case | undefined;
  pass: Case | undefined;
}
const versionPairs: VersionPair[] = [];
for (const c of cases) {
  const m = /^version\/(\d+\.\d+)-to-(\d+\.\d+)-(.+)$/.exec(c.name);
  if (m) versionPairs.push({ from: m[1]!, to: m[2]!, size: m[3]!, conv: c, pass: byName.get(`version/pass-${m[1]}-${m[3]}`) });
}
if (versionPairs.length) {
  w('## Version conversion');
  w();
  w('`pach-convert --to-version TO` on a native file generated at op version FROM, beside the pass-through (the same command without');
  w('`--to-version`) on the same file in the same run. **% of pass-through** is conversion MB/s over pass-through MB/s.');
  w('**carried / byte-level / re-encoded / dropped** are the counts `pach-convert -v` printed (carried: payload bytes kept; byte-level:');
  w('dropped fields cut out of the bytes, no decode; re-encoded: decoded and encoded); **tree twins** are the records the 1.7↔1.8 tree');
  w('rewrite added (their sum − records in). **losses** is the loss report it printed (expected; it does not fail a case).');
  w();
  w('| data set | conversion | pass-through MB/s | conversion MB/s | % of pass-through | records/s pass-through | records/s conversion | peak RSS MiB pass / conv | carried / byte-level / re-encoded / dropped | tree twins | records with a loss | losses |');
  w('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const p of versionPairs) {
    const c = p.conv!;
    const ok = measured(c);
    const passOk = measured(p.pass);
    const l = ladderRows.get(c.name);
    const pct = ok && passOk ? `${((mbps(c) / mbps(p.pass!)) * 100).toFixed(0)} %` : '–';
    const twins = l ? l.carried + l.spliced + l.reencoded + l.dropped - records(c) : NaN;
    w(`| ${c.dataset} | ${p.from}→${p.to} | ${passOk ? fmt(mbps(p.pass!)) : '–'} | ${ok ? fmt(mbps(c)) : '**failed**'} | ${pct} | ` +
      `${passOk ? fmt(records(p.pass!) / wall(p.pass!)) : '–'} | ${ok ? fmt(records(c) / wall(c)) : '–'} | ` +
      `${passOk ? rssMiB(p.pass!).toFixed(0) : '–'} / ${ok ? rssMiB(c).toFixed(0) : '–'} | ` +
      `${l ? `${fmt(l.carried)} / ${fmt(l.spliced)} / ${fmt(l.reencoded)} / ${fmt(l.dropped)}` : '–'} | ${Number.isFinite(twins) ? (twins > 0 ? `+${fmt(twins)}` : fmt(twins)) : '–'} | ` +
      `${l ? fmt(l.lossy) : '–'} | ${l ? l.losses.join('; ').replace(/\|/g, '\\|') || 'none' : '–'} |`);
  }
  w();
}

// ---------------------------------------------------------------- replay model

/** The replay data sets: those generate-history made, or the default name when none ran (its targets then say "not run"). */
const replayLabels = [...datasets.keys()].filter((k) => datasets.get(k)!.get('mix') === 'history');
const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;
for (const label of replayLabels) {
  const S = label.replace(/^replay-/, '');
  const verify = byName.get(`replay/verify-${S}`);
  const model = byName.get(`replay/model-${S}`);
  const cat = byName.get(`anchor/cat-replay-${S}`);
  const zstd = byName.get(`anchor/zstd1-replay-${S}`);
  const r = replayFigures.get(label) ?? new Map<string, string>();
  const rn = (k: string): number => (r.has(k) && r.get(k) !== '' ? Number(r.get(k)) : NaN);
  const d = datasets.get(label)!;
  const commits = Number(d.get('commits'));
  const gen = d.get('gen') ?? '';
  const part = (re: RegExp): string => re.exec(gen)?.[1] ?? '?';
  w('## Replay model');
  w();
  w('The replay model (`lib/replay`: pachd\'s restore rules op by op, behind `pach-filter --verify`, `pach-restore --dry-run` and');
  w(`\`pachd-sandbox\`) on **${label}**, a consistent 1.12 history made by \`generate-history --repos ${d.get('repos')} --commits ${d.get('commits')} --seed ${machine.get('seed')}\``);
  w(`(\`bench/history.ts\`): ${fmt(dsNum(label, 'records'))} records, ${fmtBytes(dsNum(label, 'raw'))} raw: ${part(/records, \d+ bytes; (.*?); setup/)}.`);
  w('Every record is one op, so ops/s = records ÷ wall. Targets (the issue): ≥ 100 k ops/s and ≤ 300 bytes of model memory per commit.');
  w();
  w('| measure | value | target | result |');
  w('|---|---|---|---|');
  const verdict = (pass: boolean): string => (pass ? 'pass' : '**FAIL**');
  if (measured(verify)) {
    const ops = records(verify!) / wall(verify!);
    const anchors = [cat, zstd].filter((a): a is Case => measured(a))
      .map((a) => `${(mbps(verify!) / mbps(a)).toFixed(3)} × \`${a.command.replace(/ > \/dev\/null$/, '')}\` (${fmt(mbps(a))} MB/s, ${wall(a).toFixed(2)} s)`);
    w(`| \`pach-filter --verify\` end to end, median of ${verify!.walls.length} | ${fmt(ops)} ops/s (${wall(verify!).toFixed(2)} s, ${fmt(mbps(verify!))} MB/s) | ≥ 100 k ops/s | ${verdict(ops >= 100e3)} |`);
    w(`| its verdict (exit 0, stdout) | ${r.get('verify_lines') === '1' ? 'clean' : `${r.get('verify_lines') ?? '?'} lines`}: \`${(r.get('verify_first') ?? '').replace(/\|/g, '\\|')}\` | no problem | pass |`);
    w(`| its peak RSS | ${mib(Math.max(...verify!.rssKiB))} (${fmt((Math.max(...verify!.rssKiB) * 1024) / commits)} B per commit) | – | |`);
    w(`| its speed against the anchors on the same file (MB/s ÷ MB/s) | ${anchors.join('; ') || 'anchors not run'} | – | |`);
  } else {
    w(`| \`pach-filter --verify\` end to end | ${verify ? '**failed** (a non-zero exit: problems, or a crash)' : 'not run'} | ≥ 100 k ops/s | ${verify ? '**FAIL**' : 'not run'} |`);
  }
  if (measured(model) && r.has('ops_per_s')) {
    w(`| in-process replay (\`bench/replay.ts\`, one run) | ${fmt(rn('ops_per_s'))} ops/s (${rn('seconds').toFixed(2)} s, ${fmt(rn('mb_per_s'))} MB/s); commit ops alone ${fmt(rn('phase.commits.ops_per_s'))} ops/s | – | |`);
    w(`| model memory kept per commit: heap + external after a forced GC, model alive, minus the same before | ${fmt(rn('bytes_per_commit'))} B (${fmtBytes(rn('bytes_kept'))}: heap ${fmtBytes(rn('mem.after.heap') - rn('mem.before.heap'))}, external ${fmtBytes(rn('mem.after.external') - rn('mem.before.external'))}, of which ArrayBuffers ${fmtBytes(rn('mem.after.array_buffers') - rn('mem.before.array_buffers'))}) | ≤ 300 B | ${verdict(rn('bytes_per_commit') <= 300)} |`);
    w(`| of which the CommitTable (\`model.commits.bytes\`: columns and hash slots, capacity included) | ${fmt(rn('commit_table_bytes_per_commit'))} B (${fmtBytes(rn('commit_table_bytes'))} for ${fmt(rn('model_commits'))} commits) | – | |`);
    w(`| grown during the commit phase alone | ${fmt(rn('commit_phase_bytes_per_commit'))} B per commit | – | |`);
    if (Number.isFinite(rn('phase.objects.bytes'))) w(`| grown during the objects phase (the object index) | ${fmtBytes(rn('phase.objects.bytes'))} = ${fmt(rn('phase.objects.bytes') / rn('phase.objects.ops'))} B per object (${fmt(rn('phase.objects.ops'))} objects) | – | |`);
    w(`| bench/replay.ts peak RSS | ${mib(rn('peak_rss_kib'))} | – | |`);
  } else {
    w(`| in-process replay and memory (\`bench/replay.ts\`) | ${model ? `**failed**${r.get('first_problem') ? `: ${r.get('problems')} problems, first ${r.get('first_problem')}` : ''}` : 'not run'} | ≤ 300 B/commit | ${model ? '**FAIL**' : 'not run'} |`);
  }
  w();
  const phaseNames = [...new Set([...r.keys()].map((k) => /^phase\.([^.]+)\./.exec(k)?.[1]).filter((x): x is string => !!x))];
  if (phaseNames.length) {
    w('In-process, per phase of the extract (phases in stream order; `auth` holds the first `check_auth_token` and the auth ops at the end;');
    w('memory after a forced GC at each phase change, the clock stopped meanwhile):');
    w();
    w('| phase | ops | seconds | ops/s | memory kept |');
    w('|---|---:|---:|---:|---:|');
    for (const ph of phaseNames) {
      w(`| ${ph} | ${fmt(rn(`phase.${ph}.ops`))} | ${rn(`phase.${ph}.seconds`).toFixed(2)} | ${fmt(rn(`phase.${ph}.ops_per_s`))} | ${r.has(`phase.${ph}.bytes`) ? fmtBytes(rn(`phase.${ph}.bytes`)) : '–'} |`);
    }
    w();
  }
  w('Commands (in the data directory; `generate-history` = `node dist/bench/history.js`, `pach-filter` = `node dist/bin/pach-filter.js`,');
  w('`replay-model` = `node --expose-gc dist/bench/replay.js`):');
  w();
  w('```');
  w(`generate-history --repos ${d.get('repos')} --commits ${d.get('commits')} --seed ${machine.get('seed')} > ${label}.raw`);
  for (const c of [cat, zstd, verify, model]) if (c) w(c.command);
  w('```');
  w();
}

// ---------------------------------------------------------------- targets

interface Verdict {
  target: string;
  measured: string;
  pass: boolean | undefined;
}
const verdicts: Verdict[] = [];
const target = (t: string, cs: Array<Case | undefined>, compute: (...cs: Case[]) => [string, boolean]): void => {
  const failed = cs.filter((c): c is Case => c !== undefined && !c.ok);
  if (failed.length) {
    // A case that ran and failed fails its target; only cases filtered out are "not run".
    verdicts.push({ target: t, measured: `case failed: ${failed.map((c) => c.name).join(', ')}`, pass: false });
    return;
  }
  if (!cs.every(measured)) {
    verdicts.push({ target: t, measured: `not run (${cs.map((c) => c?.name).filter(Boolean).join(', ') || 'cases filtered out'})`, pass: undefined });
    return;
  }
  const [m, pass] = compute(...(cs as Case[]));
  verdicts.push({ target: t, measured: m, pass });
};

const objLabel = [...datasets.keys()].find((k) => k.startsWith('objects-'))?.replace(/^objects-/, '') ?? '1GiB';
const metaLabel = [...datasets.keys()].find((k) => k.startsWith('meta-')) ?? 'meta-256MiB';
const streamLabel = [...datasets.keys()].find((k) => k.startsWith('stream-'))?.replace(/^stream-/, '') ?? '8GiB';
const get = (n: string): Case | undefined => byName.get(n);

target(`pass-through (native→native) ≥ 0.4 × cat|cat, objects ${objLabel}`, [get(`convert/native-native-${objLabel}`), get(`anchor/cat-cat-${objLabel}`)], (c, cat) => {
  const r = mbps(c) / mbps(cat);
  return [`${fmt(mbps(c))} MB/s = ${r.toFixed(2)} × ${fmt(mbps(cat))} MB/s`, r >= 0.4];
});
target(`pass-through (native→native) ≥ 1 M records/s, ${metaLabel}`, [get(`convert/native-native-${metaLabel}`)], (c) => {
  const r = records(c) / wall(c);
  return [`${fmt(r / 1e6, 2)} M records/s (${fmt(mbps(c))} MB/s)`, r >= 1e6];
});
for (const label of [objLabel, metaLabel]) {
  target(`pachctl decode (pachctl→native) ≥ 500 MB/s, ${label}`, [get(`convert/pachctl-native-${label}`)], (c) =>
    [`${fmt(streamMbps(c))} MB/s of decoded stream (${fmt(mbps(c))} MB/s of Snappy input)`, streamMbps(c) >= 500]);
}
for (const label of [objLabel, metaLabel]) {
  const ds = label === objLabel ? `objects-${objLabel}` : metaLabel;
  target(`native→json ≥ 2 × \`jq -c .\` on the same JSON, ${label}`, [get(`convert/native-json-${label}`), get(`anchor/jq-${label}`)], (c, jq) => {
    const jsonMbps = dsNum(ds, 'json') / 1e6 / wall(c);
    const r = jsonMbps / mbps(jq);
    return [`${fmt(jsonMbps)} MB/s of JSON written = ${r.toFixed(2)} × jq's ${fmt(mbps(jq))} MB/s`, r >= 2];
  });
}
for (const label of [objLabel, metaLabel]) {
  target(`json→native ≥ 100 MB/s, ${label}`, [get(`convert/json-native-${label}`)], (c) =>
    [`${fmt(mbps(c))} MB/s of JSON read (${fmt(records(c) / wall(c))} records/s)`, mbps(c) >= 100]);
}
{
  const cs = cases.filter((c) => c.name.startsWith('convert/') && c.name.endsWith(`-${objLabel}`));
  target(`peak RSS ≤ 128 MiB, every pach-convert case at ${objLabel}`, cs.length ? cs : [undefined], (...cs) => {
    const worst = cs.reduce((a, b) => (rssMiB(b) > rssMiB(a) ? b : a));
    return [`largest ${rssMiB(worst).toFixed(0)} MiB (${worst.name}); ${cs.map((c) => rssMiB(c).toFixed(0)).join(', ')}`, rssMiB(worst) <= 128];
  });
}
target(`peak RSS ≤ 128 MiB, pach-convert streaming ${streamLabel}`, [get(`stream/generate-convert-${streamLabel}`)], (c) =>
  [`${rssMiB(c).toFixed(0)} MiB`, rssMiB(c) <= 128]);

// Issue 4: op-version conversion against the pass-through of the same file, on the v1.x- data sets.
const vKeys = [...datasets.keys()];
const vObjSize = vKeys.map((k) => /^v\d+\.\d+-objects-(.+)$/.exec(k)?.[1]).find(Boolean) ?? objLabel;
const vMetaSize = vKeys.map((k) => /^v\d+\.\d+-(meta-.+)$/.exec(k)?.[1]).find(Boolean) ?? metaLabel;
for (const [from, to] of [['1.7', '1.13'], ['1.13', '1.9']] as const) {
  const conv = get(`version/${from}-to-${to}-${vObjSize}`);
  const pass = get(`version/pass-${from}-${vObjSize}`);
  target(`${from}→${to} ≥ 50 % of pass-through MB/s, objects ${vObjSize} (v${from})`, [conv, pass], (c, p) => {
    const r = mbps(c) / mbps(p);
    return [`${fmt(mbps(c))} MB/s = ${(r * 100).toFixed(0)} % of ${fmt(mbps(p))} MB/s`, r >= 0.5];
  });
}
for (const [from, to] of [['1.7', '1.13'], ['1.13', '1.9']] as const) {
  const pass = get(`version/pass-${from}-${vMetaSize}`);
  target(`${from}→${to} ≥ 150 k records/s, ${vMetaSize} (v${from})`, [get(`version/${from}-to-${to}-${vMetaSize}`)], (c) => {
    const r = records(c) / wall(c);
    const ref = measured(pass) ? `; pass-through ${fmt(records(pass!) / wall(pass!))} records/s, conversion ${((mbps(c) / mbps(pass!)) * 100).toFixed(0)} % of its MB/s` : '';
    return [`${fmt(r)} records/s (${fmt(mbps(c))} MB/s${ref})`, r >= 150e3];
  });
}
for (const [from, to] of [['1.7', '1.13'], ['1.13', '1.9']] as const) {
  for (const size of [vObjSize, vMetaSize]) {
    const pass = get(`version/pass-${from}-${size}`);
    target(`peak RSS ≤ 128 MiB, ${from}→${to} ${size === vObjSize ? `objects ${size}` : size} (v${from})`, [get(`version/${from}-to-${to}-${size}`)], (c) =>
      [`${rssMiB(c).toFixed(0)} MiB${measured(pass) ? ` (pass-through ${rssMiB(pass!).toFixed(0)} MiB)` : ''}`, rssMiB(c) <= 128]);
  }
}

// The replay model: throughput end to end, memory in-process (bench/replay.ts), on the consistent history.
for (const label of replayLabels.length ? replayLabels : ['replay-1M']) {
  const S = label.replace(/^replay-/, '');
  const r = replayFigures.get(label) ?? new Map<string, string>();
  const cat = get(`anchor/cat-replay-${S}`);
  target(`replay: \`pach-filter --verify\` ≥ 100 k ops/s, ${label}`, [get(`replay/verify-${S}`)], (c) => {
    const ops = records(c) / wall(c);
    const vsCat = measured(cat) ? `; ${(mbps(c) / mbps(cat!)).toFixed(3)} × cat's ${fmt(mbps(cat!))} MB/s` : '';
    const inProc = r.has('ops_per_s') ? `; in-process ${fmt(Number(r.get('ops_per_s')))} ops/s, commits ${fmt(Number(r.get('phase.commits.ops_per_s')))} ops/s` : '';
    return [`${fmt(ops)} ops/s (median ${wall(c).toFixed(2)} s, clean${vsCat}${inProc})`, ops >= 100e3];
  });
  target(`replay: model memory ≤ 300 B/commit, ${label}`, [get(`replay/model-${S}`)], () => {
    const b = Number(r.get('bytes_per_commit'));
    if (!r.has('bytes_per_commit') || !Number.isFinite(b)) return ['bench/replay.ts printed no bytes_per_commit', false];
    return [`${b.toFixed(0)} B/commit kept (CommitTable ${Number(r.get('commit_table_bytes_per_commit')).toFixed(0)} B/commit)`, b <= 300];
  });
}

// ---------------------------------------------------------------- gRPC (issue 6)

/** grpc.tsv (bench/grpc.sh): per case, the sandbox's peak RSS per run, the client's --summary JSON, the extract sandbox's load. */
const grpcFigures = new Map<string, Map<string, string[]>>();
for (const [name, key, ...v] of lines('grpc.tsv')) {
  if (!grpcFigures.has(name!)) grpcFigures.set(name!, new Map());
  const m = grpcFigures.get(name!)!;
  m.set(key!, [...(m.get(key!) ?? []), v.join('\t')]);
}
const grpcOf = (c: Case, key: string): string[] => grpcFigures.get(c.name)?.get(key) ?? [];
/** Bytes of block values in the case's data set (generate-history --blocks); NaN without blocks. */
const blockBytes = (c: Case): number => {
  const b = dsNum(c.dataset, 'block_bytes');
  return b > 0 ? b : NaN;
};
const objMbps = (c: Case): number => blockBytes(c) / 1e6 / wall(c);
const opsPerS = (c: Case): number => records(c) / wall(c);
const sandboxRssMiB = (c: Case): number => {
  const kib = grpcOf(c, 'sandbox_rss').map(Number).filter((x) => x > 0);
  return kib.length ? Math.max(...kib) / 1024 : NaN;
};
const grpcSummary = (c: Case): Record<string, unknown> | undefined => {
  const last = grpcOf(c, 'summary').at(-1);
  try {
    return last ? (JSON.parse(last) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};
const grpcWhats = ['objects', 'meta'] as const;
const grpcAnchor = (what: string): Case | undefined => get(`anchor/copy-grpc-${what}`);
const grpcTool = (name: string): string => (name.includes('/restore-') ? 'pach-restore' : 'pach-extract');
const grpcNames = grpcWhats.flatMap((what) => [`anchor/copy-grpc-${what}`, `grpc/restore-${what}`, `grpc/extract-${what}`]);
const grpcRan = grpcNames.map(get).filter((c): c is Case => c !== undefined);
const grpcObjDs = [...datasets.keys()].find((k) => k.startsWith('grpc-objects-')) ?? 'grpc-objects-1GiB';
const grpcMetaDs = [...datasets.keys()].find((k) => k.startsWith('grpc-meta-')) ?? 'grpc-meta-100k';

const grpcVerdictsFrom = verdicts.length;
/** "× copy": the case's speed over the file copy's on the same stream (same bytes, so the ratio of walls). */
const vsCopy = (c: Case, what: string): string => {
  const a = grpcAnchor(what);
  return measured(a) ? `${(wall(a!) / wall(c)).toFixed(3)} × the file copy` : 'file copy not run';
};
for (const dir of ['restore', 'extract'] as const) {
  const name = `grpc/${dir}-objects`;
  target(`gRPC: \`${grpcTool(name)}\` ≥ 100 MB/s of object data, ${grpcObjDs}`, [get(name)], (c) => {
    const v = objMbps(c);
    return [`${fmt(v)} MB/s (${fmtBytes(blockBytes(c))} of block values, median ${wall(c).toFixed(2)} s; ${vsCopy(c, 'objects')})`, v >= 100];
  });
}
for (const dir of ['restore', 'extract'] as const) {
  const name = `grpc/${dir}-meta`;
  target(`gRPC: \`${grpcTool(name)}\` ≥ 20 k ops/s, ${grpcMetaDs}`, [get(name)], (c) => {
    const v = opsPerS(c);
    return [`${fmt(v)} ops/s (${fmt(records(c))} ops, median ${wall(c).toFixed(2)} s; ${vsCopy(c, 'meta')})`, v >= 20e3];
  });
}
for (const what of grpcWhats) {
  for (const dir of ['restore', 'extract'] as const) {
    const name = `grpc/${dir}-${what}`;
    target(`gRPC: \`${grpcTool(name)}\` peak RSS ≤ 128 MiB, ${what === 'objects' ? grpcObjDs : grpcMetaDs}`, [get(name)], (c) =>
      [`${rssMiB(c).toFixed(0)} MiB (runs: ${c.rssKiB.map((k) => (k / 1024).toFixed(0)).join(', ')}; the sandbox: ${sandboxRssMiB(c).toFixed(0)} MiB)`, rssMiB(c) <= 128]);
  }
}

if (grpcRan.length) {
  const d = (label: string): Map<string, string> => datasets.get(label) ?? new Map<string, string>();
  w('## gRPC (pach-extract / pach-restore ↔ pachd-sandbox)');
  w();
  w('Extract and restore over loopback (issue 6) against `pachd-sandbox --pachd-version 1.12` (the replay model behind pachd\'s gRPC');
  w('calls; it checks every op as pachd would and keeps object data in its log file in TMPDIR), beside a plain file copy of the same stream');
  w('in the same run. Both data sets are consistent 1.12 histories from `bench/history.ts` (`generate-history`):');
  for (const label of [grpcObjDs, grpcMetaDs]) {
    if (!datasets.has(label)) continue;
    const gen = d(label).get('gen') ?? '';
    const detail = /records, \d+ bytes; (.*?); setup/.exec(gen)?.[1] ?? '';
    w(`- **${label}**: \`generate-history ${d(label).get('gen_args') ?? ''}\`: ${fmt(dsNum(label, 'records'))} records, ${fmtBytes(dsNum(label, 'raw'))} raw` +
      `${dsNum(label, 'block_bytes') > 0 ? `, of which ${fmtBytes(dsNum(label, 'block_bytes'))} block values` : ''}; ${detail}.`);
  }
  w();
  w('**restore** is `pach-restore FILE` into an empty sandbox (a fresh one per run, started and stopped outside the timed command);');
  w('**extract** is `pach-extract --to raw > /dev/null` from one sandbox that loaded the same file (`--load`, untimed). **MB/s of object');
  w('data** is the block values of the data set ÷ wall; **ops/s** is records ÷ wall (every record is one op); **× copy** is the copy\'s');
  w('wall ÷ the case\'s (the same bytes); **client RSS** is the peak of `pach-restore`/`pach-extract` (`/usr/bin/time`), **sandbox RSS** its');
  w('VmHWM read just before it was stopped (for extract, reset before every run: the peak while serving it). Median wall of');
  w(`${machine.get('runs')} runs, largest peaks. Targets (the issue): ≥ 100 MB/s of object data, ≥ 20 k ops/s, client RSS ≤ 128 MiB.`);
  w();
  w('| case | data set | wall s (median) | MB/s of object data | ops/s | MB/s of stream | × copy | client RSS MiB | sandbox RSS MiB | notes |');
  w('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const name of grpcNames) {
    const c = get(name);
    if (!c) continue;
    if (!measured(c)) {
      w(`| \`${name}\` | ${c.dataset} | **failed** | | | | | | | see the log of the run |`);
      continue;
    }
    const what = name.endsWith('-objects') ? 'objects' : 'meta';
    const a = grpcAnchor(what);
    const ratio = name.startsWith('anchor/') ? '1' : measured(a) ? (wall(a!) / wall(c)).toFixed(3) : '–';
    const notes: string[] = [];
    const sum = grpcSummary(c);
    if (name.includes('/restore-') && sum) notes.push(`${fmt(Number(sum['calls']))} Restore calls, ${fmt(Number(sum['records_out']))} records sent`);
    if (name.includes('/extract-')) {
      if (sum) notes.push(`${fmt(Number(sum['records_out']))} records, ${fmtBytes(Number(sum['bytes_out']))} out${Number(sum['records_out']) === records(c) && Number(sum['bytes_out']) === inputBytes(c) ? ' (= the stream)' : ' (**≠ the stream**)'}`);
      const load = grpcOf(c, 'load_seconds')[0];
      const loadRss = Number(grpcOf(c, 'load_rss')[0]);
      if (load) notes.push(`sandbox --load: ${load} s, ${(loadRss / 1024).toFixed(0)} MiB`);
      if (grpcOf(c, 'rss_reset').includes('no')) notes.push('sandbox peak not reset: includes the load');
    }
    w(`| \`${name}\` | ${c.dataset} | ${wall(c).toFixed(2)} | ${fmt(objMbps(c))} | ${fmt(opsPerS(c))} | ${fmt(mbps(c))} | ${ratio} | ${rssMiB(c).toFixed(0)} | ` +
      `${name.startsWith('anchor/') ? '–' : sandboxRssMiB(c).toFixed(0)} | ${notes.join('; ')} |`);
  }
  w();
  w('| target | measured | result |');
  w('|---|---|---|');
  for (const v of verdicts.slice(grpcVerdictsFrom)) w(`| ${v.target.replace(/^gRPC: /, '')} | ${v.measured} | ${v.pass === undefined ? 'not run' : v.pass ? 'PASS' : '**FAIL**'} |`);
  w();
  w('Commands (in the data directory; `generate-history` = `node dist/bench/history.js`, `pachd-sandbox`, `pach-restore`, `pach-extract` =');
  w('`node dist/bin/<tool>.js`; `PACH_TOKEN` is set, since the streams restore auth; `$GRPC_PORT` is the port the sandbox picked):');
  w();
  w('```');
  for (const label of [grpcObjDs, grpcMetaDs]) if (datasets.has(label)) w(`generate-history ${d(label).get('gen_args') ?? ''} > ${label}.raw`);
  w('pachd-sandbox --quiet --pachd-version 1.12 --port 0 --port-file grpc.port [--load FILE] &   # per restore run; once per extract case, with --load');
  for (const c of grpcRan) w(c.command);
  w('```');
  w();
}

// ---------------------------------------------------------------- filter (issue 7)

/** filter.tsv (bench/filter.sh): per filter case, the last run's --summary JSON; `config` select and rename. */
const filterFigures = new Map<string, Map<string, string>>();
for (const [name, key, ...v] of lines('filter.tsv')) {
  if (!filterFigures.has(name!)) filterFigures.set(name!, new Map());
  filterFigures.get(name!)!.set(key!, v.join('\t'));
}
interface FilterSummary {
  records_in?: number;
  bytes_in?: number;
  records_out?: number;
  bytes_out?: number;
  dropped?: Record<string, number>;
  changed?: Record<string, number>;
  warnings?: unknown[];
}
const filterSummary = (c: Case): FilterSummary | undefined => {
  const text = filterFigures.get(c.name)?.get('summary');
  try {
    return text ? (JSON.parse(text) as FilterSummary) : undefined;
  } catch {
    return undefined;
  }
};
const filterDs = [...datasets.keys()].find((k) => /^filter-\d/.test(k)) ?? 'filter-1GiB';
const filterStreamDs = [...datasets.keys()].find((k) => k.startsWith('filter-stream-')) ?? 'filter-stream-4GiB';
const FL = filterDs.replace(/^filter-/, '');
const FS = filterStreamDs.replace(/^filter-stream-/, '');
const filterNames = [`anchor/cat-filter-${FL}`, `anchor/zstd1-filter-${FL}`, `filter/pass-${FL}`, `filter/select-${FL}`, `filter/rename-${FL}`,
  `filter/keep-last-${FL}`, `filter/select-pipe-${FL}`, `stream/generate-cat-filter-${FS}`, `stream/filter-${FS}`];
const filterRan = filterNames.map(get).filter((c): c is Case => c !== undefined);
const filterVerdictsFrom = verdicts.length;
target(`filter: peak RSS ≤ 128 MiB, ${FS} generated stream filtered from a pipe with object pruning`, [get(`stream/filter-${FS}`)], (c) => {
  const sum = filterSummary(c);
  const kept = sum && sum.bytes_in ? `; kept ${((100 * (sum.bytes_out ?? 0)) / sum.bytes_in).toFixed(0)} % of the bytes, dropped ${fmt(Object.values(sum.dropped ?? {}).reduce((a, b) => a + b, 0))} records` : '';
  return [`${rssMiB(c).toFixed(0)} MiB (pach-filter alone; ${fmt(streamMbps(c))} MB/s of generated stream, median ${wall(c).toFixed(2)} s${kept})`, rssMiB(c) <= 128];
});

if (filterRan.length) {
  const cat = get(`anchor/cat-filter-${FL}`);
  const zstd = get(`anchor/zstd1-filter-${FL}`);
  const pass = get(`filter/pass-${FL}`);
  const genCat = get(`stream/generate-cat-filter-${FS}`);
  const cfg = filterFigures.get('config') ?? new Map<string, string>();
  const d = (label: string): Map<string, string> => datasets.get(label) ?? new Map<string, string>();
  w('## Filter (issue 7)');
  w();
  w('`pach-filter`\'s filter mode on consistent 1.12 histories whose commit trees are real hashtrees naming the file data');
  w('(`bench/history.ts --real-trees`: input commits hold DB trees of object-backed files, output and stats commits kv trees of');
  w('block_refs), so object pruning drops the data of what a run drops, beside the Unix anchors on the same file in the same run:');
  for (const label of [filterDs, filterStreamDs]) {
    if (!datasets.has(label)) continue;
    const gen = d(label).get('gen') ?? '';
    const detail = /records, \d+ bytes; (.*?); setup/.exec(gen)?.[1] ?? '';
    w(`- **${label}**: \`generate-history ${d(label).get('gen_args') ?? ''}\`${label === filterDs ? ', stored as native' : ', generated inside the pipeline'}: ` +
      `${fmt(dsNum(label, 'records'))} records, ${fmtBytes(dsNum(label, 'raw'))} raw${d(label).has('native') ? `, ${fmtBytes(dsNum(label, 'native'))} native` : ''}; ${detail}.`);
  }
  w();
  w(`**select** is \`--repo '${cfg.get('select') ?? '?'}'\` (with its dependency closure), **rename** \`--map-repo ${cfg.get('rename') ?? '?'}\`, **keep-last**`);
  w('`--keep-last 1`, **pass** no flag at all; **select-pipe** the select case fed by `cat FILE |`, so pach-filter spills the pipe to a');
  w('temporary file for its second pass. **MB/s** is over the bytes read (the native file; for the stream, the generated raw stream);');
  w('**× cat**, **× zstd -1** and **× pass** divide it by `cat FILE > /dev/null`, `zstd -1 -T1` and filter/pass on the same file');
  w('(for the stream: by `generate-history … | cat`, the generator\'s own pace). **kept** is what `--summary` counted: records and');
  w(`bytes out of those in. Peak RSS is pach-filter's (for the stream, its own \`/usr/bin/time\`). Median wall of ${machine.get('runs')} runs`);
  w(`(${machine.get('stream_runs')} for the stream), largest peak. Target (the issue): ≤ 128 MiB for the ${FS} stream from a pipe.`);
  w();
  w('| case | wall s (median) | MB/s | × cat | × zstd -1 | × pass | peak RSS MiB | records in → out | bytes kept | dropped | changed |');
  w('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  const ratio = (c: Case, a: Case | undefined): string => (measured(a) && a !== c ? (wall(a!) / wall(c)).toFixed(2) : '–');
  const perKind = (m: Record<string, number> | undefined): string => {
    const e = Object.entries(m ?? {}).filter(([, n]) => n > 0);
    return e.length ? e.map(([k, n]) => `${k} ${fmt(n)}`).join(', ') : 'none';
  };
  for (const c of filterRan) {
    if (!measured(c)) {
      w(`| \`${c.name}\` | **failed** | | | | | | | | | |`);
      continue;
    }
    const stream = c.name.startsWith('stream/');
    const sum = filterSummary(c);
    const isFilter = c.name.startsWith('filter/') || c.name.startsWith('stream/filter-');
    w(`| \`${c.name}\` | ${wall(c).toFixed(2)} | ${fmt(stream ? streamMbps(c) : mbps(c))} | ${stream ? ratio(c, genCat) : ratio(c, cat)} | ${stream ? '–' : ratio(c, zstd)} | ` +
      `${stream || !isFilter ? '–' : ratio(c, pass)} | ${rssMiB(c).toFixed(0)} | ` +
      `${sum ? `${fmt(sum.records_in ?? NaN)} → ${fmt(sum.records_out ?? NaN)}` : '–'} | ` +
      `${sum && sum.bytes_in ? `${((100 * (sum.bytes_out ?? 0)) / sum.bytes_in).toFixed(1)} % (${fmtBytes(sum.bytes_out ?? NaN)})` : '–'} | ` +
      `${sum ? perKind(sum.dropped) : '–'} | ${sum ? perKind(sum.changed) : '–'} |`);
  }
  w();
  const sel = get(`filter/select-${FL}`);
  const selPipe = get(`filter/select-pipe-${FL}`);
  if (measured(sel) && measured(selPipe)) {
    w(`The spill: the same selection from a pipe took ${wall(selPipe!).toFixed(2)} s against ${wall(sel!).toFixed(2)} s from the file ` +
      `(${(wall(selPipe!) / wall(sel!)).toFixed(2)} ×; peak RSS ${rssMiB(selPipe!).toFixed(0)} against ${rssMiB(sel!).toFixed(0)} MiB).`);
    w();
  }
  const warned = filterRan.filter((c) => (filterSummary(c)?.warnings ?? []).length > 0);
  if (warned.length) {
    w('Warnings in the summaries (a pruning that turned itself off says so here): ' +
      warned.map((c) => `\`${c.name}\`: ${JSON.stringify(filterSummary(c)!.warnings).replace(/\|/g, '\\|')}`).join('; '));
    w();
  }
  w('| target | measured | result |');
  w('|---|---|---|');
  for (const v of verdicts.slice(filterVerdictsFrom)) w(`| ${v.target.replace(/^filter: /, '')} | ${v.measured} | ${v.pass === undefined ? 'not run' : v.pass ? 'PASS' : '**FAIL**'} |`);
  w();
  w('Commands (in the data directory; `generate-history` = `node dist/bench/history.js`, `pach-filter`, `pach-convert` =');
  w('`node dist/bin/<tool>.js`):');
  w();
  w('```');
  if (datasets.has(filterDs)) w(`generate-history ${d(filterDs).get('gen_args') ?? ''} | pach-convert --quiet --from raw --to native -o ${filterDs}.native`);
  for (const c of filterRan) w(c.command);
  w('```');
  w();
}

const tally = (p: boolean | undefined): number => verdicts.filter((v) => v.pass === p).length;
out.splice(summaryAt, 0, '', `**Targets:** ${tally(true)} pass, ${tally(false)} fail${tally(undefined) ? `, ${tally(undefined)} not run` : ''} (see [Targets](#targets)).`);

w('## Targets');
w();
w('| target | measured | result |');
w('|---|---|---|');
const cell = (t: string): string => t.replace(/(?<!\\)\|/g, '\\|');
for (const v of verdicts) w(`| ${cell(v.target)} | ${cell(v.measured)} | ${v.pass === undefined ? 'not run' : v.pass ? 'pass' : '**FAIL**'} |`);
w();

w('## Commands');
w();
w('Each ran in the data directory with `pach-convert` = `node dist/bin/pach-convert.js`, `generate` = `node dist/bench/generate.js`,');
w('`pach-filter` = `node dist/bin/pach-filter.js`, `replay-model` = `node --expose-gc dist/bench/replay.js` and `pach-restore`,');
w('`pach-extract` = `node dist/bin/<tool>.js` (against a `pachd-sandbox` on `$GRPC_PORT`, see the gRPC section),');
w("as `/usr/bin/time -f '%e %M' bash -c 'set -euo pipefail; COMMAND'`.");
w();
w('```');
for (const c of cases) w(`${c.name.padEnd(36)} ${c.command}`);
w('```');
w();

w('## How to read');
w();
w('- **MB/s of input** counts the bytes the case reads: the native file for the anchors and native→*, the pachctl (Snappy) file,');
w('  the JSON file, the raw file; for `anchor/zstd-d` the compressed file; for `stream/` the generated raw stream. 1 MB = 10^6 bytes.');
w('- **stream MB/s** counts the raw framing of the same records instead, so cases on one data set compare directly whatever they read.');
w('- **× cat|cat** divides MB/s of input by `anchor/cat-cat` on the same data set (for `stream/`: by `generate | cat`). It is the');
w('  share of the plain pipe speed a filter keeps; pach-convert parses and re-frames every record, cat only copies.');
w('- **peak RSS** is the largest process of the case (pach-convert in every convert and version case; in `stream/generate-convert` it is');
w('  pach-convert alone, through its own `/usr/bin/time`). It is the streaming claim: it must not grow with the input.');
w(`- \`anchor/jq\` runs on the first ${machine.get('jq_slice') ?? '128MiB'} of the JSON view (whole lines), so its MB/s is comparable but its wall is not.`);
w('- Convert cases pipe into `cat > /dev/null`, like the `cat | cat` anchor, so both pay for one pipe.');
w('- **version/** cases (issue 4) read native files generated at another op version (`v1.7-…`, `v1.13-…`): `version/A-to-B-…`');
w('  is `pach-convert --to-version B`, `version/pass-A-…` the same command without `--to-version` on the same file, run just before it;');
w('  the percentage targets compare the two, never runs of different data sets. Records that every hop carries unchanged keep their');
w('  payload bytes (only the op envelope is rewritten); the others are decoded, mapped and re-encoded. Their stderr (`-v`: the counts');
w('  and the loss report) went to `version-A-to-B-….log`; a loss is expected, a non-zero exit fails the case. The generated streams are');
w('  not a consistent history: the 1.7 commits name tree objects the stream does not hold, so every 1.7 commit reports its');
w('  `commit.tree` as lost and the 1.7→1.8 tree rewrite has no tree to convert (the tree twins column shows whether it found any).');
w('- **replay/** cases run the replay model on a consistent history (`bench/history.ts`; `bench/generate.ts` streams are not histories,');
w('  the model would report nearly every op). `replay/verify` is `pach-filter --verify` as a user runs it (start-up, format detection,');
w('  reading, decoding, the model); it must exit 0. `replay/model` is `bench/replay.ts`, one run, in-process: its ops/s leave out start-up');
w('  and the reader, and its memory figure is the growth of heap + external (V8\'s `external` already holds the ArrayBuffers, so they are');
w('  not added twice) between a forced GC before the first record and one after the last, divided by the commit ops. Its peak RSS');
w('  includes the 16 MiB read buffer and the forced GCs\' timing; the figure for users is `replay/verify`\'s.');
w('- **grpc/** cases (issue 6) time the client only (`pach-restore FILE`, `pach-extract --to raw > /dev/null`) against a');
w('  `pachd-sandbox` on loopback, started untimed (restore: a fresh, empty one per run; extract: one per case, `--load` of the same');
w('  file). Their peak RSS above is the client\'s; the sandbox\'s is in the gRPC section (VmHWM from `/proc`). The sandbox replays');
w('  every op through the replay model and appends it to its log, so a restore measures both sides; the two share the 2 cores.');
w('  The streams are consistent histories (`bench/history.ts`; with `--blocks` for the object data): the sandbox refuses what');
w('  pachd would, so a `bench/generate.ts` stream is refused at its first pipeline. `anchor/copy-grpc-…` is `cat FILE > copy`.');
w('- **filter/** cases (issue 7) run `pach-filter` on a native file of a consistent history with real commit trees; it reads a');
w('  file twice (it decides what to keep before writing), and a pipe once plus its spill (`filter/select-pipe`, `stream/filter`).');
w('  `anchor/cat-filter-…` and `anchor/zstd1-filter-…` read the same file in the same run. Their kept/dropped counts are in the');
w('  Filter section (from `--summary`).');
w('- The box has 2 cores and is shared; a load average well above 0 at start or end means other work ran too. Compare cases of one run.');
w();

process.stdout.write(out.join('\n'));
