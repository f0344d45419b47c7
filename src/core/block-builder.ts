import { hourStart } from './layout';
import { serializeRecordLine, type UserRecord } from './record-line';

/** A run of consecutive Kinesis records of one shard, all arrived within one UTC hour. */
export interface Block {
  firstSequenceNumber: string;
  lastSequenceNumber: string;
  hourStart: number;
  firstArrivalTimestamp: number;
  lastArrivalTimestamp: number;
  /** User records (after KPL de-aggregation). */
  records: number;
  /** Uncompressed JSON Lines bytes. */
  bytes: number;
  lines: string[];
}

/**
 * Groups a shard's records into archive blocks. A block is cut before a Kinesis record whose
 * arrival hour differs from the block's, and before a record that would take the block past
 * maxBytes; never inside a Kinesis record, so an aggregate's user records stay together and
 * the block's sequence range names exactly what it holds.
 */
export class BlockBuilder {
  private current: Block | null = null;

  constructor(private readonly maxBytes: number) {}

  /** Adds the user records of one Kinesis record; returns the block it closed, if any. */
  add(sequenceNumber: string, arrivalTimestamp: number, userRecords: UserRecord[]): Block | null {
    const lines = userRecords.map(serializeRecordLine);
    const bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    const hour = hourStart(arrivalTimestamp);
    let closed: Block | null = null;
    if (this.current && (this.current.hourStart !== hour || this.current.bytes + bytes > this.maxBytes)) {
      closed = this.current;
      this.current = null;
    }
    if (!this.current) {
      this.current = {
        firstSequenceNumber: sequenceNumber,
        lastSequenceNumber: sequenceNumber,
        hourStart: hour,
        firstArrivalTimestamp: arrivalTimestamp,
        lastArrivalTimestamp: arrivalTimestamp,
        records: 0,
        bytes: 0,
        lines: [],
      };
    }
    const block = this.current;
    block.lastSequenceNumber = sequenceNumber;
    block.lastArrivalTimestamp = Math.max(block.lastArrivalTimestamp, arrivalTimestamp);
    block.records += userRecords.length;
    block.bytes += bytes;
    for (const line of lines) block.lines.push(line);
    return closed;
  }

  /** Closes and returns the open block, if any. */
  flush(): Block | null {
    const block = this.current;
    this.current = null;
    return block;
  }

  get openBytes(): number {
    return this.current?.bytes ?? 0;
  }
}

export function blockBody(block: Block): string {
  return block.lines.join('\n') + '\n';
}
