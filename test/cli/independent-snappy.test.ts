/**
 * Our pachctl output read by an independent Snappy framing decoder: a
 * Python reader built on Debian's python3-snappy (raw block decoding) and
 * python3-crc32c (checksums), installed by .ci/run. python3-snappy's own
 * StreamDecompressor is not used: on Debian 12 it fails inside its CRC code
 * (SystemError: PY_SSIZE_T_CLEAN) whatever the input.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DUMPS, runTool, splitRaw, tempDir } from '../helpers/run.js';

const PYTHON = '/usr/bin/python3';
const READER = `
import sys, struct, snappy, crc32c
data = open(sys.argv[1], 'rb').read()
def masked(b):
    c = crc32c.crc32c(b)
    return (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xffffffff
assert data[:10] == b'\\xff\\x06\\x00\\x00sNaPpY', 'stream identifier'
pos, out = 10, bytearray()
while pos < len(data):
    typ = data[pos]; n = int.from_bytes(data[pos+1:pos+4], 'little'); body = data[pos+4:pos+4+n]; pos += 4 + n
    if typ in (0, 1):
        crc = struct.unpack('<I', body[:4])[0]
        chunk = snappy.uncompress(body[4:]) if typ == 0 else body[4:]
        assert masked(chunk) == crc, 'crc'
        out += chunk
    elif typ == 0xff or typ >= 0x80:
        continue
    else:
        raise SystemExit('bad chunk type %d' % typ)
sys.stdout.buffer.write(out)
`;

const available = spawnSync(PYTHON, ['-c', 'import snappy, crc32c']).status === 0;

t.test('python3-snappy reads our pachctl output and finds the same records', { skip: available ? false : 'python3-snappy/python3-crc32c not installed (.ci/run installs them)' }, async (t) => {
  const dir = tempDir(t);
  const script = path.join(dir, 'read.py');
  fs.writeFileSync(script, READER);
  for (const dump of DUMPS) {
    const native = await runTool('pach-convert', [dump.file]);
    const ours = await runTool('pach-convert', ['--to', 'pachctl'], { input: native.stdout });
    t.equal(ours.code, 0, ours.stderr);
    const file = path.join(dir, 'out.pachctl');
    fs.writeFileSync(file, ours.stdout);
    const py = spawnSync(PYTHON, [script, file], { maxBuffer: 1 << 30 });
    t.equal(py.status, 0, `${dump.name}: ${py.stderr?.toString()}`);
    const raw = await runTool('pach-convert', ['--to', 'raw', dump.file]);
    // Compare without printing records: the 1.11 dump holds secrets.
    const got = splitRaw(py.stdout);
    const want = splitRaw(raw.stdout);
    t.equal(got.length, want.length, `${dump.name}: same number of records`);
    t.ok(got.every((r, i) => r.equals(want[i]!)), `${dump.name}: records equal the input's`);
  }
});
