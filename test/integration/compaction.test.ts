import { processReadBudget, sleep } from '../../src/reading/process-budget';
import {
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { readArchiveObject, readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { kinesisClient } from '../../src/aws/clients';
import { KinesisShardReader } from '../../src/aws/kinesis-adapter';
import { cleanupCompaction } from '../../src/compaction/cleanup';
import { mergePartition } from '../../src/compaction/merge-worker';
import { partitionChunk } from '../../src/compaction/partition-worker';
import { planCompactionRun, type CompactionRunRequest } from '../../src/compaction/plan';
import { createPositionComparator, lineageFromShards } from '../../src/consumer/position';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { compactionFiles } from '../../src/core/compaction-spec';
import { toUserRecords } from '../../src/core/deaggregate';
import { compileFilter, type FilterPattern } from '../../src/core/filter-pattern';
import { toRecordLine, type RecordLine } from '../../src/core/record-line';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { kplAggregate, putAll, type ProducedRecord } from '../../src/local/traffic';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';
import { readStream } from '../support/streams';

// Small archive objects: many inputs, several chunks.
const env = useEmulators({ RESERVOIR_MAX_OBJECT_MB: '1', RESERVOIR_GETRECORDS_LIMIT: '500' });
const STREAM = 'ledger';

let produced = 0;
/** Account updates over 120 keys: some large (shuffled by reference), some deletes, some KPL-aggregated. */
function updates(count: number): ProducedRecord[] {
  return Array.from({ length: count }, () => {
    const n = produced++;
    const body =
      n % 53 === 0
        ? { n, deleted: true }
        : { n, balance: (n * 7919) % 1000, note: n % 5 === 0 ? 'x'.repeat(900) : 'small' };
    return { partitionKey: `acct-${(n * 31) % 120}`, data: Buffer.from(JSON.stringify(body)) };
  });
}

async function produce(kinesis: KinesisClient, records: ProducedRecord[], aggregated: ProducedRecord[] = []) {
  await putAll(kinesis, STREAM, [...records, ...kplAggregate(aggregated)]);
}

function naiveLastPerKey(
  lines: RecordLine[],
  lineage: Map<string, string[]>,
  options: { filter?: FilterPattern; tombstone?: FilterPattern; fromMs?: number; toMs?: number } = {},
) {
  const compare = createPositionComparator(lineage);
  const filter = options.filter ? compileFilter(options.filter) : null;
  const tombstone = options.tombstone ? compileFilter(options.tombstone) : null;
  const event = (line: RecordLine) => ({
    partitionKey: line.partitionKey,
    sequenceNumber: line.sequenceNumber,
    approximateArrivalTimestamp: line.arrivalTimestamp / 1000,
    data: JSON.parse(line.data) as unknown,
  });
  const best = new Map<string, RecordLine>();
  for (const line of lines) {
    if (line.arrivalTimestamp < (options.fromMs ?? 0) || line.arrivalTimestamp >= (options.toMs ?? Infinity))
      continue;
    if (filter && !filter(event(line))) continue;
    const held = best.get(line.partitionKey);
    if (!held || compare(line, held) > 0) best.set(line.partitionKey, line);
  }
  return [...best.values()].filter((line) => !tombstone?.(event(line))).sort(byKey);
}

const byKey = (a: RecordLine, b: RecordLine) => (a.partitionKey < b.partitionKey ? -1 : 1);

async function compact(request: Omit<CompactionRunRequest, 'prefix' | 'stream'>) {
  const { store, config, catalog } = archiveRuntime();
  const spec = await planCompactionRun(
    { store, catalog },
    { prefix: config.prefix, stream: STREAM, ...request },
    { keysPerPartition: 1500, chunkBytes: 32 * 1024 },
  );
  const deps = {
    store,
    live: {
      reader: new KinesisShardReader(kinesisClient()),
      budget: processReadBudget(),
      now: Date.now,
      sleep,
    },
  };
  const partitioned = await Promise.all(
    spec.chunks.map((_, chunk) => partitionChunk(spec, chunk, deps, { bufferBytes: 256 * 1024 })),
  );
  const merged = await Promise.all(
    Array.from({ length: spec.partitions }, (_, p) => mergePartition(spec, p, deps)),
  );
  const shuffle = await store.listKeys(compactionFiles(config.prefix, spec.runId).shuffle);
  const summary = await cleanupCompaction(spec, deps);
  const lines = (await Promise.all(summary.outputs.map((key) => readArchiveObject(store, key)))).flat();
  return { spec, partitioned, merged, shuffle, summary, lines: lines.sort(byKey) };
}

describe('compaction on the emulators', () => {
  let lineage = new Map<string, string[]>();

  it('given an archived stream with a split and a merge, then plan → partition → merge → cleanup gives the naive last record per key of the archive', async () => {
    const { kinesis } = env;
    await createArchivedStream(kinesis, STREAM, 2);
    await produce(kinesis, updates(1500), updates(300));
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const range = shards[0]!.HashKeyRange!;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: STREAM,
        ShardToSplit: shards[0]!.ShardId!,
        NewStartingHashKey: ((BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n).toString(),
      }),
    );
    await waitForActive(kinesis, STREAM);
    await produce(kinesis, updates(1500));
    await kinesis.send(
      new MergeShardsCommand({
        StreamName: STREAM,
        ShardToMerge: 'shardId-000000000003', // the upper half of shard 0, next to shard 1
        AdjacentShardToMerge: shards[1]!.ShardId!,
      }),
    );
    await waitForActive(kinesis, STREAM);
    await produce(kinesis, updates(1500), updates(200));

    const summary = (await runLocalStateMachine(
      'archive',
      {},
      { executionName: 'it-compact-archive' },
    )) as ArchiveSummary;
    expect(summary.errorName).toBeNull();
    lineage = lineageFromShards((await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!);
    expect([...lineage.keys()].sort()).toEqual([
      'shardId-000000000002',
      'shardId-000000000003',
      'shardId-000000000004',
    ]);

    const tombstone = { data: { deleted: [true] } };
    const result = await compact({ runId: 'it-1', fromMs: 0, toMs: Date.now() + 3_600_000, tombstone });
    const { store, config } = archiveRuntime();
    const { lines } = await readWholeArchive(store, config.prefix, STREAM);
    const expected = naiveLastPerKey(
      lines.map(({ line }) => line),
      lineage,
      { tombstone },
    );
    expect(result.lines).toEqual(expected);
    expect(result.spec.inputs.length).toBeGreaterThanOrEqual(5);
    expect(result.spec.chunks.length).toBeGreaterThan(1);
    expect(result.spec.partitions).toBeGreaterThan(1);
    expect(result.summary.tombstoned).toBeGreaterThan(0);
    expect(result.summary.keys).toBe(120);
    expect(result.summary.records + result.summary.tombstoned).toBe(120);
    expect(result.partitioned.reduce((sum, r) => sum + r.references, 0)).toBeGreaterThan(0);
    expect(result.merged.reduce((sum, r) => sum + r.objectsRead, 0)).toBeGreaterThan(0);
    // Every key was written again after the merge: its winner is in a shard that was never split or merged.
    for (const line of result.lines)
      expect(['shardId-000000000002', 'shardId-000000000004']).toContain(line.shardId);
    expect(result.shuffle.length).toBeGreaterThan(0);
    expect(result.summary.deleted).toBe(result.shuffle.length);
    expect(await store.listKeys(compactionFiles(config.prefix, 'it-1').shuffle)).toEqual([]);
  });

  it('given records not archived yet and includeLive, then the live tail is compacted with the archive, filtered before', async () => {
    const { kinesis } = env;
    const liveFrom = produced;
    await produce(kinesis, updates(800), updates(100));
    const lateFrom = produced;
    const untilMs = Date.now() + 1000;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await produce(kinesis, updates(50)); // after untilMs: left out
    const filter = { data: { balance: [{ numeric: ['<', 500] }] } };
    const result = await compact({
      runId: 'it-2',
      fromMs: 0,
      toMs: Date.now() + 3_600_000,
      filter,
      includeLive: { untilMs },
    });
    expect(result.spec.inputs.filter((i) => i.type === 'live')).toHaveLength(2);
    const everything = (await readStream(kinesis, STREAM)).flatMap((record) =>
      toUserRecords(STREAM, record.shardId, record).map(toRecordLine),
    );
    const expected = naiveLastPerKey(everything, lineage, { filter, toMs: untilMs });
    expect(result.lines).toEqual(expected);
    const n = (line: RecordLine) => (JSON.parse(line.data) as { n: number }).n;
    expect(result.lines.some((l) => n(l) >= liveFrom)).toBe(true);
    expect(result.lines.every((l) => n(l) < lateFrom)).toBe(true);
    expect(result.lines.every((l) => (JSON.parse(l.data) as { balance: number }).balance < 500)).toBe(true);
  });
});
