/**
 * Where pachd is and how to reach it: address, TLS roots and auth token, with
 * pachctl's precedence and address syntax, so a pach-* tool talks to the same
 * cluster `pachctl` would. This module only resolves settings; it opens no
 * connection and never logs. The token it returns must not appear in any
 * message, and no message built here contains it.
 *
 *   address  --pachd  >  PACHD_ADDRESS  >  active context  >  localhost:30650
 *   CA roots --ca     >  PACH_CA_CERTS  >  context server_cas (only for the context's own address)
 *   token    PACH_TOKEN  >  --token-file  >  active context session_token
 *
 * The config file is pachctl's: `PACH_CONFIG`, else `/pachctl/config.json` if it
 * exists, else `~/.pachyderm/config.json`. It is read only when the flags and
 * environment leave the address or the token open.
 */
import fs from 'node:fs';
import { isIPv6 } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PachError, usageError } from '../errors.js';

export interface TargetInput {
  /** The `--pachd` flag. An empty string is rejected rather than ignored. */
  pachd?: string;
  /** The `--tls` flag: force TLS whatever the address says. */
  tls?: boolean;
  /** `--ca FILE`: PEM CAs to trust. */
  ca?: string;
  /** `--token-file FILE`: the auth token, surrounding whitespace ignored. */
  tokenFile?: string;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Default `os.homedir()`. */
  home?: string;
}

export interface Target {
  host: string;
  port: number;
  /** `host:port` for grpc-js (IPv6 hosts in brackets). */
  address: string;
  tls: boolean;
  /** PEM bytes of the CAs to trust, when given (else system roots when tls). */
  rootCerts?: Buffer;
  /** The auth token, if any source gave one; NEVER logged. */
  token?: string;
  /** Where the address came from: 'flag' | 'PACHD_ADDRESS' | `context NAME` | 'default'. */
  source: string;
  /** Where the token came from: 'PACH_TOKEN' | 'token file' | `context NAME` | undefined. */
  tokenSource?: string;
  /** Qualified form without credentials for logs and headers: `grpcs://host:port`. */
  display: string;
  /** The config context the address came from. */
  contextName?: string;
  /** That context's cluster_deployment_id, if any. */
  deploymentId?: string;
}

/** pachd's NodePort (DefaultPachdNodePort); 650 is the in-cluster port. */
const DEFAULT_PACHD_PORT = 30650;

const SCHEMES: Record<string, boolean> = { grpc: false, http: false, grpcs: true, https: true };
const HOST_NAME = /^[A-Za-z0-9_.-]+$/;
// gRPC metadata values must be printable ASCII; grpc-js would otherwise throw
// an error quoting the value, token included.
const HEADER_VALUE = /^[\x20-\x7e]+$/;

/**
 * Parses a pachd address as pachctl does. Without `://` the address is taken as
 * `grpc://`. Schemes: grpc and http (plaintext), grpcs and https (TLS). The port
 * defaults to 30650; IPv6 hosts go in brackets (`[::1]:650`). User info, a
 * query, a fragment or a path other than `/` is a usage error (PACH_USAGE), as
 * is an unknown scheme, a missing host or a port outside 1–65535. Surrounding
 * whitespace is ignored.
 */
export function parseAddress(text: string): { host: string; port: number; tls: boolean } {
  const bad = (why: string): PachError => usageError(`bad pachd address "${redactUserInfo(text.trim())}": ${why}`);
  const trimmed = text.trim();
  if (trimmed === '') throw bad('empty');

  let scheme = 'grpc';
  let rest = trimmed;
  const sep = trimmed.indexOf('://');
  if (sep >= 0) {
    scheme = trimmed.slice(0, sep).toLowerCase();
    rest = trimmed.slice(sep + 3);
    if (!(scheme in SCHEMES)) throw bad(`unsupported scheme "${scheme}" (use grpc, grpcs, http or https)`);
  }

  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? '' : rest.slice(end);
  if (authority.includes('@')) throw bad('user info is not allowed');
  if (tail.includes('#')) throw bad('a fragment is not allowed');
  if (tail.includes('?')) throw bad('a query is not allowed');
  if (tail !== '' && tail !== '/') throw bad('a path is not allowed');

  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw bad('unclosed "["');
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw bad(`unexpected "${after}" after "]"`);
      portText = after.slice(1);
    }
    if (!isIPv6(host)) throw bad(`"${host}" is not an IPv6 address`);
  } else {
    const colon = authority.indexOf(':');
    if (colon >= 0 && authority.indexOf(':', colon + 1) >= 0) throw bad('an IPv6 host needs brackets, e.g. [::1]:30650');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    if (host === '') throw bad('no host');
    if (!HOST_NAME.test(host)) throw bad(`"${host}" is not a host name`);
  }

  let port = DEFAULT_PACHD_PORT;
  if (portText !== undefined) {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw bad(`bad port "${portText}"`);
  }
  return { host, port, tls: SCHEMES[scheme]! };
}

