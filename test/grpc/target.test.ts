/**
 * lib/grpc/target.ts: pachctl's address syntax, and the precedence of flags,
 * environment and config file for the address, the TLS roots and the token.
 * Every case passes `env` and `home` explicitly, against temporary files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { PachError } from '../../lib/errors.js';
import { parseAddress, resolveTarget, type TargetInput } from '../../lib/grpc/target.js';

const TOKEN = 'tok-5ecret-c0ntext-9f1e';
const ENV_TOKEN = 'tok-env-77aa';
const FILE_TOKEN = 'tok-file-31bc';
const pem = (tag: string): string => `-----BEGIN CERTIFICATE-----\n${tag}\n-----END CERTIFICATE-----\n`;
// /pachctl/config.json outranks $HOME when it exists; cases that rely on $HOME skip then.
const systemConfig = fs.existsSync('/pachctl/config.json') ? { skip: '/pachctl/config.json exists on this machine' } : {};

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pach-target-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh directory for one case. */
function scratch(): string {
  return fs.mkdtempSync(path.join(root, `${n++}-`));
}

/** Writes `files` (name → content) under a fresh directory and returns it. */
function tree(files: Record<string, string | object>): string {
  const dir = scratch();
  for (const [name, body] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
  }
  return dir;
}

/** A config file holding `doc`, and the env naming it. */
function config(doc: object | string, env: NodeJS.ProcessEnv = {}): TargetInput {
  const dir = tree({ 'config.json': doc });
  return { env: { PACH_CONFIG: path.join(dir, 'config.json'), ...env }, home: scratch() };
}

function v2(contexts: Record<string, object>, active = 'prod'): object {
  return { user_id: 'u1', v2: { active_context: active, contexts, metrics: true } };
}

function caught(fn: () => unknown): PachError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PachError) return err;
    throw err;
  }
  throw new Error('expected a PachError');
}

t.test('parseAddress takes pachctl address syntax', async (t) => {
  const cases: Array<[string, string, number, boolean]> = [
    ['localhost', 'localhost', 30650, false],
    ['pachd.example.com:650', 'pachd.example.com', 650, false],
    ['10.0.0.7:30651', '10.0.0.7', 30651, false],
    ['grpc://pachd:1', 'pachd', 1, false],
    ['http://pachd:80', 'pachd', 80, false],
    ['grpcs://pachd', 'pachd', 30650, true],
    ['https://pachd:443', 'pachd', 443, true],
    ['GRPCS://Pachd:31400', 'Pachd', 31400, true],
    ['grpc://pachd:650/', 'pachd', 650, false],
    ['  pachd:650\n', 'pachd', 650, false],
    ['[::1]:650', '::1', 650, false],
    ['[::1]', '::1', 30650, false],
    ['grpcs://[fe80::1]:443/', 'fe80::1', 443, true],
    ['my_host-1.local:65535', 'my_host-1.local', 65535, false],
  ];
  for (const [text, host, port, tls] of cases) {
    t.same(parseAddress(text), { host, port, tls }, JSON.stringify(text));
  }
});

t.test('parseAddress rejects what pachctl rejects, as a usage error', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['grpc://pachd:650?x=1', /query/],
    ['pachd:650?', /query/],
    ['pachd:650#top', /fragment/],
    ['grpc://pachd:650/api', /path/],
    ['pachd/x', /path/],
    ['grpc://alice@pachd:650', /user info/],
    ['unix:///tmp/pachd.sock', /unsupported scheme "unix"/],
    ['dns:///pachd:650', /unsupported scheme/],
    ['://pachd', /unsupported scheme/],
    ['pachd:0', /bad port "0"/],
    ['pachd:65536', /bad port "65536"/],
    ['pachd:', /bad port ""/],
    ['pachd:http', /bad port "http"/],
    ['pachd:-1', /bad port/],
    ['pachd:1234567', /bad port/],
    ['::1', /brackets/],
    ['fe80::1:650', /brackets/],
    ['[::1', /unclosed/],
    ['[::1]650', /after "\]"/],
    ['[pachd]:650', /not an IPv6 address/],
    ['[::1]:', /bad port/],
    [':650', /no host/],
    ['grpc://', /no host/],
    ['pach d:650', /not a host name/],
    ['pach%64:650', /not a host name/],
  ];
  for (const [text, why] of cases) {
    const err = caught(() => parseAddress(text));
    t.equal(err.code, 'PACH_USAGE', JSON.stringify(text));
    t.equal(err.exit, 'USAGE');
    t.ok(err.message.startsWith(`bad pachd address "${text.trim().replace('alice@', '***@')}": `), err.message);
    t.match(err.message, why);
  }
});

