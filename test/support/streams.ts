import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';

export interface ReadRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
  arrivalTimestamp: number;
}

/** Every record of a stream, shard by shard, each shard in order. */
export async function readStream(kinesis: KinesisClient, stream: string): Promise<ReadRecord[]> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const records: ReadRecord[] = [];
  for (const shard of shards) {
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shard.ShardId!,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const batch = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of batch.Records ?? []) {
        records.push({
          shardId: shard.ShardId!,
          sequenceNumber: record.SequenceNumber!,
          partitionKey: record.PartitionKey!,
          data: Buffer.from(record.Data!),
          arrivalTimestamp: record.ApproximateArrivalTimestamp!.getTime(),
        });
      }
      if ((batch.Records ?? []).length === 0 && batch.MillisBehindLatest === 0) break;
      iterator = batch.NextShardIterator;
    }
  }
  return records;
}
