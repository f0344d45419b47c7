import { liveStart } from '../reading/live-start';
import type { ReadRate } from '../core/read-budget';
import type { Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import {
  compactionFiles,
  planCompaction,
  type CompactionPlanOptions,
  type CompactionPlanRequest,
  type CompactionSpec,
} from '../core/compaction-spec';
import { CorruptStateError } from '../core/errors';
import { listHourSources } from '../columnar/hour-sources';
import { checkpointStreamPrefix } from '../core/layout';
import type { ObjectStore, StreamCatalog } from '../core/ports';

export interface CompactionRunRequest extends Pick<
  CompactionPlanRequest,
  'runId' | 'stream' | 'prefix' | 'fromMs' | 'toMs' | 'filter' | 'filterStage' | 'tombstone' | 'outPrefix'
> {
  /** Also compact the records still in the stream and not archived yet, up to `untilMs` (needs a catalog). */
  includeLive?: { untilMs: number; recordsPerShard?: number; readRate?: ReadRate };
  /** The inputs, when the caller chose them (a snapshot: the current generation plus newer objects). */
  archive?: { key: string; bytes: number }[];
}

/** Where planning may stop to take the spec from a store (idempotent planning). */
export async function loadCompactionSpec(
  store: ObjectStore,
  prefix: string,
  runId: string,
): Promise<CompactionSpec | null> {
  return (await store.getJson<CompactionSpec>(compactionFiles(prefix, runId).spec))?.value ?? null;
}

export async function storeCompactionSpec(store: ObjectStore, spec: CompactionSpec): Promise<string> {
  const key = compactionFiles(spec.prefix, spec.runId).spec;
  await store.putJson(key, spec);
  return key;
}

/**
 * Plans a compaction run from the archive: lists the objects whose hour partitions overlap the
 * bounds, takes the shards' lineage and records-per-byte from the checkpoints (and, with
 * includeLive, a live input per shard not drained yet, after what is archived), and stores the
 * spec at `{prefix}runs/compact/{runId}/spec.json`. A spec already stored for the run is returned
 * as it is, so a retried planner does not change a run under its workers.
 */
export async function planCompactionRun(
  deps: { store: ObjectStore; catalog?: StreamCatalog },
  request: CompactionRunRequest,
  options: Partial<CompactionPlanOptions> = {},
): Promise<CompactionSpec> {
  const { store } = deps;
  const existing = await loadCompactionSpec(store, request.prefix, request.runId);
  if (existing) return existing;

  const { archive, parquet } = request.archive
    ? { archive: request.archive, parquet: [] }
    : await archiveInBounds(store, request);

  const checkpoints = (
    await mapWithConcurrency(
      await store.listKeys(checkpointStreamPrefix(request.prefix, request.stream)),
      16,
      async (key) => (await store.getJson<Checkpoint>(key))?.value ?? null,
    )
  ).filter((c): c is Checkpoint => c !== null);
  const lineage: Record<string, string[]> = {};
  for (const checkpoint of checkpoints) {
    if (checkpoint.parentShardIds.length > 0) lineage[checkpoint.shardId] = [...checkpoint.parentShardIds];
  }
  const records = checkpoints.reduce((sum, c) => sum + c.totals.records, 0);
  const bytes = checkpoints.reduce((sum, c) => sum + c.totals.bytes, 0);
  const measured = bytes > 0 ? records / bytes : undefined;

  const live: NonNullable<CompactionPlanRequest['live']>[number][] = [];
  if (request.includeLive) {
    if (!deps.catalog) throw new Error('includeLive needs a stream catalog');
    const byId = new Map(checkpoints.map((c) => [c.shardId, c]));
    for (const shard of await deps.catalog.listShards(request.stream)) {
      const parents = [shard.parentShardId, shard.adjacentParentShardId].filter((p): p is string =>
        Boolean(p),
      );
      if (parents.length > 0 && !lineage[shard.shardId]) lineage[shard.shardId] = parents;
      const checkpoint = byId.get(shard.shardId);
      if (checkpoint?.drained) continue;
      live.push({
        shardId: shard.shardId,
        afterSequenceNumber: await liveStart(store, checkpoint),
        untilMs: request.includeLive.untilMs,
        estimatedRecords: request.includeLive.recordsPerShard ?? 100_000,
      });
    }
  }

  const planned = planCompaction(
    { ...request, archive, parquet, live, lineage },
    // The measured ratio, 25% up: more partitions than needed is the safe side of the bound.
    { ...(measured ? { recordsPerByte: measured * 1.25 } : {}), ...options },
  );
  const readRate = request.includeLive?.readRate;
  const spec = readRate && live.length > 0 ? { ...planned, readRate } : planned;
  await storeCompactionSpec(store, spec);
  return spec;
}

/**
 * What the run reads of the hours overlapping the bounds (core/hour-sources.ts): the Parquet files
 * of converted hours, the JSONL objects their manifests do not list, and the JSONL objects of the
 * other hours.
 */
async function archiveInBounds(
  store: ObjectStore,
  request: CompactionRunRequest,
): Promise<{
  archive: { key: string; bytes: number }[];
  parquet: { key: string; bytes: number; sourceBytes: number; shardIds: string[] }[];
}> {
  const hours = await listHourSources(store, request.prefix, request.stream, request.fromMs, request.toMs);
  return {
    archive: hours.flatMap((h) => h.jsonl),
    parquet: hours.flatMap((h) =>
      h.parquet.map((file) => ({
        key: file.key,
        bytes: file.bytes,
        // The files of one generation share the hour's sources; one file per hour today.
        sourceBytes: Math.ceil(h.parquetShards.reduce((s, r) => s + r.sourceBytes, 0) / h.parquet.length),
        shardIds: h.parquetShards.map((r) => r.shardId),
      })),
    ),
  };
}

/** Loads a run's spec or fails: the workers of a run never plan. */
export async function requireCompactionSpec(
  store: ObjectStore,
  prefix: string,
  runId: string,
): Promise<CompactionSpec> {
  const spec = await loadCompactionSpec(store, prefix, runId);
  if (!spec) throw new CorruptStateError(`Compaction run ${runId} has no spec`);
  return spec;
}
