import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { resetArchiveRuntime } from '../src/archive/runtime';
import { resetClients } from '../src/aws/clients';
import type { ArchiveSummary } from '../src/core/archive-summary';
import { applyEnvironment, startEmulators } from '../src/local/emulators';
import { runLocalStateMachine } from '../src/local/state-machine-runner';
import { putAll } from '../src/local/traffic';
import { info } from '../src/cli/output';
import { benchRecord } from './payload';

export interface EndToEndOptions {
  shards: number;
  records: number;
  rounds: number;
  warmupRecords: number;
}

export interface Round {
  stream: string;
  first: 'bare' | 'archive';
  bareSeconds: number;
  archiveSeconds: number;
  /** CPU of this process (kinesalite, SDK, archiver; not the s3rver child) during each loop. */
  bareCpuSeconds: number;
  archiveCpuSeconds: number;
  archiveObjects: number;
}

const LIMIT = 10_000;

async function createStream(kinesis: KinesisClient, stream: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  for (let i = 0; i < 100; i++) {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`stream ${stream} did not become ACTIVE`);
}

async function produce(kinesis: KinesisClient, stream: string, count: number): Promise<void> {
  const now = Date.now();
  const records = Array.from({ length: count }, (_, i) => benchRecord(i, now));
  // Four producers in parallel; the bench needs the data in, not per-key order.
  const slices = Array.from({ length: 4 }, (_, p) => records.filter((_, i) => i % 4 === p));
  await Promise.all(slices.map((slice) => putAll(kinesis, stream, slice)));
}

/**
 * What the archive is measured against (its upper bound): every shard read concurrently (as the archive Map
 * runs shards) from TRIM_HORIZON with GetRecords until caught up, records counted and dropped.
 */
async function bareRead(kinesis: KinesisClient, stream: string): Promise<number> {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  const counts = await Promise.all(
    Shards.map(async ({ ShardId }) => {
      const start = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: stream, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      let iterator = start.ShardIterator;
      let count = 0;
      while (iterator) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: LIMIT }));
        count += page.Records?.length ?? 0;
        if (page.MillisBehindLatest === 0 && (page.Records?.length ?? 0) === 0) break;
        iterator = page.NextShardIterator;
      }
      return count;
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

async function archive(stream: string, expected: number): Promise<ArchiveSummary> {
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
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { value, wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}

/** One round on a fresh stream (the archive's checkpoints make a second run of a stream a no-op). */
async function runRound(
  kinesis: KinesisClient,
  stream: string,
  shards: number,
  records: number,
  first: Round['first'],
): Promise<Round> {
  await createStream(kinesis, stream, shards);
  await produce(kinesis, stream, records);
  const round: Round = {
    stream,
    first,
    bareSeconds: 0,
    archiveSeconds: 0,
    bareCpuSeconds: 0,
    archiveCpuSeconds: 0,
    archiveObjects: 0,
  };
  const runBare = async () => {
    const { value: read, wall, cpu } = await measure(() => bareRead(kinesis, stream));
    if (read !== records) throw new Error(`bare loop read ${read} of ${records} records of ${stream}`);
    Object.assign(round, { bareSeconds: wall, bareCpuSeconds: cpu });
  };
  const runArchive = async () => {
    const { value: summary, wall, cpu } = await measure(() => archive(stream, records));
    Object.assign(round, {
      archiveSeconds: wall,
      archiveCpuSeconds: cpu,
      archiveObjects: summary.totals.objects,
    });
  };
  for (const step of first === 'bare' ? [runBare, runArchive] : [runArchive, runBare]) await step();
  // kinesalite keeps streams in memory; drop this round's before the next one.
  await kinesis.send(new DeleteStreamCommand({ StreamName: stream }));
  return round;
}

/**
 * Bare GetRecords loop vs. the archive state machine on one emulator. An untimed warm-up round
 * first (the first reads in a process run far slower: JIT), then rounds alternating which goes first.
 */
export async function endToEndBench(options: EndToEndOptions): Promise<Round[]> {
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-bench-'));
  const emulators = await startEmulators({ dir });
  const kinesis = new KinesisClient({ requestHandler: new NodeHttpHandler() });
  try {
    // No poll pacing in ShardRun (the bare loop has none either).
    applyEnvironment({ ...emulators.env, RESERVOIR_POLL_INTERVAL_MS: '0' });
    resetClients();
    resetArchiveRuntime();

    info(`warm-up round: ${options.warmupRecords} records`);
    await runRound(kinesis, 'bench-warmup', options.shards, options.warmupRecords, 'bare');
    const rounds: Round[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const first = r % 2 === 0 ? 'bare' : 'archive';
      info(
        `round ${r + 1}/${options.rounds}: ${options.records} records in ${options.shards} shards, ${first} first`,
      );
      const round = await runRound(kinesis, `bench-${r}`, options.shards, options.records, first);
      info(`  bare ${round.bareSeconds.toFixed(2)} s, archive ${round.archiveSeconds.toFixed(2)} s`);
      rounds.push(round);
    }
    return rounds;
  } finally {
    kinesis.destroy();
    resetClients();
    resetArchiveRuntime();
    await emulators.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
