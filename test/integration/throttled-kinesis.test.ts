import { createHash } from 'node:crypto';
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  ListTagsForStreamCommand,
  ProvisionedThroughputExceededException,
  PutRecordCommand,
  PutRecordsCommand,
  SplitShardCommand,
  UpdateMaxRecordSizeCommand,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startThrottledKinesis, type ThrottledKinesis } from '../../src/local/throttled-kinesis';
import { useEmulators, waitForActive } from '../support/emulators';

// Scaled-down limits keep the tests fast; the rules are AWS's (1,000 records/s, 1 MiB/s).
const RECORDS_PER_SECOND = 50;
const BYTES_PER_SECOND = 4096;
const THROTTLED = 'ProvisionedThroughputExceededException';

const env = useEmulators();
let proxy: ThrottledKinesis;
let kinesis: KinesisClient;

beforeAll(async () => {
  proxy = await startThrottledKinesis({
    upstream: env.emulators.kinesisEndpoint,
    recordsPerSecond: RECORDS_PER_SECOND,
    bytesPerSecond: BYTES_PER_SECOND,
  });
  // No retries: each call is one request, so the proxy's answers are seen as they are.
  kinesis = new KinesisClient({
    endpoint: proxy.endpoint,
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
});
afterAll(async () => {
  kinesis?.destroy();
  await proxy?.stop();
});

let streams = 0;
async function createStream(shards: number): Promise<string> {
  const stream = `throttled-${++streams}`;
  await env.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  await waitForActive(env.kinesis, stream);
  return stream;
}

const rateExceeded = (stream: string, shardId: string) =>
  `Rate exceeded for shard ${shardId} in stream ${stream} under account 000000000000.`;

/** Partition keys whose MD5 falls in the lower (shard 0) or upper (shard 1) half of a 2-shard stream. */
function keysInHalf(upper: boolean, count: number, prefix = 'key'): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `${prefix}-${i}`;
    if (createHash('md5').update(key).digest()[0]! >= 0x80 === upper) keys.push(key);
  }
  return keys;
}

const entry = (partitionKey: string, data = partitionKey): PutRecordsRequestEntry => ({
  PartitionKey: partitionKey,
  Data: Buffer.from(data),
});

