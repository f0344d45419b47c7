import type { _Record } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import {
  AsyncKeyStateTracker,
  comparePositions,
  createPositionComparator,
  decodeRecord,
  decodeRecords,
  encodeEnvelope,
  IncomparablePositionsError,
  KeyStateTracker,
  lineageFromShards,
  MapPositionStore,
  type DecodedRecord,
  type SourcePosition,
} from '../../src/consumer';
import { toRecordLine } from '../../src/core/record-line';
import { kplAggregate } from '../../src/local/traffic';

const ARRIVAL_MS = 1_732_183_200_123;

const lambdaRecord = (shardId: string, sequenceNumber: string, partitionKey: string, data: Buffer) =>
  ({
    awsRegion: 'eu-west-1',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    eventSource: 'aws:kinesis',
    eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders',
    eventVersion: '1.0',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/consumer',
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey,
      sequenceNumber,
      data: data.toString('base64'),
      approximateArrivalTimestamp: ARRIVAL_MS / 1000,
    },
  }) satisfies KinesisStreamRecord;

const sdkRecord = (sequenceNumber: string, partitionKey: string, data: Buffer): _Record => ({
  SequenceNumber: sequenceNumber,
  PartitionKey: partitionKey,
  Data: new Uint8Array(data),
  ApproximateArrivalTimestamp: new Date(ARRIVAL_MS),
});

const envelope = (
  source: { shardId: string; sequenceNumber: string; subSequenceNumber?: number },
  partitionKey: string,
  payload: Buffer,
  annotations: Record<string, unknown> = {},
) =>
  encodeEnvelope(
    toRecordLine({
      stream: 'orders',
      shardId: source.shardId,
      sequenceNumber: source.sequenceNumber,
      subSequenceNumber: source.subSequenceNumber ?? 0,
      partitionKey,
      arrivalTimestamp: ARRIVAL_MS - 3_600_000,
      data: payload,
    }),
    'replay-1',
    annotations,
  );

const at = (shardId: string, sequenceNumber: string, subSequenceNumber = 0): SourcePosition => ({
  shardId,
  sequenceNumber,
  subSequenceNumber,
});

const decoded = (
  position: SourcePosition,
  value: string,
  annotations: Record<string, unknown> = {},
): DecodedRecord => ({
  payload: Buffer.from(value),
  partitionKey: 'k',
  position,
  received: position,
  annotations,
  replayId: Object.keys(annotations).length > 0 ? 'r' : null,
  replayed: Object.keys(annotations).length > 0,
});

