/**
 * Compaction: the last record per partition key within bounds, by source position. Pure: no AWS.
 *
 * A run has two Map phases so that no worker's memory depends on the data:
 *
 * 1. partition: one worker per chunk of inputs reads its archive objects (or a shard's live
 *    tail), keeps records within the bounds, and appends a small entry per record to the shuffle
 *    partition `fnv1a(partitionKey) mod partitions` (see compaction-entry.ts). Buffers are
 *    flushed to S3 under the run's prefix when they reach a byte bound.
 * 2. merge: one worker per shuffle partition keeps the newest entry per key, resolves the
 *    payloads that were not inlined by reading each referenced archive object, and writes the
 *    winners as archive record lines (the RecordLine format) under `outPrefix`.
 *
 * Then the shuffle objects are deleted (and the run prefix's lifecycle rule expires them if
 * the run never gets that far).
 *
 * Filter stage — which records compete to be a key's winner:
 *
 * - `before` (default): records that do not pass the filter are dropped before compaction; the
 *   winner is the newest record within bounds that passes the filter. "The latest order event
 *   of every customer": earlier matching records are still there when later non-matching ones
 *   are not wanted. A tombstone that does not pass the filter does not compete, so it deletes
 *   nothing; add the tombstone pattern to the filter (an array of patterns is an OR) to let
 *   deletes through.
 * - `after`: every record within bounds competes; the winner is the key's newest record, and it
 *   is emitted only if it passes the filter. "The keys whose current state is X": a key that was
 *   X once but is Y now must not be emitted, which `before` would get wrong by emitting its last
 *   X record.
 *
 * Tombstones: when a key's winner matches the tombstone pattern the key is deleted — nothing is
 * emitted for it (merge results count these keys).
 */
import type { ReadRate } from './read-budget';
import { ValidationError } from './errors';
import { validateFilter, type FilterPattern } from './filter-pattern';
import { hourOverlaps } from './replay-plan';
import { normalizePrefix, parseArchiveObjectKey, runPrefix } from './layout';
import type { CompactionLineage } from './compaction-order';

export type FilterStage = 'before' | 'after';

export type CompactionInput =
  | { id: string; type: 'archive'; key: string; bytes: number }
  /** An hour's Parquet file (its manifest lists it) and the shards it holds; `bytes` its size. */
  | { id: string; type: 'parquet'; key: string; bytes: number; shardIds: string[] }
  /**
   * Records of a shard still in the stream: read AFTER `afterSequenceNumber` (null: from the
   * trim horizon) up to the first record that arrived at or after `untilMs`.
   */
  | { id: string; type: 'live'; shardId: string; afterSequenceNumber: string | null; untilMs: number };

export interface CompactionSpec {
  version: 1;
  runId: string;
  stream: string;
  /** The deployment's S3 prefix: shuffle and result files live under `{prefix}runs/compact/{runId}/`. */
  prefix: string;
  inputs: CompactionInput[];
  /** Bounds on arrival time: [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  filter: FilterPattern[] | null;
  filterStage: FilterStage;
  tombstone: FilterPattern[] | null;
  /** Child shard id → parent shard ids. */
  lineage: Record<string, string[]>;
  /** Number of shuffle partitions (= merge workers). */
  partitions: number;
  /** Input ids per partition-phase worker. */
  chunks: string[][];
  /** Where the merge writes `part-NNNNN.jsonl.gz` objects (ends with '/'). */
  outPrefix: string;
  /** What the planner assumed, for the record. */
  estimatedRecords: number;
  /** The live inputs' polling rate per shard (the stream's read policy); absent: the default. */
  readRate?: ReadRate;
}

