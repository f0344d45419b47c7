import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { s3Client } from '../../src/aws/clients';
import { sqlCommand, type SqlOptions } from '../../src/cli/commands/sql';
import { CommandFailure } from '../../src/cli/output';
import { archiveObjectKey, checkpointStreamPrefix } from '../../src/core/layout';
import { serializeRecordLine, type RecordLine } from '../../src/core/record-line';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import {
  binaryRecord,
  kplAggregate,
  putAll,
  telemetryRecord,
  type ProducedRecord,
} from '../../src/local/traffic';
import { RECORDS_COLUMN_NAMES } from '../../src/sql/records-view';
import { createArchivedStream, useEmulators } from '../support/emulators';

const env = useEmulators();

const TELEMETRY = 'sql-telemetry';
const HISTORY = 'sql-history';
const LIVE = 'sql-live';
const UNARCHIVED = 'sql-unarchived';
const BUCKET = 'reservoir-archive';
const ROOT = mkdtempSync(join(tmpdir(), 'reservoir-sql-it-'));
let caches = 0;
const newCache = () => join(ROOT, `cache-${caches++}`);

const archive = (stream: string, executionName: string) =>
  runLocalStateMachine('archive', { streams: [stream] }, { executionName });

async function sql(query: string, options: SqlOptions = {}) {
  let text = '';
  const report = await sqlCommand(query, { cacheDir: newCache(), ...options }, async (t) => {
    text += t;
  });
  return { report, text };
}

async function json<T = Record<string, unknown>>(query: string, options: SqlOptions = {}) {
  const { report, text } = await sql(query, { ...options, format: 'json' });
  return { report, rows: JSON.parse(text) as T[] };
}

const payloadText = (record: { data: Buffer }) =>
  record.data.toString('utf8').includes('\ufffd')
    ? record.data.toString('base64')
    : record.data.toString('utf8');

// Telemetry (plain, binary, KPL-aggregated) archived by the archive state machine.
const produced: ProducedRecord[] = [];
let archived: RecordLine[] = [];

// History: hand-written archive objects, one per hour 00..05 of 2026-01-01, a record every 6 minutes.
const HOURS = ['00', '01', '02', '03', '04', '05'];
const historyKeys = new Map<string, string>();

beforeAll(async () => {
  const { kinesis } = env;
  await createArchivedStream(kinesis, TELEMETRY, 2);
  const users = Array.from({ length: 30 }, (_, i) => telemetryRecord(1000 + i));
  produced.push(
    ...Array.from({ length: 200 }, (_, i) => telemetryRecord(i)),
    ...Array.from({ length: 10 }, (_, i) => binaryRecord(i)),
    ...users,
  );
  await putAll(kinesis, TELEMETRY, [...produced.slice(0, 210), ...kplAggregate(users)]);
  await archive(TELEMETRY, 'sql-it-telemetry');
  const { store, config } = archiveRuntime();
  archived = (await readWholeArchive(store, config.prefix, TELEMETRY)).lines.map(({ line }) => line);
  expect(archived).toHaveLength(240);

  for (const hr of HOURS) {
    const start = Date.parse(`2026-01-01T${hr}:00:00Z`);
    const lines = Array.from({ length: 10 }, (_, i) =>
      serializeRecordLine({
        stream: HISTORY,
        shardId: 'shardId-000000000000',
        sequenceNumber: String(1_000_000 + Number(hr) * 100 + i),
        subSequenceNumber: 0,
        partitionKey: `k-${i % 3}`,
        arrivalTimestamp: start + i * 6 * 60_000,
        data: Buffer.from(JSON.stringify({ hr, i })),
      }),
    );
    const key = archiveObjectKey(
      '',
      HISTORY,
      'shardId-000000000000',
      start,
      String(1_000_000 + Number(hr) * 100),
      String(1_000_000 + Number(hr) * 100 + 9),
    );
    historyKeys.set(hr, key);
    await s3Client().send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: gzipSync(`${lines.join('\n')}\n`) }),
    );
  }
});

afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

