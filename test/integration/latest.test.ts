import { gunzipSync } from 'node:zlib';
import { AddTagsToStreamCommand, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime, resetArchiveRuntime } from '../../src/archive/runtime';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { parseRecordLines, type RecordLine } from '../../src/core/record-line';
import { snapshotPointerKey, type SnapshotPointer } from '../../src/core/snapshot';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord, type ProducedRecord } from '../../src/local/traffic';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';

const STREAM = 'inventory';
const env = useEmulators({
  RESERVOIR_TOMBSTONES: JSON.stringify({ [STREAM]: { data: { type: ['delete'] } } }),
  RESERVOIR_COMPACT_KEYS_PER_PARTITION: '50',
});

let runs = 0;
const archive = () =>
  runLocalStateMachine('archive', {}, { executionName: `latest-${++runs}` }) as Promise<ArchiveSummary>;

const deletion = (key: string): ProducedRecord => ({
  partitionKey: key,
  data: Buffer.from(JSON.stringify({ type: 'delete', host: key })),
});

/** The state of reading the whole archive in order: last record per key, tombstones deleting. */
function expectedSnapshot(lines: RecordLine[], order: string[]): Map<string, string> {
  const rank = new Map(order.map((id, i) => [id, i]));
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
  const state = new Map<string, string>();
  for (const line of sorted) {
    if ((JSON.parse(line.data) as { type: string }).type === 'delete') state.delete(line.partitionKey);
    else state.set(line.partitionKey, line.data);
  }
  return state;
}

async function readSnapshot(): Promise<{ pointer: SnapshotPointer; state: Map<string, string> }> {
  const { store, config } = archiveRuntime();
  const pointer = (await store.getJson<SnapshotPointer>(snapshotPointerKey(config.prefix, STREAM)))!.value;
  const state = new Map<string, string>();
  for (const key of pointer.outputs) {
    for (const line of parseRecordLines(gunzipSync((await store.getObject(key))!).toString('utf8'))) {
      expect(state.has(line.partitionKey)).toBe(false);
      state.set(line.partitionKey, line.data);
    }
  }
  return { pointer, state };
}

describe('LATEST archive mode on the emulators', () => {
  it('given several archive runs, a split and tombstones, then the snapshot always equals compacting the full history', async () => {
    const { kinesis } = env;
    await createArchivedStream(kinesis, STREAM, 2, false);
    await kinesis.send(
      new AddTagsToStreamCommand({ StreamName: STREAM, Tags: { 'reservoir:archive': 'LATEST' } }),
    );

    await putAll(
      kinesis,
      STREAM,
      Array.from({ length: 300 }, (_, i) => telemetryRecord(i)),
    );
    const first = await archive();
    expect(first.snapshots).toEqual([
      expect.objectContaining({ stream: STREAM, generation: expect.any(String) }),
    ]);
    const { store, config } = archiveRuntime();
    let lines = (await readWholeArchive(store, config.prefix, STREAM)).lines.map((l) => l.line);
    const one = await readSnapshot();
    expect(one.state).toEqual(expectedSnapshot(lines, ['shardId-000000000000', 'shardId-000000000001']));

    const keys = [...one.state.keys()];
    await putAll(kinesis, STREAM, [
      ...Array.from({ length: 200 }, (_, i) => telemetryRecord(1000 + i)),
      deletion(keys[0]!),
      deletion(keys[1]!),
    ]);
    const [shard] = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const middle =
      (BigInt(shard!.HashKeyRange!.StartingHashKey!) + BigInt(shard!.HashKeyRange!.EndingHashKey!)) / 2n;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: STREAM,
        ShardToSplit: shard!.ShardId!,
        NewStartingHashKey: middle.toString(),
      }),
    );
    await waitForActive(kinesis, STREAM);
    await putAll(
      kinesis,
      STREAM,
      Array.from({ length: 100 }, (_, i) => telemetryRecord(2000 + i)),
    );
    await putAll(kinesis, STREAM, [deletion(keys[2]!), deletion(keys[3]!)]);
    const second = await archive();
    expect(second.errorName).toBeNull();

    lines = (await readWholeArchive(store, config.prefix, STREAM)).lines.map((l) => l.line);
    const two = await readSnapshot();
    const order = [
      'shardId-000000000000',
      'shardId-000000000001',
      'shardId-000000000002',
      'shardId-000000000003',
    ];
    expect(two.state).toEqual(expectedSnapshot(lines, order));
    // Deleted after their last update: gone from the snapshot.
    expect(two.state.has(keys[2]!)).toBe(false);
    expect(two.state.has(keys[3]!)).toBe(false);
    expect(two.pointer.generation).not.toBe(one.pointer.generation);
    // The previous generation is removed once the new one is current.
    expect(await store.listKeys(one.pointer.outPrefix)).toEqual([]);

    // A run with nothing new keeps the same content.
    await archive();
    expect((await readSnapshot()).state).toEqual(two.state);
    expect(two.pointer.tombstone).toEqual({ data: { type: ['delete'] } });

    // A run started without the tombstone setting applies the snapshot's own: no key comes back.
    const configured = process.env.RESERVOIR_TOMBSTONES;
    delete process.env.RESERVOIR_TOMBSTONES;
    resetArchiveRuntime();
    try {
      const live = [...two.state.keys()].slice(0, 2);
      await putAll(kinesis, STREAM, [
        ...Array.from({ length: 20 }, (_, i) => telemetryRecord(3000 + i)),
        deletion(live[0]!),
        deletion(live[1]!),
      ]);
      const unconfigured = await archive();
      expect(unconfigured.errorName).toBeNull();
      expect(unconfigured.warnings).toEqual([
        expect.stringContaining(
          `${STREAM}: LATEST snapshot: no tombstone pattern is configured for this run`,
        ),
      ]);
      lines = (await readWholeArchive(store, config.prefix, STREAM)).lines.map((l) => l.line);
      const three = await readSnapshot();
      // Deleted keys stay deleted (unless written again since): the tombstones still apply.
      expect(three.state).toEqual(expectedSnapshot(lines, order));
      expect(three.state.has(live[0]!)).toBe(false);
      expect(three.pointer.keys).toBe(three.state.size);
    } finally {
      process.env.RESERVOIR_TOMBSTONES = configured;
      resetArchiveRuntime();
    }
  });
});