/**
 * Resolves where pachd is, whether to use TLS, which CAs to trust and which
 * token to send. Precedence is in the module comment. Any CA source, a grpcs or
 * https address, or `tls: true` means TLS. Errors are PachErrors: PACH_USAGE
 * (bad address), PACH_CONFIG (config file), PACH_CA and PACH_TOKEN_FILE
 * (unreadable files), PACH_TOKEN (a token unusable as a header).
 */
export function resolveTarget(input: TargetInput): Target {
  const env = input.env ?? process.env;
  const home = input.home ?? os.homedir();
  let config: ActiveContext | null | undefined;
  const active = (): ActiveContext | null => (config === undefined ? (config = readActiveContext(env, home)) : config);

  let where: { host: string; port: number; tls: boolean } | undefined;
  let source = 'default';
  let fromContext: ActiveContext | undefined;
  const envAddress = nonEmpty(env.PACHD_ADDRESS);
  if (input.pachd !== undefined) {
    where = parseAddress(input.pachd);
    source = 'flag';
  } else if (envAddress !== undefined) {
    where = retag(() => parseAddress(envAddress), (e) => usageError(`PACHD_ADDRESS: ${e.message}`));
    source = 'PACHD_ADDRESS';
  } else {
    const ctx = active();
    const addr = ctx && contextAddress(ctx);
    if (ctx && addr) {
      where = addr;
      source = `context ${ctx.name}`;
      fromContext = ctx;
    }
  }
  where ??= { host: 'localhost', port: DEFAULT_PACHD_PORT, tls: false };

  let rootCerts: Buffer | undefined;
  const envCAs = nonEmpty(env.PACH_CA_CERTS);
  if (input.ca !== undefined) rootCerts = readCAFile(input.ca);
  else if (envCAs !== undefined) rootCerts = readCAList(envCAs);
  else if (fromContext?.serverCAs !== undefined) rootCerts = fromContext.serverCAs;

  let token: string | undefined;
  let tokenSource: string | undefined;
  const envToken = nonEmpty(env.PACH_TOKEN?.trim());
  if (envToken !== undefined) {
    token = checkToken(envToken, 'PACH_TOKEN', 'PACH_TOKEN');
    tokenSource = 'PACH_TOKEN';
  } else if (input.tokenFile !== undefined) {
    token = checkToken(readTokenFile(input.tokenFile), 'PACH_TOKEN_FILE', `token file ${input.tokenFile}`);
    tokenSource = 'token file';
  } else {
    const ctx = active();
    if (ctx?.sessionToken !== undefined) {
      token = checkToken(ctx.sessionToken, 'PACH_CONFIG', `${ctx.path}: context "${ctx.name}": session_token`);
      tokenSource = `context ${ctx.name}`;
    }
  }

  const tls = where.tls || input.tls === true || rootCerts !== undefined;
  const hostPort = `${where.host.includes(':') ? `[${where.host}]` : where.host}:${where.port}`;
  const target: Target = {
    host: where.host,
    port: where.port,
    address: hostPort,
    tls,
    source,
    display: `${tls ? 'grpcs' : 'grpc'}://${hostPort}`,
  };
  if (rootCerts !== undefined) target.rootCerts = rootCerts;
  if (token !== undefined) {
    target.token = token;
    target.tokenSource = tokenSource;
  }
  if (fromContext) {
    target.contextName = fromContext.name;
    if (fromContext.deploymentId !== undefined) target.deploymentId = fromContext.deploymentId;
  }
  return target;
}

