import type { ShardDescription } from './ports';

/** The parents of a shard that are still listed (expired parents no longer gate anything). */
export function listedParents(shard: ShardDescription, listed: ReadonlySet<string>): string[] {
  return [shard.parentShardId, shard.adjacentParentShardId].filter(
    (id): id is string => id !== undefined && listed.has(id),
  );
}

/**
 * Orders shards into waves: a shard's wave is one past the latest wave of its listed parents,
 * so every parent (split or merge) is in an earlier wave than its children. Archiving the waves
 * one after another drains parents before children are read, which keeps each partition key's
 * records in order in the archive's lineage.
 */
export function lineageWaves(shards: readonly ShardDescription[]): ShardDescription[][] {
  const byId = new Map(shards.map((shard) => [shard.shardId, shard]));
  const listed = new Set(byId.keys());
  const depth = new Map<string, number>();
  const visiting = new Set<string>();

  const depthOf = (shard: ShardDescription): number => {
    const known = depth.get(shard.shardId);
    if (known !== undefined) return known;
    if (visiting.has(shard.shardId)) throw new Error(`Shard lineage has a cycle at ${shard.shardId}`);
    visiting.add(shard.shardId);
    const parents = listedParents(shard, listed).map((id) => depthOf(byId.get(id)!));
    const value = parents.length === 0 ? 0 : Math.max(...parents) + 1;
    visiting.delete(shard.shardId);
    depth.set(shard.shardId, value);
    return value;
  };

  const waves: ShardDescription[][] = [];
  for (const shard of shards) {
    const wave = depthOf(shard);
    (waves[wave] ??= []).push(shard);
  }
  return waves.map((wave) => [...wave].sort((a, b) => a.shardId.localeCompare(b.shardId)));
}

/** Splits a list into pages of at most `size` items (state payloads are capped at 256 KiB). */
export function pages<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
