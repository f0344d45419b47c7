import { performance } from 'node:perf_hooks';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { info, table } from '../src/cli/output';
import { loadReadConfig } from '../src/config/read-config';
import type { StreamReadReport } from '../src/core/archive-summary';
import { FIRST_CALL_RECORDS, SHARD_READ_LIMITS, type ReadRate } from '../src/core/read-budget';
import type { ReadCounts } from '../src/local/throttled-kinesis';
import {
  archiveStream,
  createStream,
  measure,
  produce,
  readsOf,
  startBenchKinesis,
  totalOf,
  wait,
} from './local-archive';
import { sizedBenchRecord } from './payload';

export interface ReadBudgetBenchOptions {
  records: number;
  shards: number;
  /** Each record's data plus partition key: what the shard's read limits count. */
  recordBytes: number;
  /** The production consumer's GetRecords calls per second on each shard. */
  productionCallsPerSecond: number;
}

export interface ShardReads extends ReadCounts {
  shardId: string;
}

export interface ReadBudgetBenchResult extends ReadBudgetBenchOptions {
  /** The archive run's wall time, planning and summary included. */
  seconds: number;
  /** Reservoir's GetRecords Limit. */
  getRecordsLimit: number;
  /** What the archive summary reported for the stream: the configured rate and share, and what it used. */
  read: StreamReadReport;
  /** Reservoir's GetRecords per shard during the archive, as the proxy counted them. */
  reservoir: ShardReads[];
  /** The production consumer's GetRecords, all shards, as the proxy counted them. */
  production: ReadCounts;
  productionSeconds: number;
}

const STREAM = 'bench-read';
const PRODUCTION_CLIENT = 'production';
const THROTTLED = 'ProvisionedThroughputExceededException';
const MB = 1024 * 1024;

/**
 * Another application's consumer of the stream, already at the tip: it polls every shard from
 * LATEST at `callsPerSecond`, following NextShardIterator (a throttled call keeps its iterator),
 * until stopped.
 */
async function startProductionConsumer(
  kinesis: KinesisClient,
  stream: string,
  callsPerSecond: number,
): Promise<{ stop(): Promise<void> }> {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  let stopped = false;
  let wake: () => void = () => undefined;
  const stopping = new Promise<void>((resolve) => (wake = resolve));
  const pollers = Shards.map(async ({ ShardId }) => {
    const start = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId, ShardIteratorType: 'LATEST' }),
    );
    let iterator = start.ShardIterator;
    let next = performance.now();
    while (iterator && !stopped) {
      try {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        iterator = page.NextShardIterator;
      } catch (error) {
        if ((error as Error).name !== THROTTLED) throw error;
      }
      next += 1000 / callsPerSecond;
      await Promise.race([wait(Math.max(0, next - performance.now())), stopping]);
    }
  });
  const done = Promise.all(pollers);
  // Surfaced by stop(); until then a failed poller must not be an unhandled rejection.
  done.catch(() => undefined);
  return {
    stop: async () => {
      stopped = true;
      wake();
      await done;
    },
  };
}

/**
 * An archive run catching up a backlog while another application's consumer polls the same shards,
 * every read through the proxy that enforces AWS's per-shard read limits: does the archive keep to
 * its read budget (by default 1 call/s and 1 MiB/s per shard), and leave the production consumer
 * its share (no throttled call)?
 */
export async function readBudgetBench(options: ReadBudgetBenchOptions): Promise<ReadBudgetBenchResult> {
  const bench = await startBenchKinesis('reservoir-bench-read-');
  try {
    // Reservoir at the budget this process's environment sets: the default unless RESERVOIR_READ_* say otherwise.
    bench.useReservoirEnvironment();
    const { getRecordsLimit } = loadReadConfig();
    await createStream(bench.direct, STREAM, options.shards);
    info(
      `read budget bench: producing ${options.records} records of ${options.recordBytes} B in ${options.shards} shards`,
    );
    const now = Date.now();
    await produce(bench.direct, STREAM, options.records, (i) =>
      sizedBenchRecord(i, now, options.recordBytes),
    );

    const productionStarted = performance.now();
    const production = await startProductionConsumer(
      bench.reader(PRODUCTION_CLIENT),
      STREAM,
      options.productionCallsPerSecond,
    );
    // Its first calls are in before the archive starts.
    await wait(1000);
    info('read budget bench: archiving while the production consumer polls');
    const { value: summary, wall } = await measure(() => archiveStream(STREAM, options.records));
    await production.stop();
    const productionSeconds = (performance.now() - productionStarted) / 1000;

    const read = summary.streams.find((row) => row.stream === STREAM)?.read;
    if (!read) throw new Error(`the archive summary has no read report for ${STREAM}`);
    return {
      ...options,
      seconds: wall,
      getRecordsLimit,
      read,
      reservoir: [...readsOf(bench, bench.reservoirClientId, STREAM)]
        .map(([shardId, counts]) => ({ shardId, ...counts }))
        .sort((a, b) => a.shardId.localeCompare(b.shardId)),
      production: totalOf(readsOf(bench, PRODUCTION_CLIENT, STREAM)),
      productionSeconds,
    };
  } finally {
    await bench.stop();
  }
}

