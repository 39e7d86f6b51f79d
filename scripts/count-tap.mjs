// Counts test results from tap's saved TAP output (.tap/test-results) and
// prints the one line CI reads: "N passed, N failed". Every leaf assertion
// counts; a test file that failed without a failing assertion (a crash, a
// timeout, a bad plan) counts as one failure. Exit 1 if anything failed or
// nothing ran.
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
const failures = [];

/** Collects every assertion point of a parser and of its subtests. */
function track(parser, name, points) {
  parser.on('child', (child) => track(child, `${name} > ${child.name}`, points));
  parser.on('assert', (res) => points.push({ res, name }));
}

for (const f of files) {
  const points = [];
  const parser = new Parser({ bail: false });
  track(parser, path.relative(dir, f), points);
  const final = await new Promise((resolve) => {
    parser.on('complete', resolve);
    parser.end(fs.readFileSync(f));
  });
  let fileFailed = 0;
  for (const { res, name } of points) {
    // A point that closes a subtest carries the subtest's time; it is not a leaf.
    if (typeof res.time === 'number') continue;
    if (res.skip || res.todo) skipped++;
    else if (res.ok) passed++;
    else {
      fileFailed++;
      failures.push(`${name}: ${res.name}`);
    }
  }
  failed += fileFailed;
  if (!final.ok && fileFailed === 0) {
    failed++;
    failures.push(`${path.relative(dir, f)}: failed without a failing assertion (crash, timeout or plan)`);
  }
}
for (const f of failures.slice(0, 50)) console.log(`not ok: ${f}`);
const line = `${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
console.log(line);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
