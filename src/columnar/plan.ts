import { readCheckpoints } from '../archive/read-checkpoints';
import {
  columnarManifestKey,
  columnarStreamPrefix,
  conversionWatermark,
  HOUR_MS,
  LATE_RECORD_MARGIN_MS,
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
import { partitionPrefixes } from '../core/replay-plan';
import { archiveStreamPrefix } from '../core/layout';
import type { ObjectStore } from '../core/ports';

export interface ColumnarPlan {
  /** Hours to convert, oldest first, at most `maxHours`. */
  hours: ArchiveHour[];
  /** Hours that needed conversion beyond `maxHours` (the next run takes them). */
  deferred: number;
  /** Per stream, where the next planning may start listing (conversionWatermark); absent: unknown. */
  watermarks: Map<string, number>;
}

export interface ColumnarPlanOptions extends HourSelection {
  maxHours?: number;
  /** Per stream, list only the hours from this time on (a watermark less the margin). */
  listFromMs?: ReadonlyMap<string, number>;
  /** Now, for the end of a bounded listing (tests). */
  nowMs?: number;
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
  selection: ColumnarPlanOptions = {},
): Promise<ColumnarPlan> {
  const due: ArchiveHour[] = [];
  const watermarks = new Map<string, number>();
  for (const stream of streams) {
    const partitions = listingPartitions(selection.listFromMs?.get(stream), selection.nowMs ?? Date.now());
    const [objects, columnarKeys, checkpoints] = await Promise.all([
      listUnder(partitions, (p) => store.listObjects(`${archiveStreamPrefix(prefix, stream)}${p}`)),
      listUnder(partitions, (p) => store.listKeys(`${columnarStreamPrefix(prefix, stream)}${p}`)),
      readCheckpoints(store, prefix, stream),
    ]);
    const withManifest = new Set(
      columnarKeys.flatMap((key) => {
        const hour = parseManifestKey(key);
        return hour ? [hourId(hour)] : [];
      }),
    );
    const listings = groupByHour(stream, objects);
    const candidates = hoursToConvert(listings, checkpoints, new Map(), selection);
    const manifests = new Map<string, ColumnarManifest>();
    await mapWithConcurrency(
      candidates.filter((c) => withManifest.has(hourId(c.hour))),
      16,
      async ({ hour }) => {
        const stored = await store.getJson<unknown>(columnarManifestKey(prefix, hour));
        if (stored && isColumnarManifest(stored.value)) manifests.set(hourId(hour), stored.value);
      },
    );
    const dueHere = hoursToConvert(candidates, checkpoints, manifests, selection);
    due.push(...dueHere.map((l) => l.hour));
    const watermark = conversionWatermark(listings, checkpoints, dueHere);
    // A planning that skipped hours (a time range, open hours) cannot vouch for the ones it skipped.
    if (
      watermark !== null &&
      selection.fromMs === undefined &&
      selection.toMs === undefined &&
      !selection.includeOpen
    )
      watermarks.set(stream, watermark);
  }
  const maxHours = selection.maxHours ?? Number.POSITIVE_INFINITY;
  return { hours: due.slice(0, maxHours), deferred: Math.max(0, due.length - maxHours), watermarks };
}

/** The partitions (relative to a stream's tree) a planning lists: all of them without a start. */
function listingPartitions(fromMs: number | undefined, nowMs: number): string[] {
  if (fromMs === undefined) return [''];
  // Through the next hour: an arrival stamp may be a little ahead of this clock.
  return partitionPrefixes(Math.max(1, fromMs - LATE_RECORD_MARGIN_MS), nowMs + 2 * HOUR_MS);
}

async function listUnder<T>(partitions: string[], list: (partition: string) => Promise<T[]>): Promise<T[]> {
  return (await mapWithConcurrency(partitions, 8, list)).flat();
}
