import { deaggregateSync } from 'aws-kinesis-agg';
import { decodeEnvelope, envelopePayload, innermostEnvelope } from '../core/envelope';
import type { SourcePosition } from './position';

/**
 * A record as a Lambda Kinesis event delivers it (`event.Records[i]`); structurally compatible
 * with `KinesisStreamRecord` of `@types/aws-lambda`.
 */
export interface LambdaKinesisRecord {
  /** `shardId-000000000001:49590338271490256608559692538361571095921575989136588898` */
  eventID: string;
  /** `arn:aws:kinesis:{region}:{account}:stream/{name}`: gives the stream name. */
  eventSourceARN?: string;
  kinesis: {
    partitionKey: string;
    sequenceNumber: string;
    /** Base64. */
    data: string;
    /** Epoch seconds, with a fraction (milliseconds). */
    approximateArrivalTimestamp: number;
  };
}

/**
 * A record as GetRecords (or SubscribeToShard) returns it through the AWS SDK v3; structurally
 * compatible with the SDK's `_Record` (whose fields are all typed optional).
 */
export interface GetRecordsRecord {
  SequenceNumber?: string;
  PartitionKey?: string;
  Data?: Uint8Array;
  ApproximateArrivalTimestamp?: Date;
}

export interface DecodedRecord {
  /** The user record's bytes: for a replayed envelope, the ORIGINAL payload bytes. */
  payload: Buffer;
  partitionKey: string;
  /**
   * The position the consistency rule compares: for a replayed envelope its original position
   * in the source stream; for any other record its own position in the stream it was read from.
   */
  position: SourcePosition;
  /** Where this record itself was read (for checkpoints); equals `position` unless replayed. */
  received: SourcePosition;
  /** The replay's annotations (`{}` for records that are not envelopes). */
  annotations: Record<string, unknown>;
  replayId: string | null;
  /** True for a replayed envelope. Raw-format replays are not recognisable: false. */
  replayed: boolean;
}

export type KinesisInputRecord = LambdaKinesisRecord | GetRecordsRecord;

/** The Kinesis record itself, before de-aggregation and envelope decoding. */
interface Carrier {
  data: Buffer;
  partitionKey: string;
  position: SourcePosition;
}

function isLambdaRecord(record: KinesisInputRecord): record is LambdaKinesisRecord {
  return (
    typeof (record as LambdaKinesisRecord).kinesis === 'object' &&
    (record as LambdaKinesisRecord).kinesis !== null
  );
}

function streamFromArn(arn: string | undefined): string | undefined {
  // arn:aws:kinesis:region:account:stream/name, or …:stream/name/consumer/consumer-name:ts (EFO)
  const match = arn === undefined ? null : /:stream\/([^/]+)/.exec(arn);
  return match ? match[1] : undefined;
}

function carrier(record: KinesisInputRecord, shardId?: string, stream?: string): Carrier {
  if (isLambdaRecord(record)) {
    const separator = record.eventID.indexOf(':');
    if (separator <= 0) throw new TypeError(`Lambda Kinesis eventID has no shard id: ${record.eventID}`);
    const seconds = record.kinesis.approximateArrivalTimestamp;
    return {
      data: Buffer.from(record.kinesis.data, 'base64'),
      partitionKey: record.kinesis.partitionKey,
      position: {
        stream: stream ?? streamFromArn(record.eventSourceARN),
        shardId: shardId ?? record.eventID.slice(0, separator),
        sequenceNumber: record.kinesis.sequenceNumber,
        subSequenceNumber: 0,
        arrivalTimestamp: typeof seconds === 'number' ? Math.round(seconds * 1000) : undefined,
      },
    };
  }
  if (!shardId) throw new TypeError('decodeRecord: a GetRecords record needs its shard id');
  const { SequenceNumber, PartitionKey, Data, ApproximateArrivalTimestamp } = record;
  if (
    typeof SequenceNumber !== 'string' ||
    typeof PartitionKey !== 'string' ||
    !(Data instanceof Uint8Array)
  ) {
    throw new TypeError(
      'decodeRecord: not a Kinesis record (SequenceNumber, PartitionKey and Data are required)',
    );
  }
  return {
    data: Buffer.from(Data.buffer, Data.byteOffset, Data.byteLength),
    partitionKey: PartitionKey,
    position: {
      stream,
      shardId,
      sequenceNumber: SequenceNumber,
      subSequenceNumber: 0,
      arrivalTimestamp: ApproximateArrivalTimestamp?.getTime(),
    },
  };
}

function withoutUndefined(position: SourcePosition): SourcePosition {
  const result: SourcePosition = {
    shardId: position.shardId,
    sequenceNumber: position.sequenceNumber,
    subSequenceNumber: position.subSequenceNumber,
  };
  if (position.stream !== undefined) result.stream = position.stream;
  if (position.arrivalTimestamp !== undefined) result.arrivalTimestamp = position.arrivalTimestamp;
  return result;
}

