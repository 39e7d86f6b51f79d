/**
 * Which pachd wrote a stream, as far as its ops tell. The op slot names the
 * format generation, not the release: pachd 1.6 writes `Op1_7` ops whose
 * branch op is a SetBranchRequest (commit, branch name; no Branch message),
 * and its repo ops may carry the provenance field 1.7 removed; the 1.11.x
 * release branch writes `Op1_11` with the auth ops, where 1.11.0 has none;
 * pachd 1.11.1 and later tags and 1.12 write `Op1_12`.
 */
import { envelopeOf, type OpRecord } from '../codec/record.js';
import { walkFields } from '../codec/wire-check.js';
import type { OpVersion } from '../schema/registry.js';

const AUTH_KINDS = new Set(['set_acl', 'set_cluster_role_binding', 'set_auth_config', 'activate_auth', 'restore_auth_token', 'activate_enterprise', 'check_auth_token']);

/** The top-level field numbers present in `bytes[start, end)` (empty when it does not parse). */
function fieldNumbers(bytes: Uint8Array, start: number, end: number): Set<number> {
  const ids = new Set<number>();
  return walkFields(bytes, start, end, (id) => void ids.add(id)) ? ids : new Set();
}

/** Watches records go by and names the pachd release line that wrote them. */
export class WriterGuess {
  private version: OpVersion | undefined;
  private pachd16 = 0;
  private pachd17 = 0;
  private authOps = 0;

  observe(rec: OpRecord): void {
    const env = envelopeOf(rec);
    this.version ??= env.version;
    if (env.version === '1.7' && (env.kind === 'branch' || env.kind === 'repo')) {
      const ids = fieldNumbers(rec.bytes, env.payloadStart, env.payloadEnd);
      if (env.kind === 'branch') {
        // 1.7's CreateBranchRequest always names its Branch (#3); 1.6's SetBranchRequest has only #1 and #2.
        if (ids.has(3) || ids.has(4)) this.pachd17++;
        else if (ids.has(2)) this.pachd16++;
      } else if (ids.has(2)) {
        this.pachd16++; // CreateRepoRequest #2 provenance: 1.6 only
      }
    }
    if (env.version === '1.11' && AUTH_KINDS.has(env.kind)) this.authOps++;
  }

  /** A line for people, e.g. `pachd 1.6 (1.7 ops; 3 branch ops are SetBranchRequest)`; undefined before any record. */
  describe(): string | undefined {
    switch (this.version) {
      case undefined:
        return undefined;
      case '1.7':
        if (this.pachd16 && !this.pachd17) return `pachd 1.6 (1.7 ops; ${this.pachd16} ops in pachd 1.6's shape)`;
        if (this.pachd16) return `pachd 1.6 or 1.7 (1.7 ops; ${this.pachd16} ops in pachd 1.6's shape, ${this.pachd17} in 1.7's)`;
        return 'pachd 1.7 (or 1.6 with no branch ops)';
      case '1.11':
        return this.authOps ? `pachd 1.11.x, release branch (1.11 ops with ${this.authOps} auth ops)` : 'pachd 1.11.0 (1.11 ops)';
      case '1.12':
        return 'pachd 1.11.1 or later, or 1.12 (1.12 ops)';
      default:
        return `pachd ${this.version}`;
    }
  }
}
