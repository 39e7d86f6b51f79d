/**
 * pachd-sandbox's gRPC server: pachd's own service and method names
 * (admin, versionpb, pfs, pps, auth) over a SandboxCluster. Anything it does
 * not serve answers UNIMPLEMENTED, as grpc-js does for a method without a
 * handler.
 *
 * Restore applies each op as it arrives, as pachd does: a refused op ends the
 * call with pachd's error text, and the ops before it stay applied. A stream
 * older than the cluster is converted up on the way in (lib/ops, the same
 * ladder as pach-convert); a newer one, or one mixing versions, is refused.
 *
 * Faults for tests: `failAfter` drops the Nth+1 restore request's call with
 * UNAVAILABLE (once), `delayMs` slows every call, `unavailableForS` answers
 * UNAVAILABLE to everything for the first seconds.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { envelopeOf, type OpRecord, type RecordStream } from '../codec/record.js';
import { PachError } from '../errors.js';
import { CHANNEL_OPTIONS } from '../grpc/client.js';
import { serviceDefinition, unwrapRestoreRequest } from '../grpc/services.js';
import { firstOf } from '../grpc/wait.js';
import { convertUpTo } from '../ops/ladder.js';
import type { OpVersion } from '../schema/registry.js';
import { Refusal, type ExtractFlags, type SandboxCluster } from './cluster.js';
import * as listing from './listing.js';

export interface Faults {
  /** Drop the restore call that carries request N+1 (counted over the server's life), once. */
  failAfter?: number;
  /** Milliseconds every call waits before it is served. */
  delayMs?: number;
  /** Seconds after start during which every call answers UNAVAILABLE. */
  unavailableForS?: number;
}

export interface ServerOptions {
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  faults?: Faults;
  /** A line for the operator (stderr). */
  say: (line: string) => void;
}

type Access = 'anyone' | 'user' | 'admin';
type Status = Partial<grpc.StatusObject> & { code: grpc.status };

/** The HTTP/2 receive window the sandbox advertises (per stream and per connection). */
const RECEIVE_WINDOW = 32 * 1024 * 1024;

const NO_TOKEN = 'no authentication token (try logging in)';

function status(code: grpc.status, details: string): Status {
  return { code, details, metadata: new grpc.Metadata() };
}

function tokenOf(md: grpc.Metadata): string | undefined {
  const v = md.get('authn-token')[0];
  return v === undefined ? undefined : String(v);
}

export class SandboxServer {
  private readonly server = new grpc.Server(CHANNEL_OPTIONS);
  private readonly started = Date.now();
  private restoreRequests = 0;
  private failFired = false;
  port = 0;

  constructor(
    readonly cluster: SandboxCluster,
    private readonly opts: ServerOptions,
  ) {
    const c = cluster;
    const unary =
      (method: string, access: Access, fn: (req: Record<string, unknown>, subject: string | undefined) => unknown) =>
      (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>): void => {
        void this.gate(call.metadata, method, access).then((g) => {
          if ('code' in g) return cb(g);
          try {
            const res = fn(call.request ?? {}, g.subject);
            if (res === undefined) return cb(status(grpc.status.NOT_FOUND, `${method}: not found`));
            cb(null, res);
          } catch (err) {
            cb(this.statusOf(err));
          }
        });
      };
    const streamOf =
      (method: string, access: Access, fn: (req: Record<string, unknown>) => unknown[]) =>
      (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>): void => {
        void this.gate(call.metadata, method, access).then(async (g) => {
          if ('code' in g) return void call.emit('error', g);
          for (const item of fn(call.request ?? {})) if (!call.write(item)) await once(call, 'drain');
          call.end();
        });
      };
    const name = (v: unknown): string => String((v as { name?: string } | undefined)?.name ?? '');
    const impl: Record<string, grpc.UntypedServiceImplementation> = {
      'versionpb.API': {
        GetVersion: unary('GetVersion', 'anyone', () => {
          const [major, minor, micro] = c.release.split('.').map(Number);
          return { major, minor, micro, additional: '-sandbox' };
        }),
      },
      'admin.API': {
        InspectCluster: unary('InspectCluster', 'anyone', () => ({ id: c.clusterId, deployment_id: c.deploymentId })),
        Extract: (call: grpc.ServerWritableStream<Record<string, unknown>, Buffer>) => void this.extract(call),
        ExtractPipeline: unary('ExtractPipeline', 'user', (req) => c.pipelineOp(name(req.pipeline))),
        Restore: (call: grpc.ServerReadableStream<Buffer, unknown>, cb: grpc.sendUnaryData<unknown>) => void this.restore(call, cb),
      },
      'auth.API': {
        WhoAmI: unary('WhoAmI', 'user', (_req, subject) => {
          if (!c.authActive) throw new Refusal('the auth service is not activated');
          return listing.whoAmI(c, subject ?? '');
        }),
      },
      'pfs.API': {
        ListRepo: unary('ListRepo', 'user', () => ({ repo_info: listing.listRepos(c) })),
        InspectRepo: unary('InspectRepo', 'user', (req) => listing.inspectRepo(c, name(req.repo))),
        ListBranch: unary('ListBranch', 'user', (req) => ({ branch_info: listing.listBranches(c, name(req.repo)) })),
        ListCommit: unary('ListCommit', 'user', (req) => ({ commit_info: listing.listCommits(c, commitQuery(req)) })),
        ListCommitStream: streamOf('ListCommitStream', 'user', (req) => listing.listCommits(c, commitQuery(req))),
        InspectCommit: unary('InspectCommit', 'user', (req) => {
          const commit = (req.commit ?? {}) as { repo?: { name?: string }; id?: string };
          return listing.inspectCommit(c, commit.repo?.name ?? '', commit.id ?? '');
        }),
      },
      'pps.API': {
        ListPipeline: unary('ListPipeline', 'user', () => ({ pipeline_info: listing.listPipelines(c) })),
        InspectPipeline: unary('InspectPipeline', 'user', (req) => listing.inspectPipeline(c, name(req.pipeline))),
        ListJob: unary('ListJob', 'user', (req) => ({ job_info: listing.listJobs(c, name(req.pipeline) || undefined) })),
        ListJobStream: streamOf('ListJobStream', 'user', (req) => listing.listJobs(c, name(req.pipeline) || undefined)),
      },
    };
    for (const [service, handlers] of Object.entries(impl)) {
      this.server.addService(serviceDefinition(service) as unknown as grpc.ServiceDefinition, handlers);
    }
  }

