import * as kinesisAgg from 'aws-kinesis-agg';

/** A user record to aggregate. */
export interface UserRecordInput {
  partitionKey: string;
  data: Buffer;
  explicitHashKey?: string;
}

/** One Kinesis record to put: a KPL aggregate of `records`, or one of them as it is. */
export interface KinesisRecordOut<R extends UserRecordInput> {
  partitionKey: string;
  data: Uint8Array;
  explicitHashKey?: string;
  /** The user records it carries, in order (their sub-sequence numbers are their indexes). */
  records: R[];
  aggregated: boolean;
}

// The part of aws-kinesis-agg's RecordAggregator used here (its typings leave the class out).
interface KplAggregator {
  totalBytes: number;
  calculateUserRecordSize(record: UserRecordInput): number;
  addUserRecord(record: UserRecordInput): void;
  build(): { partitionKey: string; data: Buffer; ExplicitHashKey?: string };
}
const { RecordAggregator } = kinesisAgg as unknown as { RecordAggregator: new () => KplAggregator };

/** The KPL format's 4-byte magic and 16-byte MD5 around the protobuf message. */
const FRAMING_BYTES = 20;
/** A partition key is at most 256 characters; the aggregate's is one of its records'. */
const MAX_PARTITION_KEY_BYTES = 256 * 4;
/** aws-kinesis-agg's own ceiling for an aggregate, whatever the stream accepts. */
const LIBRARY_MAX_AGGREGATE_BYTES = 1024 * 1024;

/**
 * Packs user records into KPL aggregates (aws-kinesis-agg, the format the KPL writes and every
 * KCL and reservoir's consumer de-aggregate). Records are grouped by where Kinesis routes them —
 * their explicit hash key when they have one, else their partition key — so an aggregate lands
 * on the shard each of its records would have reached alone, and a key never spreads over
 * shards. Within a group, records keep their order and fill aggregates up to `maxRecordBytes`
 * (and the library's 1 MiB). A record alone in its group, or too large to share, goes as it is.
 */
export function aggregate<R extends UserRecordInput>(
  records: R[],
  maxRecordBytes: number,
): KinesisRecordOut<R>[] {
  const groups = new Map<string, R[]>();
  for (const record of records) {
    const route =
      record.explicitHashKey === undefined ? `k:${record.partitionKey}` : `h:${record.explicitHashKey}`;
    const group = groups.get(route);
    if (group) group.push(record);
    else groups.set(route, [record]);
  }
  const limit =
    Math.min(maxRecordBytes, LIBRARY_MAX_AGGREGATE_BYTES) - FRAMING_BYTES - MAX_PARTITION_KEY_BYTES;
  const out: KinesisRecordOut<R>[] = [];
  for (const group of groups.values()) {
    let aggregator = new RecordAggregator();
    let members: R[] = [];
    const emit = () => {
      if (members.length === 0) return;
      if (members.length === 1) {
        out.push(plain(members[0]!));
      } else {
        const built = aggregator.build();
        out.push({
          partitionKey: built.partitionKey,
          data: built.data,
          ...(built.ExplicitHashKey === undefined ? {} : { explicitHashKey: built.ExplicitHashKey }),
          records: members,
          aggregated: true,
        });
      }
      aggregator = new RecordAggregator();
      members = [];
    };
    for (const record of group) {
      const size = aggregator.calculateUserRecordSize(record);
      if (members.length > 0 && aggregator.totalBytes + size > limit) emit();
      if (aggregator.totalBytes + aggregator.calculateUserRecordSize(record) > limit) {
        out.push(plain(record));
        continue;
      }
      aggregator.addUserRecord(record);
      members.push(record);
    }
    emit();
  }
  return out;
}

function plain<R extends UserRecordInput>(record: R): KinesisRecordOut<R> {
  return {
    partitionKey: record.partitionKey,
    data: record.data,
    ...(record.explicitHashKey === undefined ? {} : { explicitHashKey: record.explicitHashKey }),
    records: [record],
    aggregated: false,
  };
}
