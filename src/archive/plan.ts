import type { ArchiveTotals, Checkpoint } from '../core/checkpoint';
import type { ObjectStore, ShardSubscriber, StreamCatalog } from '../core/ports';
import { readPolicyFor, type ReadDefaults, type StreamReadPolicy } from '../core/read-policy';
import type { ReadMode } from '../reading/shard-read';
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
  /** How the shard is read: polling at the stream's rate, or enhanced fan-out. */
  read: ReadMode;
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
  /** How each stream is read (tags and deployment settings), and malformed read tags. */
  reads: Record<string, StreamReadPolicy>;
  readProblems: string[];
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
export interface PlanDeps {
  catalog: StreamCatalog;
  store: ObjectStore;
  prefix: string;
  pageSize: number;
  read: ReadDefaults & { efoConsumerName: string };
  /** Registers the enhanced fan-out consumer of streams read that way. */
  subscriber?: ShardSubscriber;
}

export async function planArchiveRun(
  deps: PlanDeps,
  runId: string,
  streams: string[],
  missingStreams: string[],
): Promise<PlanSummary> {
  const files = archiveRunFiles(deps.prefix, runId);
  const waves: ShardWorkItem[][] = [];
  const recreated: RecreatedStream[] = [];
  const checkpointsOf = new Map<string, Map<string, Checkpoint>>();
  const reads: Record<string, StreamReadPolicy> = {};
  const readProblems: string[] = [];
  for (const stream of streams) {
    const { policy, problems } = readPolicyFor(stream, await deps.catalog.listTags(stream), deps.read);
    reads[stream] = policy;
    readProblems.push(...problems);
    const read = await readModeOf(deps, stream, policy);
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
          read,
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
    reads,
    readProblems,
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

/** Polling at the policy's rate, or enhanced fan-out through the deployment's consumer. */
async function readModeOf(deps: PlanDeps, stream: string, policy: StreamReadPolicy): Promise<ReadMode> {
  if (policy.mode === 'polling') return { type: 'polling', rate: policy.rate, share: policy.share };
  if (!deps.subscriber)
    throw new Error(`Stream ${stream} is read with enhanced fan-out: a subscriber is needed`);
  return {
    type: 'efo',
    consumerArn: await deps.subscriber.ensureConsumer(stream, deps.read.efoConsumerName),
  };
}
