import { performance } from 'node:perf_hooks';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createProducer, type ProducerTotals } from '../producer';
import { decodeShardRecords, readUntilCaughtUp, shardIterators } from './stream-reader';

export interface ProducerLoadOptions {
  /** Reads the target back (directly, not through a throttling proxy). */
  kinesis: KinesisClient;
  /** Where the producer sends: the throttling proxy's endpoint. */
  endpoint: string;
  stream: string;
  records: number;
  keys: number;
  /** The rate records are offered at (put() called), records per second. */
  offeredPerSecond: number;
  aggregation?: boolean;
  maxBufferedRecords?: number;
}

export interface ProducerLoadResult {
  offered: number;
  /** put() promises that resolved, and that rejected. */
  acknowledged: number;
  rejected: number;
  /** From the first put() to the last acknowledgment. */
  seconds: number;
  /** Read back from the target: offered records missing, present twice, and out of put order within their key. */
  lost: number;
  duplicates: number;
  orderViolations: number;
  totals: ProducerTotals;
  /** The most records the producer held at once (from its metrics hook). */
  maxBuffered: number;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Offers records to the producer library at a fixed rate (without waiting for acknowledgments,
 * as a busy service would), waits for every put() to settle, and checks the target stream record
 * by record: each offered record once, each key's records in put order. For the producer test and
 * the benchmark, against the throttling proxy.
 */
export async function runProducerLoad(options: ProducerLoadOptions): Promise<ProducerLoadResult> {
  let maxBuffered = 0;
  const producer = createProducer({
    streamName: options.stream,
    endpoint: options.endpoint,
    aggregation: options.aggregation ?? false,
    ...(options.maxBufferedRecords ? { maxBufferedRecords: options.maxBufferedRecords } : {}),
    onMetrics: (metrics) => (maxBuffered = Math.max(maxBuffered, metrics.buffered)),
  });
  const settled: Promise<boolean>[] = [];
  const started = performance.now();
  for (let n = 0; n < options.records;) {
    const due = Math.min(
      options.records,
      Math.floor(((performance.now() - started) / 1000) * options.offeredPerSecond) + 1,
    );
    for (; n < due; n++) {
      const key = `key-${n % options.keys}`;
      const put = producer.put({ partitionKey: key, data: JSON.stringify({ key, n }) });
      settled.push(
        put.then(
          () => true,
          () => false,
        ),
      );
    }
    await wait(5);
  }
  const outcomes = await Promise.all(settled);
  await producer.close();
  const seconds = (performance.now() - started) / 1000;

  const delivered = decodeShardRecords(
    await readUntilCaughtUp(
      options.kinesis,
      await shardIterators(options.kinesis, options.stream, 'TRIM_HORIZON'),
    ),
    options.stream,
  ).map((record) => JSON.parse(record.payload.toString('utf8')) as { key: string; n: number });
  const seen = new Set<number>();
  const lastPerKey = new Map<string, number>();
  let duplicates = 0;
  let orderViolations = 0;
  for (const { key, n } of delivered) {
    if (seen.has(n)) duplicates += 1;
    seen.add(n);
    if ((lastPerKey.get(key) ?? -1) > n) orderViolations += 1;
    lastPerKey.set(key, n);
  }
  const acknowledged = outcomes.filter(Boolean).length;
  return {
    offered: options.records,
    acknowledged,
    rejected: outcomes.length - acknowledged,
    seconds,
    lost: options.records - seen.size,
    duplicates,
    orderViolations,
    totals: producer.metrics(),
    maxBuffered,
  };
}

/**
 * How long putting what each shard admitted takes at exactly its limit, the proxy's buckets
 * starting with one second's worth: the busiest shard's time. Keys do not hash evenly over
 * shards, so the busiest shard, not the stream's total, bounds any producer.
 */
export function capacitySeconds(admittedPerShard: number[], recordsPerShardSecond: number): number {
  return (
    Math.max(...admittedPerShard.map((admitted) => Math.max(0, admitted - recordsPerShardSecond))) /
    recordsPerShardSecond
  );
}