async function readShard(stream: string, shardId: string): Promise<string[]> {
  const { ShardIterator } = await env.kinesis.send(
    new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const { Records } = await env.kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
  return (Records ?? []).map((record) => Buffer.from(record.Data!).toString('utf8'));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('throttled kinesis proxy', () => {
  it('given one shard, when a PutRecords carries more records than its per-second budget, then the excess fails like AWS and the admitted records are in the stream', async () => {
    const stream = await createStream(1);
    const entries = Array.from({ length: 80 }, (_, i) => entry(`pk-${i}`, `record-${i}`));

    const result = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));

    expect(result.FailedRecordCount).toBe(30);
    expect(result.Records).toHaveLength(80);
    result.Records!.slice(0, 50).forEach((record) => {
      expect(record.ShardId).toBe('shardId-000000000000');
      expect(record.SequenceNumber).toMatch(/^\d+$/);
      expect(record.ErrorCode).toBeUndefined();
    });
    result.Records!.slice(50).forEach((record) =>
      expect(record).toEqual({
        ErrorCode: THROTTLED,
        ErrorMessage: rateExceeded(stream, 'shardId-000000000000'),
      }),
    );
    expect(await readShard(stream, 'shardId-000000000000')).toEqual(
      Array.from({ length: 50 }, (_, i) => `record-${i}`),
    );
    expect(proxy.stats().perShard[`${stream}/shardId-000000000000`]).toEqual({ admitted: 50, throttled: 30 });
  });

  it('given a byte budget, when a record is larger than it, then it goes in only from a full bucket and its debt throttles what follows', async () => {
    const stream = await createStream(1);
    // Two seconds' bytes: a second of debt once in.
    const big = Buffer.alloc(BYTES_PER_SECOND * 2, 7);
    const shard = 'shardId-000000000000';

    // A bucket half spent (half a second to refill): the large record waits for a full one.
    const half = big.subarray(0, BYTES_PER_SECOND / 2);
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: half }));
    const error = await kinesis
      .send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'big', Data: big }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(error).toMatchObject({
      name: THROTTLED,
      message: rateExceeded(stream, shard),
      $metadata: { httpStatusCode: 400 },
    });
    // Entries are judged one by one: a smaller record after a refused large one still fits.
    const batch = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: [{ PartitionKey: 'big', Data: big }, entry('after-big')],
      }),
    );
    expect(batch.FailedRecordCount).toBe(1);
    expect(batch.Records![0]!.ErrorCode).toBe(THROTTLED);
    expect(batch.Records![1]!.ShardId).toBe(shard);

    // A second of quiet fills the bucket: the large record goes in (AWS bursts for records up to
    // 10 MiB), and the debt it leaves refuses the next record.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'big', Data: big }));
    const afterDebt = await kinesis
      .send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: big.subarray(0, 100) }))
      .catch((caught: unknown) => caught);
    expect(afterDebt).toBeInstanceOf(ProvisionedThroughputExceededException);

    expect(await readShard(stream, shard)).toEqual([half.toString(), 'after-big', big.toString()]);
    expect(proxy.stats().perShard[`${stream}/${shard}`]).toEqual({ admitted: 3, throttled: 3 });
  });

  it('given a stream whose maximum record size is raised to 10 MiB, then a 2 MiB record passes the proxy, and a stream left at 1 MiB refuses it', async () => {
    const raised = await createStream(1);
    const arn = (await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: raised })))
      .StreamDescriptionSummary!.StreamARN!;
    await env.kinesis.send(new UpdateMaxRecordSizeCommand({ StreamARN: arn, MaxRecordSizeInKiB: 10_240 }));
    const large = Buffer.alloc(2 * 1024 * 1024, 'L');
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: raised, Records: [{ PartitionKey: 'large', Data: large }] }),
    );
    expect(put.FailedRecordCount).toBe(0);
    expect(await readShard(raised, 'shardId-000000000000')).toEqual([large.toString()]);

    const plain = await createStream(1);
    const refused = await kinesis
      .send(new PutRecordCommand({ StreamName: plain, PartitionKey: 'large', Data: large }))
      .catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ name: 'ValidationException' });
    expect((refused as Error).message).toMatch(/less than or equal to 1048576/);
  });

  it('given two shards, when one shard is over budget, then the other keeps its own budget and request order is kept', async () => {
    const stream = await createStream(2);
    const lower = keysInHalf(false, 60);
    const upper = keysInHalf(true, 30);
    // Upper-half keys routed to the lower shard by ExplicitHashKey count against the lower shard.
    const explicitLower: PutRecordsRequestEntry[] = upper
      .slice(0, 3)
      .map((key) => ({ ...entry(`explicit-${key}`), PartitionKey: key, ExplicitHashKey: '0' }));
    // 55 lower, 1 upper, 5 lower, 3 explicit lower, 29 upper: the lower shard runs out at its 51st.
    const entries = [
      ...lower.slice(0, 55).map((key) => entry(key)),
      entry(upper[0]!),
      ...lower.slice(55).map((key) => entry(key)),
      ...explicitLower,
      ...upper.slice(1).map((key) => entry(key)),
    ];

    const result = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));

    const shardOf = (i: number) => result.Records![i]!.ShardId ?? result.Records![i]!.ErrorCode;
    expect(result.FailedRecordCount).toBe(13);
    expect(Array.from({ length: 50 }, (_, i) => shardOf(i))).toEqual(Array(50).fill('shardId-000000000000'));
    expect([50, 51, 52, 53, 54].map(shardOf)).toEqual(Array(5).fill(THROTTLED));
    expect(shardOf(55)).toBe('shardId-000000000001');
    expect([56, 57, 58, 59, 60, 61, 62, 63].map(shardOf)).toEqual(Array(8).fill(THROTTLED));
    expect(result.Records![61]!.ErrorMessage).toBe(rateExceeded(stream, 'shardId-000000000000'));
    expect(Array.from({ length: 29 }, (_, i) => shardOf(64 + i))).toEqual(
      Array(29).fill('shardId-000000000001'),
    );
    expect(proxy.stats().perShard).toMatchObject({
      [`${stream}/shardId-000000000000`]: { admitted: 50, throttled: 13 },
      [`${stream}/shardId-000000000001`]: { admitted: 30, throttled: 0 },
    });
    expect(await readShard(stream, 'shardId-000000000001')).toEqual(upper);
  });

  it('given an exhausted shard, when a second has passed, then its budget is whole again', async () => {
    const stream = await createStream(1);
    const put = (from: number, count: number) =>
      kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: Array.from({ length: count }, (_, i) => entry(`pk-${from + i}`)),
        }),
      );
    expect((await put(0, 60)).FailedRecordCount).toBe(10);

    await sleep(1_100);
    const refilled = await put(100, 51);

    // Refilled to one second's worth, not more: the 51st still fails.
    expect(refilled.FailedRecordCount).toBe(1);
    expect(refilled.Records![50]!.ErrorCode).toBe(THROTTLED);
    expect(proxy.stats().perShard[`${stream}/shardId-000000000000`]).toEqual({
      admitted: 100,
      throttled: 11,
    });
  });

  it('given the proxy, when other calls and invalid puts go through it, then kinesalite answers them untouched', async () => {
    const stream = await createStream(2);
    const { reads: _readsBefore, ...writesBefore } = proxy.stats();

    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    expect(summary.StreamDescriptionSummary).toMatchObject({ StreamName: stream, OpenShardCount: 2 });
    const shards = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
    expect(shards.Shards?.map((shard) => shard.ShardId)).toEqual([
      'shardId-000000000000',
      'shardId-000000000001',
    ]);
    await kinesis.send(
      new AddTagsToStreamCommand({ StreamName: stream, Tags: { 'reservoir:archive': 'ALL' } }),
    );
    const tags = await kinesis.send(new ListTagsForStreamCommand({ StreamName: stream }));
    expect(tags.Tags).toEqual([{ Key: 'reservoir:archive', Value: 'ALL' }]);
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'LATEST',
      }),
    );
    expect((await kinesis.send(new GetRecordsCommand({ ShardIterator }))).Records).toEqual([]);

    // Errors are kinesalite's own, and nothing is metered.
    await expect(
      kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'no-such-stream' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      kinesis.send(new PutRecordsCommand({ StreamName: 'no-such-stream', Records: [entry('k')] })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      kinesis.send(
        new PutRecordCommand({
          StreamName: stream,
          PartitionKey: 'k',
          Data: Buffer.from('x'),
          ExplicitHashKey: (1n << 128n).toString(),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    const { reads, ...writes } = proxy.stats();
    expect(writes).toEqual(writesBefore);
    // The GetRecords went through as well, and was counted as a read.
    expect(reads.perShard[`${stream}/shardId-000000000000`]).toEqual({
      calls: 1,
      throttled: 0,
      records: 0,
      bytes: 0,
    });
  });

  it('given a cached shard list, when a shard is split, then records are charged to the child shards', async () => {
    const stream = await createStream(1);
    await kinesis.send(
      new PutRecordCommand({ StreamName: stream, PartitionKey: 'warm-up', Data: Buffer.from('x') }),
    );

    await env.kinesis.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (1n << 127n).toString(),
      }),
    );
    await waitForActive(env.kinesis, stream);
    const lower = keysInHalf(false, 60, 'split');
    const result = await kinesis.send(
      new PutRecordsCommand({ StreamName: stream, Records: lower.map((key) => entry(key)) }),
    );

    // The first put after the split may still use the cached list; kinesalite's answer corrects it.
    expect(
      new Set(result.Records!.filter((record) => record.ShardId).map((record) => record.ShardId)),
    ).toEqual(new Set(['shardId-000000000001']));
    expect(proxy.stats().perShard[`${stream}/shardId-000000000000`]).toEqual({
      admitted: 1,
      throttled: expect.any(Number),
    });
    const landed = result.Records!.filter((record) => record.ShardId).length;
    expect(landed).toBeGreaterThan(0);
    expect(proxy.stats().perShard[`${stream}/shardId-000000000001`]).toEqual({
      admitted: landed,
      throttled: 0,
    });
    const next = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: keysInHalf(true, 5, 'split').map((key) => entry(key)),
      }),
    );
    expect(next.Records!.map((record) => record.ShardId)).toEqual(Array(5).fill('shardId-000000000002'));
  });
});