/** The rate a read report's configured budget stands for, as a share of the shard's limits. */
function shareOf(rate: ReadRate): number {
  return Math.max(
    rate.callsPerSecond / SHARD_READ_LIMITS.callsPerSecond,
    rate.bytesPerSecond / SHARD_READ_LIMITS.bytesPerSecond,
  );
}

const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
const mib = (bytes: number) => (bytes / MB).toFixed(2);

export function readBudgetBenchReport(r: ReadBudgetBenchResult): string {
  const { rate } = r.read;
  const T = r.seconds;
  // The budget lets a read's first call go at once and charges its bytes to the calls after it:
  // over T seconds a shard may see rate × T calls and bytes plus that one call, whose Limit the
  // budget sizes to one call's share of the bytes (the first, a probe, to FIRST_CALL_RECORDS).
  const callBurst = 1;
  const perCall = rate.bytesPerSecond / rate.callsPerSecond;
  const byteBurst = Math.max(perCall, FIRST_CALL_RECORDS * r.recordBytes);
  const allowedCalls = rate.callsPerSecond * T + callBurst;
  const allowedBytes = rate.bytesPerSecond * T + byteBurst;
  const rows = r.reservoir.map((s) => [
    s.shardId,
    s.calls,
    (s.calls / T).toFixed(2),
    allowedCalls.toFixed(1),
    mib(s.bytes),
    mib(s.bytes / T),
    mib(allowedBytes),
    s.throttled,
  ]);
  const withinShare = r.reservoir.every((s) => s.calls <= allowedCalls && s.bytes <= allowedBytes);
  const busiest = r.read.busiestShard;
  const share = r.read.share === null ? 'default rate' : `share ${r.read.share}`;
  return [
    `read budget: an archive catching up ${r.records} records of ${r.recordBytes} B (data + partition key) in ` +
      `${r.shards} shards, while a production consumer polls every shard from LATEST at ${r.productionCallsPerSecond} ` +
      `call/s; all reads through the proxy enforcing AWS's read limits (${SHARD_READ_LIMITS.callsPerSecond} calls/s ` +
      `and ${SHARD_READ_LIMITS.bytesPerSecond / MB} MiB/s per shard, shared by both)`,
    `   reservoir's budget per shard: ${rate.callsPerSecond} call/s and ${mib(rate.bytesPerSecond)} MiB/s (${share}, ` +
      `${shareOf(rate).toFixed(2)} of the shard's limits); each GetRecords call sized to ${mib(perCall)} MiB ` +
      `(Limit at most ${r.getRecordsLimit}, ${FIRST_CALL_RECORDS} records in a shard's first call)`,
    `archive: ${r.records} records in ${T.toFixed(1)} s (wall, planning included) = ${Math.round(r.records / T)} records/s`,
    `reservoir's GetRecords per shard as the proxy counted them, over the archive's ${T.toFixed(1)} s ` +
      `(allowed = budget x ${T.toFixed(1)} s + one call's burst: the first call goes at once, its bytes paid by the calls after it)`,
    table(['shard', 'calls', 'calls/s', 'allowed calls', 'MiB', 'MiB/s', 'allowed MiB', 'throttled'], rows),
    `production consumer: ${r.production.calls + r.production.throttled} calls in ${r.productionSeconds.toFixed(1)} s, ` +
      `${r.production.throttled} throttled`,
    busiest
      ? `archive summary's busiest shard: ${busiest.shardId}, ${busiest.callsPerSecond.toFixed(2)} calls/s and ` +
        `${mib(busiest.bytesPerSecond)} MiB/s while read = share ${busiest.share.toFixed(2)} of its limits ` +
        `(budget ${shareOf(rate).toFixed(2)}); ${r.read.throttled} throttled calls reported`
      : "archive summary: no shard's reads reported",
    `goal production consumer never throttled: ${verdict(r.production.throttled === 0)} ` +
      `(${r.production.throttled} of ${r.production.calls + r.production.throttled} calls)`,
    `goal reservoir within its budget on every shard (calls and MiB <= allowed): ${verdict(withinShare)}; ` +
      `summary's share <= budget: ${verdict(busiest !== null && busiest.share <= shareOf(rate) + 1e-9)}`,
  ].join('\n');
}