/** One user record: a replayed envelope yields its original position and bytes. */
function userRecord(payload: Buffer, partitionKey: string, received: SourcePosition): DecodedRecord {
  const own = withoutUndefined(received);
  const envelope = decodeEnvelope(payload);
  if (envelope === null) {
    return {
      payload,
      partitionKey,
      position: own,
      received: own,
      annotations: {},
      replayId: null,
      replayed: false,
    };
  }
  // The replay now under way speaks for the record (its id and annotations); the original
  // record (position, bytes) is the innermost one if envelopes were ever nested.
  const { replayId, annotations } = envelope.reservoir;
  const original = innermostEnvelope(envelope);
  const { source } = original.reservoir;
  return {
    payload: envelopePayload(original),
    partitionKey,
    position: {
      stream: source.stream,
      shardId: source.shardId,
      sequenceNumber: source.sequenceNumber,
      subSequenceNumber: source.subSequenceNumber,
      arrivalTimestamp: source.arrivalTimestamp,
    },
    received: own,
    annotations,
    replayId,
    replayed: true,
  };
}

// KPL aggregated records start with these four bytes (aggregation-format.md of the KPL).
const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2];

/** The user records of a KPL aggregate, or null when the bytes are not a (valid) aggregate. */
function deaggregate(
  data: Buffer,
  outer: Carrier,
): { partitionKey: string; subSequenceNumber: number; data: Buffer }[] | null {
  if (data.length <= 20 || !KPL_MAGIC.every((byte, i) => data[i] === byte)) return null;
  let users: { partitionKey: string; subSequenceNumber: number; data: Buffer }[] | null = null;
  let failed = false;
  deaggregateSync(
    {
      partitionKey: outer.partitionKey,
      sequenceNumber: outer.position.sequenceNumber,
      data: data.toString('base64'),
    } as never,
    true,
    // Called with an error for a bad user record and then again, without one, with the records
    // that did decode: any error means the aggregate is not trusted and is kept whole.
    (err, userRecords) => {
      if (err) failed = true;
      if (failed || !userRecords) {
        users = null;
        return;
      }
      users = userRecords.map((user) => ({
        partitionKey: user.partitionKey,
        subSequenceNumber: user.subSequenceNumber,
        data: Buffer.from(user.data, 'base64'),
      }));
    },
  );
  return users;
}

/**
 * Decodes one Kinesis record that is not KPL-aggregated: a Lambda Kinesis event record, or a
 * GetRecords record with the id of the shard it was read from (and optionally its stream name).
 *
 * - A replay envelope (format `envelope`) gives the original payload bytes, the ORIGINAL source
 *   position, the replay's annotations and id, `replayed: true`.
 * - Any other record (live, or replayed in `raw` format) gives its own bytes and its own
 *   position (shard, sequence number, sub-sequence 0), `replayed: false`. A raw replay carries
 *   the original bytes and key and nothing else, so it cannot be told from a live record: its
 *   position is its NEW position in the target stream, newer than everything before it, and the
 *   consistency rule applies it as a new record (it can overwrite newer state with old data).
 *   Use the envelope format when consumers rely on the rule.
 *
 * Throws when the record is a KPL aggregate: use `decodeRecords`.
 */
export function decodeRecord(record: LambdaKinesisRecord): DecodedRecord;
export function decodeRecord(record: GetRecordsRecord, shardId: string, stream?: string): DecodedRecord;
export function decodeRecord(record: KinesisInputRecord, shardId?: string, stream?: string): DecodedRecord {
  const outer = carrier(record, shardId, stream);
  if (deaggregate(outer.data, outer) !== null) {
    throw new TypeError(
      `Record ${outer.position.sequenceNumber} of ${outer.position.shardId} is a KPL aggregate: use decodeRecords`,
    );
  }
  return userRecord(outer.data, outer.partitionKey, outer.position);
}

/**
 * Like `decodeRecord`, but de-aggregates KPL aggregates (with `aws-kinesis-agg`, checksums
 * verified): each user record gets its own partition key and its sub-sequence number, and each
 * may itself be a replay envelope. A plain record gives one decoded record. Bytes that carry the
 * KPL magic but fail the checksum are one plain record, as the archive keeps them.
 */
export function decodeRecords(record: LambdaKinesisRecord): DecodedRecord[];
export function decodeRecords(record: GetRecordsRecord, shardId: string, stream?: string): DecodedRecord[];
export function decodeRecords(
  record: KinesisInputRecord,
  shardId?: string,
  stream?: string,
): DecodedRecord[] {
  const outer = carrier(record, shardId, stream);
  const users = deaggregate(outer.data, outer);
  if (users === null) return [userRecord(outer.data, outer.partitionKey, outer.position)];
  return users.map((user) =>
    userRecord(user.data, user.partitionKey, {
      ...outer.position,
      subSequenceNumber: user.subSequenceNumber,
    }),
  );
}