describe('decodeRecord', () => {
  it('given a live Lambda Kinesis record, then its position is its own shard, sequence number and sub-sequence 0', () => {
    const record = decodeRecord(
      lambdaRecord('shardId-000000000004', '4959001', 'user-1', Buffer.from('{"a":1}')),
    );
    expect(record).toEqual({
      payload: Buffer.from('{"a":1}'),
      partitionKey: 'user-1',
      position: {
        stream: 'orders',
        shardId: 'shardId-000000000004',
        sequenceNumber: '4959001',
        subSequenceNumber: 0,
        arrivalTimestamp: ARRIVAL_MS,
      },
      received: record.position,
      annotations: {},
      replayId: null,
      replayed: false,
    });
  });

  it('given a replayed envelope in a Lambda record, then it gives the original bytes, original position and annotations', () => {
    const original = Buffer.from([0xff, 0x01, 0x02]);
    const bytes = envelope(
      { shardId: 'shardId-000000000001', sequenceNumber: '77', subSequenceNumber: 2 },
      'user-1',
      original,
      {
        forceOverwrite: true,
      },
    );
    const record = decodeRecord(lambdaRecord('shardId-000000000004', '4959001', 'user-1', bytes));
    expect(record.payload.equals(original)).toBe(true);
    expect(record).toMatchObject({
      partitionKey: 'user-1',
      position: {
        stream: 'orders',
        shardId: 'shardId-000000000001',
        sequenceNumber: '77',
        subSequenceNumber: 2,
        arrivalTimestamp: ARRIVAL_MS - 3_600_000,
      },
      received: {
        stream: 'orders',
        shardId: 'shardId-000000000004',
        sequenceNumber: '4959001',
        subSequenceNumber: 0,
      },
      annotations: { forceOverwrite: true },
      replayId: 'replay-1',
      replayed: true,
    });
  });

  it('given a GetRecords record and its shard id, then it decodes like the Lambda shape', () => {
    const live = decodeRecord(sdkRecord('12', 'user-2', Buffer.from('hello')), 'shardId-000000000002');
    expect(live).toMatchObject({
      partitionKey: 'user-2',
      position: {
        shardId: 'shardId-000000000002',
        sequenceNumber: '12',
        subSequenceNumber: 0,
        arrivalTimestamp: ARRIVAL_MS,
      },
      replayed: false,
    });
    expect(live.position).not.toHaveProperty('stream');
    expect(live.payload.toString()).toBe('hello');

    const bytes = envelope(
      { shardId: 'shardId-000000000000', sequenceNumber: '5' },
      'user-2',
      Buffer.from('{"v":1}'),
    );
    const replayed = decodeRecord(sdkRecord('13', 'user-2', bytes), 'shardId-000000000002', 'orders');
    expect(replayed).toMatchObject({
      position: { stream: 'orders', shardId: 'shardId-000000000000', sequenceNumber: '5' },
      received: { stream: 'orders', shardId: 'shardId-000000000002', sequenceNumber: '13' },
      replayed: true,
    });
    expect(replayed.payload.toString()).toBe('{"v":1}');
  });

  it('given a GetRecords record without its shard id, then it refuses', () => {
    expect(() => decodeRecord(sdkRecord('12', 'k', Buffer.from('x')) as never)).toThrow(/shard id/);
  });

  it('given an ordinary JSON payload with a "reservoir" key, then it is a live record', () => {
    const payload = Buffer.from('{"reservoir":{"replayId":"x"},"data":1,"encoding":"json"}');
    expect(decodeRecord(lambdaRecord('shardId-000000000000', '1', 'k', payload))).toMatchObject({
      replayed: false,
      payload,
    });
  });

  it('given a raw-format replay (original bytes, original key), then it looks live and is applied as a new record', () => {
    const tracker = new KeyStateTracker();
    const state = new Map<string, string>();
    const apply = (r: DecodedRecord) => state.set(r.partitionKey, r.payload.toString());
    tracker.offer(decodeRecord(lambdaRecord('shardId-000000000000', '10', 'k', Buffer.from('old'))), apply);
    tracker.offer(decodeRecord(lambdaRecord('shardId-000000000000', '20', 'k', Buffer.from('new'))), apply);
    // The raw replay of "old" arrives at a new, later position: the rule cannot know it is old.
    const raw = decodeRecord(lambdaRecord('shardId-000000000000', '30', 'k', Buffer.from('old')));
    expect(raw).toMatchObject({ replayed: false, position: { sequenceNumber: '30' } });
    expect(tracker.offer(raw, apply)).toBe(true);
    expect(state.get('k')).toBe('old');
    // …whereas its envelope carries the original position and is not applied.
    const enveloped = decodeRecord(
      lambdaRecord(
        'shardId-000000000000',
        '40',
        'k',
        envelope({ shardId: 'shardId-000000000000', sequenceNumber: '10' }, 'k', Buffer.from('old')),
      ),
    );
    expect(tracker.offer(enveloped, apply)).toBe(false);
  });

  it('given a nested envelope from another encoder, then the innermost record gives position and bytes', () => {
    const inner = envelope({ shardId: 'shardId-000000000001', sequenceNumber: '3' }, 'k', Buffer.from('v'));
    const outer = JSON.stringify({
      reservoir: {
        replayId: 'outer',
        source: {
          stream: 'orders',
          shardId: 'shardId-000000000005',
          sequenceNumber: '900',
          subSequenceNumber: 0,
          arrivalTimestamp: 1,
        },
        annotations: { n: 2 },
      },
      data: JSON.parse(inner.toString()),
      encoding: 'json',
    });
    const record = decodeRecord(lambdaRecord('shardId-000000000006', '1000', 'k', Buffer.from(outer)));
    expect(record).toMatchObject({
      position: { shardId: 'shardId-000000000001', sequenceNumber: '3' },
      replayId: 'outer',
      annotations: { n: 2 },
    });
    expect(record.payload.toString()).toBe('v');
  });
});

