import type { Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { checkpointStreamPrefix } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import { epochOf, isFromEarlierEpoch, retiredEpochPrefix, type RecreatedStream } from '../core/stream-epoch';

/**
 * Moves the checkpoints of an earlier stream of this name (deleted and created again) aside,
 * so that the current stream is archived as a new epoch from its trim horizon. The old archive
 * objects stay where they are and stay queryable; only the positions, which mean nothing in the
 * new stream, move. Copy first, then delete: a crash in between leaves a copy and the original,
 * and the next run finishes the move.
 */
export async function retireEarlierEpochs(
  store: ObjectStore,
  prefix: string,
  stream: string,
  streamCreatedAt: number,
): Promise<RecreatedStream | null> {
  const keys = await store.listKeys(checkpointStreamPrefix(prefix, stream));
  const earlier = (
    await mapWithConcurrency(keys, 16, async (key) => {
      const stored = await store.getJson<Checkpoint>(key);
      return stored && isFromEarlierEpoch(stored.value, streamCreatedAt)
        ? { key, checkpoint: stored.value }
        : null;
    })
  ).filter((found): found is { key: string; checkpoint: Checkpoint } => found !== null);
  if (earlier.length === 0) return null;
  const epochs = new Set<string>();
  await mapWithConcurrency(earlier, 16, async ({ checkpoint }) => {
    const epoch = epochOf(checkpoint, streamCreatedAt);
    epochs.add(epoch);
    await store.putJson(`${retiredEpochPrefix(prefix, stream, epoch)}${checkpoint.shardId}.json`, checkpoint);
  });
  await store.deleteKeys(earlier.map(({ key }) => key));
  return {
    stream,
    createdAt: new Date(streamCreatedAt).toISOString(),
    retiredCheckpoints: earlier.length,
    retiredPrefix: retiredEpochPrefix(prefix, stream, [...epochs].sort()[0]!),
  };
}
