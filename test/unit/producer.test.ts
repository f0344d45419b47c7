import fc from 'fast-check';
import { decodeRecords } from '../../src/consumer';
import {
  createProducer,
  InvalidRecordError,
  ProducerClosedError,
  RecordDeliveryError,
  type BatchMetrics,
  type PutRecordsInput,
  type PutRecordsOutput,
} from '../../src/producer';

type Verdict = 'ok' | 'throttle' | 'internal' | 'request-throttle';
type Sent = PutRecordsInput['Records'][number];

/**
 * A stand-in for Kinesis at the SDK boundary (a client with putRecords): answers each entry as a
 * script says, and keeps what it accepted, in order, with the shard and sequence number it gave.
 */
class ScriptedKinesis {
  accepted: Sent[] = [];
  calls: Sent[][] = [];
  private sequence = 0;
  constructor(private readonly verdict: (call: number, index: number) => Verdict = () => 'ok') {}

  async putRecords(input: PutRecordsInput): Promise<PutRecordsOutput> {
    const call = this.calls.length;
    this.calls.push(input.Records);
    if (this.verdict(call, -1) === 'request-throttle') {
      throw Object.assign(new Error('Rate exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    const records = input.Records.map((record, i) => {
      const verdict = this.verdict(call, i);
      if (verdict === 'throttle')
        return {
          ErrorCode: 'ProvisionedThroughputExceededException',
          ErrorMessage: 'Rate exceeded for shard',
        };
      if (verdict === 'internal')
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' };
      this.accepted.push(record);
      return { ShardId: 'shardId-000000000000', SequenceNumber: String(++this.sequence) };
    });
    return { FailedRecordCount: records.filter((r) => 'ErrorCode' in r).length, Records: records };
  }

  /** What a consumer reads: each accepted Kinesis record de-aggregated by reservoir's consumer. */
  userRecords(): { partitionKey: string; data: string }[] {
    return this.accepted.flatMap((record, i) =>
      decodeRecords(
        { SequenceNumber: String(i + 1), PartitionKey: record.PartitionKey, Data: record.Data },
        'shardId-000000000000',
      ).map((r) => ({ partitionKey: r.partitionKey, data: r.payload.toString('utf8') })),
    );
  }
}

/** A Kinesis whose answers the test releases one request at a time. */
class HeldKinesis {
  calls: { records: Sent[]; release: () => void }[] = [];
  async putRecords(input: PutRecordsInput): Promise<PutRecordsOutput> {
    await new Promise<void>((release) => this.calls.push({ records: input.Records, release }));
    return {
      Records: input.Records.map((_, i) => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(i) })),
    };
  }
}

let now = 0;
const clock = {
  now: () => now,
  sleep: async (ms: number) => {
    now += ms;
  },
};
const tick = () => new Promise((resolve) => setImmediate(resolve));
const settled = <T>(promise: Promise<T>) => {
  const state = { done: false };
  promise.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
};
const text = (record: Sent) => Buffer.from(record.Data).toString('utf8');

