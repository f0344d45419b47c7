/**
 * What the archive benches share: the emulators with the read-limiting proxy in front of
 * kinesalite, streams to fill, and local runs of the archive state machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { resetArchiveRuntime } from '../src/archive/runtime';
import { resetClients } from '../src/aws/clients';
import type { ArchiveSummary } from '../src/core/archive-summary';
import { SHARD_READ_LIMITS } from '../src/core/read-budget';
import { startEmulators, type LocalEmulators } from '../src/local/emulators';
import { runLocalStateMachine } from '../src/local/state-machine-runner';
import {
  startThrottledKinesis,
  type ReadCounts,
  type ThrottledKinesis,
} from '../src/local/throttled-kinesis';
import { putAll, type ProducedRecord } from '../src/local/traffic';

export interface BenchKinesis {
  emulators: LocalEmulators;
  /** In front of kinesalite: AWS's per-shard read limits (5 GetRecords calls/s, 2 MiB/s), shared. */
  proxy: ThrottledKinesis;
  /** Straight to the emulators, for setting up and producing (the proxy's write limits would pace it). */
  direct: KinesisClient;
  /** The access key id reservoir's own clients sign with: how the proxy tells its reads apart. */
  reservoirClientId: string;
  /**
   * A client reading through the proxy under its own access key id, so the proxy counts it apart.
   * No SDK retries: every throttled call reaches the caller.
   */
  reader(accessKeyId: string): KinesisClient;
  /**
   * Sets reservoir's environment in this process (the emulators', with Kinesis behind the proxy,
   * and `env` over it; undefined unsets) and rebuilds its clients; `stop` restores the environment.
   */
  useReservoirEnvironment(env?: Record<string, string | undefined>): void;
  stop(): Promise<void>;
}

/** Starts the emulators and the read-limiting proxy in a temporary directory. */
export async function startBenchKinesis(prefix: string): Promise<BenchKinesis> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const emulators = await startEmulators({ dir });
  const proxy = await startThrottledKinesis({
    upstream: emulators.kinesaliteEndpoint,
    readCallsPerSecond: SHARD_READ_LIMITS.callsPerSecond,
    readBytesPerSecond: SHARD_READ_LIMITS.bytesPerSecond,
  });
  const { AWS_REGION: region, AWS_ACCESS_KEY_ID: reservoirClientId } = emulators.env;
  const direct = new KinesisClient({
    endpoint: emulators.kinesisEndpoint,
    region,
    credentials: { accessKeyId: reservoirClientId!, secretAccessKey: 'bench' },
    requestHandler: new NodeHttpHandler(),
  });
  const readers: KinesisClient[] = [];
  const restores: (() => void)[] = [];
  return {
    emulators,
    proxy,
    direct,
    reservoirClientId: reservoirClientId!,
    reader: (accessKeyId) => {
      const client = new KinesisClient({
        endpoint: proxy.endpoint,
        region,
        credentials: { accessKeyId, secretAccessKey: 'bench' },
        requestHandler: new NodeHttpHandler(),
        maxAttempts: 1,
      });
      readers.push(client);
      return client;
    },
    useReservoirEnvironment: (env = {}) => {
      restores.push(setEnvironment({ ...emulators.env, AWS_ENDPOINT_URL_KINESIS: proxy.endpoint, ...env }));
    },
    stop: async () => {
      for (const restore of restores.reverse()) restore();
      for (const client of [direct, ...readers]) client.destroy();
      await proxy.stop();
      await emulators.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sets variables of this process's environment (undefined unsets) and rebuilds reservoir's clients
 * and archive runtime, which read it once; returns what puts the previous values back.
 */
export function setEnvironment(env: Record<string, string | undefined>): () => void {
  const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetClients();
    resetArchiveRuntime();
  };
  apply(env);
  return () => apply(previous);
}

export async function createStream(kinesis: KinesisClient, stream: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  for (let i = 0; i < 100; i++) {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await wait(20);
  }
  throw new Error(`stream ${stream} did not become ACTIVE`);
}

/** Puts `count` records made by `record`, four producers in parallel (the bench needs the data in, not per-key order). */
export async function produce(
  kinesis: KinesisClient,
  stream: string,
  count: number,
  record: (index: number) => ProducedRecord,
): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => record(i));
  const slices = Array.from({ length: 4 }, (_, p) => records.filter((_, i) => i % 4 === p));
  await Promise.all(slices.map((slice) => putAll(kinesis, stream, slice)));
}

/** One archive run of `stream` with the archive state machine, in this process; all `expected` records or an error. */
export async function archiveStream(stream: string, expected: number): Promise<ArchiveSummary> {
  const summary = (await runLocalStateMachine(
    'archive',
    { streams: [stream] },
    { executionName: `${stream}-${Date.now()}` },
  )) as ArchiveSummary;
  if (summary.totals.records !== expected || summary.problemCount > 0) {
    throw new Error(
      `archive of ${stream} archived ${summary.totals.records} of ${expected} records (problems: ${summary.problemCount}, ${summary.failureMessage ?? 'no failure message'})`,
    );
  }
  return summary;
}

/** Wall and process CPU seconds of `fn`. */
export async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { value, wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}

/** A client's GetRecords on the shards of `stream` as the proxy counted them, keyed by shard id. */
export function readsOf(bench: BenchKinesis, client: string, stream: string): Map<string, ReadCounts> {
  const perShard = bench.proxy.stats().reads.perClient[client]?.perShard ?? {};
  return new Map(
    Object.entries(perShard)
      .filter(([key]) => key.startsWith(`${stream}/`))
      .map(([key, counts]) => [key.slice(stream.length + 1), counts]),
  );
}

/** All shards' counts added up. */
export function totalOf(reads: Map<string, ReadCounts>): ReadCounts {
  const total: ReadCounts = { calls: 0, throttled: 0, records: 0, bytes: 0 };
  for (const counts of reads.values()) {
    total.calls += counts.calls;
    total.throttled += counts.throttled;
    total.records += counts.records;
    total.bytes += counts.bytes;
  }
  return total;
}

export const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