describe('decodeRecords (KPL)', () => {
  const users = [
    { partitionKey: 'a', data: Buffer.from('{"n":0}') },
    { partitionKey: 'b', data: Buffer.from('plain text') },
    {
      partitionKey: 'a',
      data: envelope({ shardId: 'shardId-000000000000', sequenceNumber: '8' }, 'a', Buffer.from('{"n":-1}')),
    },
  ];

  it('given a KPL aggregate, then each user record has its key, its sub-sequence number, and envelopes are decoded', () => {
    const [aggregate] = kplAggregate(users);
    const records = decodeRecords(
      lambdaRecord('shardId-000000000003', '555', aggregate!.partitionKey, aggregate!.data),
    );
    expect(
      records.map((r) => [r.partitionKey, r.received.subSequenceNumber, r.payload.toString(), r.replayed]),
    ).toEqual([
      ['a', 0, '{"n":0}', false],
      ['b', 1, 'plain text', false],
      ['a', 2, '{"n":-1}', true],
    ]);
    expect(records[1]!.position).toMatchObject({
      shardId: 'shardId-000000000003',
      sequenceNumber: '555',
      subSequenceNumber: 1,
    });
    expect(records[2]!.position).toMatchObject({
      shardId: 'shardId-000000000000',
      sequenceNumber: '8',
      subSequenceNumber: 0,
    });
    expect(comparePositions(records[0]!.position, records[1]!.position)).toBeLessThan(0);
  });

  it('given a KPL aggregate, then decodeRecord refuses it rather than hand out protobuf bytes', () => {
    const [aggregate] = kplAggregate(users);
    expect(() =>
      decodeRecord(sdkRecord('555', aggregate!.partitionKey, aggregate!.data), 'shardId-000000000003'),
    ).toThrow(/decodeRecords/);
  });

  it('given a plain record or a corrupt aggregate, then it is one record with sub-sequence 0', () => {
    expect(decodeRecords(sdkRecord('1', 'k', Buffer.from('x')), 'shardId-000000000000')).toHaveLength(1);
    const [aggregate] = kplAggregate([{ partitionKey: 'k', data: Buffer.from('x'.repeat(40)) }]);
    const corrupt = Buffer.from(aggregate!.data);
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0xff;
    const [record, ...rest] = decodeRecords(sdkRecord('1', 'k', corrupt), 'shardId-000000000000');
    expect(rest).toHaveLength(0);
    expect(record!.payload.equals(corrupt)).toBe(true);
    expect(record!.position.subSequenceNumber).toBe(0);
  });
});

describe('comparePositions', () => {
  it('given one shard, then sequence numbers compare as integers, then sub-sequence numbers', () => {
    expect(comparePositions(at('shardId-000000000000', '9'), at('shardId-000000000000', '10'))).toBeLessThan(
      0,
    );
    expect(
      comparePositions(at('shardId-000000000000', '10', 1), at('shardId-000000000000', '10', 0)),
    ).toBeGreaterThan(0);
    expect(comparePositions(at('shardId-000000000000', '10', 1), at('shardId-000000000000', '10', 1))).toBe(
      0,
    );
  });

  it('given a split, then a record in a child is newer than any record of the parent, whatever the sequence numbers', () => {
    const parent = at('shardId-000000000000', '49629562583971205188053748556663691537888312852092026898');
    const child = at('shardId-000000000002', '1');
    expect(comparePositions(child, parent)).toBeGreaterThan(0);
    expect(comparePositions(parent, child)).toBeLessThan(0);
  });

  it('given a merge, then the merged shard is newer than both parents, with or without lineage', () => {
    const lineage = lineageFromShards([
      { ShardId: 'shardId-000000000000' },
      { ShardId: 'shardId-000000000001', ParentShardId: 'shardId-000000000000' },
      { ShardId: 'shardId-000000000002', ParentShardId: 'shardId-000000000000' },
      {
        ShardId: 'shardId-000000000003',
        ParentShardId: 'shardId-000000000001',
        AdjacentParentShardId: 'shardId-000000000002',
      },
    ]);
    expect(lineage).toEqual(
      new Map([
        ['shardId-000000000001', ['shardId-000000000000']],
        ['shardId-000000000002', ['shardId-000000000000']],
        ['shardId-000000000003', ['shardId-000000000001', 'shardId-000000000002']],
      ]),
    );
    for (const compare of [comparePositions, createPositionComparator(lineage)]) {
      for (const parent of ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']) {
        expect(compare(at('shardId-000000000003', '5'), at(parent, '999999'))).toBeGreaterThan(0);
      }
    }
  });

  it('given explicit lineage, then ancestry decides even against the shard numbering', () => {
    const compare = createPositionComparator(new Map([['shardId-000000000001', ['shardId-000000000007']]]));
    expect(compare(at('shardId-000000000001', '1'), at('shardId-000000000007', '9'))).toBeGreaterThan(0);
    // Not related by the lineage: the numbering decides.
    expect(compare(at('shardId-000000000001', '1'), at('shardId-000000000005', '9'))).toBeLessThan(0);
  });

  it('given shards of unknown order or different streams, then it refuses to guess', () => {
    expect(() => comparePositions(at('left', '1'), at('right', '2'))).toThrow(IncomparablePositionsError);
    const lineage = lineageFromShards([{ ShardId: 'right', ParentShards: ['left'] }]);
    expect(createPositionComparator(lineage)(at('left', '9'), at('right', '1'))).toBeLessThan(0);
    expect(() =>
      comparePositions(
        { ...at('shardId-000000000000', '1'), stream: 'a' },
        { ...at('shardId-000000000000', '2'), stream: 'b' },
      ),
    ).toThrow(IncomparablePositionsError);
  });
});

