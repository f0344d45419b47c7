import { compareShardPositions } from '../core/sequence';

/**
 * A user record's position in a stream: shard, Kinesis sequence number, KPL sub-sequence number.
 * For a replayed envelope it is the ORIGINAL position in the source stream.
 */
export interface SourcePosition {
  /** Stream name when known (Lambda: from `eventSourceARN`; envelopes: the source stream). */
  stream?: string;
  shardId: string;
  /** Decimal string, up to 128 bits: compared as an integer. */
  sequenceNumber: string;
  /** Index of the user record inside a KPL aggregate; 0 for a plain record. */
  subSequenceNumber: number;
  /** Epoch milliseconds when known. Informational: never used for ordering. */
  arrivalTimestamp?: number;
}

/** Negative when `a` is older than `b`, positive when newer, 0 for the same position. */
export type PositionComparator = (a: SourcePosition, b: SourcePosition) => number;

/** Child shard id → its parent shard ids (one after a split, two after a merge). */
export type ShardLineage = ReadonlyMap<string, readonly string[]>;

/** Two positions that cannot be ordered (different streams, or shards of unknown order). */
export class IncomparablePositionsError extends Error {
  override readonly name = 'IncomparablePositionsError';
}

const SHARD_INDEX = /^shardId-(\d+)$/;

/** The number in a Kinesis shard id (`shardId-000000000007` → 7n), or null for other ids. */
export function shardIndex(shardId: string): bigint | null {
  const match = SHARD_INDEX.exec(shardId);
  return match ? BigInt(match[1]!) : null;
}

/**
 * Builds the lineage map from ListShards / DescribeStream shards or GetRecords `ChildShards`
 * (SDK field names). Shards without parents are left out.
 */
export function lineageFromShards(
  shards: Iterable<{
    ShardId?: string;
    ParentShardId?: string;
    AdjacentParentShardId?: string;
    ParentShards?: string[];
  }>,
): Map<string, string[]> {
  const lineage = new Map<string, string[]>();
  for (const shard of shards) {
    if (!shard.ShardId) continue;
    const parents = [shard.ParentShardId, shard.AdjacentParentShardId, ...(shard.ParentShards ?? [])].filter(
      (id): id is string => typeof id === 'string' && id.length > 0,
    );
    if (parents.length === 0) continue;
    const known = lineage.get(shard.ShardId) ?? [];
    lineage.set(shard.ShardId, [...new Set([...known, ...parents])]);
  }
  return lineage;
}

function isAncestor(lineage: ShardLineage, ancestor: string, shardId: string): boolean {
  const seen = new Set<string>();
  const queue = [...(lineage.get(shardId) ?? [])];
  while (queue.length > 0) {
    const parent = queue.pop()!;
    if (parent === ancestor) return true;
    if (seen.has(parent)) continue;
    seen.add(parent);
    queue.push(...(lineage.get(parent) ?? []));
  }
  return false;
}

/**
 * Orders positions of records of ONE partition key, correctly across shard splits and merges.
 *
 * - Same shard: sequence number (as an integer), then sub-sequence number.
 * - Different shards: a key's hash belongs to exactly one open shard at a time, and when that
 *   shard is split or merged the key's later records go to a child. So a key's shards form a
 *   parent → child chain, and the record in the descendant shard is the newer one. With
 *   `lineage`, ancestry decides; without it (or when the lineage does not relate the two
 *   shards, e.g. a parent that has aged out of ListShards), the shard index decides: Kinesis
 *   numbers shards `shardId-NNNNNNNNNNNN` in creation order, so a child's index is greater
 *   than its parents'. That numbering is what Kinesis (and kinesalite) do, not a documented API
 *   guarantee: pass the lineage when you have it.
 *
 * Sequence numbers of different shards are never compared with each other. Positions of two
 * different named streams throw `IncomparablePositionsError`, and so do different shards whose
 * order neither the lineage nor the `shardId-N` numbering gives.
 */
export function createPositionComparator(lineage?: ShardLineage): PositionComparator {
  return (a, b) => {
    if (a.stream !== undefined && b.stream !== undefined && a.stream !== b.stream) {
      throw new IncomparablePositionsError(
        `Positions of streams ${a.stream} and ${b.stream} cannot be ordered: the consistency rule holds within one source stream`,
      );
    }
    if (a.shardId !== b.shardId) {
      if (lineage) {
        if (isAncestor(lineage, a.shardId, b.shardId)) return -1;
        if (isAncestor(lineage, b.shardId, a.shardId)) return 1;
      }
      const x = shardIndex(a.shardId);
      const y = shardIndex(b.shardId);
      if (x === null || y === null) {
        throw new IncomparablePositionsError(
          `Shards ${a.shardId} and ${b.shardId} cannot be ordered: pass their lineage to createPositionComparator`,
        );
      }
      if (x !== y) return x < y ? -1 : 1;
      // Same index spelled differently (padding): the same shard.
    }
    return compareShardPositions(a, b);
  };
}

/** The default comparator: shard index order across shards (no lineage). */
export const comparePositions: PositionComparator = createPositionComparator();
