/**
 * A pachd client on @grpc/grpc-js: one channel to the target `target.ts`
 * resolved, pachd's 20 MiB message limits both ways, keepalive, the auth
 * token as `authn-token` metadata on every call, deadlines on unary calls,
 * and every gRPC failure turned into a PachError with the suite's exit code
 * (69 unreachable, 75 worth retrying, 77 refused credentials).
 */
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/grpc-js';
import { PachError } from '../errors.js';
import { PATHS, serviceDefinition } from './services.js';
import type { Target } from './target.js';

/** pachd's grpcutil.MaxMsgSize, on both sides, at every 1.x release. */
const MAX_MESSAGE_BYTES = 20 * 1024 * 1024;

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // grpc-js's transparent retries keep every sent message until the call ends (a per-message cost
  // on a Restore stream); pach-restore retries itself, from its journal.
  'grpc.enable_retries': 0,
  // A receive window of a few messages instead of HTTP/2's 64 KiB: Extract's data flows without
  // waiting for a window update every 64 KiB (flow control still bounds what is buffered).
  'grpc-node.flow_control_window': 8 * 1024 * 1024,
};

export interface ClientOptions {
  /** How long the first call may take to reach pachd (ms): past it, pachd is unreachable (exit 69). */
  connectTimeoutMs?: number;
  /** Deadline of every unary call (ms). */
  callTimeoutMs?: number;
}

type Def = MethodDefinition<unknown, unknown>;

const DEFS = new Map<string, Def>();
function def(path: string): Def {
  if (!DEFS.size) {
    for (const name of ['admin.API', 'versionpb.API', 'pfs.API', 'pps.API', 'auth.API']) {
      for (const d of Object.values(serviceDefinition(name))) DEFS.set(d.path, d);
    }
  }
  const d = DEFS.get(path);
  if (!d) throw new Error(`no gRPC method ${path}`);
  return d;
}

/** Texts pachd uses when a call lacks or fails credentials (its auth errors travel as UNKNOWN). */
const AUTH_TEXT = /no authentication token|not authorized|not authenticated|token (?:is )?(?:invalid|expired)|bad token|invalid token/i;
const TLS_TEXT = /certificate|self[- ]signed|SSL|TLS|handshake|unable to verify/i;

/**
 * A gRPC failure as a PachError. `connecting`: no answer has come from pachd
 * yet, so UNAVAILABLE means unreachable (69) rather than gone mid-stream (75).
 */
function grpcFailure(err: grpc.ServiceError, what: string, target: Target, connecting: boolean): PachError {
  // grpc-js ends some details with an empty "Resolution note:".
  const details = (err.details || err.message || '').replace(/\s+/g, ' ').replace(/\s*Resolution note:\s*$/, '').trim();
  const at = target.display;
  const S = grpc.status;
  if (AUTH_TEXT.test(details) || err.code === S.UNAUTHENTICATED || err.code === S.PERMISSION_DENIED) {
    const hint = target.token ? '' : ' (no token was given: set PACH_TOKEN, --token-file, or log in with pachctl)';
    return new PachError('PACH_AUTH', `${what}: pachd at ${at} refused the credentials: ${details}${hint}`, 'NO_PERM');
  }
  switch (err.code) {
    case S.UNAVAILABLE:
      if (TLS_TEXT.test(details)) {
        return new PachError('PACH_TLS', `${what}: TLS with pachd at ${at} failed: ${details} (check --ca, PACH_CA_CERTS or the context's server_cas)`, 'UNAVAILABLE');
      }
      return connecting
        ? new PachError('PACH_UNREACHABLE', `${what}: pachd at ${at} is unreachable: ${details}`, 'UNAVAILABLE')
        : new PachError('PACH_PACHD_UNAVAILABLE', `${what}: pachd at ${at} went away: ${details}`, 'TEMPFAIL');
    case S.DEADLINE_EXCEEDED:
      return connecting
        ? new PachError('PACH_UNREACHABLE', `${what}: pachd at ${at} did not answer before the deadline`, 'UNAVAILABLE')
        : new PachError('PACH_DEADLINE', `${what}: pachd at ${at} did not answer before the deadline`, 'TEMPFAIL');
    case S.UNIMPLEMENTED:
      return new PachError('PACH_UNIMPLEMENTED', `${what}: pachd at ${at} does not serve this call: ${details}`, 'FAILURE');
    case S.RESOURCE_EXHAUSTED:
      return new PachError('PACH_TOO_BIG', `${what}: ${details} (pachd's limit is ${MAX_MESSAGE_BYTES} bytes per message)`, 'FAILURE');
    case S.CANCELLED:
      return new PachError('PACH_CANCELLED', `${what}: cancelled`, 'FAILURE');
    default:
      return new PachError('PACH_PACHD_ERROR', `${what}: pachd said: ${details}`, 'FAILURE');
  }
}

