/**
 * The loss ledger: every field a conversion could not carry, counted by hop
 * and field path, with the first record it happened in. It becomes the
 * stderr summary and the `--report` JSON; with `--strict` the first entry is
 * fatal instead (see ladder.ts).
 */
import { dataError } from '../errors.js';
import type { OpRecord } from '../codec/record.js';
import type { OpVersion } from '../schema/registry.js';

/** One kind of loss: a field path in one hop, for one reason. */
export interface LossEntry {
  /** `1.10→1.9`. */
  hop: string;
  /** Dotted field names from the op kind down, e.g. `pipeline.input.pfs.trigger`; a bare kind is a whole op. */
  path: string;
  reason: string;
  /** How many times (fields, or whole ops) it happened. */
  count: number;
  /** Index of the first input record it happened in. */
  first_record: number;
}

/** The `--report` document. */
export interface LossReport {
  from: string | null;
  to: string;
  records_in: number;
  records_out: number;
  /** Input records with at least one loss (a dropped op counts). */
  records_with_loss: number;
  losses: LossEntry[];
}

export class LossLedger {
  private readonly byKey = new Map<string, LossEntry>();
  private lastRecord = -1;
  private recordsHit = 0;

  /** Counts one loss; returns true when this is the first loss of its kind. */
  add(hop: string, path: string, reason: string, record: number): boolean {
    if (record !== this.lastRecord) {
      this.lastRecord = record;
      this.recordsHit++;
    }
    const key = `${hop}\0${path}\0${reason}`;
    const e = this.byKey.get(key);
    if (e) {
      e.count++;
      return false;
    }
    this.byKey.set(key, { hop, path, reason, count: 1, first_record: record });
    return true;
  }

  get empty(): boolean {
    return this.byKey.size === 0;
  }

  get recordsWithLoss(): number {
    return this.recordsHit;
  }

  /** Entries in the order they first happened. */
  entries(): LossEntry[] {
    return [...this.byKey.values()];
  }

  /** Human lines for stderr: a count, then one line per entry, most frequent first. */
  summaryLines(to: string): string[] {
    const list = this.entries().sort((a, b) => b.count - a.count || a.first_record - b.first_record);
    const lines = [`${this.recordsHit} record${this.recordsHit === 1 ? '' : 's'} lost something on the way to ${to}`];
    for (const e of list) lines.push(`lost ${e.path} ×${e.count} at ${e.hop} (first in record ${e.first_record}): ${e.reason}`);
    return lines;
  }
}

/** Where losses go during one conversion. */
export interface LossPolicy {
  to: OpVersion;
  ledger: LossLedger;
  /** Any loss is a data error (exit 65) instead of a ledger entry. */
  strict?: boolean;
}

/** Records a loss in `rec`, or throws it as PACH_LOSS under `strict`. */
export function loseOrThrow(policy: LossPolicy, hop: string, path: string, reason: string, rec: OpRecord): void {
  if (policy.strict) {
    throw dataError('PACH_LOSS', `${path} cannot be carried to ${policy.to} (${hop}): ${reason}; --strict refuses any loss`, {
      record: rec.index,
      offset: rec.offset >= 0 ? rec.offset : undefined,
    });
  }
  policy.ledger.add(hop, path, reason, rec.index);
}
