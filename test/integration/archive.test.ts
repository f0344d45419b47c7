import {
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { S3ObjectStore } from '../../src/aws/s3-adapter';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { parseArchiveObjectKey } from '../../src/core/layout';
import { ExecutionFailedError, runLocalStateMachine } from '../../src/local/state-machine-runner';
import {
  binaryRecord,
  kplAggregate,
  putAll,
  telemetryRecord,
  type ProducedRecord,
} from '../../src/local/traffic';
import { checkArchive } from '../../src/local/verify-archive';
import { resetTelemetry } from '../../src/telemetry/powertools';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';

// A small GetRecords limit: every shard takes many reads, as a busy shard does on AWS.
const env = useEmulators({ RESERVOIR_MAX_OBJECT_MB: '2', RESERVOIR_GETRECORDS_LIMIT: '250' });
let runs = 0;
const archive = (input: object = {}) =>
  runLocalStateMachine('archive', input, {
    executionName: `it-archive-${++runs}`,
  }) as Promise<ArchiveSummary>;
const archiveStreams = (streams: string[]) => archive({ streams });

async function produce(
  kinesis: KinesisClient,
  stream: string,
  records: ProducedRecord[],
  aggregated: ProducedRecord[] = [],
) {
  await putAll(kinesis, stream, [...records, ...kplAggregate(aggregated)]);
  return [...records, ...aggregated];
}

const telemetry = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => telemetryRecord(from + i));
const oneMiB = (i: number): ProducedRecord => {
  const data = Buffer.alloc(1024 * 1024 - 64, i);
  data[0] = 0xff;
  return { partitionKey: `big-${i}`, data };
};

/** Every produced record is in the archive once, byte-exact, in its arrival hour's partition. */
function expectExactlyOnce(produced: ProducedRecord[], lines: Parameters<typeof checkArchive>[1]) {
  expect(checkArchive(produced, lines)).toEqual({
    produced: produced.length,
    archived: produced.length,
    missing: 0,
    duplicates: 0,
    unexpected: 0,
    misplaced: 0,
  });
}

