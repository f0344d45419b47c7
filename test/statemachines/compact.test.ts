import { gunzipSync } from 'node:zlib';
import { ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import aslValidator from 'asl-validator';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { loadLocalDefinition } from '../../src/local/asl-definition';
import {
  ExecutionFailedError,
  runLocalStateMachine,
  type TaskEvent,
} from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { parseRecordLines, type RecordLine } from '../../src/core/record-line';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';

// Small partitions and chunks: the run has several of each, as a large one would.
const env = useEmulators({ RESERVOIR_COMPACT_KEYS_PER_PARTITION: '40', RESERVOIR_COMPACT_CHUNK_MB: '1' });

/** The last record per key, reading the archive in each key's order (lineage, then sequence). */
function naiveLastPerKey(lines: RecordLine[], lineageOrder: string[]): Map<string, RecordLine> {
  const rank = new Map(lineageOrder.map((id, i) => [id, i]));
  const sorted = [...lines].sort(
    (a, b) =>
      rank.get(a.shardId)! - rank.get(b.shardId)! ||
      (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber)
        ? -1
        : BigInt(a.sequenceNumber) > BigInt(b.sequenceNumber)
          ? 1
          : 0) ||
      a.subSequenceNumber - b.subSequenceNumber,
  );
  return new Map(sorted.map((line) => [line.partitionKey, line]));
}

describe('compact state machine (real ASL, real handlers)', () => {
  it('is a valid state machine definition', () => {
    const { isValid, errorsText } = aslValidator(
      structuredClone(loadLocalDefinition('compact').definition) as never,
    );
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('given a stream split midway, then it writes exactly the newest record of every key, and removes its shuffle', async () => {
    const { kinesis } = env;
    await createArchivedStream(kinesis, 'compacted', 1);
    await putAll(
      kinesis,
      'compacted',
      Array.from({ length: 400 }, (_, i) => telemetryRecord(i)),
    );
    const [parent] = (await kinesis.send(new ListShardsCommand({ StreamName: 'compacted' }))).Shards!;
    const range = parent!.HashKeyRange!;
    const middle = (BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: 'compacted',
        ShardToSplit: parent!.ShardId!,
        NewStartingHashKey: middle.toString(),
      }),
    );
    await waitForActive(kinesis, 'compacted');
    await putAll(
      kinesis,
      'compacted',
      Array.from({ length: 300 }, (_, i) => telemetryRecord(1000 + i)),
    );
    await runLocalStateMachine(
      'archive',
      { streams: ['compacted'] },
      { executionName: 'compact-sm-archive' },
    );

    const tasks: TaskEvent[] = [];
    const result = (await runLocalStateMachine(
      'compact',
      {
        stream: 'compacted',
        outPrefix: 'snapshots/compacted/',
        runId: 'compact-sm-1',
        // kinesalite stamps records of a new child shard up to 1 s in the future: the default
        // bound (now) would leave out the newest ones when the archive run was quick.
        to: new Date(Date.now() + 60_000).toISOString(),
      },
      { executionName: 'compact-sm-1', onTask: (t) => tasks.push(t) },
    )) as { records: number; keys: number; resultKey: string; outPrefix: string };

    const { store, config } = archiveRuntime();
    const lines = (await readWholeArchive(store, config.prefix, 'compacted')).lines.map((l) => l.line);
    const expected = naiveLastPerKey(lines, [
      parent!.ShardId!,
      'shardId-000000000001',
      'shardId-000000000002',
    ]);
    expect(result).toMatchObject({
      records: expected.size,
      keys: expected.size,
      outPrefix: 'snapshots/compacted/',
    });
    expect(tasks.filter((t) => t.state === 'MergePartition').length).toBeGreaterThan(1);

    const outputs = (await store.listKeys('snapshots/compacted/')).filter((k) => k.endsWith('.jsonl.gz'));
    const written = new Map<string, RecordLine>();
    for (const key of outputs) {
      for (const line of parseRecordLines(gunzipSync((await store.getObject(key))!).toString('utf8'))) {
        expect(written.has(line.partitionKey)).toBe(false);
        written.set(line.partitionKey, line);
      }
    }
    expect(written).toEqual(expected);
    expect(await store.listKeys(`${config.prefix}runs/compact/compact-sm-1/shuffle/`)).toEqual([]);
  });

  it('given a filter that is not a valid pattern, then the run fails at PlanCompaction naming the field', async () => {
    const failure = (await runLocalStateMachine(
      'compact',
      { stream: 'compacted', filter: { data: { type: [{ prefix: 1 }] } } },
      { executionName: 'compact-sm-invalid' },
    ).catch((e: unknown) => e)) as ExecutionFailedError;
    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect(failure.error).toBe('ValidationError');
    expect(failure.causeText).toContain('field filter.data.type');
  });
});
