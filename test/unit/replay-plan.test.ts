import { AdaptiveRate } from '../../src/core/adaptive-rate';
import { canonicalJson } from '../../src/core/canonical-json';
import {
  hourOverlaps,
  lineageFamilies,
  partitionPrefixes,
  planReplayItems,
  type ArchivedObject,
} from '../../src/core/replay-plan';
import { matchesAllowList, resolveReplayRequest } from '../../src/core/replay-request';

const object = (shardId: string, hr: string, first: string, bytes = 100): ArchivedObject => ({
  key: `archive/stream=s/dt=2024-11-21/hr=${hr}/${shardId}/${first}-${first}9.jsonl.gz`,
  stream: 's',
  dt: '2024-11-21',
  hr,
  shardId,
  firstSequenceNumber: first,
  lastSequenceNumber: `${first}9`,
  bytes,
});

describe('replay planning', () => {
  const at = (iso: string) => Date.parse(iso);

  it('prunes to the hour partitions that overlap the bounds', () => {
    expect(
      hourOverlaps({ dt: '2024-11-21', hr: '09' }, at('2024-11-21T09:59:00Z'), at('2024-11-21T11:00:00Z')),
    ).toBe(true);
    expect(
      hourOverlaps({ dt: '2024-11-21', hr: '09' }, at('2024-11-21T10:00:00Z'), at('2024-11-21T11:00:00Z')),
    ).toBe(false);
    expect(
      hourOverlaps({ dt: '2024-11-21', hr: '11' }, at('2024-11-21T10:00:00Z'), at('2024-11-21T11:00:00Z')),
    ).toBe(false);
  });

  it('lists hour prefixes for short ranges, day prefixes for long ones, everything without a lower bound', () => {
    expect(partitionPrefixes(at('2024-11-21T09:30:00Z'), at('2024-11-21T11:00:00Z'))).toEqual([
      'dt=2024-11-21/hr=09/',
      'dt=2024-11-21/hr=10/',
    ]);
    expect(partitionPrefixes(at('2024-11-20T00:00:00Z'), at('2024-11-23T00:00:00Z'))).toEqual([
      'dt=2024-11-20/',
      'dt=2024-11-21/',
      'dt=2024-11-22/',
    ]);
    expect(partitionPrefixes(0, at('2024-11-23T00:00:00Z'))).toEqual(['']);
  });

  it('groups shards related by splits and merges into one family, and keeps unrelated shards apart', () => {
    const families = lineageFamilies([
      { shardId: 'shardId-0', parentShardIds: [] },
      { shardId: 'shardId-1', parentShardIds: [] },
      { shardId: 'shardId-2', parentShardIds: ['shardId-0'] },
      { shardId: 'shardId-3', parentShardIds: ['shardId-0'] },
      { shardId: 'shardId-4', parentShardIds: ['shardId-3', 'shardId-1'] },
      { shardId: 'shardId-9', parentShardIds: [] },
    ]);
    expect(families.map((f) => f.map((s) => s.shardId).sort())).toEqual([
      ['shardId-0', 'shardId-1', 'shardId-2', 'shardId-3', 'shardId-4'],
      ['shardId-9'],
    ]);
  });

  it('orders a family parents first and each shard by sequence, with the live tail last', () => {
    const items = planReplayItems(
      [object('shardId-2', '10', '300'), object('shardId-0', '10', '200'), object('shardId-0', '09', '100')],
      [
        { shardId: 'shardId-0', parentShardIds: [] },
        { shardId: 'shardId-2', parentShardIds: ['shardId-0'], liveAfter: '3009' },
      ],
    );
    expect(items).toHaveLength(1);
    expect(
      items[0]!.segments.map((s) =>
        s.type === 'live' ? `live after ${s.afterSequenceNumber}` : s.key.split('/').pop(),
      ),
    ).toEqual(['100-1009.jsonl.gz', '200-2009.jsonl.gz', '300-3009.jsonl.gz', 'live after 3009']);
  });
});

describe('replay request', () => {
  const now = new Date('2024-11-21T12:00:00Z');

  it('applies defaults: target is the source, to is now, envelope format', () => {
    expect(resolveReplayRequest({ stream: 'orders' }, now, 'r1')).toMatchObject({
      target: 'orders',
      fromMs: 0,
      toMs: now.getTime(),
      format: 'envelope',
      includeLive: false,
      annotations: {},
      filter: null,
    });
  });

  it('refuses bounds out of order, and a filter stage without compaction', () => {
    expect(() => resolveReplayRequest({ stream: 'o', filterStage: 'after' }, now, 'r')).toThrow(
      'field filterStage',
    );
    expect(
      resolveReplayRequest({ stream: 'o', compact: true, filterStage: 'after' }, now, 'r'),
    ).toMatchObject({
      compact: true,
      filterStage: 'after',
    });
    expect(() =>
      resolveReplayRequest(
        { stream: 'o', from: '2024-11-21T10:00:00Z', to: '2024-11-21T10:00:00Z' },
        now,
        'r',
      ),
    ).toThrow('field to: must be after from');
  });

  it('matches the allow-list with * wildcards and nothing else', () => {
    expect(matchesAllowList('replica-1', ['orders', 'replica-*'])).toBe(true);
    expect(matchesAllowList('orders', ['orders'])).toBe(true);
    expect(matchesAllowList('orders2', ['orders'])).toBe(false);
    expect(matchesAllowList('a.b', ['a*b'])).toBe(true);
    expect(matchesAllowList('axb', ['a.b'])).toBe(false);
  });

  it('compares requests by content, not key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: 3 } })).toBe(
      canonicalJson({ a: { c: 3, d: [1, { e: 1, f: 2 }] }, b: 1 }),
    );
  });
});

describe('adaptive send rate', () => {
  it('grows additively while accepted and halves when everything is throttled', () => {
    const rate = new AdaptiveRate({
      initialPerSecond: 1000,
      minPerSecond: 10,
      maxPerSecond: 5000,
      increasePerSecond: 100,
    });
    rate.record(500, 0);
    expect(rate.perSecond).toBe(1100);
    rate.record(500, 500);
    expect(rate.perSecond).toBe(550);
    rate.record(100, 50);
    expect(rate.perSecond).toBeCloseTo(412.5);
    expect(rate.delayFor(412.5)).toBe(1000);
  });
});