describe('throttled kinesis proxy, reads', () => {
  // AWS's 5 calls/s; a byte budget scaled down from 2 MiB/s so a few records can exceed it.
  const READ_BYTES_PER_SECOND = 4096;
  const SHARD_0 = 'shardId-000000000000';
  // The proxy's clock: each test moves it by hand, so no assertion depends on how fast the machine is.
  let clock = 0;
  let readProxy: ThrottledKinesis;
  const clients: KinesisClient[] = [];

  beforeAll(async () => {
    readProxy = await startThrottledKinesis({
      upstream: env.emulators.kinesisEndpoint,
      readBytesPerSecond: READ_BYTES_PER_SECOND,
      now: () => clock,
    });
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await readProxy?.stop();
  });

  /** A client signing with its own access key id, without retries. */
  function clientWithKey(accessKeyId: string, endpoint = readProxy.endpoint): KinesisClient {
    const client = new KinesisClient({
      endpoint,
      credentials: { accessKeyId, secretAccessKey: 'secret' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  }

  async function iteratorOf(client: KinesisClient, stream: string, shardId = SHARD_0): Promise<string> {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    return ShardIterator!;
  }

  const getRecords = (client: KinesisClient, iterator: string, limit?: number) =>
    client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
  const caught = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );
  const texts = (records: { Data?: Uint8Array }[] | undefined) =>
    (records ?? []).map((record) => Buffer.from(record.Data!).toString('utf8'));

  async function put(stream: string, records: PutRecordsRequestEntry[]): Promise<void> {
    const result = await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
    expect(result.FailedRecordCount).toBe(0);
  }

  const readThrottled = (stream: string, shardId = SHARD_0) => ({
    name: THROTTLED,
    message: `Rate exceeded for Shard - 000000000000/${stream}/${shardId}`,
    $metadata: { httpStatusCode: 400 },
  });

  it('given one shard, when a sixth GetRecords comes within the same second, then the SDK raises ProvisionedThroughputExceededException and the other shard keeps its own budget', async () => {
    const stream = await createStream(2);
    const consumer = clientWithKey('consumer');
    const iterator = await iteratorOf(consumer, stream);

    for (let i = 0; i < 5; i++) await getRecords(consumer, iterator);
    const error = await caught(getRecords(consumer, iterator));

    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(error).toMatchObject(readThrottled(stream));
    const other = await getRecords(consumer, await iteratorOf(consumer, stream, 'shardId-000000000001'));
    expect(other.Records).toEqual([]);
    clock += 200; // a fifth of a second: one call's worth
    expect((await getRecords(consumer, iterator)).Records).toEqual([]);
    await expect(getRecords(consumer, iterator)).rejects.toMatchObject(readThrottled(stream));
    expect(readProxy.stats().reads.perShard).toEqual({
      [`${stream}/${SHARD_0}`]: { calls: 6, throttled: 2, records: 0, bytes: 0 },
      [`${stream}/shardId-000000000001`]: { calls: 1, throttled: 0, records: 0, bytes: 0 },
    });
  });

  it('given two clients on one shard, when together they call more than 5 times in a second, then they share the budget and are counted apart', async () => {
    const stream = await createStream(1);
    await put(stream, [entry('k', 'hello')]);
    const production = clientWithKey('production');
    const archiver = clientWithKey('archiver');
    const productionIterator = await iteratorOf(production, stream);
    const archiverIterator = await iteratorOf(archiver, stream);

    expect(texts((await getRecords(production, productionIterator)).Records)).toEqual(['hello']);
    for (let i = 0; i < 4; i++) await getRecords(archiver, archiverIterator);
    await expect(getRecords(archiver, archiverIterator)).rejects.toMatchObject(readThrottled(stream));
    // The archiver's polling spent the production consumer's share too.
    await expect(getRecords(production, productionIterator)).rejects.toMatchObject(readThrottled(stream));
    clock += 1000;
    expect(texts((await getRecords(production, productionIterator)).Records)).toEqual(['hello']);

    const key = `${stream}/${SHARD_0}`;
    const { reads } = readProxy.stats();
    // Each call returned the one record: 5 bytes of data and 1 of partition key.
    expect(reads.perShard[key]).toEqual({ calls: 6, throttled: 2, records: 6, bytes: 36 });
    expect(reads.perClient.production).toMatchObject({
      perShard: { [key]: { calls: 2, throttled: 1, records: 2, bytes: 12 } },
    });
    expect(reads.perClient.archiver).toMatchObject({
      perShard: { [key]: { calls: 4, throttled: 1, records: 4, bytes: 24 } },
    });
  });

  it('given a response larger than the byte budget, then the shard is in debt and its next calls throttle until the debt is paid', async () => {
    const stream = await createStream(1);
    const big = (i: number) => entry(`big-${i}`, String(i).repeat(3000));
    await put(stream, [big(0), big(1), big(2), entry('small', 'after')]);
    const consumer = clientWithKey('consumer');

    // 3 records of 3,000 + 5 bytes: 9,015 bytes from a 4,096-byte budget, 4,919 bytes of debt.
    const first = await getRecords(consumer, await iteratorOf(consumer, stream), 3);
    expect(first.Records).toHaveLength(3);
    const next = first.NextShardIterator!;
    await expect(getRecords(consumer, next)).rejects.toMatchObject(readThrottled(stream));
    clock += 1000; // 4,096 paid back, 823 still owed
    await expect(getRecords(consumer, next)).rejects.toMatchObject(readThrottled(stream));
    clock += 250; // 1,024 more: out of debt
    expect(texts((await getRecords(consumer, next)).Records)).toEqual(['after']);

    expect(readProxy.stats().reads.perClient.consumer!.perShard[`${stream}/${SHARD_0}`]).toEqual({
      calls: 2,
      throttled: 2,
      records: 4,
      bytes: 9015 + 10,
    });
  });

  it('given a throttled GetRecords, then it was not forwarded: it returned nothing, and the next admitted call with the same iterator returns the records', async () => {
    const stream = await createStream(1);
    await put(
      stream,
      ['r0', 'r1', 'r2'].map((text) => entry(text)),
    );
    const consumer = clientWithKey('consumer');
    const start = await iteratorOf(consumer, stream);
    for (let i = 0; i < 4; i++) await getRecords(consumer, start, 1);
    const first = await getRecords(consumer, start, 1);
    expect(texts(first.Records)).toEqual(['r0']);

    const throttled = await caught(getRecords(consumer, first.NextShardIterator!, 1));
    expect(throttled).toMatchObject(readThrottled(stream));
    clock += 200;
    const retried = await getRecords(consumer, first.NextShardIterator!, 1);

    expect(texts(retried.Records)).toEqual(['r1']);
    // Only the admitted calls were charged: 6 calls of one 4-byte record.
    expect(readProxy.stats().reads.perShard[`${stream}/${SHARD_0}`]).toEqual({
      calls: 6,
      throttled: 1,
      records: 6,
      bytes: 24,
    });
  });

  it('given iterators the proxy did not see issued, or saw more than 5 minutes ago, then their GetRecords pass through unmetered', async () => {
    const stream = await createStream(1);
    const consumer = clientWithKey('consumer');
    const direct = await iteratorOf(env.kinesis, stream);
    const old = await iteratorOf(consumer, stream);
    clock += 5 * 60 * 1000; // kinesalite's own clock has not moved: it still accepts the iterator

    for (let i = 0; i < 7; i++) {
      expect((await getRecords(consumer, direct)).Records).toEqual([]);
      expect((await getRecords(consumer, old)).Records).toEqual([]);
    }
    expect(readProxy.stats().reads.perShard[`${stream}/${SHARD_0}`]).toBeUndefined();
  });

  it('given meterReads false, then GetRecords is neither limited nor counted', async () => {
    const unmetered = await startThrottledKinesis({
      upstream: env.emulators.kinesisEndpoint,
      meterReads: false,
    });
    try {
      const stream = await createStream(1);
      const consumer = clientWithKey('consumer', unmetered.endpoint);
      const iterator = await iteratorOf(consumer, stream);
      for (let i = 0; i < 7; i++) expect((await getRecords(consumer, iterator)).Records).toEqual([]);
      expect(unmetered.stats().reads).toEqual({
        calls: 0,
        throttled: 0,
        records: 0,
        bytes: 0,
        perShard: {},
        perClient: {},
      });
    } finally {
      await unmetered.stop();
    }
  });
});