describe('KeyStateTracker', () => {
  it('given records of a key, then only records newer than the last applied one are applied', () => {
    const tracker = new KeyStateTracker();
    const applied: string[] = [];
    const offer = (record: DecodedRecord) => tracker.offer(record, (r) => applied.push(r.payload.toString()));
    expect(offer(decoded(at('shardId-000000000000', '5'), 'v5'))).toBe(true);
    expect(offer(decoded(at('shardId-000000000000', '3'), 'v3'))).toBe(false);
    expect(offer(decoded(at('shardId-000000000000', '5'), 'v5 again'))).toBe(false);
    expect(offer(decoded(at('shardId-000000000001', '1'), 'child'))).toBe(true);
    expect(applied).toEqual(['v5', 'child']);
    expect(tracker.lastApplied('k')).toEqual(at('shardId-000000000001', '1'));
  });

  it('given a forceOverwrite record older than the state, then it is applied but the remembered position stays the newest', () => {
    const tracker = new KeyStateTracker();
    let state = '';
    const offer = (record: DecodedRecord) => tracker.offer(record, (r) => (state = r.payload.toString()));
    offer(decoded(at('shardId-000000000000', '10'), 'v10'));
    expect(offer(decoded(at('shardId-000000000000', '2'), 'v2', { forceOverwrite: true }))).toBe(true);
    expect(state).toBe('v2');
    expect(tracker.lastApplied('k')).toEqual(at('shardId-000000000000', '10'));
    // Stale records still do not apply after it…
    expect(offer(decoded(at('shardId-000000000000', '3'), 'v3', { note: 'replay' }))).toBe(false);
    expect(offer(decoded(at('shardId-000000000000', '10'), 'v10'))).toBe(false);
    expect(state).toBe('v2');
    // …and the next live record does.
    expect(offer(decoded(at('shardId-000000000000', '11'), 'v11'))).toBe(true);
    expect(state).toBe('v11');
  });

  it('given forceOverwrite that is not exactly true, then the record follows the rule', () => {
    const tracker = new KeyStateTracker();
    tracker.markApplied(decoded(at('shardId-000000000000', '10'), 'v10'));
    expect(
      tracker.shouldApply(decoded(at('shardId-000000000000', '2'), 'v2', { forceOverwrite: 'true' })),
    ).toBe(false);
    expect(
      tracker.shouldApply(decoded(at('shardId-000000000000', '2'), 'v2', { forceOverwrite: true })),
    ).toBe(true);
  });

  it('given an apply that throws, then the record is not remembered', () => {
    const tracker = new KeyStateTracker();
    const record = decoded(at('shardId-000000000000', '1'), 'v');
    expect(() =>
      tracker.offer(record, () => {
        throw new Error('down');
      }),
    ).toThrow('down');
    expect(tracker.lastApplied('k')).toBeUndefined();
    expect(tracker.shouldApply(record)).toBe(true);
  });

  it('given a store and a lineage comparator, then it uses both', () => {
    const positions = new Map<string, SourcePosition>([['k', at('parent', '900')]]);
    const tracker = new KeyStateTracker({
      store: new MapPositionStore(positions),
      compare: createPositionComparator(new Map([['child', ['parent']]])),
    });
    expect(tracker.shouldApply(decoded(at('child', '1'), 'x'))).toBe(true);
    tracker.markApplied(decoded(at('child', '1'), 'x'));
    expect(positions.get('k')).toEqual(at('child', '1'));
  });
});

describe('AsyncKeyStateTracker', () => {
  it('given concurrent offers for one key over a slow async store, then they run one at a time and the newest wins', async () => {
    const saved = new Map<string, SourcePosition>();
    const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    const tracker = new AsyncKeyStateTracker({
      store: {
        get: async (key) => (await pause(), saved.get(key)),
        set: async (key, position) => {
          await pause();
          saved.set(key, position);
        },
      },
    });
    let state = '';
    let running = 0;
    const sequence = ['4', '1', '7', '3', '7', '6'];
    const results = await Promise.all(
      sequence.map((n) =>
        tracker.offer(decoded(at('shardId-000000000000', n), `v${n}`), async (r) => {
          running += 1;
          expect(running).toBe(1);
          await pause();
          state = r.payload.toString();
          running -= 1;
        }),
      ),
    );
    expect(results).toEqual([true, false, true, false, false, false]);
    expect(state).toBe('v7');
    expect(await tracker.lastApplied('k')).toEqual(at('shardId-000000000000', '7'));
  });
});
