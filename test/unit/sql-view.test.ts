import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serializeRecordLine, type UserRecord } from '../../src/core/record-line';
import { telemetryRecord, binaryRecord } from '../../src/local/traffic';
import { SqlEngine, SqlError, type QueryOutput } from '../../src/sql/engine';
import { RECORDS_COLUMNS, RECORDS_COLUMN_NAMES } from '../../src/sql/records-view';

const T0 = Date.parse('2026-01-01T10:00:00Z');

function record(seq: number, overrides: Partial<UserRecord> = {}): UserRecord {
  const telemetry = telemetryRecord(seq, T0);
  return {
    stream: 'telemetry',
    shardId: 'shardId-000000000000',
    sequenceNumber: String(49_000_000_000_000_000_000n + BigInt(seq)),
    subSequenceNumber: 0,
    partitionKey: telemetry.partitionKey,
    arrivalTimestamp: T0 + seq * 60_000,
    data: telemetry.data,
    ...overrides,
  };
}

const lines = (records: UserRecord[]) => records.map((r) => `${serializeRecordLine(r)}\n`).join('');

let dir: string;
let engine: SqlEngine;

function collect(): { output: QueryOutput; text: () => string } {
  let text = '';
  return {
    output: {
      format: 'json',
      write: async (t) => {
        text += t;
      },
    },
    text: () => text,
  };
}

async function rows(query: string): Promise<Record<string, unknown>[]> {
  const out = collect();
  await engine.execute(query, out.output);
  return JSON.parse(out.text()) as Record<string, unknown>[];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reservoir-sql-view-'));
  engine = await SqlEngine.open();
});

