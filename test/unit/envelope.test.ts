import fc from 'fast-check';
import {
  decodeEnvelope,
  encodeEnvelope,
  envelopePayload,
  type ReplayEnvelope,
} from '../../src/core/envelope';
import { toRecordLine, type RecordLine } from '../../src/core/record-line';

const line = (data: Uint8Array, overrides: Partial<RecordLine> = {}): RecordLine => ({
  ...toRecordLine({
    stream: 'orders',
    shardId: 'shardId-000000000001',
    sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    subSequenceNumber: 0,
    partitionKey: 'user-42',
    arrivalTimestamp: 1732183200123,
    data,
  }),
  ...overrides,
});

const roundTrip = (payload: Uint8Array, annotations: Record<string, unknown> = {}): ReplayEnvelope => {
  const envelope = decodeEnvelope(encodeEnvelope(line(payload), 'replay-1', annotations));
  expect(envelope).not.toBeNull();
  expect(envelopePayload(envelope!).equals(Buffer.from(payload))).toBe(true);
  return envelope!;
};

const text = (value: string) => Buffer.from(value, 'utf8');

describe('replay envelope', () => {
  it('given a JSON payload, then the envelope carries its JSON value and the source position', () => {
    const bytes = encodeEnvelope(line(text('{"id":1,"tags":["a"]}')), 'r-7', { reason: 'backfill' });
    expect(JSON.parse(bytes.toString())).toEqual({
      reservoir: {
        replayId: 'r-7',
        source: {
          stream: 'orders',
          shardId: 'shardId-000000000001',
          sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
          subSequenceNumber: 0,
          arrivalTimestamp: 1732183200123,
        },
        annotations: { reason: 'backfill' },
      },
      data: { id: 1, tags: ['a'] },
      encoding: 'json',
    });
    expect(bytes.toString().startsWith('{"reservoir":{"replayId":"r-7","source":{"stream":"orders"')).toBe(
      true,
    );
  });

  it.each([
    ['insignificant whitespace', '{ "id": 1 }'],
    ['a trailing newline', '{"id":1}\n'],
    ['an integer beyond 2^53', '{"id":12345678901234567890}'],
    ['1.0', '1.0'],
    ['a duplicate key', '{"a":1,"a":2}'],
    ['integer-like keys out of order', '{"b":1,"1":2}'],
    ['-0', '-0'],
    ['an escaped slash', '"a\\/b"'],
    ['plain text', 'hello'],
    ['the empty payload', ''],
  ])('given JSON-ish text with %s, then it stays text and comes back byte for byte', (_, value) => {
    const envelope = roundTrip(text(value));
    expect(envelope).toMatchObject({ encoding: 'utf8', data: value });
  });

  it('given bytes that are not UTF-8, then they travel as base64 and come back byte for byte', () => {
    const envelope = roundTrip(Buffer.from([0xff, 0x00, 0xc3, 0x28]));
    expect(envelope.encoding).toBe('base64');
  });

  it('given a payload with a byte order mark, then it is kept', () => {
    roundTrip(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text('{"a":1}')]));
  });

  it('given any bytes, when encoded and decoded, then the payload is the original bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        roundTrip(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('given any text, when encoded and decoded, then the payload is the original bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (value) => {
        roundTrip(text(value));
      }),
      { numRuns: 500 },
    );
  });

  it('given any JSON value, compact or indented, then the payload is the original bytes and compact JSON travels as JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, indent) => {
        const serialized = JSON.stringify(value, null, indent ? 2 : undefined);
        const envelope = roundTrip(text(serialized));
        if (JSON.stringify(JSON.parse(serialized)) === serialized) expect(envelope.encoding).toBe('json');
        else expect(envelope.encoding).toBe('utf8');
      }),
      { numRuns: 500 },
    );
  });

  it('given any annotations object, then the decoded envelope carries it and the source position', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.string({ minLength: 1 }),
        (annotations, id) => {
          const source = line(text('x'), {
            shardId: 'shardId-000000000042',
            sequenceNumber: '7',
            subSequenceNumber: 3,
          });
          const envelope = decodeEnvelope(encodeEnvelope(source, id, annotations));
          expect(envelope?.reservoir).toEqual({
            replayId: id,
            source: {
              stream: 'orders',
              shardId: 'shardId-000000000042',
              sequenceNumber: '7',
              subSequenceNumber: 3,
              arrivalTimestamp: 1732183200123,
            },
            annotations: JSON.parse(JSON.stringify(annotations)),
          });
        },
      ),
    );
  });

  it('given ordinary payloads, then none of them is taken for an envelope', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.jsonValue().map((value) => text(JSON.stringify(value))),
          fc
            .record({
              reservoir: fc.jsonValue(),
              data: fc.jsonValue(),
              encoding: fc.constantFrom('json', 'utf8'),
            })
            .map((value) => text(JSON.stringify(value))),
          fc
            .dictionary(fc.string(), fc.jsonValue())
            .map((value) => text(JSON.stringify({ ...value, reservoir: { replayId: 'x', ...value } }))),
        ),
        (bytes) => {
          expect(decodeEnvelope(bytes)).toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });

  describe('only the exact shape is an envelope', () => {
    type Loose = Record<string, unknown> & {
      reservoir: Record<string, unknown> & { source: Record<string, unknown> };
    };
    const valid = (): Loose => JSON.parse(encodeEnvelope(line(text('{"id":1}')), 'r', { a: 1 }).toString());
    const mutations: [string, (envelope: Loose) => void][] = [
      ['an extra top-level key', (e) => (e.extra = 1)],
      ['no data', (e) => delete e.data],
      ['an unknown encoding', (e) => (e.encoding = 'gzip')],
      ['an extra header key', (e) => (e.reservoir.extra = 1)],
      ['no annotations', (e) => delete e.reservoir.annotations],
      ['annotations that are an array', (e) => (e.reservoir.annotations = [])],
      ['annotations that are null', (e) => (e.reservoir.annotations = null)],
      ['an empty replay id', (e) => (e.reservoir.replayId = '')],
      ['a numeric replay id', (e) => (e.reservoir.replayId = 5)],
      ['an extra source key', (e) => (e.reservoir.source.partitionKey = 'k')],
      ['no sub-sequence number', (e) => delete e.reservoir.source.subSequenceNumber],
      ['a numeric sequence number', (e) => (e.reservoir.source.sequenceNumber = 5)],
      ['a non-decimal sequence number', (e) => (e.reservoir.source.sequenceNumber = '0x10')],
      ['a negative sub-sequence number', (e) => (e.reservoir.source.subSequenceNumber = -1)],
      ['a textual arrival time', (e) => (e.reservoir.source.arrivalTimestamp = '2024-01-01')],
      ['utf8 data that is not a string', (e) => ((e.encoding = 'utf8'), (e.data = { id: 1 }))],
      ['base64 data that is not base64', (e) => ((e.encoding = 'base64'), (e.data = 'not base64!'))],
      ['base64 data that is not canonical', (e) => ((e.encoding = 'base64'), (e.data = 'QQ'))],
    ];

    it('given the envelope unchanged, then it decodes', () => {
      expect(decodeEnvelope(text(JSON.stringify(valid())))).not.toBeNull();
    });

    it.each(mutations)('given an envelope with %s, then it is not one', (_, mutate) => {
      const envelope = valid();
      mutate(envelope);
      expect(decodeEnvelope(text(JSON.stringify(envelope)))).toBeNull();
    });

    it('given an envelope with whitespace and another key order, then it still decodes', () => {
      const envelope = valid();
      const reordered = { encoding: envelope.encoding, data: envelope.data, reservoir: envelope.reservoir };
      expect(decodeEnvelope(text(JSON.stringify(reordered, null, 2)))).not.toBeNull();
    });
  });

  it('given an invalid replay id or annotations, then encoding refuses', () => {
    expect(() => encodeEnvelope(line(text('x')), '', {})).toThrow(TypeError);
    expect(() => encodeEnvelope(line(text('x')), 'r', [] as never)).toThrow(TypeError);
    expect(() => encodeEnvelope(line(text('x'), { sequenceNumber: 'abc' }), 'r', {})).toThrow(TypeError);
  });
});