t.test('a rejected address with user info does not echo the password', async (t) => {
  for (const text of ['grpc://alice:hunter2@pachd:650', 'alice:hunter2@pachd', 'https://:hunter2@pachd/x']) {
    const err = caught(() => parseAddress(text));
    t.notMatch(err.message, /hunter2|alice/);
    t.match(err.message, /\*\*\*@pachd/);
  }
});

t.test('with nothing configured the target is plaintext localhost:30650', systemConfig, async (t) => {
  const target = resolveTarget({ env: {}, home: scratch() });
  t.same(target, { host: 'localhost', port: 30650, address: 'localhost:30650', tls: false, source: 'default', display: 'grpc://localhost:30650' });
});

t.test('the address comes from --pachd, then PACHD_ADDRESS, then the context', async (t) => {
  const input = config(v2({ prod: { pachd_address: 'grpc://ctx-host:650', cluster_deployment_id: 'dep-1' } }), { PACHD_ADDRESS: 'env-host:651' });
  const flag = resolveTarget({ ...input, pachd: 'flag-host:652' });
  t.match(flag, { host: 'flag-host', port: 652, source: 'flag', address: 'flag-host:652' });
  t.equal(flag.contextName, undefined, 'the context is not named when it did not give the address');
  t.equal(flag.deploymentId, undefined);

  const env = resolveTarget(input);
  t.match(env, { host: 'env-host', port: 651, source: 'PACHD_ADDRESS' });

  const ctx = resolveTarget({ ...input, env: { ...input.env, PACHD_ADDRESS: '' } });
  t.match(ctx, { host: 'ctx-host', port: 650, source: 'context prod', contextName: 'prod', deploymentId: 'dep-1', display: 'grpc://ctx-host:650' });
});

t.test('a bad PACHD_ADDRESS is a usage error that names the variable', async (t) => {
  const err = caught(() => resolveTarget({ env: { PACHD_ADDRESS: 'pachd:99999' }, home: scratch() }));
  t.equal(err.code, 'PACH_USAGE');
  t.match(err.message, /^PACHD_ADDRESS: bad pachd address "pachd:99999": bad port/);
});

t.test('an empty --pachd is rejected rather than falling through', async (t) => {
  const err = caught(() => resolveTarget({ pachd: '', env: { PACHD_ADDRESS: 'env-host' }, home: scratch() }));
  t.equal(err.code, 'PACH_USAGE');
});

t.test('a context without pachd_address uses its pachd port-forward on localhost', async (t) => {
  const target = resolveTarget(config(v2({ prod: { port_forwarders: { pachd: 30652, console: 4000 } } })));
  t.match(target, { host: 'localhost', port: 30652, tls: false, source: 'context prod', contextName: 'prod' });
  const err = caught(() => resolveTarget(config(v2({ prod: { port_forwarders: { pachd: 'x' } } }))));
  t.equal(err.code, 'PACH_CONFIG');
});

t.test('a context with neither address nor port-forward leaves the default', async (t) => {
  const target = resolveTarget(config(v2({ prod: { session_token: TOKEN } })));
  t.match(target, { address: 'localhost:30650', source: 'default', token: TOKEN, tokenSource: 'context prod' });
  t.equal(target.contextName, undefined);
});

t.test('an unqualified context address and a grpcs one are both understood', async (t) => {
  t.match(resolveTarget(config(v2({ prod: { pachd_address: 'ctx-host' } }))), { port: 30650, tls: false, display: 'grpc://ctx-host:30650' });
  t.match(resolveTarget(config(v2({ prod: { pachd_address: 'grpcs://ctx-host:443' } }))), { tls: true, display: 'grpcs://ctx-host:443' });
  t.match(resolveTarget(config(v2({ prod: { pachd_address: '[::1]:650' } }))), { host: '::1', address: '[::1]:650', display: 'grpc://[::1]:650' });
});