describe('reservoir sql on the emulators', () => {
  it('given an archived stream, then the view holds every produced record once, with its contents', async () => {
    const { rows, report } = await json<Record<string, unknown>>(
      'SELECT * FROM records ORDER BY shard_id, sequence_number, sub_sequence_number',
      { stream: [TELEMETRY] },
    );
    expect(rows).toHaveLength(produced.length);
    expect(Object.keys(rows[0]!)).toEqual(RECORDS_COLUMN_NAMES);
    expect(rows.every((row) => row.source === 'archive' && row.stream === TELEMETRY)).toBe(true);
    expect(rows.map((r) => r.data).sort()).toEqual(produced.map(payloadText).sort());
    expect(rows.map((r) => `${r.shard_id}/${r.sequence_number}/${r.sub_sequence_number}`).sort()).toEqual(
      archived.map((l) => `${l.shardId}/${l.sequenceNumber}/${l.subSequenceNumber}`).sort(),
    );
    const byKey = new Map(archived.map((l) => [`${l.sequenceNumber}/${l.subSequenceNumber}`, l]));
    for (const row of rows) {
      const line = byKey.get(`${row.sequence_number}/${row.sub_sequence_number}`)!;
      expect(row).toEqual({
        stream: TELEMETRY,
        shard_id: line.shardId,
        sequence_number: line.sequenceNumber,
        sub_sequence_number: line.subSequenceNumber,
        partition_key: line.partitionKey,
        arrival_time: new Date(line.arrivalTimestamp).toISOString(),
        data: line.data,
        encoding: line.encoding,
        source: 'archive',
      });
    }
    expect(rows.filter((r) => r.encoding === 'base64')).toHaveLength(10);
    expect(rows.filter((r) => Number(r.sub_sequence_number) > 0).length).toBeGreaterThan(0);
    expect(report.fetch.fetched.length).toBe(report.objects.length);
  });

  it('given json_field, then fields of the telemetry payloads can be grouped and averaged', async () => {
    const { rows } = await json<{ machine: string; records: number; temperature: number }>(
      `SELECT json_field(data, '$.data.machine') AS machine, count(*) AS records,
              avg(json_number(data, '$.data.attributes.temperature.value')) AS temperature
       FROM records WHERE encoding = 'utf8' GROUP BY machine ORDER BY machine`,
      { stream: [TELEMETRY] },
    );
    const expected = new Map<string, number[]>();
    for (const record of produced) {
      if (payloadText(record) !== record.data.toString('utf8')) continue;
      const body = JSON.parse(record.data.toString('utf8')) as {
        data: { machine: string; attributes: { temperature: { value: number } } };
      };
      expected.set(body.data.machine, [
        ...(expected.get(body.data.machine) ?? []),
        body.data.attributes.temperature.value,
      ]);
    }
    expect(rows.map((r) => r.machine)).toEqual([...expected.keys()].sort());
    for (const row of rows) {
      const values = expected.get(row.machine)!;
      expect(row.records).toBe(values.length);
      expect(row.temperature).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
    }
  });

  it('given --from and --to, then only the partitions they need are listed and fetched, and rows are cut to the bounds', async () => {
    const { rows, report } = await json<{ n: number; first: string; last: string }>(
      'SELECT count(*) AS n, min(arrival_time) AS first, max(arrival_time) AS last FROM records',
      { stream: [HISTORY], from: '2026-01-01T02:30:00Z', to: '2026-01-01T04:00:00Z' },
    );
    // The same partitions of the columnar tree: a converted hour is read from its Parquet.
    expect(report.listedPrefixes).toEqual([
      `archive/stream=${HISTORY}/dt=2026-01-01/hr=02/`,
      `columnar/stream=${HISTORY}/dt=2026-01-01/hr=02/`,
      `archive/stream=${HISTORY}/dt=2026-01-01/hr=03/`,
      `columnar/stream=${HISTORY}/dt=2026-01-01/hr=03/`,
    ]);
    expect([...report.fetch.fetched].sort()).toEqual([historyKeys.get('02'), historyKeys.get('03')]);
    // hr 02: minutes 30, 36, 42, 48, 54; hr 03: all ten.
    expect(rows).toEqual([{ n: 15, first: '2026-01-01T02:30:00.000Z', last: '2026-01-01T03:54:00.000Z' }]);
  });

  it('given the same query twice on one cache, then the second downloads nothing', async () => {
    const cacheDir = newCache();
    const query = 'SELECT count(*) AS n FROM records';
    const first = await json<{ n: number }>(query, { stream: [TELEMETRY, HISTORY], cacheDir });
    const second = await json<{ n: number }>(query, { stream: [TELEMETRY, HISTORY], cacheDir });
    expect(first.rows).toEqual([{ n: produced.length + 60 }]);
    expect(second.rows).toEqual(first.rows);
    expect(first.report.fetch.fetched.length).toBe(first.report.objects.length);
    expect(second.report.fetch.fetched).toEqual([]);
    expect(second.report.fetch.reused).toBe(first.report.objects.length);
    expect(second.report.objects.map((o) => o.path)).toEqual(first.report.objects.map((o) => o.path));
  });

  it('given an object rewritten since it was cached, then only it is fetched again and its old copy is removed', async () => {
    const cacheDir = newCache();
    const query = "SELECT count(*) AS n, sum(CAST(json_field(data, '$.i') AS INTEGER)) AS total FROM records";
    const first = await json<{ n: number; total: number }>(query, { stream: [HISTORY], cacheDir });
    expect(first.rows).toEqual([{ n: 60, total: 6 * 45 }]);
    const key = historyKeys.get('05')!;
    const original = await s3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = gunzipSync(await original.Body!.transformToByteArray()).toString('utf8');
    await s3Client().send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: gzipSync(body.replace('"i\\":9', '"i\\":19')) }),
    );
    try {
      const second = await json<{ n: number; total: number }>(query, { stream: [HISTORY], cacheDir });
      expect(second.rows).toEqual([{ n: 60, total: 6 * 45 + 10 }]);
      expect(second.report.fetch.fetched).toEqual([key]);
      expect(second.report.fetch.reused).toBe(5);
      const cachedFiles = readdirSync(dirname(second.report.objects.find((o) => o.key === key)!.path));
      expect(cachedFiles).toHaveLength(1);
    } finally {
      await s3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: gzipSync(body) }));
    }
  });

  it('given no --stream, then every stream with archive objects or checkpoints is in the view', async () => {
    const { rows, report } = await json<{ stream: string; n: number }>(
      'SELECT stream, count(*) AS n FROM records GROUP BY stream ORDER BY stream',
    );
    expect(report.streams).toEqual(expect.arrayContaining([HISTORY, TELEMETRY]));
    expect(rows).toEqual(
      expect.arrayContaining([
        { stream: HISTORY, n: 60 },
        { stream: TELEMETRY, n: produced.length },
      ]),
    );
  });

  it('given --live, then records archived and still in the stream appear once as archive, newer ones as live', async () => {
    const { kinesis } = env;
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => telemetryRecord(from + i));
    const [a, b, c] = [batch(0, 50), batch(100, 40), batch(200, 30)];
    await createArchivedStream(kinesis, LIVE, 2);
    await putAll(kinesis, LIVE, a);
    await archive(LIVE, 'sql-it-live-1');
    // Checkpoints as a query would read them before the second archive run...
    const { store, config } = archiveRuntime();
    const checkpointKeys = await store.listKeys(checkpointStreamPrefix(config.prefix, LIVE));
    const saved = await Promise.all(
      checkpointKeys.map(async (key) => {
        const output = await s3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        return { key, body: await output.Body!.transformToString('utf8') };
      }),
    );
    await putAll(kinesis, LIVE, b);
    await archive(LIVE, 'sql-it-live-2');
    // ...so that B is both in the archive and past the checkpoints the query reads.
    for (const key of await store.listKeys(checkpointStreamPrefix(config.prefix, LIVE)))
      if (!checkpointKeys.includes(key))
        await s3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    for (const { key, body } of saved)
      await s3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    await putAll(kinesis, LIVE, c);

    const { rows, report } = await json<{ data: string; source: string; n: number }>(
      'SELECT data, source, count(*) OVER (PARTITION BY stream, shard_id, sequence_number, sub_sequence_number) AS n FROM records',
      { stream: [LIVE], live: true },
    );
    expect(report.live!.records).toBe(b.length + c.length);
    expect(rows).toHaveLength(a.length + b.length + c.length);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const sourceOf = new Map(rows.map((r) => [r.data, r.source]));
    expect([...a, ...b].every((r) => sourceOf.get(r.data.toString('utf8')) === 'archive')).toBe(true);
    expect(c.every((r) => sourceOf.get(r.data.toString('utf8')) === 'live')).toBe(true);
    // Live rows are checked only against the objects written past the checkpoints read (B's).
    const overlapping = report.objects.filter((o) => o.overlapsLive);
    expect(overlapping.length).toBeGreaterThan(0);
    expect(overlapping.length).toBeLessThan(report.objects.length);
  });

  it('given --live on a stream never archived, then everything in it is live', async () => {
    await createArchivedStream(env.kinesis, UNARCHIVED, 1, false);
    await putAll(env.kinesis, UNARCHIVED, [telemetryRecord(1), telemetryRecord(2), binaryRecord(3)]);
    const { rows, report } = await json<{ source: string; encoding: string; n: number }>(
      'SELECT source, encoding, count(*) AS n FROM records GROUP BY ALL ORDER BY encoding',
      { stream: [UNARCHIVED], live: true },
    );
    expect(report.objects).toEqual([]);
    expect(rows).toEqual([
      { source: 'live', encoding: 'base64', n: 1 },
      { source: 'live', encoding: 'utf8', n: 2 },
    ]);
  });

  it('given --format csv, table or --out, then the result is CSV, a table, or a CSV / Parquet file', async () => {
    const query = `SELECT partition_key, count(*) AS n FROM records GROUP BY partition_key ORDER BY partition_key`;
    const csv = await sql(query, { stream: [HISTORY], format: 'csv' });
    expect(csv.text).toBe('partition_key,n\nk-0,24\nk-1,18\nk-2,18\n');
    const table = await sql(query, { stream: [HISTORY] });
    expect(table.text).toBe(
      'partition_key |  n\n--------------+---\nk-0           | 24\nk-1           | 18\nk-2           | 18\n(3 rows)\n',
    );
    const out = join(ROOT, 'keys.csv');
    const file = await sql(query, { stream: [HISTORY], out });
    expect(file.text).toBe('');
    expect(file.report.result.rows).toBe(3);
    expect(readFileSync(out, 'utf8')).toBe(csv.text);
    const parquet = join(ROOT, 'records.parquet');
    await sql('SELECT * FROM records', { stream: [HISTORY], out: parquet });
    const back = await json(`SELECT count(*) AS n FROM '${parquet}'`, { stream: [HISTORY] });
    expect(back.rows).toEqual([{ n: 60 }]);
  });

  it('given a SQL error, then the command fails with DuckDB message and the position', async () => {
    const cacheDir = newCache();
    const failure = await sql('SELECT count(*) FROM records WHERE', { stream: [HISTORY], cacheDir }).catch(
      (e) => e,
    );
    expect(failure).toBeInstanceOf(CommandFailure);
    expect(failure.message).toBe('Parser Error: syntax error at end of input (at line 1, column 35)');
    const binder = await sql('SELECT machine FROM records', { stream: [HISTORY], cacheDir }).catch((e) => e);
    // Checked before the download: nothing was fetched.
    expect(existsSync(join(cacheDir, BUCKET))).toBe(false);
    expect(binder.message).toMatch(
      /^Binder Error: Referenced column "machine" not found.* \(at line 1, column 8\)$/,
    );
    const bounds = await sql('SELECT 1', { stream: [HISTORY], from: 'yesterday' }).catch((e) => e);
    expect(bounds).toBeInstanceOf(CommandFailure);
    expect(bounds.message).toMatch(/--from: not an ISO-8601 instant/);
  });

  it('given the reservoir binary, then JSON goes to stdout and a SQL error exits non-zero with the position on stderr', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [join(__dirname, '../../bin/reservoir.cjs'), 'sql', ...args], {
          env: { ...process.env, RESERVOIR_SQL_CACHE: newCache() },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const ok = await run([
      '--stream',
      HISTORY,
      '--format',
      'json',
      'SELECT count(*) AS n, max(arrival_time) AS last FROM records',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual([{ n: 60, last: '2026-01-01T05:54:00.000Z' }]);
    const bad = await run(['--stream', HISTORY, 'SELECT count(*)\nFROM records WHERE']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('LINE 2: FROM records WHERE\n                          ^');
    expect(bad.stderr).toContain(
      'reservoir: Parser Error: syntax error at end of input (at line 2, column 19)',
    );
  });
});
