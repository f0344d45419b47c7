import { ARCHIVE_TAG } from '../archive/discover';
import type { Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import {
  archiveStreamPrefix,
  checkpointsPrefix,
  checkpointStreamPrefix,
  parseArchiveObjectKey,
  streamsOfCheckpointKeys,
} from '../core/layout';
import { readGapLedger } from '../archive/gap-ledger-store';
import type { AcknowledgedGap, OpenGap } from '../core/gap-ledger';
import { snapshotPointerKey, type SnapshotPointer } from '../core/snapshot';
import type { IteratorStart, ObjectStore, ShardReader, StreamCatalog } from '../core/ports';
import { DEFAULT_TIME_TO_LOSS_ALARM_FRACTION, isTimeToLossShort, shardExposure } from '../core/time-to-loss';
import { isFromEarlierEpoch } from '../core/stream-epoch';
import { estimateUnarchived, type UnarchivedEstimate } from '../core/unarchived-estimate';

export interface ShardStatus {
  shardId: string;
  /** Open or closed per ListShards; `gone` when only its checkpoint is left (past retention). */
  state: 'open' | 'closed' | 'gone';
  drained: boolean;
  /** Last Kinesis record archived (the checkpoint position); null before the first block. */
  checkpointSequenceNumber: string | null;
  checkpointUpdatedAt: string | null;
  /** A block written but not yet committed (the next run commits or rebuilds it). */
  pendingBlock: boolean;
  /**
   * The archive execution holding the shard, and until when; `live: false` once that lease has
   * expired without being released (its holder died: the next run takes the shard over).
   */
  lease: { holder: string; expiresAt: string; live: boolean } | null;
  newestArchivedArrival: string | null;
  unarchived: Pick<UnarchivedEstimate, 'count' | 'kind'>;
  lagSeconds: number;
  /** Null for a shard not read (gone). */
  timeToLossSeconds: number | null;
  timeToLossShort: boolean;
  /** Why the probe could not read the shard (e.g. throttled): its figures are then unknown. */
  probeError?: string;
  /** A data gap no one has acknowledged: every archive run fails the shard (`reservoir gaps`). */
  openGap?: OpenGap | null;
}

export interface StreamStatus {
  stream: string;
  retentionHours: number;
  archiveMode: string | null;
  unarchived: Pick<UnarchivedEstimate, 'count' | 'kind'>;
  lagSeconds: number;
  timeToLossSeconds: number | null;
  timeToLossShort: boolean;
  newestArchivedArrival: string | null;
  /**
   * Set when the stream was deleted and created again since its checkpoints were written (the
   * next archive run moves them aside and archives the new stream as a new epoch).
   */
  recreated?: { createdAt: string } | null;
  /** The hour of the oldest archive object (the archive runs from it to newestArchivedArrival). */
  oldestArchivedHour?: string | null;
  /** LATEST streams: the current snapshot generation and how old it is. */
  snapshot?: { generation: string; createdAt: string; ageSeconds: number } | null;
  /** Gaps someone acknowledged (the gap ledger): those records are in no archive, for good. */
  acknowledgedGaps?: AcknowledgedGap[];
  shards: ShardStatus[];
}

export interface StatusDeps {
  catalog: StreamCatalog;
  reader: ShardReader;
  store: ObjectStore;
  prefix: string;
  now: () => number;
}

export interface StatusOptions {
  /** Only these streams; default: streams tagged reservoir:archive and streams with checkpoints. */
  streams?: string[];
  /** Records read per shard to count what is not archived yet (one GetRecords call). */
  probeLimit?: number;
  /** Time-to-loss under this share of the retention is highlighted (default 0.25, as the alarm). */
  shortFraction?: number;
}

/**
 * Per stream and shard: where the checkpoint is, what is still only in the stream, and how
 * long until Kinesis deletes it. Reads checkpoints from S3 and probes each shard that is not
 * drained with one GetRecords call after its checkpoint (a read like any consumer's: it counts
 * toward the shard's 5 reads per second).
 */
export async function collectStatus(deps: StatusDeps, options: StatusOptions = {}): Promise<StreamStatus[]> {
  const existing = new Set(await deps.catalog.listStreamNames());
  const streams = options.streams?.length ? options.streams : await archivedStreams(deps, existing);
  return mapWithConcurrency(streams, 4, (stream) =>
    existing.has(stream) ? streamStatus(deps, options, stream) : goneStreamStatus(deps, options, stream),
  );
}

async function archivedStreams(deps: StatusDeps, existing: Set<string>): Promise<string[]> {
  const names = new Set<string>();
  for (const stream of existing) {
    const mode = (await deps.catalog.listTags(stream))[ARCHIVE_TAG]?.trim().toUpperCase();
    if (mode === 'ALL' || mode === 'LATEST') names.add(stream);
  }
  for (const name of streamsOfCheckpointKeys(await deps.store.listKeys(checkpointsPrefix(deps.prefix)))) {
    names.add(name);
  }
  return [...names].sort();
}

async function streamStatus(deps: StatusDeps, options: StatusOptions, stream: string): Promise<StreamStatus> {
  const [shards, { retentionHours, createdAt }, tags, stored] = await Promise.all([
    deps.catalog.listShards(stream),
    deps.catalog.describeStream(stream),
    deps.catalog.listTags(stream),
    streamCheckpoints(deps, stream),
  ]);
  // An earlier stream's checkpoints say nothing about this one: its shards start unarchived.
  const checkpoints = new Map(
    [...stored].filter(([, checkpoint]) => !isFromEarlierEpoch(checkpoint, createdAt)),
  );
  const recreated = checkpoints.size < stored.size ? { createdAt: new Date(createdAt).toISOString() } : null;
  const listed = new Set(shards.map((shard) => shard.shardId));
  const rows = await mapWithConcurrency(shards, 8, (shard) =>
    shardStatus(deps, options, stream, retentionHours, {
      shardId: shard.shardId,
      state: shard.endingSequenceNumber === undefined ? 'open' : 'closed',
      checkpoint: checkpoints.get(shard.shardId) ?? null,
    }),
  );
  for (const [shardId, checkpoint] of checkpoints) {
    if (!listed.has(shardId)) rows.push(goneShard(shardId, checkpoint, deps.now()));
  }
  rows.sort((a, b) => a.shardId.localeCompare(b.shardId, 'en', { numeric: true }));
  return {
    ...summarize(stream, retentionHours, tags[ARCHIVE_TAG]?.trim() ?? null, rows, options),
    recreated,
    ...(await archiveExtent(deps, stream)),
  };
}

/** A stream that no longer exists but whose checkpoints are still in the archive. */
async function goneStreamStatus(
  deps: StatusDeps,
  options: StatusOptions,
  stream: string,
): Promise<StreamStatus> {
  const rows = [...(await streamCheckpoints(deps, stream))].map(([shardId, cp]) =>
    goneShard(shardId, cp, deps.now()),
  );
  return {
    ...summarize(stream, 24, null, rows, options),
    timeToLossSeconds: null,
    ...(await archiveExtent(deps, stream)),
  };
}

/** Where the archive starts (one listing request) and, for LATEST streams, the snapshot's age. */
async function archiveExtent(
  deps: StatusDeps,
  stream: string,
): Promise<Pick<StreamStatus, 'oldestArchivedHour' | 'snapshot' | 'acknowledgedGaps'>> {
  const [first, pointer, acknowledgedGaps] = await Promise.all([
    deps.store.firstKey(archiveStreamPrefix(deps.prefix, stream)),
    deps.store.getJson<SnapshotPointer>(snapshotPointerKey(deps.prefix, stream)),
    readGapLedger(deps.store, deps.prefix, stream),
  ]);
  const ref = first ? parseArchiveObjectKey(first) : null;
  return {
    oldestArchivedHour: ref ? `${ref.dt}T${ref.hr}:00:00.000Z` : null,
    snapshot: pointer
      ? {
          generation: pointer.value.generation,
          createdAt: pointer.value.createdAt,
          ageSeconds: seconds(deps.now() - Date.parse(pointer.value.createdAt)),
        }
      : null,
    acknowledgedGaps,
  };
}

async function streamCheckpoints(deps: StatusDeps, stream: string): Promise<Map<string, Checkpoint>> {
  const prefix = checkpointStreamPrefix(deps.prefix, stream);
  const keys = (await deps.store.listKeys(prefix)).filter((key) => key.endsWith('.json'));
  const loaded = await mapWithConcurrency(keys, 16, (key) => deps.store.getJson<Checkpoint>(key));
  const byShard = new Map<string, Checkpoint>();
  for (const stored of loaded) if (stored) byShard.set(stored.value.shardId, stored.value);
  return byShard;
}

async function shardStatus(
  deps: StatusDeps,
  options: StatusOptions,
  stream: string,
  retentionHours: number,
  shard: { shardId: string; state: 'open' | 'closed'; checkpoint: Checkpoint | null },
): Promise<ShardStatus> {
  const { checkpoint } = shard;
  const base = {
    shardId: shard.shardId,
    state: shard.state,
    drained: checkpoint?.drained ?? false,
    checkpointSequenceNumber: checkpoint?.lastSequenceNumber ?? null,
    checkpointUpdatedAt: checkpoint ? checkpoint.updatedAt : null,
    pendingBlock: Boolean(checkpoint?.pending),
    lease: leaseStatus(checkpoint, deps.now()),
    newestArchivedArrival: isoOrNull(checkpoint?.lastArrivalTimestamp ?? null),
    openGap: checkpoint?.openGap ?? null,
  };
  const threshold = options.shortFraction ?? DEFAULT_TIME_TO_LOSS_ALARM_FRACTION;
  if (checkpoint?.drained) {
    const exposure = shardExposure(null, retentionHours, deps.now());
    return {
      ...base,
      unarchived: { count: 0, kind: 'exact' },
      lagSeconds: 0,
      timeToLossSeconds: seconds(exposure.timeToLossMs),
      timeToLossShort: false,
    };
  }
  const start: IteratorStart = checkpoint?.lastSequenceNumber
    ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint.lastSequenceNumber }
    : { type: 'TRIM_HORIZON' };
  try {
    const limit = options.probeLimit ?? 1_000;
    const iterator = await deps.reader.getIterator(stream, shard.shardId, start);
    const batch = await deps.reader.getRecords(iterator, limit);
    const now = deps.now();
    const estimate = estimateUnarchived({
      arrivals: batch.records.map((record) => record.arrivalTimestamp),
      limit,
      millisBehindLatest: batch.millisBehindLatest,
      more: batch.nextIterator !== null,
      now,
    });
    const exposure = shardExposure(estimate.oldestArrival, retentionHours, now);
    return {
      ...base,
      unarchived: { count: estimate.count, kind: estimate.kind },
      lagSeconds: seconds(exposure.lagMs),
      timeToLossSeconds: seconds(exposure.timeToLossMs),
      timeToLossShort: isTimeToLossShort(exposure, threshold),
    };
  } catch (error) {
    return {
      ...base,
      unarchived: { count: 0, kind: 'at-least' },
      lagSeconds: 0,
      timeToLossSeconds: null,
      timeToLossShort: false,
      probeError: `${(error as Error).name}: ${(error as Error).message}`,
    };
  }
}

