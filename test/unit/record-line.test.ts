import fc from 'fast-check';
import {
  decodePayload,
  encodePayload,
  fromRecordLine,
  parseRecordLine,
  serializeRecordLine,
  toRecordLine,
  type UserRecord,
} from '../../src/core/record-line';
import { MAX_RECORD_LINE_BYTES } from '../../src/sql/records-view';

const record = (data: Uint8Array): UserRecord => ({
  stream: 'orders',
  shardId: 'shardId-000000000001',
  sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
  subSequenceNumber: 0,
  partitionKey: 'user-42',
  arrivalTimestamp: 1732183200123,
  data,
});

describe('record line codec', () => {
  it('given any bytes, when a record is written as a line and read back, then the bytes are identical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const line = parseRecordLine(serializeRecordLine(record(bytes)));
        expect(Buffer.compare(fromRecordLine(line).data as Buffer, Buffer.from(bytes))).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('for any record, the line is exactly JSON.stringify of the documented object', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string(), fc.nat(), (bytes, key, sub) => {
        const r = { ...record(bytes), partitionKey: key, subSequenceNumber: sub };
        expect(serializeRecordLine(r)).toBe(JSON.stringify(toRecordLine(r)));
      }),
      { numRuns: 300 },
    );
  });

  it('given invalid UTF-8 forms (surrogates, overlongs, truncated sequences), then they are base64', () => {
    for (const bytes of [
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
      [0xe2, 0x82],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    ]) {
      expect(encodePayload(Buffer.from(bytes)).encoding).toBe('base64');
    }
  });

  it('given any text, when it is archived, then it is stored as readable UTF-8 text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        const payload = encodePayload(Buffer.from(text, 'utf8'));
        expect(payload).toEqual({ data: text, encoding: 'utf8' });
      }),
    );
  });

  it('given bytes that are not UTF-8, when archived, then they are base64', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    expect(encodePayload(bytes)).toEqual({ data: bytes.toString('base64'), encoding: 'base64' });
  });

  it('given a payload that starts with a byte order mark, when archived and read back, then the BOM survives', () => {
    const bytes = Buffer.from('\uFEFF{"id":1}', 'utf8');
    const payload = encodePayload(bytes);
    expect(payload.encoding).toBe('utf8');
    expect(decodePayload(payload.data, payload.encoding).equals(bytes)).toBe(true);
  });

  it('given a 10 MiB binary record, when archived and read back, then it is byte-exact', () => {
    const bytes = Buffer.alloc(10 * 1024 * 1024, 0x80);
    const line = parseRecordLine(serializeRecordLine(record(bytes)));
    expect(line.encoding).toBe('base64');
    expect((fromRecordLine(line).data as Buffer).equals(bytes)).toBe(true);
  });

  it('given a 10 MiB record of line breaks and control characters, then its line is one line that read_json accepts', () => {
    // Valid UTF-8, so kept as text: JSON escapes each \u0001 to 6 bytes, the worst case.
    for (const fill of [0x01, 0x0a, 0x0d]) {
      const line = serializeRecordLine({
        ...record(Buffer.alloc(10 * 1024 * 1024, fill)),
        partitionKey: 'k'.repeat(256),
      });
      expect(line).not.toMatch(/[\n\r]/);
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_RECORD_LINE_BYTES);
    }
  });

  it('writes the fields of DESIGN.md in their documented order', () => {
    const line = serializeRecordLine(record(Buffer.from('{"id":1}')));
    expect(line).toBe(
      '{"stream":"orders","shardId":"shardId-000000000001","sequenceNumber":"49590338271490256608559692538361571095921575989136588898",' +
        '"subSequenceNumber":0,"partitionKey":"user-42","arrivalTimestamp":1732183200123,"data":"{\\"id\\":1}","encoding":"utf8"}',
    );
  });

  it('rejects a line that is not a record line', () => {
    expect(() => parseRecordLine('{"hello":1}')).toThrow('Not a reservoir record line');
  });
});
