/**
 * Where a restore may cut its stream into Restore calls. pachd only answers
 * a Restore call at its end, so a call is the unit of acknowledgement: the
 * journal advances one call at a time. A call never splits an object or block
 * group (pachd reads a group from one call). A call cut short leaves its
 * records in doubt; those pachd does not take twice (a job gets a new ID, a
 * token "cannot overwrite", auth "already activated") are looked for in the
 * target before they are sent again.
 */
import type { OpEnvelope } from '../codec/record.js';

/** Ops a second application would not leave as the first did. */
export const NOT_REPEATABLE = new Set(['job', 'restore_auth_token', 'activate_auth', 'activate_enterprise']);

export class BatchCutter {
  private inGroup = false;
  records = 0;
  bytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Takes the next record; returns true when the call may end after it. `payloadLength`:
   * object and block groups end with an op whose value is empty.
   */
  add(env: OpEnvelope, size: number, hasValue: boolean): boolean {
    this.records++;
    this.bytes += size;
    if (env.kind === 'object' || env.kind === 'block') {
      this.inGroup = hasValue;
      if (this.inGroup) return false;
    }
    return this.records >= this.maxRecords || this.bytes >= this.maxBytes;
  }

  reset(): void {
    this.records = 0;
    this.bytes = 0;
  }

  get open(): boolean {
    return this.inGroup;
  }
}