describe('replays of replayed records', () => {
  const original = line(text('{"id":1}'), { shardId: 'shardId-000000000003', sequenceNumber: '11' });
  // The first replay's envelope, put into the stream and archived from there at a new position.
  const archivedEnvelope = (bytes: Buffer) =>
    line(bytes, { shardId: 'shardId-000000000009', sequenceNumber: '99', arrivalTimestamp: 1732190000000 });

  it.each([
    ['compact', (bytes: Buffer) => bytes],
    [
      'indented by another encoder',
      (bytes: Buffer) => text(JSON.stringify(JSON.parse(bytes.toString()), null, 1)),
    ],
  ])(
    'given an archived envelope (%s), when it is replayed again, then the new envelope carries the original position and bytes',
    (_, reformat) => {
      const first = reformat(encodeEnvelope(original, 'first', { a: 1 }));
      const second = decodeEnvelope(
        encodeEnvelope(archivedEnvelope(first), 'second', { forceOverwrite: true }),
      );
      expect(second?.reservoir).toEqual({
        replayId: 'second',
        source: {
          stream: 'orders',
          shardId: 'shardId-000000000003',
          sequenceNumber: '11',
          subSequenceNumber: 0,
          arrivalTimestamp: 1732183200123,
        },
        annotations: { forceOverwrite: true },
      });
      expect(envelopePayload(second!).toString()).toBe('{"id":1}');
    },
  );
});
