import { decodePayload, type RecordLine } from '../core/record-line';
import { hourPartition } from '../core/layout';
import type { ArchiveObject } from '../archive/archive-reader';
import type { ProducedRecord } from './traffic';

export interface ArchiveCheck {
  produced: number;
  archived: number;
  /** Produced user records not found in the archive (by partition key and exact bytes). */
  missing: number;
  /** Archive lines found more than once (same shard, sequence and sub-sequence number). */
  duplicates: number;
  /** Archived lines that no producer sent. */
  unexpected: number;
  /** Lines whose object's dt/hr partition differs from the record's own arrival hour. */
  misplaced: number;
}

const identity = (partitionKey: string, data: Uint8Array) =>
  `${partitionKey}\u0000${Buffer.from(data).toString('base64')}`;

/** Checks an archive against what was produced: every record exactly once, byte-exact, well placed. */
export function checkArchive(
  produced: ProducedRecord[],
  lines: { object: ArchiveObject; line: RecordLine }[],
): ArchiveCheck {
  const expected = new Map<string, number>();
  for (const record of produced)
    expected.set(
      identity(record.partitionKey, record.data),
      (expected.get(identity(record.partitionKey, record.data)) ?? 0) + 1,
    );
  const positions = new Set<string>();
  let duplicates = 0;
  let unexpected = 0;
  let misplaced = 0;
  for (const { object, line } of lines) {
    const position = `${line.shardId}/${line.sequenceNumber}/${line.subSequenceNumber}`;
    if (positions.has(position)) duplicates += 1;
    positions.add(position);
    const { dt, hr } = hourPartition(line.arrivalTimestamp);
    if (dt !== object.dt || hr !== object.hr || object.shardId !== line.shardId) misplaced += 1;
    const id = identity(line.partitionKey, decodePayload(line.data, line.encoding));
    const left = expected.get(id) ?? 0;
    if (left === 0) unexpected += 1;
    else expected.set(id, left - 1);
  }
  const missing = [...expected.values()].reduce((sum, n) => sum + n, 0);
  return { produced: produced.length, archived: lines.length, missing, duplicates, unexpected, misplaced };
}
