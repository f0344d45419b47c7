import { initialCheckpoint, type Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { CheckpointConflictError } from '../core/errors';
import { checkpointStreamPrefix } from '../core/layout';
import type { ObjectStore, StoredJson } from '../core/ports';
import { epochOf, isFromEarlierEpoch, retiredEpochPrefix, type RecreatedStream } from '../core/stream-epoch';

/**
 * The stream's checkpoints by shard, as they stand once any of an earlier stream are moved aside
 * (read once: the plan takes its baselines from them), and what was moved.
 *
 * Moves the checkpoints of an earlier stream of this name (deleted and created again) aside, so
 * that the current stream is archived as a new epoch from its trim horizon. The old archive
 * objects stay where they are and stay queryable; only the positions, which mean nothing in the
 * new stream, move. Each is copied to checkpoints-retired/ first; then a shard the new stream also
 * has gets a fresh checkpoint by a conditional put on the ETag read (a 412: another run did it
 * already, or the new epoch's writer is ahead), and one it does not have is deleted (no writer of
 * the new stream can race for it). A crash in between is finished by the next run.
 */
export async function currentEpochCheckpoints(
  store: ObjectStore,
  prefix: string,
  stream: string,
  current: { createdAt: number; shardIds: ReadonlySet<string>; now: Date },
): Promise<{ checkpoints: Map<string, Checkpoint>; recreated: RecreatedStream | null }> {
  const keys = await store.listKeys(checkpointStreamPrefix(prefix, stream));
  const loaded = (
    await mapWithConcurrency(keys, 16, async (key) => ({ key, stored: await store.getJson<Checkpoint>(key) }))
  ).filter((found): found is { key: string; stored: StoredJson<Checkpoint> } => found.stored !== null);
  const checkpoints = new Map(loaded.map(({ stored }) => [stored.value.shardId, stored.value]));
  const earlier = loaded.filter(({ stored }) => isFromEarlierEpoch(stored.value, current.createdAt));
  if (earlier.length === 0) return { checkpoints, recreated: null };
  const epochs = new Set<string>();
  const gone: string[] = [];
  await mapWithConcurrency(earlier, 16, async ({ key, stored }) => {
    const checkpoint = stored.value;
    const epoch = epochOf(checkpoint, current.createdAt);
    epochs.add(epoch);
    await store.putJson(`${retiredEpochPrefix(prefix, stream, epoch)}${checkpoint.shardId}.json`, checkpoint);
    checkpoints.delete(checkpoint.shardId);
    if (!current.shardIds.has(checkpoint.shardId)) return void gone.push(key);
    const fresh: Checkpoint = {
      ...initialCheckpoint(stream, checkpoint.shardId, []),
      streamCreatedAt: current.createdAt,
      updatedAt: current.now.toISOString(),
    };
    await store.putJsonIfMatch(key, fresh, stored.etag).then(
      () => checkpoints.set(checkpoint.shardId, fresh),
      (error: unknown) => {
        // Another run replaced it already, or the new epoch's writer is ahead: its baseline is unknown.
        if (!(error instanceof CheckpointConflictError)) throw error;
      },
    );
  });
  await store.deleteKeys(gone);
  return {
    checkpoints,
    recreated: {
      stream,
      createdAt: new Date(current.createdAt).toISOString(),
      retiredCheckpoints: earlier.length,
      retiredPrefix: retiredEpochPrefix(prefix, stream, [...epochs].sort()[0]!),
    },
  };
}
