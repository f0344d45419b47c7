import {
  ANONYMOUS,
  ITERATOR_TTL_MS,
  MAX_ITERATORS,
  ReadMeter,
  canonicalShardId,
  clientIdOf,
  readSize,
  type ReadShard,
} from '../../src/local/throttled-kinesis-reads';

const shard: ReadShard = { stream: 'orders', shardId: 'shardId-000000000000', account: '123456789012' };
const record = (bytes: number) => ({ Data: Buffer.alloc(bytes).toString('base64'), PartitionKey: '' });

describe('throttled kinesis reads', () => {
  it('given a SigV4 Authorization header, then the client is its access key id, and anonymous without one', () => {
    const authorization =
      'AWS4-HMAC-SHA256 Credential=production/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc';
    expect(clientIdOf({ authorization })).toBe('production');
    expect(clientIdOf({})).toBe(ANONYMOUS);
    expect(clientIdOf({ authorization: 'Bearer token' })).toBe(ANONYMOUS);
  });

  it('given the ways kinesalite accepts a ShardId, then they name one shard, and what it refuses names none', () => {
    expect(['7', 'shardId-7', 'shardId-000000000007'].map(canonicalShardId)).toEqual(
      Array(3).fill('shardId-000000000007'),
    );
    expect(['shardId-', 'shardId-x', '2147483648'].map(canonicalShardId)).toEqual(Array(3).fill(undefined));
  });

  it('given a returned record, then its size is its decoded data bytes plus its partition key bytes', () => {
    expect(readSize({ Data: Buffer.from('hello').toString('base64'), PartitionKey: 'clé' })).toBe(5 + 4);
  });

  it('given 5 calls a second, when the calls are spent, then the shard admits one more per fifth of a second', () => {
    const meter = new ReadMeter({ callsPerSecond: 5, bytesPerSecond: 1000 });
    const admitted = (at: number) => meter.admit(shard, 'c', at);

    expect([0, 0, 0, 0, 0, 0].map(admitted)).toEqual([true, true, true, true, true, false]);
    expect([150, 200, 200].map(admitted)).toEqual([false, true, false]);
  });

  it('given a response of five seconds of bytes, then the shard admits no call until the debt is paid', () => {
    const meter = new ReadMeter({ callsPerSecond: 5, bytesPerSecond: 1000 });
    expect(meter.admit(shard, 'c', 0)).toBe(true);
    meter.charge(shard, 'c', [record(5000)], 0);

    // 1,000 - 5,000: 4,000 bytes owed, paid at 1,000 a second.
    expect([1000, 2000, 3000, 4000].map((at) => meter.admit(shard, 'c', at))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(meter.admit(shard, 'c', 4001)).toBe(true);
    expect(meter.stats()).toMatchObject({ calls: 2, throttled: 4, records: 1, bytes: 5000 });
  });

  it('given iterators, then they are forgotten after 5 minutes, and the oldest first beyond the cap', () => {
    const meter = new ReadMeter({ callsPerSecond: 5, bytesPerSecond: 1000 });
    meter.remember('old', shard, 0);
    meter.remember('newer', shard, 1);
    expect(meter.shardOf('old', ITERATOR_TTL_MS - 1)).toEqual(shard);
    expect(meter.shardOf('old', ITERATOR_TTL_MS)).toBeUndefined();
    expect(meter.shardOf('newer', ITERATOR_TTL_MS)).toEqual(shard);

    for (let i = 0; i < MAX_ITERATORS; i++) meter.remember(`it-${i}`, shard, ITERATOR_TTL_MS);
    expect(meter.shardOf('newer', ITERATOR_TTL_MS)).toBeUndefined();
    expect(meter.shardOf('it-0', ITERATOR_TTL_MS)).toEqual(shard);
  });
});
