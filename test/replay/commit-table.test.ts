/**
 * lib/replay/commit-table.ts: the commit columns and their index, against a
 * plain Map as the oracle, over random commits (hex and non-hex IDs, the same
 * ID in several repos, growth past every initial capacity).
 */
import fc from 'fast-check';
import t from 'tap';
import { CommitTable, FINISHED } from '../../lib/replay/commit-table.js';

const hexId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const oddId = fc.string({ minLength: 0, maxLength: 12 }).filter((s) => !/^[0-9a-f]{32}$/.test(s));

t.test('every commit added is found again by (repo, id), and nothing else is', async () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.oneof(hexId, hexId, oddId)), { maxLength: 3000 }), (entries) => {
      const table = new CommitTable();
      const oracle = new Map<string, number>();
      for (const [repo, id] of entries) {
        const key = `${repo}/${id}`;
        if (oracle.has(key)) continue;
        const parent = oracle.size ? table.size - 1 : -1;
        const c = table.add({ repo, id, parent, branch: repo, flags: FINISHED, origin: 0, size: id.length, started: NaN, finished: 1, provenance: parent >= 0 ? [[parent, repo]] : [] });
        oracle.set(key, c);
      }
      for (const [key, c] of oracle) {
        const slash = key.indexOf('/');
        const repo = Number(key.slice(0, slash));
        const id = key.slice(slash + 1);
        if (table.find(repo, id) !== c) return false;
        if (table.id(c) !== id || table.repoOf(c) !== repo || table.sizeBytes(c) !== id.length) return false;
        if (table.find(repo + 6, id) !== -1) return false;
        if (c > 0 && (table.provenanceOn(c, repo) !== c - 1 || table.depth(c) !== c + 1)) return false;
      }
      return table.size === oracle.size;
    }),
    { numRuns: 40 },
  );
});

t.test('the index keeps finding commits as it grows to a million', async (t) => {
  const table = new CommitTable();
  for (let i = 0; i < 1_000_000; i++) {
    const id = i.toString(16).padStart(32, '0');
    table.add({ repo: i % 1000, id, parent: i >= 1000 ? i - 1000 : -1, branch: i % 1000, flags: FINISHED, origin: 0, size: 1, started: 1, finished: 2, provenance: [] });
  }
  t.equal(table.find(999, (999_999).toString(16).padStart(32, '0')), 999_999);
  t.equal(table.find(0, (1_000_000).toString(16).padStart(32, '0')), -1);
  t.equal(table.depth(999_999), 1000, 'depth follows the parent chain');
});
