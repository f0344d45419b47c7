import { isCheckpoint, type Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { checkpointStreamPrefix } from '../core/layout';
import type { ObjectStore } from '../core/ports';

/** The checkpoints stored under a key prefix, as stored (objects that are not checkpoints ignored). */
export async function readCheckpointsUnder(store: ObjectStore, keyPrefix: string): Promise<Checkpoint[]> {
  const keys = (await store.listKeys(keyPrefix)).filter((k) => k.endsWith('.json'));
  const stored = await mapWithConcurrency(keys, 16, (key) => store.getJson<unknown>(key));
  return stored.flatMap((s) => (s && isCheckpoint(s.value) ? [s.value] : []));
}

/** A stream's current checkpoints. */
export function readCheckpoints(store: ObjectStore, prefix: string, stream: string): Promise<Checkpoint[]> {
  return readCheckpointsUnder(store, checkpointStreamPrefix(prefix, stream));
}
