/**
 * bench/decompress.ts: how fast lib/codec/decompress.ts undoes zstd and gzip,
 * per engine, beside the CLI decoders as anchors, in one run.
 *
 * Compares, on one 256 MiB compressible stream (seeded, generated here: 90 %
 * NDJSON/CSV-like text with hex hashes, 10 % random bytes, in 1–64 KiB pieces;
 * zstd -3 ratio about 2.2), read from a file in 64 KiB chunks:
 *   read (no decompression)   node reading the uncompressed file: the I/O ceiling
 *   zstd -dc > /dev/null      the CLI anchor
 *   zstd engine=binary        decompress(): `zstd -dcq` child process
 *   zstd engine=wasm          decompress(): zstd-codec in-process
 *   gzip -dc > /dev/null      the CLI anchor for gzip
 *   gzip (node:zlib)          decompress(): createGunzip
 * Each measurement runs in a fresh node process (so peak RSS is per case),
 * three rounds with the cases interleaved; the table shows the median time as
 * MB/s of decompressed output (MB = 10^6 bytes) and the highest peak RSS of
 * the three (process.resourceUsage().maxRSS of the node process; for the CLI
 * rows, GNU time's %M of the decoder). The binary engine's zstd child is not
 * in its RSS figure: it adds what the anchor row shows. Compressed copies go
 * to a temporary directory that is deleted afterwards.
 *
 * Run:  npx tsc -p . && node dist/bench/decompress.js [--size 256MiB] [--rounds 3] [--seed 42]
 *
 * Measured 2026-11-25 on AMD EPYC (family 26, Zen 5), 2 vCPUs, Node v20.20.2,
 * zstd 1.5.4, gzip 1.12, Debian 12; 256 MiB → zstd -3 118.7 MiB, gzip -6 119.2 MiB.
 * The box was shared: load average 7–10 on its 2 cores during the runs, so the
 * absolute figures are low (DEPENDENCIES.md §2 saw the zstd CLI at 700 MB/s)
 * and the ratios are what to read. One run (load 7.1 → 8.1):
 *
 *   | case                    | MB/s | median s | peak RSS MiB |
 *   |---|---:|---:|---:|
 *   | read (no decompression) |  383 |    0.702 |           79 |
 *   | zstd -dc > /dev/null    |  449 |    0.597 |            6 |
 *   | zstd engine=binary      |  215 |    1.250 |           76 |
 *   | zstd engine=wasm        |  120 |    2.242 |           97 |
 *   | gzip -dc > /dev/null    |   87 |    3.087 |            2 |
 *   | gzip (node:zlib)        |  137 |    1.959 |           86 |
 *
 * A second run right after (load 10): 417, 489, 197, 113, 101, 108 MB/s, same RSS.
 *
 * How to read: the binary engine is 1.7–1.8× the wasm engine, because zstd
 * decodes on the other core while node only moves bytes; it reaches about
 * 45 % of the CLI anchor, the rest being node's pipe and stream overhead (node
 * alone reads the uncompressed file at only ~400 MB/s here; DEPENDENCIES.md §7).
 * The wasm engine is the fallback when no zstd executable is installed; its
 * wrapper costs little (zstd-codec's binding driven bare, with no streams or
 * scanner, measured 60–100 MB/s on the same box). gzip through
 * node:zlib is on par with or faster than `gzip -dc`. Memory is flat for every
 * engine: peak RSS stays within ~20 MiB of plain reading and does not grow with
 * the stream (the tests check a 512 MiB "bomb" too).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { decompress } from '../lib/codec/decompress.js';
import { prng } from '../test/helpers/prng.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const READ_CHUNK = 64 * KiB;

interface Measurement {
  seconds: number;
  bytes: number;
  rssMiB: number | undefined;
}

type CaseName = 'read' | 'zstd-cli' | 'zstd-binary' | 'zstd-wasm' | 'gzip-cli' | 'gzip-zlib';

const CASES: Array<{ name: CaseName; label: string; file: 'raw' | 'zst' | 'gz' }> = [
  { name: 'read', label: 'read (no decompression)', file: 'raw' },
  { name: 'zstd-cli', label: 'zstd -dc > /dev/null', file: 'zst' },
  { name: 'zstd-binary', label: 'zstd engine=binary', file: 'zst' },
  { name: 'zstd-wasm', label: 'zstd engine=wasm', file: 'zst' },
  { name: 'gzip-cli', label: 'gzip -dc > /dev/null', file: 'gz' },
  { name: 'gzip-zlib', label: 'gzip (node:zlib)', file: 'gz' },
];

// ------------------------------------------------------------ one measurement (child process)

async function measureInProcess(name: CaseName, file: string): Promise<void> {
  const input = fs.createReadStream(file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Uint8Array>;
  const started = process.hrtime.bigint();
  let bytes = 0;
  const source =
    name === 'read' ? input
    : name === 'gzip-zlib' ? decompress('gzip', input)
    : decompress('zstd', input, { engine: name === 'zstd-binary' ? 'binary' : 'wasm' });
  for await (const chunk of source) bytes += chunk.length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: Measurement = { seconds, bytes, rssMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(result));
}

// ------------------------------------------------------------ orchestration

const HAVE_TIME = fs.existsSync('/usr/bin/time');

function measureCli(tool: 'zstd' | 'gzip', file: string): Measurement {
  const devnull = fs.openSync('/dev/null', 'w');
  const rssFile = path.join(path.dirname(file), 'rss.txt');
  try {
    const [cmd, args] = HAVE_TIME ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, tool, '-dc', file]] : [tool, ['-dc', file]];
    const started = process.hrtime.bigint();
    const r = spawnSync(cmd as string, args as string[], { stdio: ['ignore', devnull, 'inherit'] });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) throw new Error(`${tool} -dc failed: ${r.status}`);
    const rssMiB = HAVE_TIME ? Number(fs.readFileSync(rssFile, 'utf8').trim()) / 1024 : undefined;
    return { seconds, bytes: NaN, rssMiB };
  } finally {
    fs.closeSync(devnull);
  }
}

function measureNode(name: CaseName, file: string): Measurement {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--case', name, '--file', file], { encoding: 'utf8', maxBuffer: MiB });
  if (r.status !== 0) throw new Error(`case ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Measurement;
}


/**
 * Writes `size` bytes: pieces of 1–64 KiB cut from a 24 MiB text pool (90 %)
 * or an 8 MiB random pool (10 %), at random offsets. The pools are larger than
 * zstd -3's window, so repeats are not free matches.
 */
