import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { info, table } from '../src/cli/output';
import { envInt } from '../src/config/env';
import { startEmulators } from '../src/local/emulators';
import { capacitySeconds, runProducerLoad, type ProducerLoadResult } from '../src/local/producer-load';
import { startThrottledKinesis } from '../src/local/throttled-kinesis';
import { setEnvironment } from './local-archive';

export interface ProducerBenchOptions {
  records: number;
  keys: number;
  shards: number;
  recordsPerSecondPerShard: number;
  /** Offered load as a multiple of the target's capacity (the issue: 3). */
  overload: number;
}

export interface ProducerBenchResult extends ProducerLoadResult {
  options: ProducerBenchOptions;
  capacityPerSecond: number;
  /** What the run takes at exactly the capacity: see capacitySeconds. */
  idealSeconds: number;
}

const PRODUCER_GOAL = 0.9;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The producer library offered `overload` times a target's capacity (the throttling proxy's
 * per-shard record limit in front of kinesalite): the throughput it sustains, as a fraction of
 * the capacity, and whether anything was lost or reordered.
 */
export async function producerBench(options: ProducerBenchOptions): Promise<ProducerBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-bench-producer-'));
  const emulators = await startEmulators({ dir });
  const proxy = await startThrottledKinesis({
    upstream: emulators.kinesisEndpoint,
    recordsPerSecond: options.recordsPerSecondPerShard,
  });
  const restore = setEnvironment(emulators.env);
  const kinesis = new KinesisClient({ requestHandler: new NodeHttpHandler() });
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: 'bench-produced', ShardCount: options.shards }));
    await wait(100);
    const capacityPerSecond = options.shards * options.recordsPerSecondPerShard;
    info(
      `producer bench: ${options.records} records offered at ${options.overload}x a ${options.shards}-shard target's ` +
        `${capacityPerSecond} records/s`,
    );
    const result = await runProducerLoad({
      kinesis,
      endpoint: proxy.endpoint,
      stream: 'bench-produced',
      records: options.records,
      keys: options.keys,
      offeredPerSecond: options.overload * capacityPerSecond,
    });
    const admitted = Object.values(proxy.stats().perShard).map((shard) => shard.admitted);
    return {
      ...result,
      options,
      capacityPerSecond,
      idealSeconds: capacitySeconds(admitted, options.recordsPerSecondPerShard),
    };
  } finally {
    kinesis.destroy();
    restore();
    await proxy.stop();
    await emulators.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function producerBenchReport(r: ProducerBenchResult): string {
  const fraction = r.idealSeconds / r.seconds;
  const met = fraction >= PRODUCER_GOAL && r.lost === 0 && r.orderViolations === 0 && r.rejected === 0;
  return [
    `the producer library (kinesis-reservoir/producer) offered ${r.options.overload}x the capacity of a ` +
      `${r.options.shards}-shard target limited to ${r.options.recordsPerSecondPerShard} records/s per shard ` +
      `(throttling proxy in front of kinesalite), ${r.options.keys} partition keys`,
    table(
      [
        'put',
        'seconds',
        'at capacity',
        'records/s',
        'capacity/s',
        'fraction',
        'throttled',
        'batches',
        'lost',
        'order violations',
      ],
      [
        [
          r.acknowledged,
          r.seconds.toFixed(1),
          r.idealSeconds.toFixed(1),
          Math.round(r.acknowledged / r.seconds),
          r.capacityPerSecond,
          fraction.toFixed(2),
          r.totals.throttles,
          r.totals.batches,
          r.lost,
          r.orderViolations,
        ],
      ],
    ),
    '"at capacity": the seconds the busiest shard needs at its limit (its records, less the one second its bucket ' +
      "starts with); fraction = that / seconds. The default limit is a fifth of AWS's 1,000 records/s per shard: " +
      "kinesalite, the proxy and the producer share this one thread, and at AWS's limit kinesalite, not the " +
      'producer, would be measured (BENCH_PRODUCER_RECORDS_PER_SHARD_SECOND=1000 to see it).',
    `goal >= ${PRODUCER_GOAL} of capacity with lost = 0, rejected = 0 and order violations = 0: ${met ? 'met' : 'NOT met'}`,
  ].join('\n');
}

/** The section's settings, from BENCH_PRODUCER_* (defaults: 2 shards at 200 records/s each, 3x overload, 20 s of capacity). */
export function producerBenchOptions(): ProducerBenchOptions {
  const shards = envInt('BENCH_PRODUCER_SHARDS', 2, 1);
  const recordsPerSecondPerShard = envInt('BENCH_PRODUCER_RECORDS_PER_SHARD_SECOND', 200, 1);
  return {
    shards,
    recordsPerSecondPerShard,
    records: envInt('BENCH_PRODUCER_RECORDS', 20 * shards * recordsPerSecondPerShard, 1),
    keys: envInt('BENCH_PRODUCER_KEYS', 200, 1),
    overload: envInt('BENCH_PRODUCER_OVERLOAD', 3, 1),
  };
}

//   npx tsx bench/producer.ts      # this section alone
if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  producerBench(producerBenchOptions())
    .then((result) => process.stdout.write(`${producerBenchReport(result)}\n`))
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