export class PachdClient {
  readonly target: Target;
  private readonly client: grpc.Client;
  private readonly callTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  /** True once any call has had an answer: later UNAVAILABLE means pachd went away (75), not unreachable (69). */
  reached = false;

  constructor(target: Target, opts: ClientOptions = {}) {
    this.target = target;
    this.callTimeoutMs = opts.callTimeoutMs ?? 60_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    const creds = target.tls ? grpc.credentials.createSsl(target.rootCerts ?? null) : grpc.credentials.createInsecure();
    this.client = new grpc.Client(target.address, creds, CHANNEL_OPTIONS);
  }

  /** The call metadata: the token under pachd's key, when there is one. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.target.token) md.set('authn-token', this.target.token);
    return md;
  }

  private fail(err: grpc.ServiceError, what: string): PachError {
    return grpcFailure(err, what, this.target, !this.reached);
  }

  /**
   * One unary call with a deadline. Until pachd has answered once, a pachd that is not there
   * yet (UNAVAILABLE, not a TLS failure) is asked again every 250 ms until the connect timeout:
   * a pachd that is starting up is waited for; past the timeout it is unreachable (69).
   */
  async unary<Res = Record<string, unknown>>(path: string, req: unknown, what = path): Promise<Res> {
    const d = def(path);
    const until = Date.now() + (this.reached ? this.callTimeoutMs : this.connectTimeoutMs);
    for (;;) {
      try {
        return await new Promise<Res>((resolve, reject) => {
          this.client.makeUnaryRequest(d.path, d.requestSerialize, d.responseDeserialize, req, this.metadata(), { deadline: until }, (err, res) => {
            if (err) return reject(err);
            this.reached = true;
            resolve(res as Res);
          });
        });
      } catch (err) {
        const e = err as grpc.ServiceError;
        const again = !this.reached && e.code === grpc.status.UNAVAILABLE && !TLS_TEXT.test(e.details ?? '') && Date.now() + 250 < until;
        if (!again) throw this.fail(e, what);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** A server-streaming call; its messages are read with `for await`. Errors come out as PachErrors via `failure`. */
  serverStream(path: string, req: unknown): grpc.ClientReadableStream<unknown> {
    const d = def(path);
    return this.client.makeServerStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, req, this.metadata(), {});
  }

  /** A client-streaming call; `done` settles with the reply or a PachError. */
  clientStream(path: string, what = path): { call: grpc.ClientWritableStream<unknown>; done: Promise<unknown> } {
    const d = def(path);
    let call!: grpc.ClientWritableStream<unknown>;
    const done = new Promise<unknown>((resolve, reject) => {
      call = this.client.makeClientStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, this.metadata(), {}, (err, res) => {
        if (err) return reject(this.fail(err, what));
        this.reached = true;
        resolve(res);
      });
    });
    return { call, done };
  }

  /** A failure of a streaming call as a PachError. */
  failure(err: unknown, what: string): PachError {
    if (err instanceof PachError) return err;
    if (err && typeof err === 'object' && 'code' in err && typeof (err as grpc.ServiceError).code === 'number') return this.fail(err as grpc.ServiceError, what);
    return new PachError('PACH_GRPC', `${what}: ${(err as Error)?.message ?? String(err)}`, 'FAILURE');
  }

  /** pachd's version, as `1.13.4` (also proves pachd is reachable). */
  async version(): Promise<{ major: number; minor: number; micro: number; additional: string; text: string }> {
    const v = await this.unary<{ major?: number; minor?: number; micro?: number; additional?: string }>(PATHS.getVersion, {}, 'GetVersion');
    const major = v.major ?? 0;
    const minor = v.minor ?? 0;
    const micro = v.micro ?? 0;
    const additional = v.additional ?? '';
    return { major, minor, micro, additional, text: `${major}.${minor}.${micro}${additional}` };
  }

  close(): void {
    this.client.close();
  }
}