/** The parts of the active context this module uses, already validated. */
interface ActiveContext {
  name: string;
  path: string;
  pachdAddress?: string;
  forwardedPort?: number;
  serverCAs?: Buffer;
  sessionToken?: string;
  deploymentId?: string;
}

type Json = Record<string, unknown>;

/**
 * Reads pachctl's config and returns its active context (`PACH_CONTEXT` wins
 * over `active_context`), or null when there is none. A missing file behaves
 * like pachctl's fresh config: one empty context named "default".
 */
function readActiveContext(env: NodeJS.ProcessEnv, home: string): ActiveContext | null {
  const explicit = nonEmpty(env.PACH_CONFIG);
  const file = explicit ?? (fs.existsSync('/pachctl/config.json') ? '/pachctl/config.json' : path.join(home, '.pachyderm', 'config.json'));
  const configError = (message: string, exit: 'USAGE' | 'NO_INPUT' = 'USAGE'): PachError => new PachError('PACH_CONFIG', `${file}: ${message}`, exit);

  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw configError(`cannot read: ${reason(err)}`, 'NO_INPUT');
    if (explicit !== undefined) throw configError('PACH_CONFIG names a file that does not exist');
  }

  const wanted = nonEmpty(env.PACH_CONTEXT);
  if (text === undefined) {
    if (wanted === undefined || wanted === 'default') return null;
    throw configError(`PACH_CONTEXT names context "${wanted}", but there is no config file`);
  }

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw configError(`not valid JSON: ${jsonReason(err, text)}`);
  }
  if (!isObject(doc)) throw configError('not valid JSON: expected an object');

  let contexts: Json;
  let name: string | undefined;
  let prefix: string;
  if (doc.v2 !== undefined && doc.v2 !== null) {
    const v2 = expectObject(doc.v2, 'v2', configError);
    contexts = v2.contexts === undefined || v2.contexts === null ? {} : expectObject(v2.contexts, 'v2.contexts', configError);
    name = wanted ?? nonEmpty(expectString(v2.active_context, 'v2.active_context', configError));
    prefix = 'v2.contexts.';
  } else if (doc.v1 !== undefined && doc.v1 !== null) {
    contexts = { default: expectObject(doc.v1, 'v1', configError) };
    name = wanted ?? 'default';
    prefix = '';
  } else {
    contexts = {};
    name = wanted;
    prefix = 'v2.contexts.';
  }
  if (name === undefined) return null;
  if (!Object.hasOwn(contexts, name)) {
    const via = wanted !== undefined ? 'PACH_CONTEXT' : 'the active context';
    throw configError(`${via} names context "${name}", which is not in the file`);
  }

  const at = prefix === '' ? 'v1' : `${prefix}${name}`;
  const ctx = expectObject(contexts[name], at, configError);
  const out: ActiveContext = { name, path: file };
  const address = nonEmpty(expectString(ctx.pachd_address, `${at}.pachd_address`, configError));
  if (address !== undefined) out.pachdAddress = address;
  const token = nonEmpty(expectString(ctx.session_token, `${at}.session_token`, configError));
  if (token !== undefined) out.sessionToken = token;
  const deployment = nonEmpty(expectString(ctx.cluster_deployment_id, `${at}.cluster_deployment_id`, configError));
  if (deployment !== undefined) out.deploymentId = deployment;

  const cas = nonEmpty(expectString(ctx.server_cas, `${at}.server_cas`, configError));
  if (cas !== undefined) {
    const pem = Buffer.from(cas, 'base64');
    if (!/^[A-Za-z0-9+/=\s]+$/.test(cas) || !hasPEM(pem)) throw configError(`${at}.server_cas: not base64-encoded PEM certificates`);
    out.serverCAs = pem;
  }

  if (ctx.port_forwarders !== undefined && ctx.port_forwarders !== null) {
    const forwarders = expectObject(ctx.port_forwarders, `${at}.port_forwarders`, configError);
    const port = forwarders.pachd;
    if (port !== undefined && port !== null) {
      if (!(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)) {
        throw configError(`${at}.port_forwarders.pachd: not a port number`);
      }
      out.forwardedPort = port;
    }
  }
  return out;
}

