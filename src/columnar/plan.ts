import type { Checkpoint } from '../core/checkpoint';
import { isCheckpoint } from '../core/checkpoint';
import {
  columnarManifestKey,
  columnarStreamPrefix,
  groupByHour,
  hourId,
  hoursToConvert,
  isColumnarManifest,
  parseManifestKey,
  type ArchiveHour,
  type ColumnarManifest,
  type HourSelection,
} from '../core/columnar';
import { mapWithConcurrency } from '../core/concurrency';
import { archiveStreamPrefix, checkpointStreamPrefix } from '../core/layout';
import type { ObjectStore } from '../core/ports';

export interface ColumnarPlan {
  /** Hours to convert, oldest first, at most `maxHours`. */
  hours: ArchiveHour[];
  /** Hours that needed conversion beyond `maxHours` (the next run takes them). */
  deferred: number;
}

/** The stream's checkpoints as stored (not-a-checkpoint objects ignored). */
export async function readCheckpoints(
  store: ObjectStore,
  prefix: string,
  stream: string,
): Promise<Checkpoint[]> {
  const keys = (await store.listKeys(checkpointStreamPrefix(prefix, stream))).filter((k) =>
    k.endsWith('.json'),
  );
  const stored = await mapWithConcurrency(keys, 16, (key) => store.getJson<unknown>(key));
  return stored.flatMap((s) => (s && isCheckpoint(s.value) ? [s.value] : []));
}

/**
 * The closed hours (all hours with includeOpen) of the streams whose Parquet is missing or stale:
 * one listing of each stream's archive and columnar trees, its checkpoints, and the manifests of
 * the closed hours that have one.
 */
export async function planColumnar(
  store: ObjectStore,
  prefix: string,
  streams: readonly string[],
  selection: HourSelection & { maxHours?: number } = {},
): Promise<ColumnarPlan> {
  const due: ArchiveHour[] = [];
  for (const stream of streams) {
    const [objects, columnarKeys, checkpoints] = await Promise.all([
      store.listObjects(archiveStreamPrefix(prefix, stream)),
      store.listKeys(columnarStreamPrefix(prefix, stream)),
      readCheckpoints(store, prefix, stream),
    ]);
    const withManifest = new Set(
      columnarKeys.flatMap((key) => {
        const hour = parseManifestKey(key);
        return hour ? [hourId(hour)] : [];
      }),
    );
    const candidates = hoursToConvert(groupByHour(stream, objects), checkpoints, new Map(), selection);
    const manifests = new Map<string, ColumnarManifest>();
    await mapWithConcurrency(
      candidates.filter((c) => withManifest.has(hourId(c.hour))),
      16,
      async ({ hour }) => {
        const stored = await store.getJson<unknown>(columnarManifestKey(prefix, hour));
        if (stored && isColumnarManifest(stored.value)) manifests.set(hourId(hour), stored.value);
      },
    );
    due.push(...hoursToConvert(candidates, checkpoints, manifests, selection).map((l) => l.hour));
  }
  const maxHours = selection.maxHours ?? Number.POSITIVE_INFINITY;
  return { hours: due.slice(0, maxHours), deferred: Math.max(0, due.length - maxHours) };
}
