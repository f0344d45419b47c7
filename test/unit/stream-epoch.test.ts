import { initialCheckpoint } from '../../src/core/checkpoint';
import { epochOf, isFromEarlierEpoch } from '../../src/core/stream-epoch';

const created = Date.parse('2026-11-30T12:00:00Z');
const base = {
  ...initialCheckpoint('orders', 'shardId-000000000000', []),
  updatedAt: '2026-11-30T13:00:00.000Z',
};

describe('which stream of a name a checkpoint belongs to', () => {
  it('given the creation time it recorded, then only that stream is its own', () => {
    expect(isFromEarlierEpoch({ ...base, streamCreatedAt: created }, created)).toBe(false);
    expect(isFromEarlierEpoch({ ...base, streamCreatedAt: created - 86_400_000 }, created)).toBe(true);
    expect(epochOf({ ...base, streamCreatedAt: created - 86_400_000 }, created)).toBe(
      '2026-11-29T12:00:00.000Z',
    );
  });

  it('given a checkpoint from before creation times were recorded, then it is an earlier one only when last written before this stream was created', () => {
    expect(isFromEarlierEpoch(base, created)).toBe(false);
    expect(isFromEarlierEpoch({ ...base, updatedAt: '2026-11-30T11:59:59.000Z' }, created)).toBe(true);
    expect(epochOf(base, created)).toBe('before-2026-11-30T12:00:00.000Z');
  });
});
