/**
 * Ordering of source positions for compaction (last record per partition key). Pure: no AWS.
 *
 * The rule is the consumer library's (`createPositionComparator` in src/consumer/position.ts):
 * within a shard, sequence number as an integer, then sub-sequence number; across shards, the
 * lineage first (a descendant shard's records are newer than its ancestors', whatever their
 * sequence numbers), the shard index (`shardId-N`, creation order) second. Two differences,
 * both for speed and for sorting whole partitions deterministically:
 *
 * - shards are ranked once: a topological order of the lineage that, among shards free to go
 *   next, takes the lowest shard index (ids that are not `shardId-N` after those, by text). When
 *   the numbering agrees with the lineage (children have higher indexes than their parents, as
 *   Kinesis numbers them) this is exactly the consumer's order; when it does not, the rank is
 *   still a total order that keeps every ancestor before its descendants, so sorting is sound
 *   and nothing ever throws;
 * - sequence numbers are compared as decimal text (length, then characters) and only fall back
 *   to BigInt when one has leading zeros.
 */

/** Child shard id → parent shard ids (one after a split, two after a merge). JSON-friendly. */
export type CompactionLineage = Readonly<Record<string, readonly string[]>>;

export interface CompactionPosition {
  shardId: string;
  sequenceNumber: string;
  subSequenceNumber: number;
}

/** Compares two decimal sequence numbers as integers. */
export function compareSequenceText(a: string, b: string): number {
  if (a === b) return 0;
  const plainA = a.length === 1 || a.charCodeAt(0) !== 48; // no leading '0'
  const plainB = b.length === 1 || b.charCodeAt(0) !== 48;
  if (plainA && plainB) {
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : 1;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const SHARD_INDEX = /^shardId-(\d+)$/;

function indexOf(shardId: string): bigint | null {
  const match = SHARD_INDEX.exec(shardId);
  return match ? BigInt(match[1]!) : null;
}

/** Lowest shard index first; ids that are not `shardId-N` after every numbered id, by text. */
function compareShardIds(a: string, b: string): number {
  const x = indexOf(a);
  const y = indexOf(b);
  if (x !== null && y !== null && x !== y) return x < y ? -1 : 1;
  if (x !== null && y === null) return -1;
  if (x === null && y !== null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Ranks shards: ancestors before descendants, then by shard index. Shards named only as
 * parents, and `extraShards`, are ranked too. Throws on a cycle (a corrupt lineage).
 */
export function rankShards(
  lineage: CompactionLineage,
  extraShards: Iterable<string> = [],
): Map<string, number> {
  const all = new Set<string>(extraShards);
  const children = new Map<string, string[]>();
  const pending = new Map<string, number>();
  for (const [child, parents] of Object.entries(lineage)) {
    all.add(child);
    for (const parent of new Set(parents)) {
      if (parent === child) continue;
      all.add(parent);
      children.set(parent, [...(children.get(parent) ?? []), child]);
      pending.set(child, (pending.get(child) ?? 0) + 1);
    }
  }
  // Kahn's algorithm with the lowest id first among the ready shards (n is small: shards of a stream).
  const ready = [...all].filter((id) => !pending.get(id)).sort(compareShardIds);
  const rank = new Map<string, number>();
  while (ready.length > 0) {
    const id = ready.shift()!;
    rank.set(id, rank.size);
    let added = false;
    for (const child of children.get(id) ?? []) {
      const left = pending.get(child)! - 1;
      pending.set(child, left);
      if (left === 0) {
        ready.push(child);
        added = true;
      }
    }
    if (added) ready.sort(compareShardIds);
  }
  if (rank.size !== all.size) {
    const stuck = [...all].filter((id) => !rank.has(id)).sort();
    throw new Error(`Shard lineage has a cycle through ${stuck.join(', ')}`);
  }
  return rank;
}

export type CompactionComparator = (a: CompactionPosition, b: CompactionPosition) => number;

/**
 * Negative when `a` is older than `b`, positive when newer, 0 for the same position. Shards
 * not in the lineage (nor in `knownShards`) are ranked when first seen (the ranking is redone,
 * which is cheap and rare).
 */
export function createCompactionComparator(
  lineage: CompactionLineage,
  knownShards: Iterable<string> = [],
): CompactionComparator {
  const known = new Set(knownShards);
  let rank = rankShards(lineage, known);
  const rankOf = (shardId: string): number => {
    const value = rank.get(shardId);
    if (value !== undefined) return value;
    // A shard outside the lineage has no edges: ranking it leaves the others' relative order unchanged.
    known.add(shardId);
    rank = rankShards(lineage, known);
    return rank.get(shardId)!;
  };
  return (a, b) => {
    if (a.shardId !== b.shardId) {
      // Both ranked before either is read: ranking a new shard renumbers the others.
      rankOf(a.shardId);
      rankOf(b.shardId);
      return rankOf(a.shardId) - rankOf(b.shardId);
    }
    return (
      compareSequenceText(a.sequenceNumber, b.sequenceNumber) || a.subSequenceNumber - b.subSequenceNumber
    );
  };
}
