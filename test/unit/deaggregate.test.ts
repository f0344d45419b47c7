import { toUserRecords } from '../../src/core/deaggregate';
import { kplAggregate } from '../../src/local/traffic';

const record = (data: Buffer, partitionKey = 'outer') => ({
  sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
  partitionKey,
  arrivalTimestamp: 1_732_183_200_123,
  data,
});

describe('KPL de-aggregation', () => {
  it('given a KPL aggregate, then its user records come out in order with their keys and sub-sequence numbers', () => {
    const users = Array.from({ length: 5 }, (_, i) => ({
      partitionKey: `key-${i % 2}`,
      data: Buffer.from(`{"n":${i}}`),
    }));
    const [aggregate] = kplAggregate(users);
    const out = toUserRecords('s', 'shardId-0', record(aggregate!.data, aggregate!.partitionKey));
    expect(out.map((u) => [u.subSequenceNumber, u.partitionKey, Buffer.from(u.data).toString()])).toEqual(
      users.map((u, i) => [i, u.partitionKey, u.data.toString()]),
    );
    expect(new Set(out.map((u) => u.sequenceNumber))).toEqual(
      new Set([record(Buffer.alloc(0)).sequenceNumber]),
    );
  });

  it('given a plain record, then it is one user record with sub-sequence 0', () => {
    const out = toUserRecords('s', 'shardId-0', record(Buffer.from('plain')));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ subSequenceNumber: 0, partitionKey: 'outer' });
  });

  it('given bytes that carry the KPL magic but a broken checksum, then the record is kept whole, not dropped', () => {
    const [aggregate] = kplAggregate([{ partitionKey: 'k', data: Buffer.from('x'.repeat(40)) }]);
    const corrupt = Buffer.from(aggregate!.data);
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0xff;
    const out = toUserRecords('s', 'shardId-0', record(corrupt));
    expect(out).toHaveLength(1);
    expect(Buffer.from(out[0]!.data).equals(corrupt)).toBe(true);
  });
});
