/**
 * The local enhanced fan-out endpoint's own reads from kinesalite: streams (for StreamARN
 * addressing), shard iterators and records (for subscriptions), and child shards (kinesalite has no
 * ChildShards; its parent links say which shards took over a closed one). They go to kinesalite
 * directly, never through `forward` (a throttling proxy must not count them).
 */
import http from 'node:http';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { StreamInfo } from './efo-consumers';
import { READ_LIMIT, type ShardSource, type StartPoint } from './efo-subscription';
import { KinesisErrorAnswer, asAnswer } from './efo-wire';

export const STARTING_POSITIONS = [
  'AT_SEQUENCE_NUMBER',
  'AFTER_SEQUENCE_NUMBER',
  'TRIM_HORIZON',
  'LATEST',
  'AT_TIMESTAMP',
] as const;

export class KinesaliteReads {
  private readonly agent = new http.Agent({ keepAlive: true });
  // Signed (kinesalite checks that a request carries a signature, not which).
  private readonly client: KinesisClient;

  constructor(endpoint: string) {
    this.client = new KinesisClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'efo-kinesis', secretAccessKey: 'efo-kinesis' },
      requestHandler: new NodeHttpHandler({ httpAgent: this.agent }),
      maxAttempts: 2,
    });
  }

  /** Throws KinesisErrorAnswer (kinesalite's ResourceNotFoundException for a missing stream). */
  async describeStream(name: string): Promise<StreamInfo> {
    const output = await this.client
      .send(new DescribeStreamSummaryCommand({ StreamName: name }))
      .catch((error: unknown) => Promise.reject(asAnswer(error)));
    const summary = output.StreamDescriptionSummary!;
    return { name, arn: summary.StreamARN!, createdAt: summary.StreamCreationTimestamp!.getTime() };
  }

  shardSource(stream: string, shardId: string): ShardSource {
    return {
      getRecords: async (iterator) => {
        const output = await this.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: READ_LIMIT }),
        );
        return {
          records: (output.Records ?? []).map((record) => ({
            sequenceNumber: record.SequenceNumber!,
            partitionKey: record.PartitionKey!,
            arrivalTimestamp: record.ApproximateArrivalTimestamp?.getTime() ?? 0,
            data: record.Data ?? new Uint8Array(),
          })),
          nextIterator: output.NextShardIterator ?? null,
        };
      },
      childShards: async () => {
        const { Shards = [] } = await this.client.send(new ListShardsCommand({ StreamName: stream }));
        return Shards.filter(
          (shard) => shard.ParentShardId === shardId || shard.AdjacentParentShardId === shardId,
        ).map((shard) => ({
          ShardId: shard.ShardId!,
          ParentShards: [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string =>
            Boolean(id),
          ),
          HashKeyRange: {
            StartingHashKey: shard.HashKeyRange!.StartingHashKey!,
            EndingHashKey: shard.HashKeyRange!.EndingHashKey!,
          },
        }));
      },
    };
  }

  /**
   * Where a subscription with this StartingPosition starts. kinesalite's errors (an unknown shard,
   * a sequence number of another shard...) are its answer. AT_TIMESTAMP is found here by reading
   * from TRIM_HORIZON: kinesalite never answers a GetShardIterator AT_TIMESTAMP later than the
   * shard's last record.
   */
  async startPoint(stream: string, shardId: string, position: Record<string, unknown>): Promise<StartPoint> {
    const type = position.Type as ShardIteratorType;
    if (!STARTING_POSITIONS.includes(type)) {
      throw new KinesisErrorAnswer(
        'ValidationException',
        `1 validation error detected: Value '${String(type)}' at 'startingPosition.type' failed to satisfy ` +
          `constraint: Member must satisfy enum value set: [${STARTING_POSITIONS.join(', ')}]`,
      );
    }
    if (type !== 'AT_TIMESTAMP') {
      const sequenceNumber = position.SequenceNumber;
      return {
        iterator: await this.iterator(
          stream,
          shardId,
          type,
          typeof sequenceNumber === 'string' ? sequenceNumber : undefined,
        ),
        pending: [],
      };
    }
    const timestamp = position.Timestamp;
    if (typeof timestamp !== 'number') {
      throw new KinesisErrorAnswer(
        'InvalidArgumentException',
        'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.',
      );
    }
    const timestampMs = Math.round(timestamp * 1000);
    const now = Date.now();
    if (timestampMs > now) {
      throw new KinesisErrorAnswer(
        'InvalidArgumentException',
        'The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. ' +
          `timestampInMillis: ${timestampMs}, currentTimestampInMillis: ${now}`,
      );
    }
    const source = this.shardSource(stream, shardId);
    let iterator: string | null = await this.iterator(stream, shardId, 'TRIM_HORIZON');
    while (iterator !== null) {
      const batch = await source.getRecords(iterator);
      const first = batch.records.findIndex((record) => record.arrivalTimestamp >= timestampMs);
      if (first >= 0) return { iterator: batch.nextIterator, pending: batch.records.slice(first) };
      if (batch.records.length === 0) break;
      iterator = batch.nextIterator;
    }
    return { iterator, pending: [] };
  }

  destroy(): void {
    this.client.destroy();
    this.agent.destroy();
  }

  private async iterator(
    stream: string,
    shardId: string,
    type: ShardIteratorType,
    sequenceNumber?: string,
  ): Promise<string> {
    const output = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shardId,
        ShardIteratorType: type,
        StartingSequenceNumber: sequenceNumber,
      }),
    );
    return output.ShardIterator!;
  }
}
