import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamConsumersCommand,
  PutRecordsCommand,
  SplitShardCommand,
  SubscribeToShardCommand,
  type SubscribeToShardEvent,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { kinesisSubscriptionClient } from '../../src/aws/clients';
import { KinesisShardSubscriber } from '../../src/aws/kinesis-subscriber';
import { StreamNotFoundError, SubscriptionInUseError, ThrottledError } from '../../src/core/errors';
import type { IteratorStart, SubscriptionEvent } from '../../src/core/ports';
import { startEfoKinesis, type EfoKinesis, type EfoKinesisOptions } from '../../src/local/efo-kinesis';
import { useEmulators, waitForActive } from '../support/emulators';
import { readStream } from '../support/streams';

const env = useEmulators();
const SHARD = 'shardId-000000000000';
const CONSUMER = 'reservoir-test';

/** An endpoint of its own (short subscriptions, fast polls) in front of the emulators' kinesalite. */
async function endpoint(options: Omit<EfoKinesisOptions, 'upstream'> = {}) {
  const efo = await startEfoKinesis({
    upstream: env.emulators.kinesaliteEndpoint,
    subscriptionMs: 2_000,
    consumerActivationMs: 100,
    pollMs: 50,
    emptyEventMs: 300,
    // Tests resubscribe at once; the limits (1 s between calls, 5 s before another may take over)
    // have tests of their own.
    subscribeIntervalMs: 0,
    takeoverMs: 0,
    ...options,
  });
  // The SDK's own HTTP/2 handler, one try per call: each answer is seen as the endpoint gave it.
  const client = new KinesisClient({
    endpoint: efo.endpoint,
    requestHandler: new NodeHttp2Handler({ requestTimeout: 30_000, disableConcurrentStreams: true }),
    maxAttempts: 1,
  });
  return { efo, client, subscriber: new KinesisShardSubscriber(client) };
}

let main: { efo: EfoKinesis; client: KinesisClient; subscriber: KinesisShardSubscriber };
beforeAll(async () => {
  main = await endpoint();
});
afterAll(async () => {
  main?.client.destroy();
  await main?.efo.stop();
});

let streams = 0;
async function createStream(shards = 1): Promise<string> {
  const stream = `efo-${++streams}`;
  await env.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  await waitForActive(env.kinesis, stream);
  return stream;
}

async function put(stream: string, count: number, prefix: string): Promise<void> {
  await env.kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: Array.from({ length: count }, (_, i) => ({
        PartitionKey: `${prefix}-key-${i}`,
        Data: Buffer.from(`${prefix}-${i}`),
      })),
    }),
  );
}

const texts = (events: SubscriptionEvent[]) =>
  events.flatMap((event) => event.records.map((record) => Buffer.from(record.data).toString('utf8')));
const range = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The events of one subscription: until `enough` says so (then it stops iterating), or until the
 * subscription ends by itself. `onEvent` may act in between (put records).
 */
async function collect(
  subscriber: KinesisShardSubscriber,
  consumerArn: string,
  start: IteratorStart,
  enough: (events: SubscriptionEvent[]) => boolean = () => false,
  onEvent: (events: SubscriptionEvent[]) => Promise<void> = async () => undefined,
  shardId = SHARD,
): Promise<{ events: SubscriptionEvent[]; endedByItself: boolean }> {
  const events: SubscriptionEvent[] = [];
  for await (const event of subscriber.subscribe(consumerArn, shardId, start, new AbortController().signal)) {
    events.push(event);
    if (enough(events)) return { events, endedByItself: false };
    await onEvent(events);
  }
  return { events, endedByItself: true };
}

/** A subscription from TRIM_HORIZON, to be read event by event. */
function openSubscription(
  subscriber: KinesisShardSubscriber,
  consumerArn: string,
  signal = new AbortController().signal,
): AsyncIterator<SubscriptionEvent> {
  const events = subscriber.subscribe(consumerArn, SHARD, { type: 'TRIM_HORIZON' }, signal);
  return events[Symbol.asyncIterator]();
}

