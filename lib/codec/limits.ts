/** Size limits shared by every framing. */

/** The largest record any framing accepts: 256 MiB (DESIGN.md §2). Checked before buffering. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** How many bytes detection looks at when a prefix is ambiguous. */
export const SNIFF_BYTES = 64 * 1024;

/** Size of the output buffers encoders fill before handing them on. */
export const OUTPUT_CHUNK_BYTES = 1024 * 1024;
