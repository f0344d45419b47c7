/**
 * Kinesis sequence numbers are decimal strings up to 128 bits; they order records within a
 * shard. Compare them as integers, never as strings of possibly different lengths.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A user record's position within its shard: Kinesis sequence number, then KPL sub-sequence. */
export interface ShardPosition {
  sequenceNumber: string;
  subSequenceNumber: number;
}

export function compareShardPositions(a: ShardPosition, b: ShardPosition): number {
  return (
    compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber) || a.subSequenceNumber - b.subSequenceNumber
  );
}
