import {
  commitPending,
  initialCheckpoint,
  isCheckpoint,
  markDrained,
  resumePoint,
  withPending,
  type PendingBlock,
} from '../../src/core/checkpoint';

const now = new Date('2024-11-21T10:00:00Z');
const pending: PendingBlock = {
  key: 'archive/stream=s/dt=2024-11-21/hr=09/shardId-0/10-20.jsonl.gz',
  firstSequenceNumber: '10',
  lastSequenceNumber: '20',
  lastArrivalTimestamp: 123,
  records: 5,
  bytes: 99,
};

describe('checkpoint transitions', () => {
  it('given a new shard, then reading starts at the trim horizon', () => {
    expect(resumePoint(initialCheckpoint('s', 'shardId-0', []))).toEqual({ type: 'TRIM_HORIZON' });
  });

  it('given a pending block, when committed, then the position moves past it and it is counted once', () => {
    const intended = withPending(initialCheckpoint('s', 'shardId-0', []), pending, now);
    expect(intended.lastSequenceNumber).toBeNull();
    const committed = commitPending(intended, now);
    expect(committed).toMatchObject({
      lastSequenceNumber: '20',
      pending: null,
      totals: { records: 5, objects: 1, bytes: 99 },
    });
    expect(commitPending(committed, now)).toBe(committed);
  });

  it('given a pending block and no archived record yet, then reading resumes at the block start, not skipping it', () => {
    const intended = withPending(initialCheckpoint('s', 'shardId-0', []), pending, now);
    expect(resumePoint(intended)).toEqual({
      type: 'AT_SEQUENCE_NUMBER',
      sequenceNumber: '10',
      skipFirst: false,
    });
  });

  it('given an archived position, then reading resumes AT it, so its presence proves there is no gap', () => {
    const committed = commitPending(withPending(initialCheckpoint('s', 'shardId-0', []), pending, now), now);
    expect(resumePoint(committed)).toEqual({
      type: 'AT_SEQUENCE_NUMBER',
      sequenceNumber: '20',
      skipFirst: true,
    });
  });

  it('refuses a second pending block and draining with a pending block', () => {
    const intended = withPending(initialCheckpoint('s', 'shardId-0', []), pending, now);
    expect(() => withPending(intended, pending, now)).toThrow('already has a pending block');
    expect(() => markDrained(intended, now)).toThrow('pending block');
    expect(markDrained(commitPending(intended, now), now)).toMatchObject({
      shardState: 'closed',
      drained: true,
    });
  });

  it('recognizes its own format', () => {
    expect(isCheckpoint(initialCheckpoint('s', 'x', ['p']))).toBe(true);
    expect(isCheckpoint({ version: 2 })).toBe(false);
  });
});
