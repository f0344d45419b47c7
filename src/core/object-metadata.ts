/**
 * User metadata the archiver writes on each JSONL object (x-amz-meta-*; S3 lower-cases the names).
 * It turns the objects of a shard into a chain that `reservoir verify` can check (DESIGN.md
 * "Verifying the archive"): Kinesis sequence numbers are not contiguous, so two objects' names
 * alone cannot tell adjacent blocks from blocks with a lost one between them.
 *
 * - `reservoir-previous`: the last sequence number of the shard's block written before this one
 *   (the checkpoint's `lastSequenceNumber` when the block became pending), or `none` for a block
 *   read from the trim horizon (the shard's first block, or the first after a checkpoint reset).
 * - `reservoir-records`: the object's record lines (user records after de-aggregation).
 *
 * Objects written before these existed have neither: their joins are unproven, not wrong.
 */
export const PREVIOUS_METADATA = 'reservoir-previous';
export const RECORDS_METADATA = 'reservoir-records';
const NO_PREVIOUS = 'none';

export interface ArchiveObjectMetadata {
  /** null: the block was read from the trim horizon; undefined: not recorded (an older object). */
  previous: string | null | undefined;
  records: number | undefined;
}

export function archiveObjectMetadata(previous: string | null, records: number): Record<string, string> {
  return { [PREVIOUS_METADATA]: previous ?? NO_PREVIOUS, [RECORDS_METADATA]: String(records) };
}

export function parseArchiveObjectMetadata(
  metadata: Readonly<Record<string, string>>,
): ArchiveObjectMetadata {
  const previous = metadata[PREVIOUS_METADATA];
  const records = metadata[RECORDS_METADATA];
  return {
    previous:
      previous === undefined
        ? undefined
        : previous === NO_PREVIOUS
          ? null
          : /^\d+$/.test(previous)
            ? previous
            : undefined,
    records: records !== undefined && /^\d+$/.test(records) ? Number(records) : undefined,
  };
}