t.test('a bad address in the context is a config error naming file and context', async (t) => {
  const input = config(v2({ prod: { pachd_address: 'grpc://ctx-host/api' } }));
  const err = caught(() => resolveTarget(input));
  t.equal(err.code, 'PACH_CONFIG');
  t.equal(err.exit, 'USAGE');
  t.ok(err.message.startsWith(`${input.env!.PACH_CONFIG}: context "prod": bad pachd address`), err.message);
});

t.test('PACH_CONFIG outranks $HOME/.pachyderm/config.json', systemConfig, async (t) => {
  const home = tree({ '.pachyderm/config.json': v2({ prod: { pachd_address: 'home-host' } }) });
  t.match(resolveTarget({ env: {}, home }), { host: 'home-host', source: 'context prod' });
  const other = tree({ 'c.json': v2({ prod: { pachd_address: 'explicit-host' } }) });
  t.match(resolveTarget({ env: { PACH_CONFIG: path.join(other, 'c.json') }, home }), { host: 'explicit-host' });
  t.match(resolveTarget({ env: { PACH_CONFIG: '' }, home }), { host: 'home-host' }, 'an empty PACH_CONFIG counts as unset');
});

t.test('a missing home config is no context, a missing PACH_CONFIG is an error', systemConfig, async (t) => {
  t.match(resolveTarget({ env: {}, home: scratch() }), { source: 'default' });
  const missing = path.join(scratch(), 'nope.json');
  const err = caught(() => resolveTarget({ env: { PACH_CONFIG: missing }, home: scratch() }));
  t.equal(err.code, 'PACH_CONFIG');
  t.equal(err.exit, 'USAGE');
  t.match(err.message, missing);
});

t.test('an unreadable config file is a config error', async (t) => {
  const dir = scratch();
  const err = caught(() => resolveTarget({ env: { PACH_CONFIG: dir }, home: scratch() }));
  t.equal(err.code, 'PACH_CONFIG');
  t.equal(err.exit, 'NO_INPUT');
});

t.test('config that is not JSON, or not the expected shape, is a config error', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['{"v2": ', /not valid JSON: Unexpected end of JSON input/],
    ['', /not valid JSON/],
    ['{"v2": {"active_context": "prod",\n "contexts": {"prod": {"pachd_address": "x" "y"}}}}', /not valid JSON: .* at line 2 column \d+/],
    ['[1]', /not valid JSON: expected an object/],
    [JSON.stringify({ v2: [] }), /v2: expected an object/],
    [JSON.stringify({ v2: { active_context: 'prod', contexts: { prod: { pachd_address: 7 } } } }), /v2\.contexts\.prod\.pachd_address: expected a string/],
    [JSON.stringify({ v2: { active_context: 'prod', contexts: { prod: 'x' } } }), /v2\.contexts\.prod: expected an object/],
  ];
  for (const [text, why] of bad) {
    const input = config(text);
    const err = caught(() => resolveTarget(input));
    t.equal(err.code, 'PACH_CONFIG', text);
    t.equal(err.exit, 'USAGE');
    t.ok(err.message.startsWith(`${input.env!.PACH_CONFIG}: `), err.message);
    t.match(err.message, why);
  }
});

t.test('PACH_CONTEXT picks a context other than the active one', async (t) => {
  const doc = v2({ prod: { pachd_address: 'prod-host' }, dev: { pachd_address: 'dev-host', session_token: TOKEN } });
  t.match(resolveTarget(config(doc)), { host: 'prod-host', contextName: 'prod' });
  t.match(resolveTarget(config(doc, { PACH_CONTEXT: 'dev' })), { host: 'dev-host', contextName: 'dev', source: 'context dev', tokenSource: 'context dev' });
  t.match(resolveTarget(config(v2({ dev: { pachd_address: 'dev-host' } }, ''), { PACH_CONTEXT: 'dev' })), { host: 'dev-host' }, 'also with no active context');
});

