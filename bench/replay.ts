import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AddTagsToStreamCommand, CreateStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ReplaySummary } from '../src/core/replay-summary';
import { SHARD_READ_LIMITS } from '../src/core/read-budget';
import { startEmulators } from '../src/local/emulators';
import { runLocalStateMachine } from '../src/local/state-machine-runner';
import { decodeShardRecords, readUntilCaughtUp, shardIterators } from '../src/local/stream-reader';
import { startThrottledKinesis } from '../src/local/throttled-kinesis';
import { putAll, telemetryRecord } from '../src/local/traffic';
import { resetReplayRuntime } from '../src/replay/runtime';
import { info } from '../src/cli/output';
import { setEnvironment } from './local-archive';

export interface ReplayBenchOptions {
  records: number;
  targetShards: number;
  recordsPerSecondPerShard: number;
}

export interface ReplayBenchResult {
  records: number;
  put: number;
  problems: number;
  seconds: number;
  capacityPerSecond: number;
  throttledRetries: number;
  lost: number;
  orderViolations: number;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replays an archived stream into a target behind the throttling proxy (AWS's per-shard write
 * limits, scaled by `recordsPerSecondPerShard`), and checks the target record by record: every
 * record once, each key in its original order.
 */
export async function replayBench(options: ReplayBenchOptions): Promise<ReplayBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-bench-replay-'));
  const emulators = await startEmulators({ dir });
  const proxy = await startThrottledKinesis({
    upstream: emulators.kinesisEndpoint,
    recordsPerSecond: options.recordsPerSecondPerShard,
    bytesPerSecond: 1024 * 1024,
  });
  const restore = setEnvironment({
    ...emulators.env,
    RESERVOIR_REPLAY_TARGETS: 'bench-target',
    // The archive of the source is set-up, not measured: at a shard's whole read limits.
    RESERVOIR_READ_CALLS_PER_SECOND: String(SHARD_READ_LIMITS.callsPerSecond),
    RESERVOIR_READ_MB_PER_SECOND: String(SHARD_READ_LIMITS.bytesPerSecond / (1024 * 1024)),
  });
  try {
    const kinesis = new KinesisClient({ requestHandler: new NodeHttpHandler() });
    await kinesis.send(new CreateStreamCommand({ StreamName: 'bench-source', ShardCount: 2 }));
    await kinesis.send(
      new CreateStreamCommand({ StreamName: 'bench-target', ShardCount: options.targetShards }),
    );
    await wait(100);
    await kinesis.send(
      new AddTagsToStreamCommand({ StreamName: 'bench-source', Tags: { 'reservoir:archive': 'ALL' } }),
    );
    info(`replay bench: producing ${options.records} records and archiving them`);
    await putAll(
      kinesis,
      'bench-source',
      Array.from({ length: options.records }, (_, i) => telemetryRecord(i)),
    );
    await runLocalStateMachine('archive', { streams: ['bench-source'] }, { executionName: 'bench-archive' });

    // From here on, every Kinesis call goes through the proxy: the target throttles as AWS does.
    const restoreEndpoint = setEnvironment({ AWS_ENDPOINT_URL_KINESIS: proxy.endpoint });
    resetReplayRuntime();
    info(
      `replay bench: replaying into ${options.targetShards} shard(s) limited to ${options.recordsPerSecondPerShard} records/s each`,
    );
    const started = performance.now();
    const summary = (await runLocalStateMachine(
      'replay',
      { stream: 'bench-source', target: 'bench-target' },
      { executionName: 'bench-replay' },
    )) as ReplaySummary;
    const seconds = (performance.now() - started) / 1000;

    const out = decodeShardRecords(
      await readUntilCaughtUp(kinesis, await shardIterators(kinesis, 'bench-target', 'TRIM_HORIZON')),
      'bench-source',
    );
    const delivered = new Set(
      out.map((r) => `${r.position.shardId}/${r.position.sequenceNumber}/${r.position.subSequenceNumber}`),
    );
    // A key's records come from one source shard here (no resharding), so sequence order is original order.
    const lastPerKey = new Map<string, bigint>();
    let orderViolations = 0;
    for (const record of out) {
      const sequence = BigInt(record.position.sequenceNumber);
      const previous = lastPerKey.get(record.partitionKey);
      if (previous !== undefined && sequence <= previous) orderViolations += 1;
      lastPerKey.set(record.partitionKey, sequence);
    }
    kinesis.destroy();
    restoreEndpoint();
    return {
      records: options.records,
      put: summary.put,
      problems: summary.problemCount,
      seconds,
      capacityPerSecond: options.targetShards * options.recordsPerSecondPerShard,
      throttledRetries: summary.throttledRetries,
      lost: options.records - delivered.size,
      orderViolations,
    };
  } finally {
    restore();
    resetReplayRuntime();
    await proxy.stop();
    await emulators.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PacedReplayBenchResult {
  /** First to last arrival of the archived traffic. */
  spanSeconds: number;
  speedup: number;
  records: number;
  put: number;
  /** The replay execution, start to end (validation and planning included). */
  seconds: number;
  /** The replayed records' arrival times in the target, first to last. */
  putSpanSeconds: number;
}

/**
 * The pacing figure: `spanSeconds` of real traffic (records really arriving over that
 * time, Kinesis stamps them), archived, then replayed at `speedup`: it should take span / speedup.
 */
export async function pacedReplayBench(options: {
  spanSeconds: number;
  speedup: number;
  recordsPerSecond: number;
}): Promise<PacedReplayBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-bench-paced-'));
  const emulators = await startEmulators({ dir });
  const restore = setEnvironment({ ...emulators.env, RESERVOIR_REPLAY_TARGETS: 'bench-paced-target' });
  try {
    resetReplayRuntime();
    const kinesis = new KinesisClient({ requestHandler: new NodeHttpHandler() });
    await kinesis.send(new CreateStreamCommand({ StreamName: 'bench-paced', ShardCount: 2 }));
    await kinesis.send(new CreateStreamCommand({ StreamName: 'bench-paced-target', ShardCount: 2 }));
    await wait(100);
    await kinesis.send(
      new AddTagsToStreamCommand({ StreamName: 'bench-paced', Tags: { 'reservoir:archive': 'ALL' } }),
    );
    info(`paced replay bench: producing ${options.spanSeconds} s of traffic`);
    const begin = performance.now();
    let produced = 0;
    for (let second = 0; second <= options.spanSeconds; second++) {
      await wait(Math.max(0, begin + second * 1000 - performance.now()));
      const batch = Array.from({ length: options.recordsPerSecond }, (_, i) => telemetryRecord(produced + i));
      produced += batch.length;
      await putAll(kinesis, 'bench-paced', batch);
    }
    await runLocalStateMachine(
      'archive',
      { streams: ['bench-paced'] },
      { executionName: 'bench-paced-archive' },
    );
    info(`paced replay bench: replaying at speedup ${options.speedup}`);
    const started = performance.now();
    const summary = (await runLocalStateMachine(
      'replay',
      { stream: 'bench-paced', target: 'bench-paced-target', pace: { speedup: options.speedup } },
      { executionName: 'bench-paced-replay' },
    )) as ReplaySummary;
    const seconds = (performance.now() - started) / 1000;
    const read = async (stream: string) =>
      readUntilCaughtUp(kinesis, await shardIterators(kinesis, stream, 'TRIM_HORIZON'));
    const span = (records: Awaited<ReturnType<typeof read>>) => {
      const times = records.map(({ record }) => record.ApproximateArrivalTimestamp!.getTime());
      return (Math.max(...times) - Math.min(...times)) / 1000;
    };
    const source = await read('bench-paced');
    const out = await read('bench-paced-target');
    kinesis.destroy();
    return {
      spanSeconds: span(source),
      speedup: options.speedup,
      records: produced,
      put: summary.put,
      seconds,
      putSpanSeconds: span(out),
    };
  } finally {
    restore();
    resetReplayRuntime();
    await emulators.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function pacedReplayReport(r: PacedReplayBenchResult): string {
  const expected = r.spanSeconds / r.speedup;
  return (
    `paced replay: ${r.put}/${r.records} records whose arrivals span ${r.spanSeconds.toFixed(1)} s, replayed at speedup ` +
    `${r.speedup}: ${r.seconds.toFixed(1)} s end to end, the puts spanning ${r.putSpanSeconds.toFixed(1)} s ` +
    `(schedule: ${expected.toFixed(1)} s; never shorter)`
  );
}
