import { decodeRecords, type DecodedRecord } from '../consumer';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type GetRecordsCommandOutput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';

export interface ShardRecord {
  shardId: string;
  record: _Record;
}

/** Iterators of every shard of a stream, at the trim horizon or at its tip (LATEST). */
export async function shardIterators(
  kinesis: KinesisClient,
  stream: string,
  type: 'TRIM_HORIZON' | 'LATEST',
): Promise<Map<string, string>> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const iterators = new Map<string, string>();
  for (const shard of shards) {
    const output = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: type }),
    );
    iterators.set(shard.ShardId!, output.ShardIterator!);
  }
  return iterators;
}

/** Reads every shard from its iterator until caught up (a demo and test consumer, not a KCL). */
export async function readUntilCaughtUp(
  kinesis: KinesisClient,
  iterators: Map<string, string>,
): Promise<ShardRecord[]> {
  const records: ShardRecord[] = [];
  for (const [shardId, start] of iterators) {
    let iterator: string | undefined = start;
    while (iterator) {
      const batch: GetRecordsCommandOutput = await kinesis.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }),
      );
      for (const record of batch.Records ?? []) records.push({ shardId, record });
      if ((batch.Records ?? []).length === 0 && (batch.MillisBehindLatest ?? 0) === 0) break;
      iterator = batch.NextShardIterator;
    }
  }
  return records;
}

/** Decodes records read with readUntilCaughtUp through the consumer library (KPL included). */
export function decodeShardRecords(records: ShardRecord[], stream: string): DecodedRecord[] {
  return records.flatMap(({ shardId, record }) =>
    decodeRecords(
      {
        SequenceNumber: record.SequenceNumber!,
        PartitionKey: record.PartitionKey!,
        Data: record.Data!,
        ApproximateArrivalTimestamp: record.ApproximateArrivalTimestamp!,
      },
      shardId,
      stream,
    ),
  );
}
