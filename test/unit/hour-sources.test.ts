import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ParquetFileReader } from '../../src/columnar/parquet-reader';
import { ParquetWriter } from '../../src/columnar/parquet-writer';
import type { ColumnarManifest } from '../../src/core/columnar';
import { selectHourSources } from '../../src/core/hour-sources';
import { serializeRecordLine, toRecordLine, type RecordLine } from '../../src/core/record-line';

const key = (hr: string, shard: string, first: string, last: string) =>
  `p/archive/stream=s/dt=2026-01-01/hr=${hr}/${shard}/${first}-${last}.jsonl.gz`;

const manifest = (hr: string, sources: { key: string; bytes: number }[]): ColumnarManifest => ({
  version: 1,
  stream: 's',
  dt: '2026-01-01',
  hr,
  generation: 'g1',
  files: [{ key: `p/columnar/stream=s/dt=2026-01-01/hr=${hr}/g1-00000.parquet`, bytes: 10, rows: 3 }],
  sources,
  records: 3,
  createdAt: '2026-01-01T02:00:00.000Z',
});

describe('selectHourSources', () => {
  it('given an hour with a manifest, then its listed Parquet files are read and only the JSONL objects it does not list', () => {
    const a = { key: key('01', 'shardId-0', '100', '199'), bytes: 50 };
    const b = { key: key('01', 'shardId-1', '300', '399'), bytes: 60 };
    const late = { key: key('01', 'shardId-0', '200', '249'), bytes: 20 };
    const [hour] = selectHourSources(
      's',
      [a, b, late],
      new Map([['s/2026-01-01/01', manifest('01', [a, b])]]),
    );
    expect(hour!.parquet.map((f) => f.key)).toEqual([
      'p/columnar/stream=s/dt=2026-01-01/hr=01/g1-00000.parquet',
    ]);
    expect(hour!.jsonl).toEqual([late]);
    expect(hour!.parquetShards).toEqual([
      { shardId: 'shardId-0', firstSequenceNumber: '100', lastSequenceNumber: '199', sourceBytes: 50 },
      { shardId: 'shardId-1', firstSequenceNumber: '300', lastSequenceNumber: '399', sourceBytes: 60 },
    ]);
  });

  it('given a listed object that changed size, then the Parquet covers it (no record read twice)', () => {
    const a = { key: key('01', 'shardId-0', '100', '199'), bytes: 50 };
    const [hour] = selectHourSources(
      's',
      [{ ...a, bytes: 51 }],
      new Map([['s/2026-01-01/01', manifest('01', [a])]]),
    );
    expect(hour!.jsonl).toEqual([]);
    expect(hour!.parquet).toHaveLength(1);
  });

  it('given an hour whose JSONL expired, then its Parquet alone is read; given no manifest, its JSONL', () => {
    const a = { key: key('01', 'shardId-0', '100', '199'), bytes: 50 };
    const c = { key: key('02', 'shardId-0', '500', '599'), bytes: 70 };
    const hours = selectHourSources('s', [c], new Map([['s/2026-01-01/01', manifest('01', [a])]]));
    expect(hours.map((h) => [h.hour.hr, h.parquet.length, h.jsonl.map((o) => o.key)])).toEqual([
      ['01', 1, []],
      ['02', 0, [c.key]],
    ]);
  });

  it('given Parquet files no manifest lists (an unfinished generation), then they are never read', () => {
    // Only manifests name files: a listing of the columnar tree is not an input of the rule.
    const a = { key: key('01', 'shardId-0', '100', '199'), bytes: 50 };
    const stray = { key: 'p/columnar/stream=s/dt=2026-01-01/hr=01/g0-00000.parquet', bytes: 9 };
    const [hour] = selectHourSources('s', [a, stray], new Map());
    expect(hour!.parquet).toEqual([]);
    expect(hour!.jsonl).toEqual([a]);
  });
});

describe('ParquetFileReader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-pq-reader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const line = (shard: string, seq: string, sub: number, data: Uint8Array): RecordLine =>
    toRecordLine({
      stream: 's',
      shardId: shard,
      sequenceNumber: seq,
      subSequenceNumber: sub,
      partitionKey: `k-${seq}`,
      arrivalTimestamp: 1767225600123 + Number(seq.slice(-3)),
      data,
    });

  it('given a converted hour, when read back, then every record line is byte-exact, per shard in sequence order, from an offset', async () => {
    const big = '49' + '0'.repeat(50);
    const lines = [
      line('shardId-1', `${big}7`, 0, Buffer.from('{"a":"é😀\\u0000"}\u0000\n', 'utf8')),
      line('shardId-0', '900', 1, Buffer.from([0xff, 0x00, 0xc3])),
      line('shardId-0', '900', 0, Buffer.from('')),
      line('shardId-0', '1000', 0, Buffer.from('\ufeffbom', 'utf8')),
      line('shardId-1', `${big}5`, 0, Buffer.from('x')),
    ];
    const input = join(dir, 'in.jsonl.gz');
    writeFileSync(
      input,
      gzipSync(
        Buffer.from(
          lines
            .map((l) =>
              serializeRecordLine({
                ...l,
                data: Buffer.from(l.data, l.encoding === 'utf8' ? 'utf8' : 'base64'),
              }),
            )
            .join('\n'),
        ),
      ),
    );
    const output = join(dir, 'hour.parquet');
    await new ParquetWriter({ tempDirectory: join(dir, 'spill') }).write([input], output, 2048);

    const reader = new ParquetFileReader({ tmpDir: dir });
    const read = async (options: { shardId?: string; offset?: number } = {}) => {
      const out: RecordLine[] = [];
      for await (const batch of reader.readFile(output, options)) out.push(...batch);
      return out;
    };
    const all = await read();
    expect(all).toEqual([lines[2], lines[1], lines[3], lines[4], lines[0]]);
    expect(all.map((l) => JSON.stringify(l))).toEqual(
      [lines[2], lines[1], lines[3], lines[4], lines[0]].map((l) => JSON.stringify(l)),
    );
    expect(await read({ shardId: 'shardId-1' })).toEqual([lines[4], lines[0]]);
    expect(await read({ shardId: 'shardId-0', offset: 2 })).toEqual([lines[3]]);
  });
});