  /** Binds and starts; resolves with the port (useful with port 0). */
  async listen(): Promise<number> {
    const creds = this.opts.tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: this.opts.tls.cert, private_key: this.opts.tls.key }], false) : grpc.ServerCredentials.createInsecure();
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    // HTTP/2's default receive window is 64 KiB per stream and per connection: a Restore call
    // carrying 10 MiB block ops would wait for a window update every 64 KiB. grpc-js has no
    // server option for it, so its http2 settings and sessions are reached directly.
    const internals = this.server as unknown as { commonServerOptions?: { settings?: Record<string, number> }; http2Servers?: Map<NodeJS.EventEmitter, unknown> };
    if (internals.commonServerOptions) internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: RECEIVE_WINDOW };
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${host}:${this.opts.port}`, creds, (err, port) => (err ? reject(err) : resolve(port)));
    });
    for (const h2 of internals.http2Servers?.keys() ?? []) {
      h2.on('session', (session: { setLocalWindowSize?: (n: number) => void }) => session.setLocalWindowSize?.(RECEIVE_WINDOW));
    }
    return this.port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.cluster.close();
  }

  forceClose(): void {
    this.server.forceShutdown();
    this.cluster.close();
  }

  /** Faults, then auth: the caller's subject, or the status to answer with. */
  private async gate(md: grpc.Metadata, method: string, access: Access): Promise<{ subject?: string } | Status> {
    const f = this.opts.faults ?? {};
    if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    if (f.unavailableForS && Date.now() - this.started < f.unavailableForS * 1000) {
      return status(grpc.status.UNAVAILABLE, 'pachd-sandbox: not ready yet (--unavailable-for)');
    }
    const c = this.cluster;
    const token = tokenOf(md);
    const subject = c.subjectOf(token);
    if (access === 'anyone' || !c.authActive) return { subject };
    if (!token) return status(grpc.status.UNAUTHENTICATED, NO_TOKEN);
    if (!subject) return status(grpc.status.UNAUTHENTICATED, 'provided auth token is corrupted or has expired (try logging in again)');
    if (access === 'admin' && !c.isAdmin(subject)) {
      return status(grpc.status.PERMISSION_DENIED, `${subject} is not authorized to perform this operation; must be an admin to call ${method}`);
    }
    return { subject };
  }

  private statusOf(err: unknown): Status {
    if (err instanceof Refusal) {
      const code = err.kind === 'auth' ? grpc.status.UNAUTHENTICATED : grpc.status.UNKNOWN;
      return status(code, err.message);
    }
    if (err instanceof PachError) return status(grpc.status.INVALID_ARGUMENT, err.message);
    this.opts.say(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    return status(grpc.status.INTERNAL, `pachd-sandbox: ${(err as Error)?.message ?? String(err)}`);
  }

  private async extract(call: grpc.ServerWritableStream<Record<string, unknown>, Buffer>): Promise<void> {
    const g = await this.gate(call.metadata, 'Extract', 'admin');
    if ('code' in g) return void call.emit('error', g);
    const req = call.request as ExtractFlags & { URL?: string };
    if (req.URL) return void call.emit('error', status(grpc.status.UNIMPLEMENTED, 'pachd-sandbox does not extract to object storage (URL)'));
    let sent = 0;
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
    });
    try {
      for await (const op of this.cluster.extract(req)) {
        if (cancelled) break;
        sent++;
        if (!call.write(op)) {
          await firstOf(call, ['drain', 'cancelled', 'close']);
        }
      }
    } catch (err) {
      return void call.emit('error', this.statusOf(err));
    }
    if (cancelled || call.cancelled) {
      this.opts.say(`Extract cancelled by the client after ${sent} ops`);
      return;
    }
    call.end();
    this.opts.say(`Extract: ${sent} ops sent`);
  }

  private async restore(call: grpc.ServerReadableStream<Buffer, unknown>, cb: grpc.sendUnaryData<unknown>): Promise<void> {
    const queue = new RequestQueue(call);
    const drain = (): void => queue.drain();
    const g = await this.gate(call.metadata, 'Restore', 'admin');
    if ('code' in g) {
      drain();
      return cb(g);
    }
    const token = tokenOf(call.metadata) ?? '';
    const c = this.cluster;
    let applied = 0;
    let fault: Status | undefined;
    const faults = this.opts.faults ?? {};
    const self = this;
    let firstVersion: OpVersion | undefined;
    let index = 0;
    async function* incoming(): RecordStream {
      for await (const req of queue) {
        if (faults.failAfter !== undefined && !self.failFired && self.restoreRequests >= faults.failAfter) {
          self.failFired = true;
          fault = status(grpc.status.UNAVAILABLE, `pachd-sandbox: connection dropped after ${self.restoreRequests} restore requests (--fail-after)`);
          return;
        }
        self.restoreRequests++;
        const { op, url } = unwrapRestoreRequest(req);
        if (url) throw new Refusal('pachd-sandbox does not restore from object storage (URL)');
        if (!op) continue;
        const rec: OpRecord = { bytes: op, index: index++, offset: -1 };
        const version = envelopeOf(rec).version;
        firstVersion ??= version;
        if (version !== firstVersion) {
          throw new Refusal(`cannot mix different versions of pachd operation within a metadata dumps (found both ${firstVersion} and ${version})`, undefined, 'version');
        }
        yield [rec];
      }
    }
    try {
      let records: RecordStream = incoming();
      const it = records[Symbol.asyncIterator]();
      const first = await it.next();
      if (!first.done) {
        const v = firstVersion!;
        const all: RecordStream = (async function* () {
          yield first.value;
          for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
        })();
        const taken = convertUpTo(all, v, c.version);
        if (!taken) throw new Refusal(`unrecognized stream version: ${v} (this is pachd ${c.release})`, undefined, 'version');
        records = taken;
        for await (const batch of records) {
          for (const rec of batch) {
            c.apply(rec, token, undefined, v === c.version);
            applied++;
          }
        }
      }
      c.endCall();
      c.flush();
      drain();
      if (fault) {
        this.opts.say(`Restore: dropped the call after ${applied} ops (fault injection)`);
        return cb(fault);
      }
      this.opts.say(`Restore: ${applied} ops applied`);
      cb(null, {});
    } catch (err) {
      c.endCall();
      c.flush();
      drain();
      const s = this.statusOf(err);
      this.opts.say(`Restore: refused after ${applied} ops: ${s.details}`);
      cb(s);
    }
  }
}

/**
 * A client stream's requests as an async iterable that pauses the call when
 * it is ahead (backpressure) and, unlike a Readable's own iterator, never
 * destroys the call when the reader stops early: the call is then drained,
 * as pachd drains a restore it refused, and answered.
 */
class RequestQueue implements AsyncIterable<Buffer> {
  private readonly items: Buffer[] = [];
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private draining = false;

  constructor(private readonly call: grpc.ServerReadableStream<Buffer, unknown>) {
    call.on('data', (b: Buffer) => {
      if (this.draining) return;
      this.items.push(b);
      if (this.items.length >= 64) call.pause();
      this.notify();
    });
    call.on('end', () => {
      this.ended = true;
      this.notify();
    });
    call.on('error', (err) => {
      this.failure = err;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  drain(): void {
    this.draining = true;
    this.items.length = 0;
    this.call.resume();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const item = this.items.shift();
      if (item) {
        if (this.items.length < 16 && this.call.isPaused()) this.call.resume();
        yield item;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended || this.draining) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

function commitQuery(req: Record<string, unknown>): { repo: string; to?: string; number?: number; reverse?: boolean } {
  const repo = (req.repo ?? {}) as { name?: string };
  const to = (req.to ?? {}) as { id?: string };
  return { repo: repo.name ?? '', to: to.id || undefined, number: Number(req.number ?? 0), reverse: Boolean(req.reverse) };
}
