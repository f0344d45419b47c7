import fc from 'fast-check';
import type { ShardDescription } from '../../src/core/ports';
import { lineageWaves, listedParents, pages } from '../../src/core/shard-lineage';

const shard = (id: string, parent?: string, adjacent?: string): ShardDescription => ({
  shardId: id,
  parentShardId: parent,
  adjacentParentShardId: adjacent,
  startingSequenceNumber: '0',
});

const ids = (waves: ShardDescription[][]) => waves.map((wave) => wave.map((s) => s.shardId));

describe('shard lineage', () => {
  it('given a split, then the parent is in a wave before both children', () => {
    expect(ids(lineageWaves([shard('c1', 'p'), shard('p'), shard('c2', 'p')]))).toEqual([
      ['p'],
      ['c1', 'c2'],
    ]);
  });

  it('given a merge, then both parents come before the merged child', () => {
    expect(ids(lineageWaves([shard('m', 'a', 'b'), shard('a'), shard('b'), shard('x')]))).toEqual([
      ['a', 'b', 'x'],
      ['m'],
    ]);
  });

  it('given a split then a merge of a child with its sibling, then waves follow the whole lineage', () => {
    const shards = [shard('p'), shard('c1', 'p'), shard('c2', 'p'), shard('m', 'c1', 'c2'), shard('q')];
    expect(ids(lineageWaves(shards))).toEqual([['p', 'q'], ['c1', 'c2'], ['m']]);
  });

  it('given a parent that has expired (no longer listed), then the child is not held back', () => {
    const listed = new Set(['c']);
    expect(listedParents(shard('c', 'gone'), listed)).toEqual([]);
    expect(ids(lineageWaves([shard('c', 'gone')]))).toEqual([['c']]);
  });

  it('for any lineage, every listed parent is in an earlier wave than its child', () => {
    const lineage = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 40 }).map((links) => {
      const shards: ShardDescription[] = [shard('s0')];
      links.forEach(([a, b, merge], i) => {
        const parent = shards[a % shards.length]!.shardId;
        const adjacent = merge ? shards[b % shards.length]!.shardId : undefined;
        shards.push(shard(`s${i + 1}`, parent, adjacent === parent ? undefined : adjacent));
      });
      return shards;
    });
    fc.assert(
      fc.property(lineage, (shards) => {
        const waves = lineageWaves(shards);
        const waveOf = new Map(waves.flatMap((wave, i) => wave.map((s) => [s.shardId, i] as const)));
        expect(waveOf.size).toBe(shards.length);
        for (const s of shards) {
          for (const parent of listedParents(s, new Set(waveOf.keys()))) {
            expect(waveOf.get(parent)!).toBeLessThan(waveOf.get(s.shardId)!);
          }
        }
      }),
    );
  });

  it('pages a list without losing or reordering items', () => {
    expect(pages([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(pages([], 2)).toEqual([]);
  });
});