afterAll(() => {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the records view over local files', () => {
  // Archive: records 0..9 in a settled object, 10..14 in an object the live read overlaps.
  // Live: 12..19 (12..14 are archived too: the archive's copy wins) plus a binary record.
  const settled = Array.from({ length: 10 }, (_, i) => record(i));
  const overlapping = Array.from({ length: 5 }, (_, i) => record(10 + i));
  const binary = record(30, { data: binaryRecord(0).data, partitionKey: 'device-0' });
  const live = [...Array.from({ length: 8 }, (_, i) => record(12 + i)), binary];

  beforeAll(async () => {
    writeFileSync(join(dir, 'a@1.jsonl.gz'), gzipSync(lines(settled)));
    writeFileSync(join(dir, 'b@1.jsonl.gz'), gzipSync(lines(overlapping)));
    writeFileSync(join(dir, 'live.jsonl'), lines(live));
    await engine.defineRecords({
      archive: [join(dir, 'a@1.jsonl.gz')],
      archiveOverlappingLive: [join(dir, 'b@1.jsonl.gz')],
      live: [join(dir, 'live.jsonl')],
    });
  });

  it('given records both archived and live, then each appears once and the archived copy wins', async () => {
    const result = await rows(
      'SELECT source, count(*) AS n, count(DISTINCT sequence_number) AS distinct_seq FROM records GROUP BY source ORDER BY source',
    );
    expect(result).toEqual([
      { source: 'archive', n: 15, distinct_seq: 15 },
      { source: 'live', n: 6, distinct_seq: 6 },
    ]);
    const twelve = await rows(
      `SELECT source FROM records WHERE sequence_number = '${record(12).sequenceNumber}'`,
    );
    expect(twelve).toEqual([{ source: 'archive' }]);
  });

  it('given SELECT *, then the columns are the documented ones, in order, with their types', async () => {
    const reader = await engine.connection.runAndReadAll('DESCRIBE records');
    const described = reader.getRowObjects().map((r) => [r.column_name, r.column_type]);
    expect(described).toEqual(RECORDS_COLUMNS.map((c) => [c.name, c.type]));
    const [first] = await rows(`SELECT * FROM records WHERE sequence_number = '${record(3).sequenceNumber}'`);
    expect(Object.keys(first!)).toEqual(RECORDS_COLUMN_NAMES);
    expect(first).toEqual({
      stream: 'telemetry',
      shard_id: 'shardId-000000000000',
      sequence_number: record(3).sequenceNumber,
      sub_sequence_number: 0,
      partition_key: record(3).partitionKey,
      arrival_time: new Date(T0 + 3 * 60_000).toISOString(),
      data: Buffer.from(record(3).data).toString('utf8'),
      encoding: 'utf8',
      source: 'archive',
    });
  });

  it('given the helper macros, then JSON fields of telemetry payloads are read and non-JSON payloads give NULL', async () => {
    const result = await rows(
      `SELECT json_field(data, '$.data.machine') AS machine, json_field(data, '$.host') AS host,
              json_number(data, '$.data.attributes.temperature.value') AS temperature, encoding
       FROM records WHERE sequence_number IN ('${record(5).sequenceNumber}', '${record(30).sequenceNumber}')
       ORDER BY sequence_number`,
    );
    const body = JSON.parse(Buffer.from(record(5).data).toString('utf8')) as {
      host: string;
      data: { machine: string; attributes: { temperature: { value: number } } };
    };
    expect(result).toEqual([
      {
        machine: body.data.machine,
        host: body.host,
        temperature: body.data.attributes.temperature.value,
        encoding: 'utf8',
      },
      { machine: null, host: null, temperature: null, encoding: 'base64' },
    ]);
    const [bytes] = await rows(
      `SELECT hex(payload(data, encoding)) AS hex FROM records WHERE sequence_number = '${record(30).sequenceNumber}'`,
    );
    expect(bytes!.hex).toBe(Buffer.from(binary.data).toString('hex').toUpperCase());
  });

  it('given payloads that are almost JSON, then json_field reads what is JSON and gives NULL for the rest', async () => {
    const [row] = await rows(
      `SELECT json_field('  {"a": {"b": 2}}', '$.a.b') AS spaced, json_field('{broken', '$.a') AS broken,
              json_field('42', '$') AS scalar, json_field('[{"a": "x"}]', '$[0].a') AS array,
              json_field('{"a": {"b": 2}}', '$.a') AS object, json_field('plain text', '$.a') AS text,
              json_number('{"v": "12.5"}', '$.v') AS number, json_number('{"v": "hot"}', '$.v') AS nan`,
    );
    expect(row).toEqual({
      spaced: '2',
      broken: null,
      scalar: '42',
      array: 'x',
      object: '{"b":2}',
      text: null,
      number: 12.5,
      nan: null,
    });
  });

  it('given values of many types, then JSON output is sane: exact numbers, big integers as strings, ISO-8601 UTC instants', async () => {
    const [row] = await rows(
      `SELECT 42::BIGINT AS small, 9007199254740993::BIGINT AS big, sum(1::BIGINT) AS total,
              12.50::DECIMAL(10,2) AS price, TIMESTAMP '2026-01-01 10:00:00.123456' AS micro,
              TIMESTAMPTZ '2026-01-01 10:00:00+02' AS zoned, DATE '2026-01-01' AS day, [1, 2] AS list,
              {'k': 1::BIGINT} AS struct, NULL AS nothing`,
    );
    expect(row).toEqual({
      small: 42,
      big: '9007199254740993',
      total: 1,
      price: 12.5,
      micro: '2026-01-01T10:00:00.123456Z',
      zoned: '2026-01-01T08:00:00.000Z',
      day: '2026-01-01',
      list: [1, 2],
      struct: { k: 1 },
      nothing: null,
    });
  });

  it('given time bounds, then rows are filtered by arrival time, live and archive alike', async () => {
    await engine.defineRecords({
      archive: [join(dir, 'a@1.jsonl.gz')],
      archiveOverlappingLive: [join(dir, 'b@1.jsonl.gz')],
      live: [join(dir, 'live.jsonl')],
      fromMs: T0 + 8 * 60_000,
      toMs: T0 + 16 * 60_000,
    });
    const result = await rows('SELECT source, count(*) AS n FROM records GROUP BY source ORDER BY source');
    // 8..14 archived (7), 15 live (1).
    expect(result).toEqual([
      { source: 'archive', n: 7 },
      { source: 'live', n: 1 },
    ]);
  });

  it('given a query to check before the download, then parse and bind errors are found, and a later statement may use an earlier one', async () => {
    await expect(engine.check('SELECT nope FROM records')).rejects.toThrow(/Referenced column "nope"/);
    await expect(engine.check('SELEC 1')).rejects.toThrow(SqlError);
    await expect(
      engine.check('CREATE TEMP TABLE u AS SELECT 1 AS x; SELECT x FROM u'),
    ).resolves.toBeUndefined();
    await expect(engine.check('SELECT count(*) FROM records')).resolves.toBeUndefined();
  });

  it('given several statements, then all run and the last one is the result', async () => {
    const result = await rows('CREATE TEMP TABLE t AS SELECT 1 AS x; SELECT x + 1 AS y FROM t;');
    expect(result).toEqual([{ y: 2 }]);
  });

  it('given table and CSV output, then they hold every row (the table up to its limit)', async () => {
    let text = '';
    const write = async (t: string) => {
      text += t;
    };
    await engine.execute('SELECT range AS n, range * 1.5 AS x FROM range(5)', {
      format: 'table',
      write,
      maxRows: 3,
    });
    expect(text.split('\n')).toEqual([
      'n |   x',
      '--+----',
      '0 | 0.0',
      '1 | 1.5',
      '2 | 3.0',
      '(5 rows, first 3 shown: --max-rows N, --format csv|json or --out for more)',
      '',
    ]);
    text = '';
    await engine.execute("SELECT 'a,b' AS s, NULL AS n UNION ALL SELECT 'c', 1", { format: 'csv', write });
    expect(text).toBe('s,n\n"a,b",\nc,1\n');
  });

  it('given --out, then the result is written by COPY in the format of the extension', async () => {
    const csv = join(dir, 'out.csv');
    const result = await engine.execute('SELECT range AS n FROM range(3);', { format: 'file', path: csv });
    expect(result.rows).toBe(3);
    expect(readFileSync(csv, 'utf8')).toBe('n\n0\n1\n2\n');
    const parquet = join(dir, 'out.parquet');
    await engine.execute('SELECT 7 AS seven', { format: 'file', path: parquet });
    expect(await rows(`SELECT * FROM '${parquet}'`)).toEqual([{ seven: 7 }]);
  });

  it('given a syntax error, then the error is a SqlError with DuckDB message and position', async () => {
    const error = await engine
      .execute('SELECT count(*) FROM records WHERE', collect().output)
      .catch((e) => e);
    expect(error).toBeInstanceOf(SqlError);
    expect(error.summary()).toBe('Parser Error: syntax error at end of input (at line 1, column 35)');
    const unknown = await engine.execute('SELECT nope FROM records', collect().output).catch((e) => e);
    expect(unknown.summary()).toMatch(
      /^Binder Error: Referenced column "nope" not found .* \(at line 1, column 8\)$/,
    );
    const empty = await engine.execute('  ', collect().output).catch((e) => e);
    expect(empty).toBeInstanceOf(SqlError);
  });
});
