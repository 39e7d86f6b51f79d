/**
 * Reading pach-restore's journal in tests, and the SHA-256 it should hold:
 * that of the first n records, each as 8-byte little-endian length + bytes,
 * computed here from records the snappy package decoded (not our codec).
 */
import { createHash } from 'node:crypto';

export interface Journal {
  acked: number;
  acked_sha256: string;
  in_flight: number;
  complete: boolean;
  last_error?: string;
  target: { address: string; pachd_version: string; cluster_id: string };
}

export function prefixSha(records: Buffer[], n: number): string {
  const h = createHash('sha256');
  for (const r of records.slice(0, n)) {
    const len = Buffer.alloc(8);
    len.writeBigInt64LE(BigInt(r.length));
    h.update(len).update(r);
  }
  return h.digest('hex');
}
