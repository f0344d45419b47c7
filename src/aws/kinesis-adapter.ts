import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  PutRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  type KinesisClient,
  type _Record as SdkRecord,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type {
  IteratorStart,
  KinesisRecord,
  PutResult,
  RecordBatch,
  RecordWriter,
  ShardDescription,
  ShardReader,
  StreamCatalog,
  StreamSummary,
} from '../core/ports';
import { callAws } from './errors';

/** A record as GetRecords and SubscribeToShard return it. */
export function toKinesisRecord(record: SdkRecord): KinesisRecord {
  return {
    sequenceNumber: record.SequenceNumber!,
    partitionKey: record.PartitionKey!,
    arrivalTimestamp: record.ApproximateArrivalTimestamp?.getTime() ?? 0,
    data: record.Data ?? new Uint8Array(),
  };
}

export class KinesisShardReader implements ShardReader {
  constructor(private readonly client: KinesisClient) {}

  async getIterator(stream: string, shardId: string, start: IteratorStart): Promise<string> {
    const output = await callAws(`GetShardIterator ${stream}/${shardId}`, () =>
      this.client.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shardId,
          ShardIteratorType: start.type,
          StartingSequenceNumber:
            start.type === 'AT_SEQUENCE_NUMBER' || start.type === 'AFTER_SEQUENCE_NUMBER'
              ? start.sequenceNumber
              : undefined,
          Timestamp: start.type === 'AT_TIMESTAMP' ? new Date(start.timestamp) : undefined,
        }),
      ),
    );
    if (!output.ShardIterator) throw new Error(`GetShardIterator ${stream}/${shardId} returned no iterator`);
    return output.ShardIterator;
  }

  async getRecords(iterator: string, limit: number): Promise<RecordBatch> {
    const output = await callAws('GetRecords', () =>
      this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit })),
    );
    return {
      records: (output.Records ?? []).map(toKinesisRecord),
      nextIterator: output.NextShardIterator ?? null,
      millisBehindLatest: output.MillisBehindLatest ?? 0,
    };
  }
}

function toShardDescription(shard: Shard): ShardDescription {
  return {
    shardId: shard.ShardId!,
    parentShardId: shard.ParentShardId,
    adjacentParentShardId: shard.AdjacentParentShardId,
    startingSequenceNumber: shard.SequenceNumberRange!.StartingSequenceNumber!,
    endingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber,
  };
}

export class KinesisStreamCatalog implements StreamCatalog {
  constructor(private readonly client: KinesisClient) {}

  async listStreamNames(): Promise<string[]> {
    const names: string[] = [];
    let more = true;
    while (more) {
      const output = await callAws('ListStreams', () =>
        this.client.send(new ListStreamsCommand({ ExclusiveStartStreamName: names.at(-1), Limit: 100 })),
      );
      names.push(...(output.StreamNames ?? []));
      more = Boolean(output.HasMoreStreams) && (output.StreamNames?.length ?? 0) > 0;
    }
    return names;
  }

  async listTags(stream: string): Promise<Record<string, string>> {
    const tags: Record<string, string> = {};
    let more = true;
    let last: string | undefined;
    while (more) {
      const output = await callAws(`ListTagsForStream ${stream}`, () =>
        this.client.send(new ListTagsForStreamCommand({ StreamName: stream, ExclusiveStartTagKey: last })),
      );
      for (const tag of output.Tags ?? []) {
        if (tag.Key) tags[tag.Key] = tag.Value ?? '';
        last = tag.Key;
      }
      more = Boolean(output.HasMoreTags) && (output.Tags?.length ?? 0) > 0;
    }
    return tags;
  }

  async describeStream(stream: string): Promise<StreamSummary> {
    const output = await callAws(`DescribeStreamSummary ${stream}`, () =>
      this.client.send(new DescribeStreamSummaryCommand({ StreamName: stream })),
    );
    const summary = output.StreamDescriptionSummary;
    if (summary?.RetentionPeriodHours === undefined || !summary.StreamCreationTimestamp)
      throw new Error(
        `DescribeStreamSummary ${stream} returned no RetentionPeriodHours or StreamCreationTimestamp`,
      );
    const mode = summary.StreamModeDetails?.StreamMode;
    return {
      retentionHours: summary.RetentionPeriodHours,
      createdAt: summary.StreamCreationTimestamp.getTime(),
      ...(mode ? { capacityMode: mode === 'ON_DEMAND' ? 'on-demand' : 'provisioned' } : {}),
      ...(summary.MaxRecordSizeInKiB ? { maxRecordBytes: summary.MaxRecordSizeInKiB * 1024 } : {}),
    };
  }

  /** Every shard still within retention, open and closed (ShardFilter defaults to that). */
  async listShards(stream: string): Promise<ShardDescription[]> {
    const shards: ShardDescription[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const output = await callAws(`ListShards ${stream}`, () =>
        this.client.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream })),
      );
      shards.push(...(output.Shards ?? []).map(toShardDescription));
      nextToken = output.NextToken;
    } while (nextToken);
    return shards;
  }
}

export class KinesisRecordWriter implements RecordWriter {
  constructor(private readonly client: KinesisClient) {}

  async putRecords(
    stream: string,
    entries: { partitionKey: string; data: Uint8Array }[],
  ): Promise<PutResult[]> {
    const output = await callAws(`PutRecords ${stream}`, () =>
      this.client.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: entries.map((entry) => ({ PartitionKey: entry.partitionKey, Data: entry.data })),
        }),
      ),
    );
    return (output.Records ?? []).map((result) =>
      result.ErrorCode
        ? { ok: false, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage ?? '' }
        : { ok: true },
    );
  }

  async assertStreamExists(stream: string): Promise<void> {
    await callAws(`DescribeStreamSummary ${stream}`, () =>
      this.client.send(new DescribeStreamSummaryCommand({ StreamName: stream })),
    );
  }
}
