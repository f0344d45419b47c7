import { liveStart } from '../reading/live-start';
import type { Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { listHourSources } from '../columnar/hour-sources';
import { checkpointStreamPrefix, parseArchiveObjectKey } from '../core/layout';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import {
  planReplayItems,
  type ArchivedObject,
  type ReplayWorkItem,
  type ShardLineage,
} from '../core/replay-plan';
import { compactionRunId, type ResolvedReplay } from '../core/replay-request';
import type { CompactionSummary } from '../compaction/cleanup';
import { compactionRunPrefix } from '../core/compaction-spec';
import { CorruptStateError } from '../core/errors';
import { pages } from '../core/shard-lineage';
import { replayRunFiles } from './run-files';

export interface ReplayPlanSummary {
  replayId: string;
  itemCount: number;
  pageCount: number;
  objects: number;
  objectBytes: number;
  liveShards: number;
  estimatedRecords: number;
}

export interface StoredReplayPlan extends ReplayPlanSummary {
  items: { itemId: string; shardIds: string[]; segments: number; estimatedRecords: number }[];
  objectKeys: string[];
}

/**
 * What the replay reads of the stream's hours overlapping the bounds: per hour, the Parquet files
 * its manifest lists (one entry per file and shard, from the manifest's sources) and the JSONL
 * objects the manifest does not list; the JSONL objects of hours without a manifest.
 */
async function objectsInBounds(
  store: ObjectStore,
  prefix: string,
  replay: ResolvedReplay,
): Promise<ArchivedObject[]> {
  const hours = await listHourSources(store, prefix, replay.stream, replay.fromMs, replay.toMs);
  return hours.flatMap(({ hour, parquet, parquetShards, jsonl }) => [
    ...parquet.flatMap((file) =>
      parquetShards.map((range) => ({
        ...hour,
        ...range,
        key: file.key,
        bytes: range.sourceBytes,
        form: 'parquet' as const,
      })),
    ),
    ...jsonl.flatMap(({ key, bytes }) => {
      const ref = parseArchiveObjectKey(key);
      return ref ? [{ ...ref, key, bytes }] : [];
    }),
  ]);
}

/**
 * Plans a replay: the archive objects in bounds, the shards' lineage from the checkpoints, and
 * (with includeLive) a live segment per shard not yet drained, starting after what is archived.
 * Writes each work item and pages of item ids to S3; the state machine carries only counts.
 */
export async function planReplay(
  deps: { store: ObjectStore; catalog: StreamCatalog; prefix: string; pageSize: number },
  replay: ResolvedReplay,
): Promise<ReplayPlanSummary> {
  const { store, prefix } = deps;
  const files = replayRunFiles(prefix, replay.replayId);
  const existing = await store.getJson<StoredReplayPlan>(files.plan);
  if (existing) return summaryOf(existing.value);

  if (replay.compact) return planCompactedReplay(deps, replay);

  const objects = await objectsInBounds(store, prefix, replay);
  const checkpointKeys = await store.listKeys(checkpointStreamPrefix(prefix, replay.stream));
  const checkpoints = (
    await mapWithConcurrency(
      checkpointKeys,
      16,
      async (key) => (await store.getJson<Checkpoint>(key))?.value ?? null,
    )
  ).filter((c): c is Checkpoint => c !== null);

  const lineage = new Map<string, ShardLineage>();
  for (const checkpoint of checkpoints) {
    lineage.set(checkpoint.shardId, {
      shardId: checkpoint.shardId,
      parentShardIds: checkpoint.parentShardIds,
      recordsPerByte: checkpoint.totals.bytes > 0 ? checkpoint.totals.records / checkpoint.totals.bytes : 0,
    });
  }
  let liveShards = 0;
  if (replay.includeLive) {
    const byId = new Map(checkpoints.map((c) => [c.shardId, c]));
    for (const shard of await deps.catalog.listShards(replay.stream)) {
      const checkpoint = byId.get(shard.shardId);
      if (checkpoint?.drained) continue;
      const parents = [shard.parentShardId, shard.adjacentParentShardId].filter((p): p is string =>
        Boolean(p),
      );
      lineage.set(shard.shardId, {
        shardId: shard.shardId,
        parentShardIds: checkpoint?.parentShardIds ?? parents,
        recordsPerByte: lineage.get(shard.shardId)?.recordsPerByte,
        liveAfter: await liveStart(store, checkpoint),
      });
      liveShards += 1;
    }
  }

  const items = planReplayItems(objects, [...lineage.values()]);
  const keys = [...new Set(objects.map((o) => o.key))];
  return storePlan(deps, replay, items, {
    objects: keys.length,
    objectKeys: keys,
    liveShards,
    bytes: objects.reduce((sum, o) => sum + o.bytes, 0),
  });
}

/** Writes the work items, their pages and the plan; returns the plan's summary. */
async function storePlan(
  deps: { store: ObjectStore; prefix: string; pageSize: number },
  replay: ResolvedReplay,
  items: ReplayWorkItem[],
  listing: { objects: number; objectKeys: string[]; liveShards: number; bytes: number },
): Promise<ReplayPlanSummary> {
  const { store } = deps;
  const files = replayRunFiles(deps.prefix, replay.replayId);
  await mapWithConcurrency(items, 16, (item) => store.putJson(files.item(item.itemId), item));
  const itemPages = pages(
    items.map((item) => ({ itemId: item.itemId })),
    deps.pageSize,
  );
  await mapWithConcurrency(itemPages, 8, (page, index) => store.putJson(files.page(index), { items: page }));
  const plan: StoredReplayPlan = {
    replayId: replay.replayId,
    itemCount: items.length,
    pageCount: itemPages.length,
    objects: listing.objects,
    objectBytes: listing.bytes,
    liveShards: listing.liveShards,
    estimatedRecords: items.reduce((sum, item) => sum + item.estimatedRecords, 0),
    items: items.map((item) => ({
      itemId: item.itemId,
      shardIds: item.shardIds,
      segments: item.segments.length,
      estimatedRecords: item.estimatedRecords,
    })),
    objectKeys: listing.objectKeys,
  };
  await store.putJson(files.plan, plan);
  return summaryOf(plan);
}

/**
 * A compacted replay replays the compaction's output: one record per key, so any split into
 * work items keeps per-key order. One item per output object.
 */
async function planCompactedReplay(
  deps: { store: ObjectStore; prefix: string; pageSize: number },
  replay: ResolvedReplay,
): Promise<ReplayPlanSummary> {
  const { store, prefix } = deps;
  const files = replayRunFiles(prefix, replay.replayId);
  const resultKey = `${compactionRunPrefix(prefix, compactionRunId(replay.replayId))}result.json`;
  const result = await store.getJson<CompactionSummary>(resultKey);
  if (!result)
    throw new CorruptStateError(`Compaction result ${resultKey} of replay ${replay.replayId} is missing`);
  const listed = new Map((await store.listObjects(files.compacted)).map((o) => [o.key, o.bytes]));
  const items: ReplayWorkItem[] = result.value.outputs.map((key, i) => ({
    itemId: `item-${String(i).padStart(5, '0')}`,
    shardIds: [],
    segments: [{ type: 'archive', shardId: 'compacted', key, bytes: listed.get(key) ?? 0 }],
    estimatedRecords: 0,
  }));
  if (items.length > 0) items[0]!.estimatedRecords = result.value.records;
  return storePlan(deps, replay, items, {
    objects: items.length,
    objectKeys: result.value.outputs,
    liveShards: 0,
    bytes: [...listed.values()].reduce((a, b) => a + b, 0),
  });
}

function summaryOf(plan: StoredReplayPlan): ReplayPlanSummary {
  const { replayId, itemCount, pageCount, objects, objectBytes, liveShards, estimatedRecords } = plan;
  return { replayId, itemCount, pageCount, objects, objectBytes, liveShards, estimatedRecords };
}
