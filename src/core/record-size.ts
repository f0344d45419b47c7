/**
 * Kinesis record sizes. A stream takes records up to its maximum record size: 1 MiB unless
 * UpdateMaxRecordSize raised it (up to 10 MiB); DescribeStreamSummary says so in
 * MaxRecordSizeInKiB. A record's size is its data plus its partition key (UTF-8), as AWS counts it.
 *
 * Pure: no AWS SDK.
 */
import { RecordTooLargeError } from './errors';

/** What a stream takes when DescribeStreamSummary does not say (AWS's default). */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
/** The largest a stream's maximum record size can be (10240 KiB). */
export const LARGEST_MAX_RECORD_BYTES = 10 * 1024 * 1024;

export function recordBytes(record: { partitionKey: string; data: Uint8Array }): number {
  return record.data.byteLength + Buffer.byteLength(record.partitionKey);
}

/** Where a replayed record came from, to name it in an error. */
export interface RecordOrigin {
  stream: string;
  shardId: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  partitionKey: string;
}

/**
 * The error for a replayed record larger than its target takes: names the record, its size and
 * the limit, and what would make it fit.
 */
export function recordTooLarge(
  origin: RecordOrigin,
  put: { bytes: number; format: 'envelope' | 'raw'; payloadBytes: number },
  target: { stream: string; maxRecordBytes: number },
): RecordTooLargeError {
  const what = put.format === 'envelope' ? 'with its envelope' : 'as is (format raw)';
  const remedies = [
    ...(put.format === 'envelope' &&
    put.payloadBytes + Buffer.byteLength(origin.partitionKey) <= target.maxRecordBytes
      ? [`replay with format raw (${put.payloadBytes} bytes of payload)`]
      : []),
    ...(target.maxRecordBytes < LARGEST_MAX_RECORD_BYTES
      ? [`raise ${target.stream}'s maximum record size (UpdateMaxRecordSize, up to 10240 KiB)`]
      : []),
  ];
  return new RecordTooLargeError(
    `Record of stream ${origin.stream}, shard ${origin.shardId}, sequence number ${origin.sequenceNumber} ` +
      `(sub-sequence ${origin.subSequenceNumber}, partition key ${origin.partitionKey}) is ${put.bytes} bytes ${what}, ` +
      `over the ${target.maxRecordBytes} bytes (${target.maxRecordBytes / 1024} KiB) stream ${target.stream} takes` +
      (remedies.length > 0 ? `: ${remedies.join(', or ')}` : ''),
  );
}