/** The address a context gives: its pachd_address, else its pachd port-forward on localhost. */
function contextAddress(ctx: ActiveContext): { host: string; port: number; tls: boolean } | undefined {
  if (ctx.pachdAddress !== undefined) {
    const text = ctx.pachdAddress;
    return retag(
      () => parseAddress(text),
      (e) => new PachError('PACH_CONFIG', `${ctx.path}: context "${ctx.name}": ${e.message}`, 'USAGE'),
    );
  }
  if (ctx.forwardedPort !== undefined) return { host: 'localhost', port: ctx.forwardedPort, tls: false };
  return undefined;
}

function readCAFile(file: string): Buffer {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    throw new PachError('PACH_CA', `cannot read CA file ${file}: ${reason(err)}`, 'NO_INPUT');
  }
  if (!hasPEM(pem)) throw new PachError('PACH_CA', `CA file ${file}: no PEM certificate in it`, 'USAGE');
  return pem;
}

/**
 * `PACH_CA_CERTS`: comma-separated PEM files and directories. A directory
 * contributes its `*.pem` and `*.crt` files in name order. All are concatenated.
 */
function readCAList(list: string): Buffer {
  const parts: Buffer[] = [];
  for (const entry of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    let isDir: boolean;
    try {
      isDir = fs.statSync(entry).isDirectory();
    } catch (err) {
      throw new PachError('PACH_CA', `cannot read CA file ${entry}: ${reason(err)}`, 'NO_INPUT');
    }
    if (!isDir) {
      parts.push(readCAFile(entry));
      continue;
    }
    let names: string[];
    try {
      names = fs.readdirSync(entry).filter((n) => /\.(pem|crt)$/i.test(n)).sort();
    } catch (err) {
      throw new PachError('PACH_CA', `cannot read CA directory ${entry}: ${reason(err)}`, 'NO_INPUT');
    }
    if (names.length === 0) throw new PachError('PACH_CA', `CA directory ${entry}: no *.pem or *.crt files in it`, 'NO_INPUT');
    for (const n of names) parts.push(readCAFile(path.join(entry, n)));
  }
  if (parts.length === 0) throw new PachError('PACH_CA', 'PACH_CA_CERTS names no files', 'USAGE');
  // Keep certificates on separate lines when a file lacks its final newline.
  return Buffer.concat(parts.flatMap((p) => (p[p.length - 1] === 0x0a ? [p] : [p, Buffer.from('\n')])));
}

function readTokenFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new PachError('PACH_TOKEN_FILE', `cannot read token file ${file}: ${reason(err)}`, 'NO_INPUT');
  }
  if (text === '') throw new PachError('PACH_TOKEN_FILE', `token file ${file} is empty`, 'NO_INPUT');
  return text;
}

function checkToken(token: string, code: string, what: string): string {
  if (!HEADER_VALUE.test(token)) throw new PachError(code, `${what}: the token has characters a gRPC header cannot carry`, 'USAGE');
  return token;
}

function hasPEM(bytes: Buffer): boolean {
  return bytes.includes('-----BEGIN CERTIFICATE-----');
}

/** `grpc://user:pw@host` → `grpc://***@host`, so a rejected address never echoes a secret. */
function redactUserInfo(text: string): string {
  return text.replace(/^((?:[^:/?#]*:\/\/)?)[^/?#]*@/, '$1***@');
}

/**
 * A JSON.parse failure without the input: V8's messages can quote the text
 * around the error, which may hold a session token.
 */
function jsonReason(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (!at) return message.split(/[,'"]/)[0]!.trim() || 'syntax error';
  const before = text.slice(0, Number(at[2]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${at[1]} at line ${line} column ${column}`;
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.code ?? (e instanceof Error ? e.message : String(e));
}

function retag<T>(fn: () => T, wrap: (e: PachError) => PachError): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof PachError ? wrap(err) : err;
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function expectObject(v: unknown, at: string, fail: (m: string) => PachError): Json {
  if (!isObject(v)) throw fail(`${at}: expected an object`);
  return v;
}

function expectString(v: unknown, at: string, fail: (m: string) => PachError): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail(`${at}: expected a string`);
  return v;
}
