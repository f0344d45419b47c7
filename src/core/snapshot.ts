import { canonicalJson } from './canonical-json';
import { hourStart } from './layout';
import { compareSequenceNumbers } from './sequence';

/**
 * A LATEST stream's snapshot: the last record per key of everything archived up to a watermark
 * (per shard, the last sequence number included). Layout:
 *
 *   {prefix}latest/stream={stream}/current.json            which generation is current
 *   {prefix}latest/stream={stream}/gen={runId}/part-NNNNN.jsonl.gz   record lines, one per key
 *
 * Each archive run compacts the current generation together with the archive objects past the
 * watermark into a new generation, then moves `current.json` to it with a conditional write.
 */
export interface SnapshotPointer {
  version: 1;
  stream: string;
  generation: string;
  outPrefix: string;
  outputs: string[];
  /** Per shard, the last sequence number the snapshot includes. */
  watermark: Record<string, string>;
  /** Start of the newest hour partition included: later runs list from here on. */
  newestHourStart: number;
  keys: number;
  records: number;
  createdAt: string;
  /**
   * The tombstone pattern this generation was made with (absent: none). Stored with the snapshot
   * so that a later run without the deployment's setting keeps applying it, and never brings
   * deleted keys back.
   */
  tombstone?: unknown;
}

/** What a snapshot run planned: committed by CommitSnapshot once the compaction has finished. */
export interface SnapshotPlan {
  stream: string;
  runId: string;
  outPrefix: string;
  /** The pointer's ETag when planned (null: no snapshot yet): the commit requires it unchanged. */
  baseEtag: string | null;
  base: SnapshotPointer | null;
  watermark: Record<string, string>;
  newestHourStart: number;
  /** The tombstone pattern the run applies (see snapshotTombstone). */
  tombstone?: unknown;
  /** Why it differs from the run's configuration, for the archive summary. */
  tombstoneNote?: string;
}

export function latestPrefix(prefix: string, stream: string): string {
  return `${prefix}latest/stream=${stream}/`;
}

export function snapshotPointerKey(prefix: string, stream: string): string {
  return `${latestPrefix(prefix, stream)}current.json`;
}

export function generationPrefix(prefix: string, stream: string, runId: string): string {
  return `${latestPrefix(prefix, stream)}gen=${runId}/`;
}

export interface NewArchiveObject {
  key: string;
  bytes: number;
  shardId: string;
  dt: string;
  hr: string;
  firstSequenceNumber: string;
  lastSequenceNumber: string;
}

/** The archive objects past a snapshot's watermark (objects never straddle it: it is an object's last). */
export function objectsPastWatermark(
  objects: readonly NewArchiveObject[],
  watermark: Record<string, string>,
): NewArchiveObject[] {
  return objects.filter((o) => {
    const mark = watermark[o.shardId];
    return mark === undefined || compareSequenceNumbers(o.firstSequenceNumber, mark) > 0;
  });
}

/** The watermark and newest hour after adding `objects` to a snapshot. */
export function advanceWatermark(
  base: Pick<SnapshotPointer, 'watermark' | 'newestHourStart'> | null,
  objects: readonly NewArchiveObject[],
): { watermark: Record<string, string>; newestHourStart: number } {
  const watermark = { ...(base?.watermark ?? {}) };
  let newestHourStart = base?.newestHourStart ?? 0;
  for (const o of objects) {
    const mark = watermark[o.shardId];
    if (mark === undefined || compareSequenceNumbers(o.lastSequenceNumber, mark) > 0)
      watermark[o.shardId] = o.lastSequenceNumber;
    newestHourStart = Math.max(newestHourStart, hourStart(Date.parse(`${o.dt}T${o.hr}:00:00Z`)));
  }
  return { watermark, newestHourStart };
}

/**
 * The tombstone pattern a snapshot run applies: the configured one, or, when the run has none
 * configured, the one the current generation was made with, so that a run started without the
 * setting (RESERVOIR_TOMBSTONES, the latestTombstones parameter) never resurrects deleted keys.
 * A note says when configuration and snapshot disagree.
 */
export function snapshotTombstone(
  configured: unknown,
  stored: unknown,
): { tombstone?: unknown; note?: string } {
  if (configured === undefined && stored === undefined) return {};
  if (configured === undefined) {
    return {
      tombstone: stored,
      note:
        `no tombstone pattern is configured for this run; the snapshot's own (${canonicalJson(stored)}) ` +
        'was applied, so no deleted key came back (set latestTombstones to change it)',
    };
  }
  if (stored !== undefined && canonicalJson(stored) !== canonicalJson(configured)) {
    return {
      tombstone: configured,
      note:
        `tombstone pattern changed from ${canonicalJson(stored)} to ${canonicalJson(configured)}; ` +
        'keys deleted under the old one stay deleted, newer records are judged by the new one',
    };
  }
  return { tombstone: configured };
}
