import { join } from 'node:path';
import { archiveObjectKey } from '../../src/core/layout';
import { SqlError, charIndexOfByte, copyOptionsFor, csvField, toSqlError } from '../../src/sql/engine';
import {
  QueryPlanError,
  archiveListingPrefixes,
  cachePath,
  cacheStem,
  etagForPath,
  resolveBounds,
  selectArchiveObjects,
  splitByLiveOverlap,
  streamsFromPrefixes,
  type ListedObject,
} from '../../src/sql/plan';
import { readRecordLinesSql, recordsViewSql, RECORDS_COLUMN_NAMES } from '../../src/sql/records-view';

const at = (iso: string) => Date.parse(iso);
const key = (stream: string, iso: string, shard = 'shardId-000000000000', first = '100', last = '200') =>
  archiveObjectKey('', stream, shard, at(iso), first, last);
const listed = (k: string, bytes = 10, etag = '"e1"'): ListedObject => ({ key: k, bytes, etag });

describe('sql bounds', () => {
  it('given ISO instants or dates, then they are epoch ms, and a date alone is midnight UTC', () => {
    expect(resolveBounds('2026-01-01T02:30:00Z', '2026-01-01T04:00:00+01:00')).toEqual({
      fromMs: at('2026-01-01T02:30:00Z'),
      toMs: at('2026-01-01T03:00:00Z'),
    });
    expect(resolveBounds('2026-01-02')).toEqual({ fromMs: at('2026-01-02T00:00:00Z') });
    expect(resolveBounds()).toEqual({});
  });

  it('given a malformed instant or an empty range, then it is refused naming the flag', () => {
    expect(() => resolveBounds('yesterday')).toThrow(/--from: not an ISO-8601 instant/);
    expect(() => resolveBounds(undefined, '2026-13-45T00:00:00Z')).toThrow(QueryPlanError);
    expect(() => resolveBounds('2026-01-02', '2026-01-01')).toThrow(/--to .* must be after --from/);
  });
});

describe('sql partition pruning', () => {
  const now = at('2026-01-10T12:00:00Z');

  it('given no lower bound, then the whole stream is listed', () => {
    expect(archiveListingPrefixes('', 'orders', {}, now)).toEqual(['archive/stream=orders/']);
    expect(archiveListingPrefixes('kinesis/', 'orders', { toMs: now }, now)).toEqual([
      'kinesis/archive/stream=orders/',
    ]);
  });

  it('given a range of hours, then exactly those hour partitions are listed', () => {
    const prefixes = archiveListingPrefixes(
      '',
      'orders',
      { fromMs: at('2026-01-01T02:30:00Z'), toMs: at('2026-01-01T04:00:00Z') },
      now,
    );
    expect(prefixes).toEqual([
      'archive/stream=orders/dt=2026-01-01/hr=02/',
      'archive/stream=orders/dt=2026-01-01/hr=03/',
    ]);
  });

  it('given a range of days, then day partitions are listed; given only --from, the range ends an hour past now', () => {
    expect(
      archiveListingPrefixes(
        '',
        's',
        { fromMs: at('2026-01-01T00:00:00Z'), toMs: at('2026-01-05T00:00:00Z') },
        now,
      ),
    ).toEqual(['01', '02', '03', '04'].map((d) => `archive/stream=s/dt=2026-01-${d}/`));
    expect(archiveListingPrefixes('', 's', { fromMs: at('2026-01-10T11:10:00Z') }, now)).toEqual([
      'archive/stream=s/dt=2026-01-10/hr=11/',
      'archive/stream=s/dt=2026-01-10/hr=12/',
    ]);
  });

  it('given a listing, then only archive objects of the stream in overlapping hours are selected, in key order', () => {
    const objects = [
      listed(key('orders', '2026-01-01T03:10:00Z')),
      listed(key('orders', '2026-01-01T01:59:59Z')),
      listed(key('orders', '2026-01-01T02:00:00Z')),
      listed(key('orders', '2026-01-01T04:00:00Z')),
      listed(key('payments', '2026-01-01T03:00:00Z')),
      listed('archive/stream=orders/dt=2026-01-01/hr=03/notes.txt'),
      listed(key('orders', '2026-01-01T03:10:00Z')),
    ];
    const selected = selectArchiveObjects(objects, 'orders', {
      fromMs: at('2026-01-01T02:30:00Z'),
      toMs: at('2026-01-01T04:00:00Z'),
    });
    expect(selected.map((o) => `${o.dt}/${o.hr}`)).toEqual(['2026-01-01/02', '2026-01-01/03']);
    expect(selected[0]).toMatchObject({
      stream: 'orders',
      shardId: 'shardId-000000000000',
      bytes: 10,
      etag: '"e1"',
    });
    expect(selectArchiveObjects(objects, 'orders', {})).toHaveLength(4);
  });
});

