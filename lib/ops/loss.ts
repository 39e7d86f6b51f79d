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
  /** Which pachd release line wrote the input, as far as its ops tell (lib/ops/writer.ts). */
  written_by: string | null;
  to: string;
  records_in: number;
  records_out: number;
  /** Input records with at least one loss (a dropped op counts). */
  records_with_loss: number;
  losses: LossEntry[];
}

export class LossLedger {
  /** hop → path → reason → entry (nested maps: no string building per loss). */
  private readonly byKey = new Map<string, Map<string, Map<string, LossEntry>>>();
  private readonly order: LossEntry[] = [];
  /** One bit per input record index: records with loss, counted once whichever stage reported them. */
  private hit = new Uint8Array(1024);
  private recordsHit = 0;

  /** Counts one loss; returns true when this is the first loss of its kind. */
  add(hop: string, path: string, reason: string, record: number): boolean {
    const byte = record >>> 3;
    if (byte >= this.hit.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.hit.length * 2));
      grown.set(this.hit);
      this.hit = grown;
    }
    const bit = 1 << (record & 7);
    if (!(this.hit[byte]! & bit)) {
      this.hit[byte]! |= bit;
      this.recordsHit++;
    }
    let byPath = this.byKey.get(hop);
    if (!byPath) this.byKey.set(hop, (byPath = new Map()));
    let byReason = byPath.get(path);
    if (!byReason) byPath.set(path, (byReason = new Map()));
    const e = byReason.get(reason);
    if (e) {
      e.count++;
      return false;
    }
    const entry = { hop, path, reason, count: 1, first_record: record };
    byReason.set(reason, entry);
    this.order.push(entry);
    return true;
  }

  get empty(): boolean {
    return this.order.length === 0;
  }

  get recordsWithLoss(): number {
    return this.recordsHit;
  }

  /** Entries in the order they first happened. */
  entries(): LossEntry[] {
    return [...this.order];
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