function leaseStatus(checkpoint: Checkpoint | null, now: number): ShardStatus['lease'] {
  const lease = checkpoint?.lease;
  if (!lease) return null;
  return { ...lease, live: Date.parse(lease.expiresAt) > now };
}

function goneShard(shardId: string, checkpoint: Checkpoint, now: number): ShardStatus {
  return {
    shardId,
    state: 'gone',
    drained: checkpoint.drained,
    checkpointSequenceNumber: checkpoint.lastSequenceNumber,
    checkpointUpdatedAt: checkpoint.updatedAt,
    pendingBlock: Boolean(checkpoint.pending),
    lease: leaseStatus(checkpoint, now),
    newestArchivedArrival: isoOrNull(checkpoint.lastArrivalTimestamp),
    openGap: checkpoint.openGap ?? null,
    unarchived: { count: 0, kind: 'exact' },
    lagSeconds: 0,
    timeToLossSeconds: null,
    timeToLossShort: false,
  };
}

function summarize(
  stream: string,
  retentionHours: number,
  archiveMode: string | null,
  shards: ShardStatus[],
  options: StatusOptions,
): StreamStatus {
  const threshold = options.shortFraction ?? DEFAULT_TIME_TO_LOSS_ALARM_FRACTION;
  const ttls = shards
    .map((shard) => shard.timeToLossSeconds)
    .filter((value): value is number => value !== null);
  const timeToLossSeconds = ttls.length ? Math.min(...ttls) : null;
  const newest =
    shards
      .map((shard) => shard.newestArchivedArrival)
      .filter((v): v is string => v !== null)
      .sort()
      .at(-1) ?? null;
  const kinds = new Set(shards.map((shard) => shard.unarchived.kind));
  return {
    stream,
    retentionHours,
    archiveMode,
    unarchived: {
      count: shards.reduce((total, shard) => total + shard.unarchived.count, 0),
      kind: kinds.has('at-least') ? 'at-least' : kinds.has('estimate') ? 'estimate' : 'exact',
    },
    lagSeconds: Math.max(0, ...shards.map((shard) => shard.lagSeconds)),
    timeToLossSeconds,
    timeToLossShort: timeToLossSeconds !== null && timeToLossSeconds < retentionHours * 3600 * threshold,
    newestArchivedArrival: newest,
    shards,
  };
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}