/** Reads a subscription to its end (or its failure). */
async function drain(events: AsyncIterator<SubscriptionEvent>): Promise<void> {
  for (let next = await events.next(); !next.done; next = await events.next());
}

describe('stream consumers', () => {
  it('given a stream, when the consumer is ensured, then it is registered under an AWS-shaped ARN and ACTIVE, once', async () => {
    const stream = await createStream();
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    expect(arn).toMatch(
      new RegExp(`^arn:aws:kinesis:us-east-1:\\d{12}:stream/${stream}/consumer/${CONSUMER}:\\d+$`),
    );
    const streamArn = (await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
      .StreamDescriptionSummary!.StreamARN!;
    const { ConsumerDescription } = await main.client.send(
      new DescribeStreamConsumerCommand({ ConsumerARN: arn }),
    );
    expect(ConsumerDescription).toMatchObject({
      ConsumerName: CONSUMER,
      ConsumerStatus: 'ACTIVE',
      StreamARN: streamArn,
    });
    expect(await main.subscriber.ensureConsumer(stream, CONSUMER)).toBe(arn);
    const { Consumers } = await main.client.send(new ListStreamConsumersCommand({ StreamARN: streamArn }));
    expect(Consumers!.map((consumer) => consumer.ConsumerARN)).toEqual([arn]);
  });

  it('given a stream that does not exist, when the consumer is ensured, then StreamNotFoundError', async () => {
    await expect(main.subscriber.ensureConsumer('efo-missing', CONSUMER)).rejects.toBeInstanceOf(
      StreamNotFoundError,
    );
  });

  it('given an open subscription, when its consumer is deregistered, then the subscription fails not-found, and the consumer can be ensured again', async () => {
    const stream = await createStream();
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);
    const open = openSubscription(main.subscriber, arn);
    await open.next();

    await main.client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: arn }));

    await expect(drain(open)).rejects.toBeInstanceOf(StreamNotFoundError);
    // DELETING at first: ensureConsumer waits until it is gone, then registers it again.
    const again = await main.subscriber.ensureConsumer(stream, CONSUMER);
    const { ConsumerDescription } = await main.client.send(
      new DescribeStreamConsumerCommand({ ConsumerARN: again }),
    );
    expect(ConsumerDescription!.ConsumerStatus).toBe('ACTIVE');
  });

  it('given a stream with a consumer, when it is deleted, then only EnforceConsumerDeletion deletes it, with its consumers', async () => {
    const stream = await createStream();
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    await expect(main.client.send(new DeleteStreamCommand({ StreamName: stream }))).rejects.toMatchObject({
      name: 'ResourceInUseException',
    });
    await main.client.send(new DeleteStreamCommand({ StreamName: stream, EnforceConsumerDeletion: true }));

    await expect(
      env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      main.client.send(new DescribeStreamConsumerCommand({ ConsumerARN: arn })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('SubscribeToShard', () => {
  it('given records, when subscribed from TRIM_HORIZON, then exactly they are pushed, in order, as kinesalite has them', async () => {
    const stream = await createStream();
    await put(stream, 25, 'a');
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    const { events } = await collect(
      main.subscriber,
      arn,
      { type: 'TRIM_HORIZON' },
      (all) => texts(all).length >= 25,
    );

    const stored = await readStream(env.kinesis, stream);
    expect(events.flatMap((event) => event.records)).toEqual(
      stored.map((record) => ({
        sequenceNumber: record.sequenceNumber,
        partitionKey: record.partitionKey,
        arrivalTimestamp: record.arrivalTimestamp,
        data: new Uint8Array(record.data),
      })),
    );
    expect(texts(events)).toEqual(range('a', 25));
    expect(events.at(-1)!.continuationSequenceNumber).toBe(stored.at(-1)!.sequenceNumber);
    const stats = main.efo.stats().perConsumerShard.find((entry) => entry.consumerArn === arn)!;
    expect(stats).toMatchObject({ shardId: SHARD, subscriptionsOpened: 1, recordsPushed: 25 });
  });

  it('given a subscription at the tip, when records are put, then they are pushed', async () => {
    const stream = await createStream();
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    const { events } = await collect(
      main.subscriber,
      arn,
      { type: 'TRIM_HORIZON' },
      (all) => texts(all).length >= 10,
      async (all) => {
        if (all.length === 1) await put(stream, 10, 'live');
      },
    );

    expect(events[0]!.records).toEqual([]);
    expect(events[0]!.millisBehindLatest).toBe(0);
    expect(texts(events)).toEqual(range('live', 10));
  });

  it('given a subscription that ends after subscriptionMs, when a new one starts after its continuation, then nothing is lost or repeated', async () => {
    const stream = await createStream();
    await put(stream, 5, 'before');
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    const first = await collect(main.subscriber, arn, { type: 'TRIM_HORIZON' }, undefined, async (all) => {
      if (texts(all).length === 5 && all.at(-1)!.records.length > 0) await put(stream, 5, 'during');
    });
    expect(first.endedByItself).toBe(true);
    expect(first.events.at(-1)!.records).toEqual([]);
    await put(stream, 5, 'after');
    const continuation = first.events.at(-1)!.continuationSequenceNumber!;
    const second = await collect(
      main.subscriber,
      arn,
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: continuation },
      (all) => texts([...first.events, ...all]).length >= 15,
    );

    expect(texts([...first.events, ...second.events])).toEqual([
      ...range('before', 5),
      ...range('during', 5),
      ...range('after', 5),
    ]);
    expect(main.efo.stats().perConsumerShard.find((entry) => entry.consumerArn === arn)).toMatchObject({
      subscriptionsOpened: 2,
      recordsPushed: 15,
    });
  });

  it('given a continuation from an event without records, when resumed after it, then the next records come first', async () => {
    const stream = await createStream();
    await put(stream, 3, 'old');
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);
    const first = await collect(
      main.subscriber,
      arn,
      { type: 'TRIM_HORIZON' },
      (all) => all.length > 1 && all.at(-1)!.records.length === 0,
    );
    const continuation = first.events.at(-1)!.continuationSequenceNumber!;
    await put(stream, 3, 'new');

    const second = await collect(
      main.subscriber,
      arn,
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: continuation },
      (all) => texts(all).length >= 3,
    );

    expect(texts(second.events)).toEqual(range('new', 3));
  });

  it('given a split shard, when its parent is read to the end, then the last event names the children and has no continuation', async () => {
    const stream = await createStream();
    await put(stream, 4, 'parent');
    await env.kinesis.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: SHARD,
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await waitForActive(env.kinesis, stream);
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    const { events, endedByItself } = await collect(main.subscriber, arn, { type: 'TRIM_HORIZON' });

    expect(endedByItself).toBe(true);
    expect(texts(events)).toEqual(range('parent', 4));
    const last = events.at(-1)!;
    expect(last.continuationSequenceNumber).toBeNull();
    expect(last.childShardIds).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    expect(events.slice(0, -1).every((event) => event.continuationSequenceNumber !== null)).toBe(true);

    // On the wire, as SubscribeToShardEvent has it: ChildShards with their parents and hash ranges.
    const { Shards } = await env.kinesis.send(new ListShardsCommand({ StreamName: stream }));
    const output = await main.client.send(
      new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } }),
    );
    const wire: SubscribeToShardEvent[] = [];
    for await (const event of output.EventStream!)
      if (event.SubscribeToShardEvent) wire.push(event.SubscribeToShardEvent);
    expect(wire).toHaveLength(1);
    expect(wire[0]!.ContinuationSequenceNumber).toBeUndefined();
    expect(wire[0]!.ChildShards).toEqual(
      Shards!.slice(1).map((shard) => ({
        ShardId: shard.ShardId,
        ParentShards: [SHARD],
        HashKeyRange: shard.HashKeyRange,
      })),
    );
  });

  it('given an open subscription, when a second one starts within 5 seconds, then SubscriptionInUseError', async () => {
    const strict = await endpoint({ takeoverMs: 5_000 });
    try {
      const stream = await createStream();
      const arn = await strict.subscriber.ensureConsumer(stream, CONSUMER);
      const controller = new AbortController();
      const open = openSubscription(strict.subscriber, arn, controller.signal);
      await open.next();

      const second = collect(strict.subscriber, arn, { type: 'TRIM_HORIZON' });

      await expect(second).rejects.toBeInstanceOf(SubscriptionInUseError);
      await expect(second).rejects.toThrow(`Another active subscription exists for this consumer`);
      controller.abort();
      expect(await open.next()).toEqual({ done: true, value: undefined });
    } finally {
      strict.client.destroy();
      await strict.efo.stop();
    }
  });

  it('given a subscription that ended, when the next starts within 5 seconds of it, then SubscriptionInUseError, as AWS refuses it open or not', async () => {
    const strict = await endpoint({ takeoverMs: 5_000 });
    try {
      const stream = await createStream();
      const arn = await strict.subscriber.ensureConsumer(stream, CONSUMER);
      await collect(strict.subscriber, arn, { type: 'TRIM_HORIZON' }, () => true);

      await expect(collect(strict.subscriber, arn, { type: 'TRIM_HORIZON' })).rejects.toBeInstanceOf(
        SubscriptionInUseError,
      );
    } finally {
      strict.client.destroy();
      await strict.efo.stop();
    }
  });

  it('given an open subscription older than the takeover time, when another starts, then the new one takes over and the old one fails with SubscriptionInUseError', async () => {
    const quick = await endpoint({ takeoverMs: 300, subscriptionMs: 60_000 });
    try {
      const stream = await createStream();
      await put(stream, 2, 'x');
      const arn = await quick.subscriber.ensureConsumer(stream, CONSUMER);
      const old = openSubscription(quick.subscriber, arn);
      expect(texts([(await old.next()).value as SubscriptionEvent])).toEqual(range('x', 2));
      await pause(400);

      const taking = await collect(
        quick.subscriber,
        arn,
        { type: 'TRIM_HORIZON' },
        (all) => texts(all).length >= 2,
      );

      expect(texts(taking.events)).toEqual(range('x', 2));
      await expect(drain(old)).rejects.toBeInstanceOf(SubscriptionInUseError);
    } finally {
      quick.client.destroy();
      await quick.efo.stop();
    }
  });

  it('given a subscription that just ended, when the next starts within the second, then ThrottledError (LimitExceededException)', async () => {
    const limited = await endpoint({ subscribeIntervalMs: 60_000 });
    try {
      const stream = await createStream();
      const arn = await limited.subscriber.ensureConsumer(stream, CONSUMER);
      await collect(limited.subscriber, arn, { type: 'TRIM_HORIZON' }, () => true);

      const again = collect(limited.subscriber, arn, { type: 'TRIM_HORIZON' });

      await expect(again).rejects.toBeInstanceOf(ThrottledError);
      await expect(again).rejects.toThrow('LimitExceededException');
    } finally {
      limited.client.destroy();
      await limited.efo.stop();
    }
  });

  it('given a consumer that does not exist, when subscribed, then a not-found error names it', async () => {
    const stream = await createStream();
    const streamArn = (await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
      .StreamDescriptionSummary!.StreamARN!;
    const arn = `${streamArn}/consumer/nobody:1700000000`;

    const subscribing = collect(main.subscriber, arn, { type: 'TRIM_HORIZON' });

    await expect(subscribing).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(subscribing).rejects.toThrow(`Consumer ${arn} not found`);
  });

  it('given records before and after a time, when subscribed AT_TIMESTAMP, then the later ones are pushed', async () => {
    const stream = await createStream();
    await put(stream, 3, 'early');
    await pause(5);
    const at = Date.now();
    await pause(5);
    await put(stream, 3, 'late');
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    const { events } = await collect(
      main.subscriber,
      arn,
      { type: 'AT_TIMESTAMP', timestamp: at },
      (all) => texts(all).length >= 3,
    );

    expect(texts(events)).toEqual(range('late', 3));
  });

  it('given a time after the last record, when subscribed AT_TIMESTAMP, then records put later are pushed', async () => {
    const stream = await createStream();
    await put(stream, 2, 'early');
    await pause(5);
    const arn = await main.subscriber.ensureConsumer(stream, CONSUMER);

    const { events } = await collect(
      main.subscriber,
      arn,
      { type: 'AT_TIMESTAMP', timestamp: Date.now() },
      (all) => texts(all).length >= 2,
      async (all) => {
        if (all.length === 1) await put(stream, 2, 'later');
      },
    );

    expect(texts(events)).toEqual(range('later', 2));
  });

  it('given a small push budget, when a backlog is read, then no event carries more than a second of it', async () => {
    const budgeted = await endpoint({ bytesPerSecond: 1_000, subscriptionMs: 60_000 });
    try {
      const stream = await createStream();
      await env.kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: Array.from({ length: 6 }, (_, i) => ({
            PartitionKey: `k${i}`,
            Data: Buffer.alloc(400, i),
          })),
        }),
      );
      const arn = await budgeted.subscriber.ensureConsumer(stream, CONSUMER);

      const { events } = await collect(
        budgeted.subscriber,
        arn,
        { type: 'TRIM_HORIZON' },
        (all) => all.flatMap((event) => event.records).length >= 6,
      );

      const bytes = events.map((event) => event.records.reduce((sum, record) => sum + record.data.length, 0));
      expect(bytes.every((size) => size <= 1_000)).toBe(true);
      expect(events.filter((event) => event.records.length > 0).length).toBeGreaterThanOrEqual(3);
      expect(events.some((event) => event.millisBehindLatest > 0)).toBe(true);
    } finally {
      budgeted.client.destroy();
      await budgeted.efo.stop();
    }
  });
});

