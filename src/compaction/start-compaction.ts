import { streamReadPolicy } from '../reading/stream-read-policy';
import { validateFilter } from '../core/filter-pattern';
import { ValidationError } from '../core/errors';
import type { CompactionSpec, FilterStage } from '../core/compaction-spec';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import type { CompactionConfig } from '../config/compaction-config';
import { loadCompactionSpec, planCompactionRun } from './plan';
import { compactionRunPrefix } from '../core/compaction-spec';
import { archiveStreamPrefix, parseArchiveObjectKey } from '../core/layout';
import { partitionPrefixes } from '../core/replay-plan';
import {
  advanceWatermark,
  generationPrefix,
  objectsPastWatermark,
  snapshotPointerKey,
  snapshotTombstone,
  type NewArchiveObject,
  type SnapshotPlan,
  type SnapshotPointer,
} from '../core/snapshot';
import { mapWithConcurrency } from '../core/concurrency';

/** The compaction request as users write it (schemas/compact-request.schema.json). */
export interface CompactionRequest {
  stream: string;
  from?: string;
  to?: string;
  filter?: Record<string, unknown> | Record<string, unknown>[];
  filterStage?: FilterStage;
  tombstone?: Record<string, unknown> | Record<string, unknown>[];
  includeLive?: boolean;
  outPrefix?: string;
  runId?: string;
  /** Maintain the stream's LATEST snapshot: its current generation plus the archive past its watermark. */
  snapshot?: boolean;
  /** Start from the stream's LATEST snapshot when it has one (only without from/to). */
  fromSnapshot?: boolean;
}

export function defaultOutPrefix(prefix: string, stream: string, runId: string): string {
  return `${prefix}compacted/stream=${stream}/${runId}/`;
}

/**
 * Checks a schema-valid request (bounds, filter and tombstone syntax) and plans the run. A run
 * id already planned keeps its spec: re-running it reuses every finished worker's output.
 */
export async function startCompaction(
  deps: { store: ObjectStore; catalog: StreamCatalog; config: CompactionConfig; now: Date },
  request: CompactionRequest,
  executionName: string,
): Promise<CompactionSpec> {
  const runId = request.runId ?? executionName;
  const fromMs = request.from ? Date.parse(request.from) : 0;
  // A snapshot takes everything archived: no upper bound (arrival times come from Kinesis, and
  // kinesalite even stamps a new child shard's records up to a second ahead of the clock).
  const toMs = request.to
    ? Date.parse(request.to)
    : request.snapshot
      ? Number.MAX_SAFE_INTEGER
      : deps.now.getTime();
  if (fromMs >= toMs) throw new ValidationError(`field to: must be after from (from < to)`);
  if (request.filter !== undefined) validateFilter(request.filter, 'filter');
  if (request.tombstone !== undefined) validateFilter(request.tombstone, 'tombstone');
  if (request.fromSnapshot && (request.from || request.to)) {
    throw new ValidationError(
      'field fromSnapshot: a snapshot holds the newest records, so it cannot serve from/to bounds (dependency)',
    );
  }
  const existing = await loadCompactionSpec(deps.store, deps.config.prefix, runId);
  if (existing) return existing;
  const snapshot =
    request.snapshot || request.fromSnapshot ? await snapshotInputs(deps, request, runId, toMs) : null;
  if (request.snapshot && request.outPrefix) {
    throw new ValidationError(
      'field outPrefix: a snapshot is written to its own generation under latest/ (dependency)',
    );
  }
  return planCompactionRun(
    { store: deps.store, catalog: deps.catalog },
    {
      runId,
      stream: request.stream,
      prefix: deps.config.prefix,
      fromMs,
      toMs,
      filter: request.filter,
      filterStage: request.filterStage ?? 'before',
      // A snapshot keeps applying the pattern its current generation was made with.
      tombstone: (request.snapshot ? snapshot?.tombstone : undefined) ?? request.tombstone,
      outPrefix: request.snapshot
        ? generationPrefix(deps.config.prefix, request.stream, runId)
        : (request.outPrefix ?? defaultOutPrefix(deps.config.prefix, request.stream, runId)),
      ...(request.includeLive
        ? {
            includeLive: {
              untilMs: toMs,
              readRate: (await streamReadPolicy(deps.catalog, request.stream, deps.config)).policy.rate,
            },
          }
        : {}),
      ...(snapshot ? { archive: snapshot.inputs } : {}),
    },
    { keysPerPartition: deps.config.keysPerPartition, chunkBytes: deps.config.chunkBytes },
  );
}

export function snapshotPlanKey(prefix: string, runId: string): string {
  return `${compactionRunPrefix(prefix, runId)}snapshot.json`;
}

/**
 * The inputs of a snapshot run: the current generation's objects and the archive objects past
 * its watermark (listing only the hour partitions from the newest one it includes). With
 * `snapshot`, the plan (base pointer, its ETag, the new watermark) is stored for CommitSnapshot.
 */
async function snapshotInputs(
  deps: { store: ObjectStore; config: CompactionConfig },
  request: CompactionRequest,
  runId: string,
  toMs: number,
): Promise<{ inputs: { key: string; bytes: number }[]; tombstone: unknown } | null> {
  const { store, config } = deps;
  const pointer = await store.getJson<SnapshotPointer>(snapshotPointerKey(config.prefix, request.stream));
  if (!pointer && request.fromSnapshot) return null;
  const base = pointer?.value ?? null;
  const streamPrefix = archiveStreamPrefix(config.prefix, request.stream);
  const listed = await mapWithConcurrency(
    base ? partitionPrefixes(Math.max(1, base.newestHourStart), toMs) : [''],
    8,
    (partition) => store.listObjects(`${streamPrefix}${partition}`),
  );
  const objects: NewArchiveObject[] = listed.flat().flatMap(({ key, bytes }) => {
    const ref = parseArchiveObjectKey(key);
    return ref && ref.stream === request.stream ? [{ key, bytes, ...ref }] : [];
  });
  const fresh = objectsPastWatermark(objects, base?.watermark ?? {});
  const generation = base ? await store.listObjects(base.outPrefix) : [];
  const outputs = new Set(base?.outputs ?? []);
  const inputs = [
    ...generation.filter((o) => outputs.has(o.key)),
    ...fresh.map(({ key, bytes }) => ({ key, bytes })),
  ];
  const tombstone = snapshotTombstone(request.tombstone, base?.tombstone);
  if (request.snapshot) {
    const plan: SnapshotPlan = {
      stream: request.stream,
      runId,
      outPrefix: generationPrefix(config.prefix, request.stream, runId),
      baseEtag: pointer?.etag ?? null,
      base,
      ...advanceWatermark(base, fresh),
      ...(tombstone.tombstone !== undefined ? { tombstone: tombstone.tombstone } : {}),
      ...(tombstone.note ? { tombstoneNote: tombstone.note } : {}),
    };
    await store.putJson(snapshotPlanKey(config.prefix, runId), plan);
  }
  return { inputs, tombstone: tombstone.tombstone };
}
