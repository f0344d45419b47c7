import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startThrottledKinesis, type ThrottledKinesis } from '../../src/local/throttled-kinesis';
import { capacitySeconds, runProducerLoad } from '../../src/local/producer-load';
import { createProducer } from '../../src/producer';
import { createArchivedStream, useEmulators } from '../support/emulators';
import { readStream } from '../support/streams';

const env = useEmulators();

// The target's capacity, scaled down from AWS's 1,000 records/s per shard so the test is short;
// the producer is offered three times that. `npm run bench` measures the throughput at AWS's limits.
const SHARDS = 2;
const RECORDS_PER_SHARD_SECOND = 100;
const CAPACITY = SHARDS * RECORDS_PER_SHARD_SECOND;

describe('the producer library against a target that throttles as AWS does', () => {
  let proxy: ThrottledKinesis;
  beforeEach(async () => {
    proxy = await startThrottledKinesis({
      upstream: env.emulators.kinesisEndpoint,
      recordsPerSecond: RECORDS_PER_SHARD_SECOND,
    });
  });
  afterEach(() => proxy.stop());

  it('given records offered at 3x the capacity, then none is lost, none is reordered within its key, and the buffer stays bounded', async () => {
    await createArchivedStream(env.kinesis, 'produced', SHARDS, false);
    const result = await runProducerLoad({
      kinesis: env.kinesis,
      endpoint: proxy.endpoint,
      stream: 'produced',
      records: 1800,
      keys: 40,
      offeredPerSecond: 3 * CAPACITY,
      maxBufferedRecords: 300,
    });
    expect(result).toMatchObject({
      acknowledged: 1800,
      rejected: 0,
      lost: 0,
      duplicates: 0,
      orderViolations: 0,
    });
    expect(result.maxBuffered).toBeLessThanOrEqual(300);
    // The proxy's counts and the producer's agree: every record it admitted was acknowledged
    // once, and every refusal was retried.
    const stats = proxy.stats();
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.admitted).toBe(1800);
    expect(result.totals).toMatchObject({
      kinesisRecordsPut: 1800,
      recordsPut: 1800,
      throttles: stats.throttled,
      retries: stats.throttled,
      failed: 0,
    });
    // Wall-clock, so only a generous bound here; `npm run bench` measures the fraction (goal 90 %).
    const atCapacity = capacitySeconds(
      Object.values(stats.perShard).map((shard) => shard.admitted),
      RECORDS_PER_SHARD_SECOND,
    );
    expect(atCapacity / result.seconds).toBeGreaterThan(0.5);
  });

  it('given aggregation at 3x the capacity, then the stream holds KPL aggregates that reservoir’s consumer de-aggregates into every record, in put order per key', async () => {
    await createArchivedStream(env.kinesis, 'produced-aggregated', SHARDS, false);
    const result = await runProducerLoad({
      kinesis: env.kinesis,
      endpoint: proxy.endpoint,
      stream: 'produced-aggregated',
      records: 1800,
      keys: 40,
      offeredPerSecond: 3 * CAPACITY,
      aggregation: true,
    });
    expect(result).toMatchObject({
      acknowledged: 1800,
      rejected: 0,
      lost: 0,
      duplicates: 0,
      orderViolations: 0,
    });
    // Fewer Kinesis records than user records: aggregates carried several each.
    expect(result.totals.kinesisRecordsPut).toBeLessThan(1800);
    expect(proxy.stats().admitted).toBe(result.totals.kinesisRecordsPut);
    const stored = await readStream(env.kinesis, 'produced-aggregated');
    expect(stored).toHaveLength(result.totals.kinesisRecordsPut);
  });

  it('given a KinesisClient of the caller, then put() resolves with where Kinesis stored the record', async () => {
    await createArchivedStream(env.kinesis, 'produced-client', 1, false);
    const client = new KinesisClient({ endpoint: proxy.endpoint, requestHandler: new NodeHttpHandler() });
    const producer = createProducer({ client, streamName: 'produced-client' });
    const ack = await producer.put({ partitionKey: 'k', data: 'hello' });
    await producer.close();
    client.destroy();
    const [stored] = await readStream(env.kinesis, 'produced-client');
    expect(ack).toEqual({ shardId: stored!.shardId, sequenceNumber: stored!.sequenceNumber });
    expect(stored!.data.toString()).toBe('hello');
  });

  it('given a stream that does not exist, then put() rejects naming the record and the reason', async () => {
    const producer = createProducer({ endpoint: proxy.endpoint, streamName: 'no-such-stream' });
    await expect(producer.put({ partitionKey: 'k', data: 'x' })).rejects.toThrow(
      /^Record #1 \(key k, 2 bytes\) could not be put into stream no-such-stream after 1 attempt: StreamNotFoundError: .*ResourceNotFoundException/,
    );
    await producer.close();
  });
});
