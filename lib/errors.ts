/**
 * PachError: the one error type the suite throws on purpose. It carries a
 * stable upper-case code (users and tests match on it, never on wording), the
 * exit code it maps to, and where in the input it happened.
 */
import { EXIT, type ExitName } from './cli/exit-codes.js';

export interface Where {
  /** 0-based index of the record the problem is in (or would have been). */
  record?: number;
  /** Byte offset in the (decompressed) input where that record or frame starts. */
  offset?: number;
}

export class PachError extends Error {
  readonly code: string;
  readonly exit: ExitName;
  readonly where: Where;
  /** Name of the input the problem is in (`stdin`, a file), when there is one. */
  input?: string;

  constructor(code: string, message: string, exit: ExitName, where: Where = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PachError';
    this.code = code;
    this.exit = exit;
    this.where = where;
  }

  get exitCode(): number {
    return EXIT[this.exit];
  }

  /** `record 12 (byte 3456): CODE: message` — the location first, as ndjson-cli does. */
  describe(): string {
    const at: string[] = [];
    if (this.where.record !== undefined) at.push(`record ${this.where.record}`);
    if (this.where.offset !== undefined) {
      at.push(at.length ? `(byte ${this.where.offset})` : `byte ${this.where.offset}`);
    }
    const parts = [this.input, at.join(' ')].filter(Boolean);
    const prefix = parts.length ? `${parts.join(': ')}: ` : '';
    return `${prefix}${this.code}: ${this.message}`;
  }
}

/** A problem with the input's bytes: exit 65. */
export function dataError(code: string, message: string, where: Where = {}, cause?: unknown): PachError {
  return new PachError(code, message, 'DATA', where, cause);
}

/** A bad flag or operand: exit 2. */
export function usageError(message: string, cause?: unknown): PachError {
  return new PachError('PACH_USAGE', message, 'USAGE', {}, cause);
}