function generate(file: string, size: number, seed: number): void {
  const rng = prng(seed);
  const words = ['commit', 'branch', 'master', 'pipeline', 'edges', 'images', 'finished', 'started', 'provenance', 'datum', 'tree', 'object', 'spec', 'job'];
  const text: string[] = [];
  let textSize = 0;
  while (textSize < 24 * MiB) {
    let hash = '';
    for (let k = 0; k < 8; k++) hash += Math.floor(rng() * 2 ** 32).toString(16).padStart(8, '0');
    const w = (): string => words[Math.floor(rng() * words.length)]!;
    const line =
      rng() < 0.5
        ? `{"repo":"${w()}","commit":"${hash}","size_bytes":${Math.floor(rng() * 1e9)},"state":"${w()}","branch":"${w()}-${Math.floor(rng() * 100)}"}\n`
        : `${Math.floor(rng() * 1e10)},${w()},${hash},${(rng() * 1000).toFixed(3)},${w()} ${w()} ${w()}\n`;
    text.push(line);
    textSize += line.length;
  }
  const textPool = Buffer.from(text.join(''));
  const randomPool = Buffer.alloc(8 * MiB);
  for (let i = 0; i < randomPool.length; i += 4) randomPool.writeUInt32LE(Math.floor(rng() * 2 ** 32), i);
  const fd = fs.openSync(file, 'w');
  try {
    let written = 0;
    let batch: Buffer[] = [];
    let batchSize = 0;
    while (written < size) {
      const pool = rng() < 0.1 ? randomPool : textPool;
      const n = Math.min(KiB + Math.floor(rng() * 63 * KiB), size - written);
      const at = Math.floor(rng() * (pool.length - n));
      batch.push(pool.subarray(at, at + n));
      batchSize += n;
      written += n;
      if (batchSize >= 4 * MiB || written === size) {
        fs.writevSync(fd, batch);
        batch = [];
        batchSize = 0;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

function parseSize(text: string): number {
  const m = /^(\d+)\s*(|B|KiB|MiB|GiB)$/i.exec(text);
  if (!m) throw new Error(`bad size ${text}`);
  const unit = { '': 1, b: 1, kib: KiB, mib: MiB, gib: 1024 * MiB }[m[2]!.toLowerCase()]!;
  return Number(m[1]) * unit;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function cliVersion(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).split('\n')[0]!.trim() : 'not installed';
}

async function main(argv: string[]): Promise<void> {
  const opt = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
  };
  const caseName = opt('case', '');
  if (caseName) return measureInProcess(caseName as CaseName, opt('file', ''));

  const size = parseSize(opt('size', '256MiB'));
  const rounds = Number(opt('rounds', '3'));
  const seed = Number(opt('seed', '42'));
  const haveZstd = spawnSync('zstd', ['--version']).status === 0;
  const haveGzip = spawnSync('gzip', ['--version']).status === 0;
  if (!haveZstd) {
    process.stderr.write('decompress bench: the zstd executable is needed to make the .zst copy and for the anchor\n');
    process.exitCode = 1;
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pach-bench-decompress-'));
  const cleanup = (): void => fs.rmSync(dir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const files = { raw: path.join(dir, 'stream.raw'), zst: path.join(dir, 'stream.raw.zst'), gz: path.join(dir, 'stream.raw.gz') };
    process.stderr.write(`decompress bench: generating ${size} bytes (seed ${seed}) in ${dir}\n`);
    generate(files.raw, size, seed);
    await new Promise<void>((resolve, reject) => {
      const z = spawn('zstd', ['-3', '-q', '-f', files.raw, '-o', files.zst], { stdio: 'inherit' });
      z.on('error', reject);
      z.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd -3 exited ${code}`))));
    });
    await pipeline(fs.createReadStream(files.raw), zlib.createGzip({ level: 6 }), fs.createWriteStream(files.gz));
    const sizeOf = (f: string): number => fs.statSync(f).size;

    const loadBefore = os.loadavg()[0]!.toFixed(1);
    const results = new Map<CaseName, Measurement[]>();
    const cases = CASES.filter((c) => c.name !== 'gzip-cli' || haveGzip);
    for (let r = 0; r < rounds; r++) {
      for (const c of cases) {
        const file = files[c.file];
        const m =
          c.name === 'zstd-cli' ? measureCli('zstd', file)
          : c.name === 'gzip-cli' ? measureCli('gzip', file)
          : measureNode(c.name, file);
        if (!Number.isNaN(m.bytes) && m.bytes !== size) throw new Error(`${c.name}: ${m.bytes} bytes out, expected ${size}`);
        results.set(c.name, [...(results.get(c.name) ?? []), m]);
        process.stderr.write(`round ${r + 1} ${c.label}: ${m.seconds.toFixed(3)} s\n`);
      }
    }

    const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
    const lines = [
      `decompress bench, ${new Date().toISOString().slice(0, 10)}, ${cpu} × ${os.cpus().length}, Node ${process.version}, ${cliVersion('zstd', ['--version'])}, ${cliVersion('gzip', ['--version'])}`,
      `${(size / MiB).toFixed(0)} MiB stream (seed ${seed}); zstd -3 → ${(sizeOf(files.zst) / MiB).toFixed(1)} MiB, gzip -6 → ${(sizeOf(files.gz) / MiB).toFixed(1)} MiB; median of ${rounds}, each in a fresh process; load average before ${loadBefore}, after ${os.loadavg()[0]!.toFixed(1)}`,
      '',
      '| case | MB/s | median s | peak RSS MiB |',
      '|---|---:|---:|---:|',
    ];
    for (const c of cases) {
      const ms = results.get(c.name)!;
      const secs = median(ms.map((m) => m.seconds));
      const rss = ms.map((m) => m.rssMiB).filter((x): x is number => x !== undefined);
      lines.push(`| ${c.label} | ${(size / 1e6 / secs).toFixed(0)} | ${secs.toFixed(3)} | ${rss.length ? Math.max(...rss).toFixed(0) : 'n/a'} |`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    cleanup();
  }
}

await main(process.argv.slice(2));
