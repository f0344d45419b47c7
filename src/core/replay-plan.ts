import { hourPartition, hourStart, type ArchiveObjectRef } from './layout';
import { compareSequenceNumbers } from './sequence';
import { lineageWaves } from './shard-lineage';

const HOUR = 3_600_000;

/** One run of records a replay worker reads, in order. */
export type ReplaySegment =
  | { type: 'archive'; shardId: string; key: string; bytes: number }
  /** One shard's rows of an hour's Parquet file (a manifest lists it), in file order. */
  | { type: 'parquet'; shardId: string; key: string; bytes: number }
  /** Records still in the stream after `afterSequenceNumber` (null: from the trim horizon). */
  | { type: 'live'; shardId: string; afterSequenceNumber: string | null };

/**
 * A unit of replay work: every shard of one lineage family (shards related by splits and
 * merges), parents before children. A partition key's records all live in one family, so one
 * worker reading its segments in order puts each key's records in their original order.
 */
export interface ReplayWorkItem {
  itemId: string;
  shardIds: string[];
  segments: ReplaySegment[];
  estimatedRecords: number;
}

export interface ArchivedObject extends ArchiveObjectRef {
  key: string;
  bytes: number;
  /**
   * `parquet`: the shard's rows of a Parquet file, `firstSequenceNumber` the first of them, `bytes`
   * those of the JSONL objects they came from (for estimates). Default: a JSONL object.
   */
  form?: 'jsonl' | 'parquet';
}

export interface ShardLineage {
  shardId: string;
  parentShardIds: string[];
  /** Where the live tail starts (the last archived sequence number); undefined: no live segment. */
  liveAfter?: string | null;
  /** Records per compressed byte seen by the archiver, for estimates. */
  recordsPerByte?: number;
}

/** Whether an object's hour partition can hold records in [fromMs, toMs). */
export function hourOverlaps(ref: { dt: string; hr: string }, fromMs: number, toMs: number): boolean {
  const start = Date.parse(`${ref.dt}T${ref.hr}:00:00Z`);
  return start < toMs && start + HOUR > fromMs;
}

/**
 * The listing prefixes (relative to the stream's archive prefix) that cover [fromMs, toMs):
 * one per hour for short ranges, one per day for longer ones, the whole stream past a year.
 */
export function partitionPrefixes(fromMs: number, toMs: number): string[] {
  const hours = Math.ceil((toMs - hourStart(fromMs)) / HOUR);
  if (fromMs <= 0 || hours > 24 * 400) return [''];
  const prefixes = new Set<string>();
  const perHour = hours <= 48;
  for (let t = hourStart(fromMs); t < toMs; t += HOUR) {
    const { dt, hr } = hourPartition(t);
    prefixes.add(perHour ? `dt=${dt}/hr=${hr}/` : `dt=${dt}/`);
  }
  return [...prefixes];
}

/** Groups shards into lineage families (connected by parent links), in a stable order. */
export function lineageFamilies(shards: readonly ShardLineage[]): ShardLineage[][] {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(id, root);
    return root;
  };
  const known = new Set(shards.map((s) => s.shardId));
  for (const s of shards) parent.set(s.shardId, s.shardId);
  for (const s of shards) {
    for (const p of s.parentShardIds) if (known.has(p)) parent.set(find(p), find(s.shardId));
  }
  const families = new Map<string, ShardLineage[]>();
  for (const s of shards) {
    const root = find(s.shardId);
    families.set(root, [...(families.get(root) ?? []), s]);
  }
  return [...families.values()].sort((a, b) => minId(a).localeCompare(minId(b)));
}

const minId = (family: ShardLineage[]) => family.map((s) => s.shardId).sort()[0]!;

/** Builds the work items of a replay from the archive objects in bounds and the shards' lineage. */
export function planReplayItems(
  objects: readonly ArchivedObject[],
  shards: readonly ShardLineage[],
): ReplayWorkItem[] {
  const byShard = new Map<string, ArchivedObject[]>();
  for (const object of objects) byShard.set(object.shardId, [...(byShard.get(object.shardId) ?? []), object]);
  // Shards that have archive objects but no known lineage still get replayed, alone.
  const lineage = [...shards];
  for (const shardId of byShard.keys()) {
    if (!lineage.some((s) => s.shardId === shardId)) lineage.push({ shardId, parentShardIds: [] });
  }

  const items: ReplayWorkItem[] = [];
  for (const family of lineageFamilies(lineage)) {
    const ordered = lineageWaves(
      family.map((s) => ({
        shardId: s.shardId,
        parentShardId: s.parentShardIds[0],
        adjacentParentShardId: s.parentShardIds[1],
        startingSequenceNumber: '0',
      })),
    ).flat();
    const info = new Map(family.map((s) => [s.shardId, s]));
    const segments: ReplaySegment[] = [];
    let estimatedRecords = 0;
    for (const { shardId } of ordered) {
      const shardObjects = [...(byShard.get(shardId) ?? [])].sort((a, b) =>
        compareSequenceNumbers(a.firstSequenceNumber, b.firstSequenceNumber),
      );
      for (const object of shardObjects) {
        segments.push({
          type: object.form === 'parquet' ? 'parquet' : 'archive',
          shardId,
          key: object.key,
          bytes: object.bytes,
        });
        estimatedRecords += Math.round(object.bytes * (info.get(shardId)?.recordsPerByte ?? 0));
      }
      const liveAfter = info.get(shardId)?.liveAfter;
      if (liveAfter !== undefined) segments.push({ type: 'live', shardId, afterSequenceNumber: liveAfter });
    }
    if (segments.length === 0) continue;
    items.push({
      itemId: `item-${String(items.length).padStart(5, '0')}`,
      shardIds: ordered.map((s) => s.shardId),
      segments,
      estimatedRecords,
    });
  }
  return items;
}
