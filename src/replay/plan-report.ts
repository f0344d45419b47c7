import { readArchiveObject } from '../archive/archive-reader';
import type { CompactionSummary } from '../compaction/cleanup';
import { compactionRunPrefix } from '../core/compaction-spec';
import type { PriceTable } from '../core/cost-model';
import { encodeEnvelope } from '../core/envelope';
import type { ObjectStore, RecordWriter, StreamCatalog } from '../core/ports';
import type { ReadDefaults } from '../core/read-policy';
import { decodePayload } from '../core/record-line';
import { estimateReplay, type ReplayEstimate, type TargetCapacity } from '../core/replay-estimate';
import { compactionRunId, type ReplayRequest, type ResolvedReplay } from '../core/replay-request';
import { arrivalBound } from './pace-schedule';
import { planReplay, type ReplayPlanSummary, type StoredReplayPlan } from './plan-replay';
import { replayRunFiles } from './run-files';
import { ScratchStore } from './scratch-store';
import { startReplay } from './start-replay';

/** serverless.yml `functions.replayItem.memorySize` (a unit test keeps them equal). */
export const REPLAY_ITEM_MEMORY_MB = 1024;

/** Items whose first and last archive objects are read for the arrival span; more use hour bounds. */
const SPAN_SAMPLE_ITEMS = 100;

export interface ReplayPlanReport extends ReplayPlanSummary {
  stream: string;
  target: string;
  format: ResolvedReplay['format'];
  compact: boolean;
  pace: ResolvedReplay['pace'] | null;
  objectKeys: string[];
  /** With compact: the keys (records put) when a compaction of this replay id has run; null before. */
  keys: number | null;
  /** Mean bytes put per record (envelope or raw payload, plus the key), from the first object. */
  recordBytes: number;
  /** First and last arrival in bounds (epoch ms), null when nothing is archived in bounds. */
  arrivals: { first: number; last: number } | null;
  estimate: ReplayEstimate;
  /** Run files the replay would write (none are written by a plan). */
  wouldWrite: number;
}

export interface PlanReportDeps {
  /** The archive bucket; the plan reads it and writes nothing to it. */
  store: ObjectStore;
  catalog: StreamCatalog;
  writer: RecordWriter;
  prefix: string;
  replayTargets: string[];
  read: ReadDefaults;
  pageSize: number;
  invocationBudgetMs: number;
  prices: PriceTable;
  now: Date;
}

/**
 * What a replay would do: the same validation and planning a run does (on a scratch layer over the
 * bucket, so nothing is written), the target's write capacity, and the estimate at that capacity
 * and at the replay's pace.
 */
export async function replayPlanReport(
  deps: PlanReportDeps,
  request: ReplayRequest,
): Promise<ReplayPlanReport> {
  const scratch = new ScratchStore(deps.store);
  const { replay } = await startReplay({ ...deps, store: scratch }, request);
  // A compacted replay plans the compaction's output, which does not exist before it runs: plan
  // what the compaction reads instead, and report the keys once a compaction has counted them.
  const planned = await planReplay(
    { store: scratch, catalog: deps.catalog, prefix: deps.prefix, pageSize: deps.pageSize },
    replay.compact ? { ...replay, compact: false } : replay,
  );
  const files = replayRunFiles(deps.prefix, replay.replayId);
  const stored = (await scratch.getJson<StoredReplayPlan>(files.plan))!.value;
  const keys = replay.compact ? await compactedKeys(deps.store, deps.prefix, replay.replayId) : null;
  const itemIds = stored.items.map((item) => item.itemId);
  const arrivals = await arrivalSpan(scratch, files, itemIds, replay, stored.objectKeys);
  const recordBytes = await meanRecordBytes(scratch, stored.objectKeys, replay);
  const records = keys ?? planned.estimatedRecords;
  const estimate = estimateReplay(
    {
      records,
      recordBytes,
      items: planned.itemCount,
      pages: planned.pageCount,
      target: await targetCapacity(deps.catalog, replay.target),
      ...(replay.pace ? { pace: replay.pace } : {}),
      arrivalSpanMs: arrivals ? arrivals.last - arrivals.first : null,
      itemMemoryMb: REPLAY_ITEM_MEMORY_MB,
      invocationBudgetMs: deps.invocationBudgetMs,
    },
    deps.prices,
  );
  return {
    ...planned,
    stream: replay.stream,
    target: replay.target,
    format: replay.format,
    compact: replay.compact,
    pace: replay.pace ?? null,
    objectKeys: stored.objectKeys,
    keys,
    recordBytes,
    arrivals,
    estimate,
    wouldWrite: scratch.writtenKeys.length,
  };
}

async function targetCapacity(catalog: StreamCatalog, target: string): Promise<TargetCapacity> {
  const [summary, shards] = await Promise.all([catalog.describeStream(target), catalog.listShards(target)]);
  const openShards = shards.filter((shard) => !shard.endingSequenceNumber).length;
  return { mode: summary.capacityMode === 'on-demand' ? 'on-demand' : 'provisioned', openShards };
}

async function compactedKeys(store: ObjectStore, prefix: string, replayId: string): Promise<number | null> {
  const key = `${compactionRunPrefix(prefix, compactionRunId(replayId))}result.json`;
  return (await store.getJson<CompactionSummary>(key))?.value.keys ?? null;
}

async function arrivalSpan(
  store: ObjectStore,
  files: ReturnType<typeof replayRunFiles>,
  itemIds: string[],
  replay: ResolvedReplay,
  objectKeys: string[],
): Promise<{ first: number; last: number } | null> {
  if (objectKeys.length === 0) return null;
  if (itemIds.length <= SPAN_SAMPLE_ITEMS) {
    const first = await arrivalBound(store, files, itemIds, replay, 'first');
    const last = await arrivalBound(store, files, itemIds, replay, 'last');
    return first !== null && last !== null ? { first, last } : null;
  }
  // Many items: the hour partitions of the objects, within the bounds.
  const hours = objectKeys
    .map((key) => /dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\//.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Date.parse(`${m[1]}T${m[2]}:00:00Z`));
  return {
    first: Math.max(replay.fromMs, Math.min(...hours)),
    last: Math.min(replay.toMs, Math.max(...hours) + 3_600_000),
  };
}

/** Bytes Kinesis counts per put record (data plus partition key), averaged over the first JSONL object. */
async function meanRecordBytes(
  store: ObjectStore,
  objectKeys: string[],
  replay: ResolvedReplay,
): Promise<number> {
  const key = objectKeys.find((k) => k.endsWith('.jsonl.gz'));
  if (!key) return 1024;
  const lines = await readArchiveObject(store, key);
  if (lines.length === 0) return 1024;
  const total = lines.reduce((sum, line) => {
    const data =
      replay.format === 'raw'
        ? decodePayload(line.data, line.encoding)
        : encodeEnvelope(line, replay.replayId, replay.annotations);
    return sum + data.length + Buffer.byteLength(line.partitionKey);
  }, 0);
  return Math.round(total / lines.length);
}
