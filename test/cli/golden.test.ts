/**
 * Golden files: the JSON view of each real dump converted to each version,
 * as `pach-convert --to-version V --to json` writes it, in test/golden/.
 * They were read by hand once (pipeline inputs, salt, spec commits, commit
 * origin, the rewritten 1.7 trees) and change only through `make golden`,
 * which reruns the same commands and rewrites them (PACH_UPDATE_GOLDEN=1);
 * review the diff before committing it.
 *
 * To keep them readable and free of secrets, three things are shortened the
 * same way on both sides: object and block values longer than 96 base64
 * characters become `<N bytes sha256:…>`, secret strings (activation code,
 * tokens, client secrets) become `<redacted sha256:…>` (the first 8 hex of
 * their hash), and the header keeps only what does not change between runs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { AUTH_DUMP, ROOT, SORT_DUMP, runTool } from '../helpers/run.js';

const GOLDEN = path.join(ROOT, 'test', 'golden');
const UPDATE = process.env.PACH_UPDATE_GOLDEN === '1';

const CASES: Array<[string, string, string]> = [
  ...['1.8', '1.9', '1.10', '1.11', '1.12', '1.13'].map((v): [string, string, string] => [`sort-1.7-to-${v}.ndjson`, SORT_DUMP, v]),
  ['auth-1.11-to-1.12.ndjson', AUTH_DUMP, '1.12'],
  ['auth-1.11-to-1.13.ndjson', AUTH_DUMP, '1.13'],
  ['auth-1.11-to-1.9.ndjson', AUTH_DUMP, '1.9'],
];

const SECRET = /^(activation_code|hashed_token|root_token|github_token|client_secret)$/;

function digest(s: string | Buffer): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

function shorten(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET.test(key)) return `<redacted sha256:${digest(value).slice(0, 8)}>`;
    if (key === 'value' && value.length > 96) {
      const bytes = Buffer.from(value, 'base64');
      return `<${bytes.length} bytes sha256:${digest(bytes).slice(0, 16)}>`;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => shorten(v, key));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v, k)]));
  return value;
}

/** The golden form of a JSON view. */
function goldenView(view: string): string {
  return view
    .trimEnd()
    .split('\n')
    .map((line) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o['header']) {
        const h = o['header'] as { op_version: string; history: Array<{ tool: string; args: string[] }> };
        return JSON.stringify({ header: { op_version: h.op_version, history: h.history.map((e) => ({ tool: e.tool, args: e.args })) } });
      }
      return JSON.stringify(shorten(o));
    })
    .join('\n') + '\n';
}

for (const [file, input, version] of CASES) {
  t.test(`golden ${file}`, async (t) => {
    const r = await runTool('pach-convert', ['--to-version', version, '--to', 'json', '-q', path.basename(input)], { cwd: path.dirname(input) });
    t.equal(r.code, 0, r.stderr);
    const got = goldenView(r.stdout.toString('utf8'));
    const target = path.join(GOLDEN, file);
    if (UPDATE) {
      fs.mkdirSync(GOLDEN, { recursive: true });
      fs.writeFileSync(target, got);
      t.pass(`wrote ${path.relative(ROOT, target)}`);
      return;
    }
    t.ok(fs.existsSync(target), `${file} exists (make golden writes it)`);
    const want = fs.readFileSync(target, 'utf8');
    if (got === want) return t.pass(`${file} is unchanged`);
    // Name the first line that differs rather than dumping both files.
    const a = got.split('\n');
    const b = want.split('\n');
    const i = a.findIndex((l, j) => l !== b[j]);
    t.fail(`${file} differs from line ${i + 1}: got ${a[i]?.slice(0, 300)} want ${b[i]?.slice(0, 300)} (run make golden and review the diff if the change is intended)`);
  });
}
