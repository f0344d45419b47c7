import {
  DeleteStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { SHARD_READ_LIMITS } from '../src/core/read-budget';
import { info } from '../src/cli/output';
import {
  archiveStream,
  createStream,
  measure,
  produce,
  readsOf,
  startBenchKinesis,
  totalOf,
  wait,
  type BenchKinesis,
} from './local-archive';
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
  /** CPU of this process (kinesalite, the proxy, SDK, archiver; not the s3rver child) during each loop. */
  bareCpuSeconds: number;
  archiveCpuSeconds: number;
  archiveObjects: number;
  /** GetRecords calls the proxy refused (ProvisionedThroughputExceededException), all shards. */
  bareThrottled: number;
  archiveThrottled: number;
  /** Bytes of the stream's largest shard (data + partition keys), as the proxy counted the bare loop's reads. */
  busiestShardBytes: number;
}

const LIMIT = 10_000;
const THROTTLED = 'ProvisionedThroughputExceededException';
/** The bare loop's access key id: the proxy counts its calls apart from reservoir's. */
const BARE_CLIENT = 'bare';
/** The bare loop's backoff after a throttled call: doubling from 25 ms, at most 250 ms. */
const BARE_BACKOFF_MS = { first: 25, max: 250 };

/** What both loops may use: each shard's whole read limits (5 calls/s, 2 MiB/s), i.e. a share of 1. */
export const END_TO_END_READ_LIMITS = SHARD_READ_LIMITS;

/**
 * What the archive is measured against (its upper bound): every shard read concurrently (as the
 * archive Map runs shards) from TRIM_HORIZON with GetRecords until caught up, records counted and
 * dropped. No pacing: a call goes as soon as the previous answered; a throttled call is retried
 * with the same iterator after a short backoff, so no record is lost.
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
      let throttledInARow = 0;
      while (iterator) {
        let page;
        try {
          page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: LIMIT }));
          throttledInARow = 0;
        } catch (error) {
          if ((error as Error).name !== THROTTLED) throw error;
          await wait(Math.min(BARE_BACKOFF_MS.max, BARE_BACKOFF_MS.first * 2 ** throttledInARow++));
          continue;
        }
        count += page.Records?.length ?? 0;
        if (page.MillisBehindLatest === 0 && (page.Records?.length ?? 0) === 0) break;
        iterator = page.NextShardIterator;
      }
      return count;
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/** One round on a fresh stream (the archive's checkpoints make a second run of a stream a no-op). */
async function runRound(
  bench: BenchKinesis,
  bare: KinesisClient,
  stream: string,
  shards: number,
  records: number,
  first: Round['first'],
): Promise<Round> {
  const now = Date.now();
  await createStream(bench.direct, stream, shards);
  await produce(bench.direct, stream, records, (i) => benchRecord(i, now));
  const round: Round = {
    stream,
    first,
    bareSeconds: 0,
    archiveSeconds: 0,
    bareCpuSeconds: 0,
    archiveCpuSeconds: 0,
    archiveObjects: 0,
    bareThrottled: 0,
    archiveThrottled: 0,
    busiestShardBytes: 0,
  };
  const runBare = async () => {
    const { value: read, wall, cpu } = await measure(() => bareRead(bare, stream));
    if (read !== records) throw new Error(`bare loop read ${read} of ${records} records of ${stream}`);
    Object.assign(round, { bareSeconds: wall, bareCpuSeconds: cpu });
  };
  const runArchive = async () => {
    const { value: summary, wall, cpu } = await measure(() => archiveStream(stream, records));
    Object.assign(round, {
      archiveSeconds: wall,
      archiveCpuSeconds: cpu,
      archiveObjects: summary.totals.objects,
    });
  };
  const [one, two] = first === 'bare' ? [runBare, runArchive] : [runArchive, runBare];
  await one();
  // A shard idle for a second has its whole budget again: the second loop starts as the first did.
  await wait(1000);
  await two();
  const bareReads = readsOf(bench, BARE_CLIENT, stream);
  round.bareThrottled = totalOf(bareReads).throttled;
  round.busiestShardBytes = Math.max(...[...bareReads.values()].map((counts) => counts.bytes));
  round.archiveThrottled = totalOf(readsOf(bench, bench.reservoirClientId, stream)).throttled;
  // kinesalite keeps streams in memory; drop this round's before the next one.
  await bench.direct.send(new DeleteStreamCommand({ StreamName: stream }));
  return round;
}

/**
 * Bare GetRecords loop vs. the archive state machine on one emulator, both reading through the
 * proxy that enforces AWS's per-shard read limits, the archive's budget set to those whole limits
 * (share 1). An untimed warm-up round first (the first reads in a process run far slower: JIT),
 * then rounds alternating which goes first.
 */
export async function endToEndBench(options: EndToEndOptions): Promise<Round[]> {
  const bench = await startBenchKinesis('reservoir-bench-');
  try {
    bench.useReservoirEnvironment({
      RESERVOIR_READ_CALLS_PER_SECOND: String(END_TO_END_READ_LIMITS.callsPerSecond),
      RESERVOIR_READ_MB_PER_SECOND: String(END_TO_END_READ_LIMITS.bytesPerSecond / (1024 * 1024)),
    });
    const bare = bench.reader(BARE_CLIENT);

    info(`warm-up round: ${options.warmupRecords} records`);
    await runRound(bench, bare, 'bench-warmup', options.shards, options.warmupRecords, 'bare');
    const rounds: Round[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const first = r % 2 === 0 ? 'bare' : 'archive';
      info(
        `round ${r + 1}/${options.rounds}: ${options.records} records in ${options.shards} shards, ${first} first`,
      );
      const round = await runRound(bench, bare, `bench-${r}`, options.shards, options.records, first);
      info(`  bare ${round.bareSeconds.toFixed(2)} s, archive ${round.archiveSeconds.toFixed(2)} s`);
      rounds.push(round);
    }
    return rounds;
  } finally {
    await bench.stop();
  }
}
