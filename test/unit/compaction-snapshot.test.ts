import { commitSnapshot } from '../../src/compaction/commit-snapshot';
import { snapshotPlanKey } from '../../src/compaction/start-compaction';
import { CheckpointConflictError } from '../../src/core/errors';
import {
  advanceWatermark,
  objectsPastWatermark,
  snapshotPointerKey,
  type SnapshotPlan,
} from '../../src/core/snapshot';
import { MemoryObjectStore } from '../support/fakes';

const object = (shardId: string, first: string, last: string, hr = '10') => ({
  key: `archive/stream=s/dt=2024-11-21/hr=${hr}/${shardId}/${first}-${last}.jsonl.gz`,
  bytes: 1,
  shardId,
  dt: '2024-11-21',
  hr,
  firstSequenceNumber: first,
  lastSequenceNumber: last,
});

describe('LATEST snapshot watermark', () => {
  it("takes only the objects past each shard's watermark, and new shards whole", () => {
    const objects = [
      object('a', '1', '9'),
      object('a', '10', '19'),
      object('b', '5', '7'),
      object('c', '1', '2'),
    ];
    expect(objectsPastWatermark(objects, { a: '9', b: '7' }).map((o) => o.key)).toEqual([
      objects[1]!.key,
      objects[3]!.key,
    ]);
  });

  it("advances the watermark to each shard's last object and the newest hour", () => {
    const next = advanceWatermark({ watermark: { a: '9' }, newestHourStart: Date.UTC(2024, 10, 21, 9) }, [
      object('a', '10', '19', '11'),
      object('b', '5', '7'),
    ]);
    expect(next).toEqual({ watermark: { a: '19', b: '7' }, newestHourStart: Date.UTC(2024, 10, 21, 11) });
  });
});

describe('committing a snapshot', () => {
  const plan = (runId: string, baseEtag: string | null): SnapshotPlan => ({
    stream: 's',
    runId,
    outPrefix: `latest/stream=s/gen=${runId}/`,
    baseEtag,
    base: null,
    watermark: { a: '9' },
    newestHourStart: 0,
  });
  const result = (runId: string) => ({
    runId,
    partitions: 1,
    keys: 3,
    records: 2,
    tombstoned: 1,
    filteredOut: 0,
    bytes: 1,
    outputs: [`latest/stream=s/gen=${runId}/part-00000.jsonl.gz`],
    deleted: 0,
    resultKey: '',
  });

  it('given two runs planned on the same generation, then the first commits and the second deletes its own generation', async () => {
    const store = new MemoryObjectStore();
    for (const runId of ['r1', 'r2']) {
      await store.putJson(snapshotPlanKey('', runId), plan(runId, null));
      await store.putJson(`runs/compact/${runId}/result.json`, result(runId));
      await store.putObject(`latest/stream=s/gen=${runId}/part-00000.jsonl.gz`, Buffer.from('x'));
    }
    await expect(commitSnapshot(store, '', 'r1', new Date())).resolves.toMatchObject({
      generation: 'r1',
      keys: 2,
    });
    await expect(commitSnapshot(store, '', 'r2', new Date())).rejects.toBeInstanceOf(CheckpointConflictError);
    expect((await store.getJson<{ generation: string }>(snapshotPointerKey('', 's')))!.value.generation).toBe(
      'r1',
    );
    expect(await store.listKeys('latest/stream=s/gen=r2/')).toEqual([]);
    expect(await store.listKeys('latest/stream=s/gen=r1/')).toHaveLength(1);
  });

  it('given a commit retried after it succeeded, then nothing changes', async () => {
    const store = new MemoryObjectStore();
    await store.putJson(snapshotPlanKey('', 'r1'), plan('r1', null));
    await store.putJson('runs/compact/r1/result.json', result('r1'));
    await commitSnapshot(store, '', 'r1', new Date());
    await expect(commitSnapshot(store, '', 'r1', new Date())).resolves.toMatchObject({
      generation: 'r1',
      removed: 0,
    });
  });
});