// Both ways the archive reads: polling GetRecords, and enhanced fan-out (SubscribeToShard through
// the local endpoint), with the same checkpoints and the same exactly-once proof.
describe.each([
  ['polling', 'orders', {}],
  ['efo', 'orders-efo', { 'reservoir:read-mode': 'efo' }],
])('archive on the emulators, reading by %s', (mode, STREAM, readTags: Record<string, string>) => {
  const produced: ProducedRecord[] = [];
  const archive = () => archiveStreams([STREAM]);

  it('given traffic across a split and a merge, with binary, 1 MiB and KPL records, then every record is archived exactly once, byte-exact, in its partition', async () => {
    const { kinesis } = env;
    await createArchivedStream(kinesis, STREAM, 3, true, readTags);
    produced.push(
      ...(await produce(
        kinesis,
        STREAM,
        [...telemetry(0, 1500), ...Array.from({ length: 30 }, (_, i) => binaryRecord(i)), oneMiB(1)],
        telemetry(50_000, 400),
      )),
    );

    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const range = shards[0]!.HashKeyRange!;
    const middle = (BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: STREAM,
        ShardToSplit: shards[0]!.ShardId!,
        NewStartingHashKey: middle.toString(),
      }),
    );
    await waitForActive(kinesis, STREAM);
    produced.push(...(await produce(kinesis, STREAM, [...telemetry(1500, 1000), oneMiB(2)])));

    await kinesis.send(
      new MergeShardsCommand({
        StreamName: STREAM,
        ShardToMerge: shards[1]!.ShardId!,
        AdjacentShardToMerge: shards[2]!.ShardId!,
      }),
    );
    await waitForActive(kinesis, STREAM);
    produced.push(...(await produce(kinesis, STREAM, telemetry(2500, 1000), telemetry(60_000, 200))));

    const pushedBefore = env.emulators.efo.stats().recordsPushed;
    const summary = await archive();
    expect(summary.errorName).toBeNull();
    expect(summary.totals.records).toBe(produced.length);
    // It read the way the stream's tag says: enhanced fan-out records come through subscriptions.
    expect(summary.streams[0]!.read).toMatchObject({ mode });
    const pushed = env.emulators.efo.stats().recordsPushed - pushedBefore;
    if (mode === 'efo') expect(pushed).toBeGreaterThan(0);
    else expect(pushed).toBe(0);
    expect(summary.shards.map((s) => s.status).sort()).toEqual([
      'caught-up',
      'caught-up',
      'caught-up',
      'drained',
      'drained',
      'drained',
    ]);

    const { store, config } = archiveRuntime();
    const { objects, lines } = await readWholeArchive(store, config.prefix, STREAM);
    expectExactlyOnce(produced, lines);
    // Objects are cut at the size bound: the 1 MiB records cannot all share one 2 MiB object.
    expect(objects.length).toBeGreaterThan(6);
    expect(lines.filter(({ line }) => line.subSequenceNumber > 0).length).toBeGreaterThan(0);
    expect(lines.filter(({ line }) => line.encoding === 'base64').length).toBeGreaterThanOrEqual(32);
  });

  it('given a second run, then it adds only the new records', async () => {
    const idle = await archive();
    expect(idle.totals).toEqual({ records: 0, objects: 0, bytes: 0 });
    produced.push(...(await produce(env.kinesis, STREAM, telemetry(9000, 250))));
    const second = await archive();
    expect(second.totals.records).toBe(250);
    const { store, config } = archiveRuntime();
    expect(
      checkArchive(produced, (await readWholeArchive(store, config.prefix, STREAM)).lines),
    ).toMatchObject({ missing: 0, duplicates: 0 });
  });

  it('given a run that dies after an object is written and before its checkpoint, when re-run, then the archive still holds every record exactly once', async () => {
    produced.push(...(await produce(env.kinesis, STREAM, telemetry(10_000, 600))));
    const original = S3ObjectStore.prototype.putObject;
    let crashed = 0;
    const spy = jest.spyOn(S3ObjectStore.prototype, 'putObject').mockImplementation(async function (
      this: S3ObjectStore,
      key,
      ...rest
    ) {
      await original.call(this, key, ...rest);
      if (parseArchiveObjectKey(key) && crashed++ === 0)
        throw new Error('Runtime.ExitError: the Lambda died');
    });
    try {
      await expect(archive()).rejects.toThrow(ExecutionFailedError);
    } finally {
      spy.mockRestore();
    }
    expect(crashed).toBeGreaterThan(0);
    await archive();
    const { store, config } = archiveRuntime();
    const { lines } = await readWholeArchive(store, config.prefix, STREAM);
    expectExactlyOnce(produced, lines);
  });
});

describe('archive on the emulators', () => {
  it('given the trim horizon passed a checkpoint, then that shard fails with DataGapError while other streams are archived', async () => {
    const { kinesis, emulators } = env;
    await createArchivedStream(kinesis, 'gappy', 1);
    await createArchivedStream(kinesis, 'healthy', 1);
    await produce(kinesis, 'gappy', telemetry(0, 20));
    await archive({ streams: ['gappy'] });
    await produce(kinesis, 'gappy', telemetry(100, 20)); // these expire unarchived
    const expiredAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const keptAt = Date.now();
    await produce(kinesis, 'gappy', telemetry(200, 5));
    // Retention ends halfway between the two batches, and stays between them for ~2 s.
    await emulators.setRetentionMillis('gappy', Date.now() - (expiredAt + keptAt) / 2);
    const healthy = await produce(kinesis, 'healthy', telemetry(300, 50));

    // The gap metric: EMF lines Powertools writes to stdout (metrics are off in local runs unless asked for).
    const logs: string[] = [];
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    resetTelemetry();
    const log = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    });
    let failure: ExecutionFailedError | undefined;
    try {
      await archive({ streams: ['gappy', 'healthy'] }).catch(
        (error: ExecutionFailedError) => (failure = error),
      );
    } finally {
      log.mockRestore();
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
      resetTelemetry();
    }
    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect(failure!.error).toBe('DataGapError');
    expect(failure!.causeText).toMatch(
      /gappy\/shardId-000000000000: DataGapError: Data gap on stream gappy shard shardId-000000000000: records after sequence number \d+/,
    );
    expect(logs.some((line) => line.includes('"DataGaps":1') && line.includes('"Stream":"gappy"'))).toBe(
      true,
    );

    const { store, config } = archiveRuntime();
    expect(
      checkArchive(healthy, (await readWholeArchive(store, config.prefix, 'healthy')).lines),
    ).toMatchObject({
      archived: 50,
      missing: 0,
      duplicates: 0,
    });
  });
});