describe('the producer', () => {
  it('given a full buffer, then put() waits until Kinesis acknowledged enough to make room', async () => {
    const kinesis = new HeldKinesis();
    const producer = createProducer({ client: kinesis, streamName: 's', maxBufferedRecords: 2, clock });
    const a = settled(producer.put({ partitionKey: 'a', data: '1' }));
    const b = settled(producer.put({ partitionKey: 'b', data: '2' }));
    const c = producer.put({ partitionKey: 'c', data: '3' });
    const cState = settled(c);
    await tick();
    await tick();
    expect(kinesis.calls.map((call) => call.records.map(text))).toEqual([['1', '2']]);
    expect(producer.metrics()).toMatchObject({ buffered: 2, waiting: 1 });

    kinesis.calls[0]!.release();
    await tick();
    await tick();
    expect([a.done, b.done, cState.done]).toEqual([true, true, false]);
    expect(kinesis.calls.map((call) => call.records.map(text))).toEqual([['1', '2'], ['3']]);
    expect(producer.metrics()).toMatchObject({ buffered: 1, waiting: 0 });

    kinesis.calls[1]!.release();
    await expect(c).resolves.toEqual({ shardId: 'shardId-000000000000', sequenceNumber: '0' });
    await producer.close();
    expect(producer.metrics()).toMatchObject({ buffered: 0, recordsPut: 3, batches: 2 });
  });

  it('given a byte bound, then put() waits for bytes too, and a record larger than the bound still goes alone', async () => {
    const kinesis = new HeldKinesis();
    const producer = createProducer({ client: kinesis, streamName: 's', maxBufferedBytes: 100, clock });
    const puts = [
      producer.put({ partitionKey: 'a', data: Buffer.alloc(60) }),
      producer.put({ partitionKey: 'b', data: Buffer.alloc(60) }),
      producer.put({ partitionKey: 'c', data: Buffer.alloc(500) }),
    ];
    for (let call = 0; call < 3; call++) {
      while (kinesis.calls.length <= call) await tick();
      expect(kinesis.calls[call]!.records).toHaveLength(1);
      expect(producer.metrics().waiting).toBe(2 - call);
      kinesis.calls[call]!.release();
    }
    await Promise.all(puts);
  });

  it.each([false, true])(
    'for any pattern of throttling and failures (aggregation %s), every record is acknowledged once and each key keeps its put order',
    async (aggregation) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 80 }),
          fc.infiniteStream(fc.constantFrom<Verdict>('ok', 'ok', 'throttle', 'internal', 'request-throttle')),
          fc.integer({ min: 1, max: 30 }),
          async (keys, verdicts, maxBufferedRecords) => {
            const script = [...verdicts.take(3000)];
            let n = 0;
            const kinesis = new ScriptedKinesis(() => script[n++ % script.length]!);
            const producer = createProducer({
              client: kinesis,
              streamName: 's',
              aggregation,
              maxBufferedRecords,
              baseDelayMs: 1,
              clock,
            });
            const records = keys.map((key, i) => ({ partitionKey: key, data: `${key}-${i}` }));
            const acks = await Promise.all(records.map((record) => producer.put(record)));
            await producer.close();
            expect(acks.every((ack) => ack.shardId === 'shardId-000000000000')).toBe(true);
            const delivered = kinesis.userRecords();
            expect(delivered).toHaveLength(records.length);
            for (const key of new Set(keys)) {
              expect(delivered.filter((r) => r.partitionKey === key)).toEqual(
                records.filter((r) => r.partitionKey === key),
              );
            }
            expect(producer.metrics()).toMatchObject({ recordsPut: records.length, failed: 0, buffered: 0 });
          },
        ),
        { numRuns: 100 },
      );
    },
  );

  it('given aggregation, then records of a key share KPL aggregates that reservoir’s consumer de-aggregates, each record acknowledged with its sub-sequence number', async () => {
    const kinesis = new ScriptedKinesis();
    const producer = createProducer({ client: kinesis, streamName: 's', aggregation: true, clock });
    const acks = await Promise.all([
      producer.put({ partitionKey: 'k', data: 'one' }),
      producer.put({ partitionKey: 'k', data: 'two' }),
      producer.put({ partitionKey: 'other', data: 'alone' }),
    ]);
    expect(kinesis.accepted.map((r) => r.PartitionKey)).toEqual(['k', 'other']);
    expect(acks.map((ack) => ack.subSequenceNumber)).toEqual([0, 1, undefined]);
    expect(kinesis.userRecords()).toEqual([
      { partitionKey: 'k', data: 'one' },
      { partitionKey: 'k', data: 'two' },
      { partitionKey: 'other', data: 'alone' },
    ]);
    await producer.close();
  });

  it('given an error retrying cannot fix, then that record’s put() rejects naming it, and the others are put', async () => {
    const kinesis = new ScriptedKinesis();
    const original = kinesis.putRecords.bind(kinesis);
    kinesis.putRecords = async (input) => {
      const output = await original({
        ...input,
        Records: input.Records.filter((r) => r.PartitionKey !== 'user-7'),
      });
      const results = [...output.Records!];
      const index = input.Records.findIndex((r) => r.PartitionKey === 'user-7');
      if (index >= 0)
        results.splice(index, 0, { ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'no key' });
      return { Records: results };
    };
    const producer = createProducer({ client: kinesis, streamName: 'orders', clock });
    const good = producer.put({ partitionKey: 'user-1', data: 'fine' });
    const bad = producer.put({ partitionKey: 'user-7', data: 'doomed' });
    await expect(good).resolves.toMatchObject({ sequenceNumber: '1' });
    const error = (await bad.catch((e: unknown) => e)) as RecordDeliveryError;
    expect(error).toBeInstanceOf(RecordDeliveryError);
    expect(error.message).toBe(
      'Record #2 (key user-7, 12 bytes) could not be put into stream orders after 1 attempt: KMSAccessDeniedException: no key',
    );
    expect(error).toMatchObject({
      name: 'RecordDeliveryError',
      partitionKey: 'user-7',
      errorCode: 'KMSAccessDeniedException',
    });
    await producer.close();
    expect(producer.metrics()).toMatchObject({ recordsPut: 1, failed: 1 });
  });

  it('given a request Kinesis refuses outright, then every record of it rejects with the reason', async () => {
    const denied = Object.assign(new Error('not authorized to perform kinesis:PutRecords'), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const producer = createProducer({
      client: { putRecords: async () => Promise.reject(denied) },
      streamName: 'orders',
      clock,
    });
    const results = await Promise.allSettled([
      producer.put({ partitionKey: 'a', data: 'x' }),
      producer.put({ partitionKey: 'b', data: 'y' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const reason = (results[0] as PromiseRejectedResult).reason as RecordDeliveryError;
    expect(reason).toBeInstanceOf(RecordDeliveryError);
    expect(reason.message).toContain('Record #1 (key a, 2 bytes) could not be put into stream orders');
    expect(reason.message).toContain('AccessDeniedException');
  });

  it('given a record that keeps being throttled and maxAttempts, then its put() rejects after that many sends', async () => {
    const kinesis = new ScriptedKinesis(() => 'throttle');
    const producer = createProducer({
      client: kinesis,
      streamName: 's',
      maxAttempts: 3,
      baseDelayMs: 1,
      clock,
    });
    await expect(producer.put({ partitionKey: 'k', data: 'x' })).rejects.toThrow(
      'Record #1 (key k, 2 bytes) could not be put into stream s after 3 attempts: ProvisionedThroughputExceededException',
    );
    expect(kinesis.calls).toHaveLength(3);
  });

  it.each([
    [
      { partitionKey: 'k', data: Buffer.alloc(200) },
      'is 201 bytes (data plus partition key), over the 100 bytes',
    ],
    [{ partitionKey: '', data: 'x' }, 'has a partition key of 0 characters'],
    [{ partitionKey: 'k', data: 'x', explicitHashKey: '2'.repeat(40) }, 'not a decimal from 0 to 2^128 - 1'],
  ])(
    'given a record Kinesis would refuse (%#), then put() rejects at once, naming it',
    async (record, message) => {
      const kinesis = new ScriptedKinesis();
      const producer = createProducer({ client: kinesis, streamName: 's', maxRecordBytes: 100, clock });
      const error = await producer.put(record).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidRecordError);
      expect((error as Error).message).toContain('Record #1');
      expect((error as Error).message).toContain(message);
      await producer.flush();
      expect(kinesis.calls).toHaveLength(0);
    },
  );

  it('given close(), then what was put is flushed first and later puts are refused', async () => {
    const kinesis = new ScriptedKinesis((call) => (call === 0 ? 'throttle' : 'ok'));
    const producer = createProducer({ client: kinesis, streamName: 's', baseDelayMs: 1, clock });
    const put = producer.put({ partitionKey: 'k', data: 'x' });
    await producer.close();
    await expect(put).resolves.toBeDefined();
    await expect(producer.put({ partitionKey: 'k', data: 'y' })).rejects.toBeInstanceOf(ProducerClosedError);
    expect(kinesis.accepted.map(text)).toEqual(['x']);
  });

  it('reports every request to onMetrics: records, retries, throttles, latency, the buffer', async () => {
    const reports: BatchMetrics[] = [];
    const kinesis = new ScriptedKinesis((call, index) => (call === 0 && index === 1 ? 'throttle' : 'ok'));
    const producer = createProducer({
      client: kinesis,
      streamName: 's',
      clock,
      onMetrics: (metrics) => reports.push(metrics),
    });
    await Promise.all(['a', 'b', 'c'].map((key) => producer.put({ partitionKey: key, data: key })));
    expect(reports).toEqual([
      expect.objectContaining({ sent: 3, acknowledged: 2, retried: 1, throttled: 1, failed: 0, buffered: 1 }),
      expect.objectContaining({ sent: 1, acknowledged: 1, retried: 0, buffered: 0 }),
    ]);
    expect(reports[1]!.totals).toEqual({
      batches: 2,
      kinesisRecordsPut: 3,
      recordsPut: 3,
      retries: 1,
      throttles: 1,
      failed: 0,
    });
    expect(reports.every((r) => typeof r.latencyMs === 'number' && r.ratePerSecond > 0)).toBe(true);
  });
});
