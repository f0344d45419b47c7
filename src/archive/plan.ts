import type { ArchiveTotals, Checkpoint } from '../core/checkpoint';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import { lineageWaves, listedParents, pages } from '../core/shard-lineage';
import { mapWithConcurrency } from '../core/concurrency';
import type { RecreatedStream } from '../core/stream-epoch';
import { currentEpochCheckpoints } from './epochs';
import { archiveRunFiles } from './run-files';

/** One shard's work item: what the ArchiveShard task receives (kept small: it rides in state). */
export interface ShardWorkItem {
  stream: string;
  shardId: string;
  parentShardIds: string[];
  closed: boolean;
  /** The stream's retention period: the clock of its time-to-loss metric. */
  retentionHours: number;
  /** Which stream of this name (StreamCreationTimestamp, epoch ms): recorded in the checkpoint. */
  streamCreatedAt: number;
}

export interface PlannedShard extends ShardWorkItem {
  wave: number;
  /** Checkpoint totals when the run started: the summary counts what the run added to them. */
  baseline: ArchiveTotals;
}

export interface ArchivePlan {
  runId: string;
  createdAt: string;
  streams: string[];
  missingStreams: string[];
  /** Streams found recreated: their earlier checkpoints were moved aside before planning. */
  recreated: RecreatedStream[];
  shards: PlannedShard[];
  pageCount: number;
}

export interface PlanSummary {
  runId: string;
  streams: string[];
  shardCount: number;
  waveCount: number;
  pageCount: number;
}

/**
 * Lists every shard of every stream (open and closed within retention), orders them into
 * lineage waves (parents before children) and writes them as pages of at most `pageSize`
 * items. The state machine walks the pages in order; each page is one Map.
 */
export async function planArchiveRun(
  deps: { catalog: StreamCatalog; store: ObjectStore; prefix: string; pageSize: number },
  runId: string,
  streams: string[],
  missingStreams: string[],
): Promise<PlanSummary> {
  const files = archiveRunFiles(deps.prefix, runId);
  const waves: ShardWorkItem[][] = [];
  const recreated: RecreatedStream[] = [];
  const checkpointsOf = new Map<string, Map<string, Checkpoint>>();
  for (const stream of streams) {
    const shards = await deps.catalog.listShards(stream);
    const { retentionHours, createdAt: streamCreatedAt } = await deps.catalog.describeStream(stream);
    const listed = new Set(shards.map((shard) => shard.shardId));
    const current = await currentEpochCheckpoints(deps.store, deps.prefix, stream, {
      createdAt: streamCreatedAt,
      shardIds: listed,
      now: new Date(),
    });
    checkpointsOf.set(stream, current.checkpoints);
    if (current.recreated) recreated.push(current.recreated);
    lineageWaves(shards).forEach((wave, index) => {
      for (const shard of wave) {
        (waves[index] ??= []).push({
          stream,
          shardId: shard.shardId,
          parentShardIds: listedParents(shard, listed),
          closed: shard.endingSequenceNumber !== undefined,
          retentionHours,
          streamCreatedAt,
        });
      }
    });
  }

  const shardPages = waves.flatMap((wave) => pages(wave, deps.pageSize));
  const planned: PlannedShard[] = waves.flatMap((wave, index) =>
    wave.map((item) => ({
      ...item,
      wave: index,
      baseline: checkpointsOf.get(item.stream)?.get(item.shardId)?.totals ?? {
        records: 0,
        objects: 0,
        bytes: 0,
      },
    })),
  );
  await mapWithConcurrency(shardPages, 8, (items, index) => deps.store.putJson(files.page(index), { items }));
  const plan: ArchivePlan = {
    runId,
    createdAt: new Date().toISOString(),
    streams,
    missingStreams,
    recreated,
    shards: planned,
    pageCount: shardPages.length,
  };
  await deps.store.putJson(files.plan, plan);
  return {
    runId,
    streams,
    shardCount: planned.length,
    waveCount: waves.length,
    pageCount: shardPages.length,
  };
}
