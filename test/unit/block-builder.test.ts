import { BlockBuilder, blockBody } from '../../src/core/block-builder';
import type { UserRecord } from '../../src/core/record-line';

const HOUR = 3_600_000;
const base = Date.UTC(2024, 10, 21, 9, 0, 0);

function user(seq: number, at: number, sub = 0, size = 10): UserRecord {
  return {
    stream: 's',
    shardId: 'shardId-000000000000',
    sequenceNumber: String(seq),
    subSequenceNumber: sub,
    partitionKey: `k${seq}`,
    arrivalTimestamp: at,
    data: Buffer.alloc(size, 0x61),
  };
}

describe('block builder', () => {
  it('given records on both sides of an hour boundary, when added, then the block is cut at the boundary', () => {
    const builder = new BlockBuilder(1024 * 1024);
    expect(builder.add('1', base + HOUR - 2, [user(1, base + HOUR - 2)])).toBeNull();
    expect(builder.add('2', base + HOUR - 1, [user(2, base + HOUR - 1)])).toBeNull();
    const closed = builder.add('3', base + HOUR, [user(3, base + HOUR)]);
    expect(closed).toMatchObject({
      firstSequenceNumber: '1',
      lastSequenceNumber: '2',
      records: 2,
      hourStart: base,
    });
    expect(builder.flush()).toMatchObject({
      firstSequenceNumber: '3',
      lastSequenceNumber: '3',
      hourStart: base + HOUR,
    });
    expect(builder.flush()).toBeNull();
  });

  it('given a size bound, when records exceed it, then the block is cut before the record that would pass it', () => {
    const builder = new BlockBuilder(600);
    const closed: string[] = [];
    for (let seq = 1; seq <= 10; seq++) {
      const block = builder.add(String(seq), base, [user(seq, base, 0, 100)]);
      if (block) {
        expect(block.bytes).toBeLessThanOrEqual(600);
        closed.push(`${block.firstSequenceNumber}-${block.lastSequenceNumber}`);
      }
    }
    expect(closed.length).toBeGreaterThan(1);
  });

  it('given a KPL aggregate larger than the bound, when added, then its user records stay in one block', () => {
    const builder = new BlockBuilder(100);
    builder.add('1', base, [user(1, base)]);
    const aggregate = [0, 1, 2, 3].map((sub) => user(2, base, sub, 50));
    const closed = builder.add('2', base, aggregate);
    expect(closed).toMatchObject({ firstSequenceNumber: '1', lastSequenceNumber: '1' });
    const block = builder.flush()!;
    expect(block).toMatchObject({ firstSequenceNumber: '2', lastSequenceNumber: '2', records: 4 });
    expect(blockBody(block).split('\n')).toHaveLength(5);
  });

  it('given 8 MiB records and the default 32 MiB bound, then no block holds more than the bound allows, so the archiver holds a bounded number of them', () => {
    const MIB = 1024 * 1024;
    const maxBytes = 32 * MIB;
    const builder = new BlockBuilder(maxBytes);
    const blocks = [];
    // Binary payloads are base64 in the line: 8 MiB makes a line of about 10.7 MiB.
    for (let seq = 1; seq <= 9; seq++) {
      const closed = builder.add(String(seq), base + seq, [
        { ...user(seq, base + seq), data: Buffer.alloc(8 * MIB, 0x80) },
      ]);
      if (closed) blocks.push(closed);
      expect(builder.openBytes).toBeLessThanOrEqual(maxBytes);
    }
    blocks.push(builder.flush()!);
    expect(blocks.map((block) => block.records)).toEqual([2, 2, 2, 2, 1]);
    for (const block of blocks) expect(block.bytes).toBeLessThanOrEqual(maxBytes);
  });
});
