import {
  archiveObjectKey,
  checkpointKey,
  hourPartition,
  normalizePrefix,
  parseArchiveObjectKey,
} from '../../src/core/layout';

describe('S3 layout', () => {
  const at = Date.UTC(2024, 10, 21, 9, 59, 59, 999);

  it('places an archive object by stream, arrival date and hour, shard and sequence range', () => {
    expect(archiveObjectKey('', 'orders', 'shardId-000000000001', at, '100', '200')).toBe(
      'archive/stream=orders/dt=2024-11-21/hr=09/shardId-000000000001/100-200.jsonl.gz',
    );
  });

  it('puts the deployment prefix in front of every key', () => {
    expect(archiveObjectKey('team/x', 'orders', 's', at, '1', '2')).toBe(
      'team/x/archive/stream=orders/dt=2024-11-21/hr=09/s/1-2.jsonl.gz',
    );
    expect(checkpointKey('team/x/', 'orders', 'shardId-000000000001')).toBe(
      'team/x/checkpoints/stream=orders/shardId-000000000001.json',
    );
  });

  it('partitions by UTC hour: the last millisecond of an hour and the first of the next differ', () => {
    expect(hourPartition(at)).toEqual({ dt: '2024-11-21', hr: '09' });
    expect(hourPartition(at + 1)).toEqual({ dt: '2024-11-21', hr: '10' });
    expect(hourPartition(Date.UTC(2024, 11, 31, 23, 30))).toEqual({ dt: '2024-12-31', hr: '23' });
  });

  it('normalizes prefixes', () => {
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('/')).toBe('');
    expect(normalizePrefix('/a/b')).toBe('a/b/');
    expect(normalizePrefix('a/')).toBe('a/');
  });

  it('parses the keys it writes, and nothing else', () => {
    const key = archiveObjectKey('p/', 'orders', 'shardId-000000000001', at, '100', '200');
    expect(parseArchiveObjectKey(key)).toEqual({
      stream: 'orders',
      dt: '2024-11-21',
      hr: '09',
      shardId: 'shardId-000000000001',
      firstSequenceNumber: '100',
      lastSequenceNumber: '200',
    });
    expect(parseArchiveObjectKey('p/checkpoints/stream=orders/shardId-1.json')).toBeNull();
  });
});
