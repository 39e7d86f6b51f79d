/**
 * End to end on the wire: pach-extract and pach-restore against pachd-sandbox
 * processes behind TLS, against a port nobody answers on, and with a reader
 * that hangs up after 100 bytes. Exit codes, stderr and what the server saw.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { OpType } from '../../lib/schema/registry.js';
import { SORT_DUMP, joinRaw, lines, runShell, runTool, sh, tempDir } from '../helpers/run.js';
import { startSandbox } from '../helpers/sandbox.js';

const dir = tempDir(t);

/** A client tool's environment: no token, no CA, nothing from this machine's pachctl config. */
function client(extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: dir, PACH_TOKEN: '', PACH_CA_CERTS: '', PACHD_ADDRESS: '', PACH_CONTEXT: '', ...extra };
}

const hasOpenssl = spawnSync('bash', ['-c', 'command -v openssl']).status === 0;

/** A self-signed certificate for 127.0.0.1 and localhost, as `cert.pem`/`key.pem` under `name/`. */
function selfSigned(name: string): { cert: string; key: string } {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { cwd: d, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert: path.join(d, 'cert.pem'), key: path.join(d, 'key.pem') };
}

t.test('TLS: grpcs:// with the server\'s CA works; another CA or the system roots do not', { skip: hasOpenssl ? false : 'openssl not installed' }, async (t) => {
  const good = selfSigned('server');
  const other = selfSigned('other');
  const sb = await startSandbox(t, { version: '1.13', dir, args: ['--tls-cert', good.cert, '--tls-key', good.key] });
  const url = `grpcs://${sb.address}`;

  t.test('--ca with the server\'s certificate: the extract works, quietly', async (t) => {
    const r = await runTool('pach-extract', ['--pachd', url, '--ca', good.cert, '--to', 'json'], { env: client() });
    t.equal(r.code, 0, r.stderr);
    const objs = r.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    t.equal(objs[0]!.header.source.address, url, 'the header keeps the grpcs:// address');
    t.match(objs.at(-1), { trailer: { records: 1, counts: { repo: 1 } } }, 'the empty 1.13 cluster: its __spec__ repo');
    t.notMatch(r.stderr, /Warning/, 'no Node warning on stderr');
    t.equal(r.stderr, '', 'nothing on stderr');
  });

  t.test('PACH_CA_CERTS names the CA as well as --ca does', async (t) => {
    const r = await runTool('pach-extract', ['--pachd', url, '--to', 'json'], { env: client({ PACH_CA_CERTS: good.cert }) });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout.toString(), /"trailer":\{"records":1,/);
  });

  const refusals: Array<[string, string[], Record<string, string>]> = [
    ['another self-signed CA', ['--ca', other.cert], {}],
    ['the system roots (no CA given)', [], {}],
  ];
  for (const [label, args, env] of refusals) {
    t.test(`${label}: exit 69, one line about the certificate`, async (t) => {
      const r = await runTool('pach-extract', ['--pachd', url, ...args, '--to', 'json', '--connect-timeout', '5'], { env: client(env) });
      t.equal(r.code, 69);
      t.equal(r.stdout.length, 0, 'nothing on stdout');
      t.notMatch(r.stderr, /Warning/, 'no Node warning on stderr');
      t.equal(lines(r.stderr).length, 1, `one line on stderr:\n${r.stderr}`);
      t.match(r.stderr, /^pach-extract: PACH_TLS: /m);
      t.match(r.stderr, /certificate/i);
      t.match(r.stderr, sb.address, 'names the address');
      t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  t.test('plaintext to the TLS port fails as unreachable, not as a hang', async (t) => {
    const started = Date.now();
    const r = await runTool('pach-extract', ['--pachd', sb.address, '--to', 'json', '--connect-timeout', '3'], { env: client() });
    t.equal(r.code, 69, r.stderr);
    t.ok(Date.now() - started < 10_000);
  });
});

/** A loopback port with nothing listening: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('an unreachable pachd: exit 69 within --connect-timeout, naming the address', async (t) => {
  const port = await closedPort();
  const address = `127.0.0.1:${port}`;
  const journal = path.join(dir, 'unreachable.journal.json');
  const runs = [
    ['pach-extract', ['--pachd', address, '--connect-timeout', '3', '--to', 'json']],
    ['pach-restore', ['--pachd', address, '--connect-timeout', '3', '--journal', journal, SORT_DUMP]],
    ['pach-restore', ['--dry-run', '--pachd', address, '--connect-timeout', '3', SORT_DUMP]],
  ] as const;
  // One at a time: the elapsed time is the tool's, not a queue for the CPU.
  for (const [tool, args] of runs) {
    const label = `${tool} ${args[0]}`;
    const started = Date.now();
    const r = await runTool(tool, [...args], { env: client() });
    const ms = Date.now() - started;
    t.equal(r.code, 69, `${label}: exit 69`);
    t.ok(ms < 10_000, `${label}: gave up after ${ms} ms`);
    t.equal(lines(r.stderr).length, 1, r.stderr);
    t.match(r.stderr, new RegExp(`^${tool}: PACH_UNREACHABLE: `));
    t.match(r.stderr, `grpc://${address}`, `${label}: names the address`);
  }
  t.notOk(fs.existsSync(journal), 'the restore wrote no journal');
});

t.test('a pachd that accepts the connection but never answers: exit 69 once --connect-timeout passes', async (t) => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const started = Date.now();
  const r = await runTool('pach-extract', ['--pachd', address, '--connect-timeout', '3', '--to', 'json'], { env: client() });
  const ms = Date.now() - started;
  t.equal(r.code, 69, r.stderr);
  t.ok(ms >= 2500 && ms < 10_000, `waited about 3 s (${ms} ms)`);
  t.equal(lines(r.stderr).length, 1, r.stderr);
  t.match(r.stderr, `grpc://${address}`);
  t.ok(sockets.length > 0, 'it did connect');
});

/**
 * 64 block groups of 256 KiB (16 MiB): the sandbox cannot hand the whole
 * extract to the socket before the reader hangs up. The 1.11 dump is too
 * small for that (111 KB: pachd sends all 631 ops into the buffers at once).
 */
function bigBlockStream(): Buffer {
  const op = (o: object): Uint8Array => OpType.encode(OpType.fromObject({ op1_13: o })).finish();
  const records: Uint8Array[] = [];
  for (let i = 0; i < 64; i++) {
    records.push(op({ block: { block: { hash: `e2e-block-${i}` }, value: Buffer.alloc(256 * 1024, i).toString('base64') } }));
    records.push(op({ block: { block: { hash: `e2e-block-${i}` } } }));
  }
  return joinRaw(records);
}

t.test('pach-extract | head -c 100: exit 141, no stack trace, the server sees the call cancelled', async (t) => {
  const load = path.join(dir, 'blocks.raw');
  fs.writeFileSync(load, bigBlockStream());
  const sb = await startSandbox(t, { version: '1.13', load, dir });
  const err = path.join(dir, 'epipe.err');
  const r = await runShell(`${sh('pach-extract')} --pachd ${sb.address} 2>${err} | head -c 100 | wc -c; echo "\${PIPESTATUS[0]}" >&2`, { env: client() });
  t.equal(r.stdout.toString().trim(), '100', 'head got its 100 bytes');
  t.equal(lines(r.stderr).at(-1), '141', 'pach-extract exits 141');
  t.equal(fs.readFileSync(err, 'utf8'), '', 'pach-extract says nothing: no message, no stack trace');
  await sb.waitFor(/Extract cancelled by the client after \d+ ops/, 10_000);
  const sent = Number(/cancelled by the client after (\d+) ops/.exec(sb.stderr())![1]);
  t.ok(sent < 128, `the sandbox stopped after ${sent} of 128 ops`);

  // The sandbox is still serving: the same extract read to the end.
  const full = await runTool('pach-extract', ['--pachd', sb.address, '--no-objects', '--to', 'json'], { env: client() });
  t.equal(full.code, 0, full.stderr);
});
