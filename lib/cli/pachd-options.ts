/**
 * How the tools that talk to pachd (pach-extract, pach-restore) are told
 * where it is: the flags of DESIGN.md §5, resolved with pachctl's precedence
 * (lib/grpc/target.ts). The token is never a flag: PACH_TOKEN, --token-file
 * or the pachctl context's session token.
 */
import type { Argv } from 'yargs';
import { PachdClient } from '../grpc/client.js';
import { resolveTarget } from '../grpc/target.js';
import type { RunContext } from './run.js';

export interface PachdArgs {
  pachd?: string;
  tls: boolean;
  ca?: string;
  tokenFile?: string;
  connectTimeout: number;
  timeout: number;
}

export function pachdOptions<T>(y: Argv<T>): Argv<T & PachdArgs> {
  return y
    .option('pachd', { type: 'string', requiresArg: true, describe: 'pachd address: [grpc://|grpcs://]HOST[:PORT] (default: PACHD_ADDRESS, the pachctl context, localhost:30650)' })
    .option('tls', { type: 'boolean', default: false, describe: 'use TLS even for a grpc:// or bare address' })
    .option('ca', { type: 'string', requiresArg: true, describe: 'PEM file of the CA(s) to trust for TLS (default: PACH_CA_CERTS, the context\'s server_cas, the system roots)' })
    .option('token-file', { type: 'string', requiresArg: true, describe: 'read the auth token from FILE (default: PACH_TOKEN, the context\'s session token); never give a token in argv' })
    .option('connect-timeout', { type: 'number', default: 10, requiresArg: true, describe: 'seconds to wait for pachd to answer at all before exit 69' })
    .option('timeout', { type: 'number', default: 60, requiresArg: true, describe: 'deadline of every single-answer call, in seconds' }) as unknown as Argv<T & PachdArgs>;
}

/** Resolves the target and proves pachd answers (GetVersion); returns the client and pachd's version. */
export async function connectPachd(args: PachdArgs, ctx: RunContext): Promise<{ client: PachdClient; release: string }> {
  const target = resolveTarget({ pachd: args.pachd, tls: args.tls, ca: args.ca, tokenFile: args.tokenFile });
  const client = new PachdClient(target, { connectTimeoutMs: args.connectTimeout * 1000, callTimeoutMs: args.timeout * 1000 });
  ctx.onAbort(() => client.close());
  const v = await client.version();
  ctx.log.info(`pachd ${v.text} at ${target.display} (address from ${target.source}${target.tokenSource ? `, token from ${target.tokenSource}` : ', no token'})`);
  return { client, release: `${v.major}.${v.minor}.${v.micro}` };
}

/** The op version a pachd release extracts and restores natively (SEMANTICS.md §2.1). */
export function opVersionOfRelease(release: string): string {
  const [major, minor, micro] = release.split('.').map(Number);
  if (major !== 1 || minor === undefined) return '';
  if (minor <= 7) return '1.7';
  if (minor === 11 && (micro ?? 0) >= 1) return '1.12';
  return `1.${minor}`;
}
