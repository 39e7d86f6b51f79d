/**
 * The restore journal: which stream is being restored into which cluster,
 * and how many of its records pachd has acknowledged. It is rewritten
 * atomically (temporary file, rename) after every acknowledged call, so
 * whatever stops pach-restore — a dropped connection, SIGINT, a crash — the
 * journal on disk is whole and names a point to resume from. It is fsynced
 * when the restore stops (`durable`), not per call: a power loss mid-restore
 * can leave the journal of an earlier call, whose resume then sends more again.
 *
 * The stream is identified by the SHA-256 of its records up to that point
 * (each record as 8-byte little-endian length + bytes, whatever the framing
 * or compression it came in), so `--resume` can prove it is reading the same
 * stream before it sends anything.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PachError } from '../errors.js';

export interface JournalState {
  journal: 'pach-restore';
  journal_version: 1;
  /** The stream's name as the user gave it (file or stdin), for messages. */
  input: string;
  /** pachd as the user named it (no credentials), its release and cluster id. */
  target: { address: string; pachd_version: string; cluster_id: string };
  /** Records of the stream acknowledged by pachd: every record with index < acked is applied. */
  acked: number;
  /** SHA-256 of the records with index < acked. */
  acked_sha256: string;
  /** Records sent after `acked` in a call that did not finish: pachd may have applied some of them. */
  in_flight: number;
  /** True once the stream's last record was acknowledged. */
  complete: boolean;
  started: string;
  updated: string;
  /** What the last failure was, when there was one. */
  last_error?: string;
}

/** The default journal: one per target cluster, under the user's state directory (never the working directory). */
export function defaultJournalPath(clusterId: string): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'pach-migrate', `restore-${clusterId || 'unknown'}.journal.json`);
}

export function readJournal(file: string): JournalState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PachError('PACH_JOURNAL', `cannot read journal ${file}: ${(err as Error).message}`, 'NO_INPUT');
  }
  let j: JournalState;
  try {
    j = JSON.parse(text) as JournalState;
  } catch {
    throw new PachError('PACH_JOURNAL', `journal ${file} is not valid JSON (not written by pach-restore?)`, 'DATA');
  }
  if (j.journal !== 'pach-restore' || j.journal_version !== 1 || !Number.isInteger(j.acked) || typeof j.acked_sha256 !== 'string') {
    throw new PachError('PACH_JOURNAL', `${file} is not a pach-restore journal (version 1)`, 'DATA');
  }
  return j;
}

export function writeJournal(file: string, j: JournalState, durable = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(j, null, 2) + '\n');
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** The running SHA-256 of a stream's records, readable at any record boundary. */
export class RecordHash {
  private hash: Hash = createHash('sha256');
  private readonly len = Buffer.allocUnsafe(8);
  count = 0;

  add(bytes: Uint8Array): void {
    this.len.writeBigInt64LE(BigInt(bytes.length));
    this.hash.update(this.len);
    this.hash.update(bytes);
    this.count++;
  }

  /** The digest so far (the hash goes on). */
  peek(): string {
    return this.hash.copy().digest('hex');
  }
}