t.test('PACH_CONTEXT naming a context that does not exist is a config error', async (t) => {
  const err = caught(() => resolveTarget(config(v2({ prod: { pachd_address: 'prod-host' } }), { PACH_CONTEXT: 'staging' })));
  t.equal(err.code, 'PACH_CONFIG');
  t.equal(err.exit, 'USAGE');
  t.match(err.message, /PACH_CONTEXT names context "staging"/);

  const noFile = { env: { PACH_CONTEXT: 'staging' }, home: scratch() };
  if (!systemConfig.skip) {
    t.equal(caught(() => resolveTarget(noFile)).code, 'PACH_CONFIG', 'also when there is no config file');
    t.match(resolveTarget({ ...noFile, env: { PACH_CONTEXT: 'default' } }), { source: 'default' }, 'but "default" always exists, as in a fresh pachctl config');
  }
});

t.test('an active_context that is not in the file is a config error', async (t) => {
  const err = caught(() => resolveTarget(config(v2({ dev: {} }, 'prod'))));
  t.equal(err.code, 'PACH_CONFIG');
  t.match(err.message, /active context names context "prod"/);
});

t.test('a v2 config without an active context gives no context', async (t) => {
  t.match(resolveTarget(config({ v2: { contexts: { prod: { pachd_address: 'prod-host' } } } })), { source: 'default' });
  t.match(resolveTarget(config({ user_id: 'u' })), { source: 'default' });
});

t.test('a v1 config is the context "default"', async (t) => {
  const v1 = { v1: { pachd_address: 'grpcs://old-host:31400', session_token: TOKEN, server_cas: Buffer.from(pem('V1')).toString('base64') } };
  const target = resolveTarget(config(v1));
  t.match(target, { host: 'old-host', port: 31400, tls: true, source: 'context default', contextName: 'default', token: TOKEN, tokenSource: 'context default' });
  t.equal(target.rootCerts?.toString(), pem('V1'));
  t.match(resolveTarget(config(v1, { PACH_CONTEXT: 'default' })), { host: 'old-host' });
  t.equal(caught(() => resolveTarget(config(v1, { PACH_CONTEXT: 'other' }))).code, 'PACH_CONFIG');
  const both = { ...v1, ...v2({ prod: { pachd_address: 'new-host' } }) };
  t.match(resolveTarget(config(both)), { host: 'new-host' }, 'v2 wins when both are present');
});

t.test('server_cas is base64 PEM and implies TLS for the context address', async (t) => {
  const cas = Buffer.from(pem('CTX')).toString('base64');
  const input = config(v2({ prod: { pachd_address: 'grpc://ctx-host:650', server_cas: cas } }));
  const target = resolveTarget(input);
  t.equal(target.tls, true);
  t.equal(target.display, 'grpcs://ctx-host:650');
  t.ok(Buffer.isBuffer(target.rootCerts));
  t.equal(target.rootCerts!.toString(), pem('CTX'));

  const flag = resolveTarget({ ...input, pachd: 'other-host' });
  t.equal(flag.rootCerts, undefined, 'not sent to an address the context did not give');
  t.equal(flag.tls, false);

  for (const bad of ['!!!not base64', Buffer.from('plain text').toString('base64')]) {
    const err = caught(() => resolveTarget(config(v2({ prod: { pachd_address: 'ctx-host', server_cas: bad } }))));
    t.equal(err.code, 'PACH_CONFIG');
    t.match(err.message, /server_cas: not base64-encoded PEM/);
  }
});

t.test('--tls forces TLS with system roots', async (t) => {
  const target = resolveTarget({ pachd: 'grpc://pachd:650', tls: true, env: {}, home: scratch() });
  t.match(target, { tls: true, display: 'grpcs://pachd:650', address: 'pachd:650' });
  t.equal(target.rootCerts, undefined);
  t.equal(resolveTarget({ pachd: 'grpcs://pachd', tls: false, env: {}, home: scratch() }).tls, true, 'tls: false does not turn TLS off');
});