export interface CompactionPlanRequest {
  runId: string;
  stream: string;
  prefix: string;
  /** Archive objects to compact; objects whose hour partition lies outside the bounds are left out. */
  archive: readonly { key: string; bytes: number }[];
  /**
   * Parquet files of converted hours in the bounds (the planner selected them: see
   * core/hour-sources.ts) with their shards; `sourceBytes`, those of their JSONL sources, feeds the
   * estimate. Default none.
   */
  parquet?: readonly { key: string; bytes: number; sourceBytes: number; shardIds: string[] }[];
  /** Live tails (includeLive), one per shard. `estimatedRecords` feeds the partition count. */
  live?: readonly {
    shardId: string;
    afterSequenceNumber: string | null;
    untilMs: number;
    estimatedRecords?: number;
  }[];
  fromMs: number;
  toMs: number;
  filter?: unknown;
  filterStage?: FilterStage;
  tombstone?: unknown;
  lineage?: CompactionLineage;
  /** Default `{prefix}runs/compact/{runId}/out/`. */
  outPrefix?: string;
}

export interface CompactionPlanOptions {
  /** Records per compressed archive byte (checkpoint totals give it); overestimating is the safe side. */
  recordsPerByte: number;
  /**
   * Upper bound on the records (hence keys) a merge worker is planned for: partitions =
   * ceil(estimated records / this). It is what bounds a merge worker's memory (see
   * merge-worker.ts for the per-key estimate): distinct keys ≤ records.
   */
  keysPerPartition: number;
  /** Compressed archive bytes per partition-phase worker (an object larger than this is a chunk alone). */
  chunkBytes: number;
  maxPartitions: number;
  /** Forces the partition count (tests, benchmarks). */
  partitions?: number;
}

export const DEFAULT_PLAN_OPTIONS: CompactionPlanOptions = {
  // ~1 KB JSON records compress to ~200-300 bytes; 1/64 overestimates most streams' record count.
  recordsPerByte: 1 / 64,
  keysPerPartition: 500_000,
  chunkBytes: 256 * 1024 * 1024,
  maxPartitions: 10_000,
};

export function compactionRunPrefix(prefix: string, runId: string): string {
  return runPrefix(prefix, 'compact', runId);
}

const pad = (n: number, width = 5) => String(n).padStart(width, '0');

/** Where a run's files live. Everything but `outPrefix` is under the run prefix. */
export function compactionFiles(prefix: string, runId: string) {
  const run = compactionRunPrefix(prefix, runId);
  return {
    run,
    spec: `${run}spec.json`,
    shuffle: `${run}shuffle/`,
    shufflePartition: (p: number) => `${run}shuffle/p=${pad(p)}/`,
    shuffleObject: (p: number, chunk: number, n: number) =>
      `${run}shuffle/p=${pad(p)}/c=${pad(chunk)}-${pad(n, 4)}.jsonl.gz`,
    partitioned: `${run}partitioned/`,
    partitionResult: (chunk: number) => `${run}partitioned/c=${pad(chunk)}.json`,
    merged: `${run}merged/`,
    mergeResult: (p: number) => `${run}merged/p=${pad(p)}.json`,
  };
}

/** Output objects of partition `p`: `part-00007.jsonl.gz`, then `part-00007_001.jsonl.gz`, … past the size bound. */
export function compactionOutputKey(outPrefix: string, p: number, split: number): string {
  return split === 0
    ? `${outPrefix}part-${pad(p)}.jsonl.gz`
    : `${outPrefix}part-${pad(p)}_${pad(split, 3)}.jsonl.gz`;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 1)
    throw new ValidationError(`${name} must be at least 1, got ${value}`);
  return Math.floor(value);
}

/**
 * Plans a compaction run: the inputs (archive objects in bounds, then live tails), the number
 * of shuffle partitions from the estimated record count, and chunks of inputs per
 * partition-phase worker (archive objects grouped up to `chunkBytes`, in key order so a chunk
 * holds neighbouring objects of a shard; each live tail alone).
 */
