import { isUtf8 } from 'node:buffer';

/**
 * The archive's record line (DESIGN.md "Archive layout"): one JSON object per user record.
 * Payload bytes survive exactly: valid UTF-8 is stored as text, anything else as base64.
 */
export type PayloadEncoding = 'utf8' | 'base64';

export interface UserRecord {
  stream: string;
  shardId: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  partitionKey: string;
  /** Epoch milliseconds, from the Kinesis record's ApproximateArrivalTimestamp. */
  arrivalTimestamp: number;
  data: Uint8Array;
}

/** A user record as archived: the same fields, with the payload as text or base64. */
export interface RecordLine extends Omit<UserRecord, 'data'> {
  data: string;
  encoding: PayloadEncoding;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Valid UTF-8 (strictly: no surrogates, no overlongs) as text, BOM included; anything else as base64. */
export function encodePayload(data: Uint8Array): { data: string; encoding: PayloadEncoding } {
  const bytes = asBuffer(data);
  return isUtf8(bytes)
    ? { data: bytes.toString('utf8'), encoding: 'utf8' }
    : { data: bytes.toString('base64'), encoding: 'base64' };
}

export function decodePayload(data: string, encoding: PayloadEncoding): Buffer {
  return encoding === 'utf8' ? Buffer.from(data, 'utf8') : Buffer.from(data, 'base64');
}

export function toRecordLine(record: UserRecord): RecordLine {
  const payload = encodePayload(record.data);
  // Field order is the documented one; readers should not depend on it, but humans do.
  return {
    stream: record.stream,
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber,
    partitionKey: record.partitionKey,
    arrivalTimestamp: record.arrivalTimestamp,
    data: payload.data,
    encoding: payload.encoding,
  };
}

/** The same text as JSON.stringify(toRecordLine(record)), built directly: this is the archiver's hot path. */
export function serializeRecordLine(record: UserRecord): string {
  const payload = encodePayload(record.data);
  return (
    `{"stream":${JSON.stringify(record.stream)},"shardId":${JSON.stringify(record.shardId)},` +
    `"sequenceNumber":${JSON.stringify(record.sequenceNumber)},"subSequenceNumber":${record.subSequenceNumber},` +
    `"partitionKey":${JSON.stringify(record.partitionKey)},"arrivalTimestamp":${record.arrivalTimestamp},` +
    `"data":${JSON.stringify(payload.data)},"encoding":"${payload.encoding}"}`
  );
}

export function parseRecordLine(line: string): RecordLine {
  const value = JSON.parse(line) as RecordLine;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.sequenceNumber !== 'string' ||
    typeof value.data !== 'string' ||
    (value.encoding !== 'utf8' && value.encoding !== 'base64')
  ) {
    throw new Error(`Not a reservoir record line: ${line.slice(0, 200)}`);
  }
  return value;
}

export function fromRecordLine(line: RecordLine): UserRecord {
  return {
    stream: line.stream,
    shardId: line.shardId,
    sequenceNumber: line.sequenceNumber,
    subSequenceNumber: line.subSequenceNumber,
    partitionKey: line.partitionKey,
    arrivalTimestamp: line.arrivalTimestamp,
    data: decodePayload(line.data, line.encoding),
  };
}

/** Splits a JSON Lines document into parsed record lines, ignoring a trailing newline. */
export function parseRecordLines(text: string): RecordLine[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map(parseRecordLine);
}