t.test('--ca outranks PACH_CA_CERTS, which outranks server_cas', async (t) => {
  const dir = tree({ 'flag.pem': pem('FLAG'), 'env.pem': pem('ENV') });
  const cas = Buffer.from(pem('CTX')).toString('base64');
  const input = config(v2({ prod: { pachd_address: 'ctx-host', server_cas: cas } }), { PACH_CA_CERTS: path.join(dir, 'env.pem') });
  const flag = resolveTarget({ ...input, ca: path.join(dir, 'flag.pem') });
  t.equal(flag.rootCerts!.toString(), pem('FLAG'));
  t.equal(flag.tls, true);
  t.equal(resolveTarget(input).rootCerts!.toString(), pem('ENV'));
  t.equal(resolveTarget({ ...input, env: { ...input.env, PACH_CA_CERTS: '' } }).rootCerts!.toString(), pem('CTX'));
  const plain = resolveTarget({ pachd: 'grpc://pachd', ca: path.join(dir, 'flag.pem'), env: {}, home: scratch() });
  t.match(plain, { tls: true, display: 'grpcs://pachd:30650' }, 'a CA implies TLS');
});

t.test('PACH_CA_CERTS concatenates files and directories of *.pem and *.crt', async (t) => {
  const dir = tree({ 'cas/b.crt': pem('B'), 'cas/a.pem': pem('A').trimEnd(), 'cas/notes.txt': 'ignored', 'cas/c.key': 'ignored', 'one.pem': pem('ONE') });
  const env = { PACH_CA_CERTS: `${path.join(dir, 'one.pem')}, ${path.join(dir, 'cas')},` };
  const target = resolveTarget({ pachd: 'pachd', env, home: scratch() });
  t.equal(target.rootCerts!.toString(), pem('ONE') + pem('A') + pem('B'));
  t.equal(target.tls, true);

  const empty = tree({ 'cas/readme': 'x' });
  const err = caught(() => resolveTarget({ pachd: 'pachd', env: { PACH_CA_CERTS: path.join(empty, 'cas') }, home: scratch() }));
  t.equal(err.code, 'PACH_CA');
  t.match(err.message, /no \*\.pem or \*\.crt files/);
});

t.test('a CA file that cannot be read is PACH_CA with exit NO_INPUT', async (t) => {
  const missing = path.join(scratch(), 'missing.pem');
  for (const input of [{ ca: missing }, { env: { PACH_CA_CERTS: missing } }]) {
    const err = caught(() => resolveTarget({ pachd: 'pachd', env: {}, home: scratch(), ...input }));
    t.equal(err.code, 'PACH_CA');
    t.equal(err.exit, 'NO_INPUT');
    t.equal(err.message, `cannot read CA file ${missing}: no such file`);
  }
  const notPem = tree({ 'x.pem': 'hello' });
  const err = caught(() => resolveTarget({ pachd: 'pachd', ca: path.join(notPem, 'x.pem'), env: {}, home: scratch() }));
  t.equal(err.code, 'PACH_CA');
  t.match(err.message, /no PEM certificate/);
});

t.test('the token comes from PACH_TOKEN, then --token-file, then the context', async (t) => {
  const files = tree({ token: `  ${FILE_TOKEN}\n` });
  const input = config(v2({ prod: { pachd_address: 'ctx-host', session_token: TOKEN } }), { PACH_TOKEN: ENV_TOKEN });
  const tokenFile = path.join(files, 'token');
  t.match(resolveTarget({ ...input, tokenFile }), { token: ENV_TOKEN, tokenSource: 'PACH_TOKEN' });
  const noEnv = { ...input, env: { ...input.env, PACH_TOKEN: '' } };
  t.match(resolveTarget({ ...noEnv, tokenFile }), { token: FILE_TOKEN, tokenSource: 'token file' });
  t.match(resolveTarget(noEnv), { token: TOKEN, tokenSource: 'context prod' });
  const none = resolveTarget({ pachd: 'pachd', env: {}, home: scratch() });
  t.notOk('token' in none);
  t.notOk('tokenSource' in none);
});

t.test('the context token is used with an address from elsewhere', async (t) => {
  const input = config(v2({ prod: { pachd_address: 'ctx-host', session_token: TOKEN } }));
  t.match(resolveTarget({ ...input, pachd: 'flag-host' }), { host: 'flag-host', source: 'flag', token: TOKEN, tokenSource: 'context prod' });
});

