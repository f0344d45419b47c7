import fc from 'fast-check';
import {
  acknowledgeOpenGap,
  commitPending,
  initialCheckpoint,
  resumePoint,
  withOpenGap,
  withPending,
} from '../../src/core/checkpoint';
import {
  acknowledgedGap,
  detectedGap,
  gapLedgerKey,
  gapLedgerPrefix,
  isAcknowledgedGap,
  parseGapLedgerKey,
  rangeOfGap,
} from '../../src/core/gap-ledger';
import { DataGapError } from '../../src/core/errors';

const first = new Date('2026-11-21T10:00:00Z');
const later = new Date('2026-11-21T11:00:00Z');

describe('gap ledger keys', () => {
  it('given a prefix, a stream, a shard and a range, then the key is the contract and parses back', () => {
    expect(gapLedgerKey('data', 'orders', 'shardId-000000000001', '49590', '49600')).toBe(
      'data/gaps/stream=orders/shardId-000000000001/49590-49600.json',
    );
    expect(gapLedgerPrefix('/data/')).toBe('data/gaps/');
    expect(gapLedgerPrefix('', 'orders')).toBe('gaps/stream=orders/');
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z0-9_.-]{1,128}$/),
        fc.stringMatching(/^shardId-\d{12}$/),
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        (stream, shardId, from, to) => {
          const key = gapLedgerKey('p/', stream, shardId, from.toString(), to.toString());
          expect(key.startsWith(gapLedgerPrefix('p/', stream))).toBe(true);
          expect(parseGapLedgerKey(key)).toEqual({
            stream,
            shardId,
            from: from.toString(),
            to: to.toString(),
          });
        },
      ),
    );
  });

  it('given keys that are not ledger entries, then they do not parse', () => {
    expect(parseGapLedgerKey('checkpoints/stream=orders/shardId-000000000001.json')).toBeNull();
    expect(parseGapLedgerKey('gaps/stream=orders/shardId-000000000001/open.json')).toBeNull();
    expect(parseGapLedgerKey('gaps/stream=orders/shardId-000000000001/1-2.json.tmp')).toBeNull();
  });
});

describe('open and acknowledged gaps', () => {
  it('given a DataGapError after an archived record, then its range starts after that record and ends before the first available one', () => {
    expect(rangeOfGap(new DataGapError('s', 'sh', '10', '10', '40'))).toEqual({
      from: '10',
      fromArchived: true,
      to: '40',
    });
    expect(rangeOfGap(new DataGapError('s', 'sh', null, '20', null))).toEqual({
      from: '20',
      fromArchived: false,
      to: null,
    });
  });

  it('given the same gap found again, then it keeps when it was first detected and follows the trim horizon', () => {
    const open = detectedGap(null, { from: '10', fromArchived: true, to: '40' }, first);
    expect(open).toEqual({
      from: '10',
      fromArchived: true,
      to: '40',
      firstDetected: first.toISOString(),
      lastSeen: first.toISOString(),
    });
    expect(detectedGap(open, { from: '10', fromArchived: true, to: '55' }, later)).toEqual({
      ...open,
      to: '55',
      lastSeen: later.toISOString(),
    });
    // Another gap (after an acknowledgment, say) starts its own history.
    expect(detectedGap(open, { from: '60', fromArchived: false, to: '70' }, later)).toMatchObject({
      firstDetected: later.toISOString(),
    });
  });

  it('given an open gap acknowledged, then the entry names every documented field', () => {
    const open = detectedGap(null, { from: '10', fromArchived: true, to: '40' }, first);
    const entry = acknowledgedGap(
      open,
      { stream: 's', shardId: 'sh', to: '55' },
      { now: later, by: 'ops', note: 'outage' },
    );
    expect(entry).toEqual({
      stream: 's',
      shardId: 'sh',
      from: '10',
      fromArchived: true,
      to: '55',
      firstDetected: first.toISOString(),
      lastSeen: first.toISOString(),
      acknowledgedAt: later.toISOString(),
      acknowledgedBy: 'ops',
      note: 'outage',
    });
    expect(isAcknowledgedGap(entry)).toBe(true);
    expect(isAcknowledgedGap({ stream: 's' })).toBe(false);
  });
});

describe('checkpoint around a gap', () => {
  const archived = commitPending(
    withPending(
      initialCheckpoint('s', 'sh', []),
      {
        key: 'k',
        firstSequenceNumber: '5',
        lastSequenceNumber: '10',
        lastArrivalTimestamp: 1,
        records: 2,
        bytes: 9,
      },
      first,
    ),
    first,
  );

  it('given a gap recorded, then reading still resumes at the last archived record (nothing changes until acknowledged)', () => {
    const gapped = withOpenGap(archived, { from: '10', fromArchived: true, to: '40' }, first);
    expect(gapped.openGap).toMatchObject({ from: '10', to: '40' });
    expect(resumePoint(gapped)).toEqual(resumePoint(archived));
  });

  it('given the gap acknowledged, then reading resumes AT the oldest record left, not skipping it, and the first commit after it clears that', () => {
    const gapped = withOpenGap(archived, { from: '10', fromArchived: true, to: '40' }, first);
    const acknowledged = acknowledgeOpenGap(gapped, '55', later);
    expect(acknowledged.openGap).toBeNull();
    expect(acknowledged.lastSequenceNumber).toBe('10');
    expect(resumePoint(acknowledged)).toEqual({
      type: 'AT_SEQUENCE_NUMBER',
      sequenceNumber: '55',
      skipFirst: false,
    });
    const next = withPending(
      acknowledged,
      {
        key: 'k2',
        firstSequenceNumber: '55',
        lastSequenceNumber: '70',
        lastArrivalTimestamp: 2,
        records: 3,
        bytes: 9,
      },
      later,
    );
    // While its first block is pending, reading still starts at the gap's end (the block is rebuilt from it).
    expect(resumePoint(next)).toEqual({ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '55', skipFirst: false });
    const committed = commitPending(next, later);
    expect(committed.resumeAfterGap).toBeNull();
    expect(resumePoint(committed)).toEqual({
      type: 'AT_SEQUENCE_NUMBER',
      sequenceNumber: '70',
      skipFirst: true,
    });
    expect(
      commitPending(withPending(archived, { ...next.pending!, key: 'k3' }, later), later),
    ).not.toHaveProperty('resumeAfterGap');
  });
});