describe('sql cache keys', () => {
  it('given a key and an ETag, then the file sits under the bucket with the ETag before .jsonl.gz', () => {
    const k = 'archive/stream=orders/dt=2026-01-01/hr=03/shardId-000000000000/100-200.jsonl.gz';
    expect(cachePath('/c', 'bucket', k, '"0a1b2c"')).toBe(
      join(
        '/c',
        'bucket',
        'archive/stream=orders/dt=2026-01-01/hr=03/shardId-000000000000/100-200@0a1b2c.jsonl.gz',
      ),
    );
    // Multipart ETags keep their part count; anything unusual is replaced.
    expect(etagForPath('"9b2cf535f27731c974343645a3985328-12"')).toBe('9b2cf535f27731c974343645a3985328-12');
    expect(etagForPath('W/"a/b c"')).toBe('a_b_c');
    expect(cachePath('/c', 'b', 'x/plain', 'e')).toBe(join('/c', 'b', 'x', 'plain@e'));
    expect(cacheStem(k)).toBe('100-200@');
  });

  it('given a new ETag of the same key, then the path differs (the object is fetched again)', () => {
    const k = 'archive/stream=s/dt=2026-01-01/hr=00/shardId-0/1-2.jsonl.gz';
    expect(cachePath('/c', 'b', k, '"a"')).not.toBe(cachePath('/c', 'b', k, '"b"'));
  });

  it('given a key that would leave the cache or an object without ETag, then it is refused', () => {
    expect(() => cachePath('/c', 'b', 'archive/../../etc/passwd', 'e')).toThrow(QueryPlanError);
    expect(() => cachePath('/c', 'b', '/abs/key', 'e')).toThrow(QueryPlanError);
    expect(() => cachePath('/c', 'b', 'a//b', 'e')).toThrow(QueryPlanError);
    expect(() => cachePath('/c', '..', 'a', 'e')).toThrow(QueryPlanError);
    expect(() => cachePath('/c', 'b', 'a', '""')).toThrow(/without an ETag/);
  });
});

describe('sql live overlap', () => {
  const object = (shardId: string, last: string) => ({
    stream: 's',
    dt: '2026-01-01',
    hr: '00',
    shardId,
    firstSequenceNumber: '1',
    lastSequenceNumber: last,
  });

  it('given where each shard is read live from, then only objects reaching past that point may overlap', () => {
    const objects = [
      object('a', '500'),
      object('a', '900'),
      object('b', '50'),
      object('c', '99999999999999999999999999999999999999999'),
      object('d', '7'),
    ];
    const { settled, overlapping } = splitByLiveOverlap(objects, [
      { stream: 's', shardId: 'a', afterSequenceNumber: '500' },
      { stream: 's', shardId: 'b', afterSequenceNumber: null },
      // Compared as numbers, not strings: "100000…" > "99" though "1" < "9".
      { stream: 's', shardId: 'c', afterSequenceNumber: '100000000000000000000000000000000000000000' },
    ]);
    expect(settled.map((o) => `${o.shardId}:${o.lastSequenceNumber.slice(0, 3)}`)).toEqual([
      'a:500',
      'c:999',
      'd:7',
    ]);
    expect(overlapping.map((o) => `${o.shardId}:${o.lastSequenceNumber}`)).toEqual(['a:900', 'b:50']);
  });

  it('given common prefixes, then the stream names are found once each, sorted', () => {
    expect(
      streamsFromPrefixes([
        'archive/stream=orders/',
        'kinesis/checkpoints/stream=audit/',
        'checkpoints/stream=orders/',
        'archive/other/',
      ]),
    ).toEqual(['audit', 'orders']);
  });
});

describe('sql view text', () => {
  it('given no file at all, then the view is empty but has every column', () => {
    const sql = recordsViewSql({ archive: [] });
    for (const name of RECORDS_COLUMN_NAMES) expect(sql).toContain(`AS ${name}`);
    expect(sql).toContain('WHERE false');
  });

  it('given paths with quotes, then they are SQL string literals', () => {
    expect(readRecordLinesSql(["/tmp/it's.jsonl.gz"], 'gzip')).toContain("['/tmp/it''s.jsonl.gz']");
  });

  it('given no live part, then no de-duplication is planned; given live and overlapping objects, then live rows are checked against those only', () => {
    expect(recordsViewSql({ archive: ['/a.gz'] })).not.toContain('NOT EXISTS');
    const sql = recordsViewSql({ archive: ['/a.gz'], archiveOverlappingLive: ['/b.gz'], live: ['/l.jsonl'] });
    expect(sql).toMatch(/NOT EXISTS \(SELECT 1 FROM read_json\(\['\/b\.gz'\]/);
    expect(sql).toContain("read_json(['/a.gz', '/b.gz']");
  });
});

describe('sql errors and output helpers', () => {
  it('given DuckDB error JSON with a byte position, then the position is a character index with line and column', () => {
    const query = "select 'é',\n  nope from records";
    const bytes = Buffer.byteLength("select 'é',\n  ");
    const error = toSqlError(
      new Error(
        `{"exception_type":"Binder","exception_message":"Referenced column \\"nope\\" not found","position":"${bytes}"}`,
      ),
      query,
    );
    expect(error.position).toBe(query.indexOf('nope'));
    expect(error.location).toEqual({ line: 2, column: 3, text: '  nope from records' });
    expect(error.summary()).toBe('Binder Error: Referenced column "nope" not found (at line 2, column 3)');
    expect(error.render().split('\n').slice(-2)).toEqual(['LINE 2:   nope from records', '          ^']);
    expect(charIndexOfByte('éé', 4)).toBe(2);
  });

  it('given a message that is not JSON, then it is kept whole, without a position', () => {
    const error = toSqlError(new Error('Error in native callback'), 'select 1');
    expect(error).toBeInstanceOf(SqlError);
    expect(error.position).toBeNull();
    expect(error.summary()).toBe('SQL Error: Error in native callback');
  });

  it('given values with separators, quotes or newlines, then CSV quotes them; NULL is empty', () => {
    expect(['a', 'a,b', 'say "hi"', 'x\ny', ' pad', null].map(csvField)).toEqual([
      'a',
      '"a,b"',
      '"say ""hi"""',
      '"x\ny"',
      '" pad"',
      '',
    ]);
  });

  it('given an --out file, then its extension chooses the format', () => {
    expect(copyOptionsFor('out.csv')).toMatch(/FORMAT csv/);
    expect(copyOptionsFor('out.CSV.gz')).toMatch(/FORMAT csv/);
    expect(copyOptionsFor('out.parquet')).toBe('FORMAT parquet');
    expect(copyOptionsFor('out.json')).toBeNull();
  });
});