export function planCompaction(
  request: CompactionPlanRequest,
  options: Partial<CompactionPlanOptions> = {},
): CompactionSpec {
  const settings = { ...DEFAULT_PLAN_OPTIONS, ...options };
  if (!(request.fromMs < request.toMs))
    throw new ValidationError('compaction bounds: from must be before to');
  const filter = request.filter == null ? null : validateFilter(request.filter, 'filter');
  const tombstone = request.tombstone == null ? null : validateFilter(request.tombstone, 'tombstone');
  const filterStage = request.filterStage ?? 'before';
  if (filterStage !== 'before' && filterStage !== 'after')
    throw new ValidationError(`filterStage must be "before" or "after", got ${String(filterStage)}`);

  const archive = [...request.archive]
    .filter(({ key }) => {
      const ref = parseArchiveObjectKey(key);
      return !ref || (ref.stream === request.stream && hourOverlaps(ref, request.fromMs, request.toMs));
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const seen = new Set<string>();
  const inputs: CompactionInput[] = [];
  for (const object of archive) {
    if (seen.has(object.key)) continue;
    seen.add(object.key);
    inputs.push({ id: `a${inputs.length}`, type: 'archive', key: object.key, bytes: object.bytes });
  }
  for (const file of request.parquet ?? []) {
    if (seen.has(file.key)) continue;
    seen.add(file.key);
    inputs.push({
      id: `p${inputs.length}`,
      type: 'parquet',
      key: file.key,
      bytes: file.bytes,
      shardIds: [...file.shardIds],
    });
  }
  for (const live of request.live ?? []) {
    inputs.push({
      id: `l${inputs.length}`,
      type: 'live',
      shardId: live.shardId,
      afterSequenceNumber: live.afterSequenceNumber,
      untilMs: live.untilMs,
    });
  }

  const archiveBytes =
    archive.reduce((sum, o) => sum + o.bytes, 0) +
    (request.parquet ?? []).reduce((sum, f) => sum + f.sourceBytes, 0);
  const liveRecords = (request.live ?? []).reduce((sum, l) => sum + (l.estimatedRecords ?? 0), 0);
  const estimatedRecords = Math.ceil(archiveBytes * settings.recordsPerByte) + liveRecords;
  const partitions =
    settings.partitions !== undefined
      ? positiveInt(settings.partitions, 'partitions')
      : Math.min(
          positiveInt(settings.maxPartitions, 'maxPartitions'),
          Math.max(
            1,
            Math.ceil(estimatedRecords / positiveInt(settings.keysPerPartition, 'keysPerPartition')),
          ),
        );

  const chunkBytes = positiveInt(settings.chunkBytes, 'chunkBytes');
  const chunks: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  for (const input of inputs) {
    if (input.type === 'live') continue;
    if (current.length > 0 && currentBytes + input.bytes > chunkBytes) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(input.id);
    currentBytes += input.bytes;
  }
  if (current.length > 0) chunks.push(current);
  for (const input of inputs) if (input.type === 'live') chunks.push([input.id]);

  const lineage: Record<string, string[]> = {};
  for (const [child, parents] of Object.entries(request.lineage ?? {})) lineage[child] = [...parents];

  return {
    version: 1,
    runId: request.runId,
    stream: request.stream,
    prefix: normalizePrefix(request.prefix),
    inputs,
    fromMs: request.fromMs,
    toMs: request.toMs,
    filter,
    filterStage,
    tombstone,
    lineage,
    partitions,
    chunks,
    outPrefix: request.outPrefix ?? `${compactionRunPrefix(request.prefix, request.runId)}out/`,
    estimatedRecords,
  };
}

/** Shard ids the spec knows of (lineage and inputs), for ranking shards up front. */
export function specShards(spec: CompactionSpec): string[] {
  const shards = new Set<string>();
  for (const [child, parents] of Object.entries(spec.lineage)) {
    shards.add(child);
    for (const parent of parents) shards.add(parent);
  }
  for (const input of spec.inputs) {
    if (input.type === 'parquet') {
      for (const shardId of input.shardIds) shards.add(shardId);
      continue;
    }
    const shardId = input.type === 'live' ? input.shardId : parseArchiveObjectKey(input.key)?.shardId;
    if (shardId) shards.add(shardId);
  }
  return [...shards];
}
