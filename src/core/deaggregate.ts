import { deaggregateSync } from 'aws-kinesis-agg';
import type { KinesisRecord } from './ports';
import type { UserRecord } from './record-line';

// KPL aggregated records start with these four bytes (aggregation-format.md of the KPL).
const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2];

function isKplAggregate(data: Uint8Array): boolean {
  return data.length > 20 && KPL_MAGIC.every((byte, i) => data[i] === byte);
}

/**
 * Turns one Kinesis record into its user records, in order. Plain records are one user record
 * with sub-sequence 0. A record that carries the KPL magic but fails its checksum or protobuf
 * decoding is archived whole as a plain record: its bytes are kept, never dropped.
 */
export function toUserRecords(stream: string, shardId: string, record: KinesisRecord): UserRecord[] {
  const plain: UserRecord = {
    stream,
    shardId,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: 0,
    partitionKey: record.partitionKey,
    arrivalTimestamp: record.arrivalTimestamp,
    data: record.data,
  };
  if (!isKplAggregate(record.data)) return [plain];

  // The library may report a failed user record and later still deliver the others: any error
  // at all keeps the Kinesis record whole, so no user record is ever silently dropped.
  let failed = false;
  let users: { partitionKey: string; subSequenceNumber: number; data: string }[] = [];
  deaggregateSync(
    {
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString(
        'base64',
      ),
    } as never,
    true,
    (err, userRecords) => {
      if (err || !userRecords) failed = true;
      else users = userRecords;
    },
  );
  const result: UserRecord[] =
    failed || users.length === 0
      ? [plain]
      : users.map((user) => ({
          ...plain,
          subSequenceNumber: user.subSequenceNumber,
          partitionKey: user.partitionKey,
          data: Buffer.from(user.data, 'base64'),
        }));
  return result;
}