describe('the rest of Kinesis', () => {
  it('given an HTTP/1.1 client, when it puts and lists through the endpoint, then kinesalite answers', async () => {
    const http1 = new KinesisClient({ endpoint: main.efo.endpoint, requestHandler: new NodeHttpHandler() });
    try {
      const stream = await createStream(2);
      const put = await http1.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: [{ PartitionKey: 'k', Data: Buffer.from('v') }],
        }),
      );
      expect(put.FailedRecordCount).toBe(0);
      const { Shards } = await http1.send(new ListShardsCommand({ StreamName: stream }));
      expect(Shards!.map((shard) => shard.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    } finally {
      http1.destroy();
    }
  });

  it('given the embedded emulators, then their Kinesis endpoint is this one, and SDK clients of either protocol use it', async () => {
    expect(env.emulators.env.AWS_ENDPOINT_URL_KINESIS).toBe(env.emulators.kinesisEndpoint);
    expect(env.emulators.kinesisEndpoint).not.toBe(env.emulators.kinesaliteEndpoint);
    const stream = await createStream();
    await put(stream, 2, 'emulated');
    const subscriber = new KinesisShardSubscriber(kinesisSubscriptionClient());
    const arn = await subscriber.ensureConsumer(stream, CONSUMER);

    const { events } = await collect(
      subscriber,
      arn,
      { type: 'TRIM_HORIZON' },
      (all) => texts(all).length >= 2,
    );

    expect(texts(events)).toEqual(range('emulated', 2));
    expect(env.emulators.efo.stats().recordsPushed).toBeGreaterThanOrEqual(2);
  });
});