t.test('the config file is not read when flags and environment settle everything', async (t) => {
  const input = config('{ broken', { PACH_TOKEN: ENV_TOKEN });
  t.match(resolveTarget({ ...input, pachd: 'flag-host' }), { host: 'flag-host', token: ENV_TOKEN });
  t.equal(caught(() => resolveTarget({ ...input, pachd: 'flag-host', env: { ...input.env, PACH_TOKEN: '' } })).code, 'PACH_CONFIG');
});

t.test('a token file that cannot be read, or is empty, is PACH_TOKEN_FILE with exit NO_INPUT', async (t) => {
  const dir = tree({ blank: ' \n' });
  for (const [file, why] of [[path.join(dir, 'missing'), /cannot read token file .*missing: no such file/], [path.join(dir, 'blank'), /is empty/]] as const) {
    const err = caught(() => resolveTarget({ pachd: 'pachd', tokenFile: file, env: {}, home: scratch() }));
    t.equal(err.code, 'PACH_TOKEN_FILE');
    t.equal(err.exit, 'NO_INPUT');
    t.match(err.message, why);
  }
});

t.test('error messages never contain a token', async (t) => {
  const secret = `${TOKEN}\u0001`;
  const files = tree({ token: `${FILE_TOKEN}\nsecond-line` });
  const failures: Array<[string, () => unknown]> = [
    ['bad JSON after the token', () => resolveTarget(config(`{"v2": {"active_context": "prod", "contexts": {"prod": {"session_token": "${TOKEN}" "x"}}}}`))],
    ['bad JSON that V8 quotes', () => resolveTarget(config(`${TOKEN}`))],
    ['bad JSON with a trailing comma', () => resolveTarget(config(`{"v1": {"session_token": "${TOKEN}", }}`))],
    ['a token unfit for a header in the context', () => resolveTarget(config(v2({ prod: { session_token: secret } })))],
    ['a token unfit for a header in PACH_TOKEN', () => resolveTarget({ pachd: 'pachd', env: { PACH_TOKEN: `${ENV_TOKEN}\u0007x` }, home: scratch() })],
    ['a token unfit for a header in the file', () => resolveTarget({ pachd: 'pachd', tokenFile: path.join(files, 'token'), env: {}, home: scratch() })],
    ['a token of the wrong type', () => resolveTarget(config(v2({ prod: { session_token: [TOKEN] } })))],
    ['a bad address next to the token', () => resolveTarget({ ...config(v2({ prod: { pachd_address: 'x:0', session_token: TOKEN } })), env: { PACHD_ADDRESS: 'x:0', PACH_TOKEN: ENV_TOKEN } })],
    ['a bad context address next to the token', () => resolveTarget(config(v2({ prod: { pachd_address: 'x:0', session_token: TOKEN } })))],
    ['a missing CA with a token', () => resolveTarget({ ...config(v2({ prod: { session_token: TOKEN } })), ca: '/nonexistent/ca.pem' })],
    ['an unknown context with a token', () => resolveTarget(config(v2({ prod: { session_token: TOKEN } }), { PACH_CONTEXT: 'x', PACH_TOKEN: ENV_TOKEN }))],
  ];
  for (const [what, fn] of failures) {
    const err = caught(fn);
    const seen = [err.message, err.describe(), String(err.stack), String(err.cause ?? '')].join('\n');
    for (const token of [TOKEN, ENV_TOKEN, FILE_TOKEN]) t.notOk(seen.includes(token), `${what}: ${err.code}: ${err.message}`);
  }
  t.equal(caught(failures[3]![1]).code, 'PACH_CONFIG');
  t.equal(caught(failures[4]![1]).code, 'PACH_TOKEN');
  t.equal(caught(failures[5]![1]).code, 'PACH_TOKEN_FILE');
});

t.test('display and address never carry credentials', async (t) => {
  const target = resolveTarget({ ...config(v2({ prod: { pachd_address: 'grpcs://ctx-host', session_token: TOKEN } })) });
  t.equal(target.display, 'grpcs://ctx-host:30650');
  t.notOk(JSON.stringify({ ...target, token: undefined }).includes(TOKEN));
});
