import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime, resetArchiveRuntime } from '../../src/archive/runtime';
import { resetClients } from '../../src/aws/clients';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { startEfoKinesis, type EfoKinesis } from '../../src/local/efo-kinesis';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { startThrottledKinesis, type ThrottledKinesis } from '../../src/local/throttled-kinesis';
import { putAll, type ProducedRecord } from '../../src/local/traffic';
import { checkArchive } from '../../src/local/verify-archive';
import { resetReplayRuntime } from '../../src/replay/runtime';
import { createArchivedStream, useEmulators } from '../support/emulators';

/**
 * The read budget, proven where AWS would enforce it: the throttling proxy limits every shard's
 * reads as AWS does (5 GetRecords calls/s and 2 MiB/s shared by every client) and counts each
 * client's calls. A "production consumer" (its own access key) polls the same shards at its own
 * 1 call/s while an archive run catches up a backlog. reservoir reads with the default budget:
 * 1 call/s and 1 MiB/s per shard.
 */
const env = useEmulators({
  RESERVOIR_READ_CALLS_PER_SECOND: '1',
  RESERVOIR_READ_MB_PER_SECOND: '1',
});
const MIB = 1024 * 1024;

const RESERVOIR_KEY = 'S3RVER';
const PRODUCTION_KEY = 'production';
let runs = 0;

/** Records of about `bytes` (default ~1 KB) whose keys spread them over the shards. */
const payload = (from: number, count: number, bytes = 1000): ProducedRecord[] =>
  Array.from({ length: count }, (_, i) => ({
    partitionKey: `device-${from + i}`,
    data: Buffer.from(JSON.stringify({ i: from + i, pad: 'x'.repeat(bytes) })),
  }));

/** Points reservoir's Kinesis client at `endpoint` (the proxy, or an endpoint in front of it). */
function reservoirReadsThrough(endpoint: string): void {
  process.env.AWS_ENDPOINT_URL_KINESIS = endpoint;
  resetClients();
  resetArchiveRuntime();
  resetReplayRuntime();
}

interface ConsumerCounts {
  calls: number;
  throttled: number;
  records: number;
  otherErrors: string[];
}

/**
 * A production consumer: every shard polled once a second (what AWS recommends for a consumer of a
 * shared shard), following its iterators, until stopped. Throttles are counted, never retried early.
 */
function productionConsumer(
  endpoint: string,
  stream: string,
  options: { start: ShardIteratorType; limit: number },
): { stop: () => Promise<ConsumerCounts> } {
  const client = new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: PRODUCTION_KEY, secretAccessKey: PRODUCTION_KEY },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  const counts: ConsumerCounts = { calls: 0, throttled: 0, records: 0, otherErrors: [] };
  let stopped = false;
  const pollShard = async (shardId: string) => {
    let iterator = (
      await client.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shardId,
          ShardIteratorType: options.start,
        }),
      )
    ).ShardIterator;
    while (!stopped && iterator) {
      const started = Date.now();
      counts.calls += 1;
      try {
        const batch = await client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: options.limit }),
        );
        counts.records += batch.Records?.length ?? 0;
        iterator = batch.NextShardIterator;
      } catch (error) {
        if ((error as Error).name === 'ProvisionedThroughputExceededException') counts.throttled += 1;
        else counts.otherErrors.push((error as Error).name);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started))));
    }
  };
  const done = (async () => {
    const shards = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    await Promise.all(shards.map((shard) => pollShard(shard.ShardId!)));
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      client.destroy();
      return counts;
    },
  };
}

async function archive(stream: string): Promise<{ summary: ArchiveSummary; seconds: number }> {
  const started = Date.now();
  const summary = (await runLocalStateMachine(
    'archive',
    { streams: [stream] },
    { executionName: `it-read-budget-${++runs}` },
  )) as ArchiveSummary;
  return { summary, seconds: (Date.now() - started) / 1000 };
}

async function expectArchivedOnce(stream: string, produced: ProducedRecord[]): Promise<void> {
  const { store, config } = archiveRuntime();
  expect(checkArchive(produced, (await readWholeArchive(store, config.prefix, stream)).lines)).toMatchObject({
    archived: produced.length,
    missing: 0,
    duplicates: 0,
  });
}

describe('the read budget beside a production consumer', () => {
  let proxy: ThrottledKinesis;
  let direct: string;

  beforeAll(async () => {
    direct = process.env.AWS_ENDPOINT_URL_KINESIS!;
    proxy = await startThrottledKinesis({ upstream: env.emulators.kinesaliteEndpoint });
  });
  afterAll(async () => {
    reservoirReadsThrough(direct);
    await proxy?.stop();
  });

  it('given an archive catching up a backlog while a production consumer polls each shard once a second, then the consumer is never throttled, reservoir stays within its share, and every record is archived once', async () => {
    const stream = 'shared-polling';
    await createArchivedStream(env.kinesis, stream, 2);
    // About 3 MiB per shard in 50 KB records: at 1 MiB/s the bytes, not the calls, set the pace.
    const backlog = payload(0, 120, 50_000);
    await putAll(env.kinesis, stream, backlog);
    reservoirReadsThrough(proxy.endpoint);

    const consumer = productionConsumer(proxy.endpoint, stream, { start: 'LATEST', limit: 10_000 });
    const live: ProducedRecord[] = [];
    const producer = setInterval(() => {
      const batch = payload(100_000 + live.length, 20);
      live.push(...batch);
      void putAll(env.kinesis, stream, batch);
    }, 250);
    let result;
    try {
      result = await archive(stream);
    } finally {
      clearInterval(producer);
    }
    const counts = await consumer.stop();

    expect(result.summary.errorName).toBeNull();
    expect(counts).toMatchObject({ throttled: 0, otherErrors: [] });
    expect(counts.calls).toBeGreaterThan(4);
    expect(counts.records).toBeGreaterThan(0);

    // What the proxy saw of reservoir, shard by shard: at most one call per second (plus the
    // first, which the budget lets go at once) and 1 MiB/s, and never a refused call.
    const reads = proxy.stats().reads.perClient[RESERVOIR_KEY]!;
    expect(reads.throttled).toBe(0);
    const shards = Object.entries(reads.perShard);
    expect(shards).toHaveLength(2);
    for (const [, shard] of shards) {
      expect(shard.bytes).toBeGreaterThan(2 * MIB);
      expect(shard.calls).toBeLessThanOrEqual(1 + result.seconds * 1);
      // Each call asks for about one second's bytes (after a 10-record probe): the reads of a shard
      // take at least their bytes at 1 MiB/s, less the last call's second.
      expect(shard.bytes).toBeLessThanOrEqual(MIB * (1 + result.seconds));
      expect(result.seconds).toBeGreaterThanOrEqual(shard.bytes / MIB - 1);
    }
    // And the archive summary reports the share it used: no more than 1 call/s of the shard's 5.
    const read = result.summary.streams[0]!.read!;
    expect(read).toMatchObject({ mode: 'polling', share: null, throttled: 0 });
    expect(read.busiestShard!.callsPerSecond).toBeLessThanOrEqual(1.01);
    expect(read.busiestShard!.share).toBeLessThanOrEqual(0.5);

    // What arrived after the run read the tip goes into the next run.
    await archive(stream);
    await expectArchivedOnce(stream, [...backlog, ...live]);
  }, 120_000);

  describe('a saturated shard', () => {
    // The shard's whole byte budget goes to the production consumer: 64 records of ~1 KB each second
    // against a proxy that serves 64 KiB/s per shard (AWS: 1 MB/s in, 2 MB/s out, two consumers).
    let saturated: ThrottledKinesis;
    let efo: EfoKinesis;

    beforeAll(async () => {
      saturated = await startThrottledKinesis({
        upstream: env.emulators.kinesaliteEndpoint,
        readBytesPerSecond: 64 * 1024,
      });
      // Enhanced fan-out reads kinesalite directly (its own 2 MiB/s pipe); everything else goes
      // through the saturated proxy.
      efo = await startEfoKinesis({
        upstream: env.emulators.kinesaliteEndpoint,
        forward: saturated.endpoint,
        subscriptionMs: 3_000,
        emptyEventMs: 200,
        takeoverMs: 1_000,
        subscribeIntervalMs: 0,
      });
    });
    afterAll(async () => {
      reservoirReadsThrough(direct);
      await efo?.stop();
      await saturated?.stop();
    });

    it('given a stream read with enhanced fan-out, then it is archived exactly once without one GetRecords call, and the production consumer is never throttled', async () => {
      const stream = 'saturated-efo';
      await createArchivedStream(env.kinesis, stream, 1, true, { 'reservoir:read-mode': 'efo' });
      const backlog = payload(0, 1000);
      await putAll(env.kinesis, stream, backlog);
      reservoirReadsThrough(efo.endpoint);

      const consumer = productionConsumer(saturated.endpoint, stream, { start: 'TRIM_HORIZON', limit: 60 });
      const { summary } = await archive(stream);
      const counts = await consumer.stop();

      expect(summary.errorName).toBeNull();
      expect(summary.streams[0]!.read).toMatchObject({ mode: 'efo' });
      await expectArchivedOnce(stream, backlog);
      expect(counts).toMatchObject({ throttled: 0, otherErrors: [] });
      expect(saturated.stats().reads.perClient[RESERVOIR_KEY]?.calls ?? 0).toBe(0);
      expect(efo.stats().recordsPushed).toBeGreaterThanOrEqual(backlog.length);
    }, 120_000);

    it('given the same shard read by polling, then reservoir and the production consumer contend for its bytes: why such a stream needs enhanced fan-out', async () => {
      const stream = 'saturated-polling';
      await createArchivedStream(env.kinesis, stream, 1);
      const backlog = payload(0, 300);
      await putAll(env.kinesis, stream, backlog);
      reservoirReadsThrough(saturated.endpoint);

      const consumer = productionConsumer(saturated.endpoint, stream, { start: 'TRIM_HORIZON', limit: 60 });
      const { summary } = await archive(stream);
      const counts = await consumer.stop();

      // Every record still arrives (throttled reads are retried), but not without refusals.
      await expectArchivedOnce(stream, backlog);
      const reservoirThrottled = saturated.stats().reads.perClient[RESERVOIR_KEY]?.throttled ?? 0;
      expect(counts.throttled + reservoirThrottled).toBeGreaterThan(0);
      expect(summary.errorName).toBeNull();
    }, 120_000);
  });
});
