import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { s3Client } from '../../src/aws/clients';
import { columnarCommand } from '../../src/cli/commands/columnar';
import { convertHour } from '../../src/columnar/convert-hour';
import { planColumnar } from '../../src/columnar/plan';
import { converterDeps } from '../../src/columnar/converter';
import { columnarRuntime } from '../../src/columnar/runtime';
import { initialCheckpoint, type Checkpoint } from '../../src/core/checkpoint';
import { readWatermarks, writeWatermarks } from '../../src/columnar/watermarks';
import {
  HOUR_MS,
  columnarHourPrefix,
  columnarManifestKey,
  columnarWatermarkKey,
  hourStartMs,
  type ColumnarManifest,
} from '../../src/core/columnar';
import { archiveObjectKey, checkpointKey } from '../../src/core/layout';
import { serializeRecordLine, type RecordLine } from '../../src/core/record-line';
import { compareShardPositions } from '../../src/core/sequence';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { binaryRecord, kplAggregate, putAll, telemetryRecord } from '../../src/local/traffic';
import { quietly } from '../support/quietly';
import { createArchivedStream, useEmulators } from '../support/emulators';

const env = useEmulators();
const LIVE = 'col-live';
const HISTORY = 'col-history';
const ROOT = mkdtempSync(join(tmpdir(), 'reservoir-columnar-it-'));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

/** The object's tags as S3 (here s3rver) keeps them. */
async function tagsOf(key: string) {
  const { bucket } = archiveRuntime().config;
  const output = await s3Client().send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return output.TagSet ?? [];
}

const inOrder = (lines: RecordLine[]) =>
  [...lines].sort((a, b) =>
    a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : compareShardPositions(a, b),
  );

/** The rows of the hour's manifest files, read back with DuckDB, in file order. */
async function readHour(hour: { stream: string; dt: string; hr: string }) {
  const { store, config } = columnarRuntime();
  const manifest = (await store.getJson<ColumnarManifest>(columnarManifestKey(config.prefix, hour)))!.value;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const rows: Record<string, unknown>[] = [];
  try {
    await connection.run("SET TimeZone = 'UTC'");
    for (const file of manifest.files) {
      const path = join(ROOT, file.key.replace(/\//g, '_'));
      writeFileSync(path, (await store.getObject(file.key))!);
      const result = await connection.runAndReadAll(
        `SELECT stream, shard_id, sequence_number, sub_sequence_number, partition_key, ` +
          `epoch_ms(arrival_time) AS arrival_ms, data, encoding FROM read_parquet('${path}')`,
      );
      rows.push(...result.getRowObjectsJS());
      const types = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
      expect(types.getRowObjectsJS().map((r) => [r.column_name, r.column_type])).toEqual([
        ['stream', 'VARCHAR'],
        ['shard_id', 'VARCHAR'],
        ['sequence_number', 'VARCHAR'],
        ['sub_sequence_number', 'BIGINT'],
        ['partition_key', 'VARCHAR'],
        ['arrival_time', 'TIMESTAMP'],
        ['data', 'VARCHAR'],
        ['encoding', 'VARCHAR'],
      ]);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return { manifest, rows };
}

const asLine = (row: Record<string, unknown>): RecordLine => ({
  stream: row.stream as string,
  shardId: row.shard_id as string,
  sequenceNumber: row.sequence_number as string,
  subSequenceNumber: Number(row.sub_sequence_number),
  partitionKey: row.partition_key as string,
  arrivalTimestamp: Number(row.arrival_ms),
  data: row.data as string,
  encoding: row.encoding as RecordLine['encoding'],
});

// History: hand-written objects in hours 00..02 of 2026-01-01 (kinesalite stamps arrival times
// itself, so past hours are written directly), and a checkpoint whose last record is in hour 02.
const DAY = '2026-01-01';
const SHARD = 'shardId-000000000000';
function historyObject(hr: number, first: number, count: number) {
  const start = Date.parse(`${DAY}T0${hr}:00:00Z`);
  const lines = Array.from({ length: count }, (_, i) =>
    serializeRecordLine({
      stream: HISTORY,
      shardId: SHARD,
      sequenceNumber: `4959${String(first + i).padStart(52, '0')}`,
      subSequenceNumber: 0,
      partitionKey: `k-${i % 3}`,
      arrivalTimestamp: start + (first + i) * 1000,
      data: Buffer.from(i % 4 === 0 ? [0xff, i] : JSON.stringify({ hr, i, text: 'é"\n' })),
    }),
  );
  const key = archiveObjectKey(
    '',
    HISTORY,
    SHARD,
    start,
    `4959${String(first).padStart(52, '0')}`,
    `4959${String(first + count - 1).padStart(52, '0')}`,
  );
  return { key, body: gzipSync(`${lines.join('\n')}\n`), lines };
}

beforeAll(async () => {
  const { store } = archiveRuntime();
  for (const hr of [0, 1, 2]) {
    const object = historyObject(hr, hr * 100, 20);
    await store.putObject(object.key, object.body, 'application/x-ndjson', 'gzip');
  }
  const checkpoint: Checkpoint = {
    ...initialCheckpoint(HISTORY, SHARD, []),
    lastSequenceNumber: `4959${String(219).padStart(52, '0')}`,
    lastArrivalTimestamp: Date.parse(`${DAY}T02:03:39Z`),
    totals: { records: 60, objects: 3, bytes: 0 },
    updatedAt: new Date().toISOString(),
  };
  await store.putJsonIfMatch(checkpointKey('', HISTORY, SHARD), checkpoint, null);
});

describe('hourly Parquet on the emulators', () => {
  it('given an archived stream, when its open hour is converted, then the Parquet holds every archived record once, byte-exact, in shard order', async () => {
    const { kinesis } = env;
    await createArchivedStream(kinesis, LIVE, 2);
    await putAll(kinesis, LIVE, [
      ...Array.from({ length: 150 }, (_, i) => telemetryRecord(i)),
      ...Array.from({ length: 10 }, (_, i) => binaryRecord(i)),
      ...kplAggregate(Array.from({ length: 20 }, (_, i) => telemetryRecord(500 + i))),
    ]);
    await runLocalStateMachine('archive', { streams: [LIVE] }, { executionName: 'col-it-archive' });
    const { store, config } = archiveRuntime();
    const archived = (await readWholeArchive(store, config.prefix, LIVE)).lines.map(({ line }) => line);
    expect(archived).toHaveLength(180);

    // The current hour is open: nothing without --include-open.
    const before = await quietly(() => columnarCommand({ local: true, stream: [LIVE] }));
    expect(before.hours).toEqual([]);
    const report = await quietly(() => columnarCommand({ local: true, stream: [LIVE], includeOpen: true }));
    expect(report.failures).toEqual([]);
    expect(report.hours.map((h) => h.status)).toEqual(report.hours.map(() => 'converted'));

    const rows: RecordLine[] = [];
    for (const hour of report.hours) {
      const { manifest, rows: hourRows } = await readHour(hour);
      expect(manifest.records).toBe(hourRows.length);
      expect(manifest.files.map((f) => f.key.startsWith(columnarHourPrefix('', hour))).every(Boolean)).toBe(
        true,
      );
      const lines = hourRows.map(asLine);
      expect(lines).toEqual(inOrder(lines)); // shard, sequence (as a number), sub-sequence
      rows.push(...lines);
    }
    expect(inOrder(rows)).toEqual(inOrder(archived));
  });

  it('given hours 00..02 with the checkpoint in hour 02, then hours 00 and 01 are converted, and 02 waits', async () => {
    const report = await quietly(() => columnarCommand({ local: true, stream: [HISTORY] }));
    expect(report.hours.map((h) => [h.hr, h.status, h.records])).toEqual([
      ['00', 'converted', 20],
      ['01', 'converted', 20],
    ]);
    const { rows } = await readHour({ stream: HISTORY, dt: DAY, hr: '01' });
    expect(rows.map(asLine)).toEqual(historyObject(1, 100, 20).lines.map((l) => JSON.parse(l) as RecordLine));
    // Converted hours are not converted again.
    const again = await quietly(() => columnarCommand({ local: true, stream: [HISTORY] }));
    expect(again.hours).toEqual([]);
    // The converted hours' JSONL carries reservoir-converted=true (jsonl-days expires only those);
    // the open hour's does not.
    expect(await tagsOf(historyObject(0, 0, 20).key)).toEqual([
      { Key: 'reservoir-converted', Value: 'true' },
    ]);
    expect(await tagsOf(historyObject(1, 100, 20).key)).toEqual([
      { Key: 'reservoir-converted', Value: 'true' },
    ]);
    expect(await tagsOf(historyObject(2, 200, 20).key)).toEqual([]);
  });

  it('given a converted hour, when a late object is archived into it, then the next conversion writes a new generation and the old files are gone', async () => {
    const { store, config } = columnarRuntime();
    const hour = { stream: HISTORY, dt: DAY, hr: '01' };
    const old = (await store.getJson<ColumnarManifest>(columnarManifestKey(config.prefix, hour)))!.value;
    const late = historyObject(1, 150, 5);
    await store.putObject(late.key, late.body, 'application/x-ndjson', 'gzip');

    const report = await quietly(() => columnarCommand({ local: true, stream: [HISTORY] }));
    expect(report.hours.map((h) => [h.hr, h.status, h.records, h.previousGeneration])).toEqual([
      ['01', 'converted', 25, old.generation],
    ]);
    const { manifest, rows } = await readHour(hour);
    expect(manifest.generation > old.generation).toBe(true);
    expect(manifest.sources.map((s) => s.key)).toContain(late.key);
    expect(rows).toHaveLength(25);
    const files = await store.listKeys(columnarHourPrefix(config.prefix, hour));
    expect(files.filter((k) => k.endsWith('.parquet'))).toEqual(manifest.files.map((f) => f.key));
  });

  it('given a crash between the Parquet upload and the manifest, then the manifest is unchanged and a retried conversion succeeds', async () => {
    const { store, config } = columnarRuntime();
    const deps = converterDeps();
    const hour = { stream: HISTORY, dt: DAY, hr: '00' };
    const late = historyObject(0, 50, 3);
    await store.putObject(late.key, late.body, 'application/x-ndjson', 'gzip');
    const before = await store.getJson<ColumnarManifest>(columnarManifestKey(config.prefix, hour));

    const crash = new Error('Lambda died');
    await expect(
      convertHour(
        {
          ...deps,
          beforeManifest: () => Promise.reject(crash),
        },
        config.prefix,
        hour,
      ),
    ).rejects.toBe(crash);
    const after = await store.getJson<ColumnarManifest>(columnarManifestKey(config.prefix, hour));
    expect(after).toEqual(before);
    // The orphan is in no manifest: readers do not see it.
    const parquet = (await store.listKeys(columnarHourPrefix(config.prefix, hour))).filter((k) =>
      k.endsWith('.parquet'),
    );
    expect(parquet).toHaveLength(2);
    expect(after!.value.files.map((f) => f.key)).toHaveLength(1);
    // Not in a manifest yet: not tagged, so jsonl-days cannot expire it.
    expect(await tagsOf(late.key)).toEqual([]);

    const plan = await planColumnar(store, config.prefix, [HISTORY]);
    expect(plan.hours).toEqual([hour]);
    // The watermark never passes a due hour; a planning listing from a watermark stored past the
    // hour (less the margin) does not list it at all, and without one it lists everything.
    expect(plan.watermarks.get(HISTORY)).toBe(hourStartMs(hour));
    await writeWatermarks(store, config.prefix, new Map([[HISTORY, hourStartMs(hour) + 3 * HOUR_MS]]));
    const listFromMs = await readWatermarks(store, config.prefix, [HISTORY]);
    expect(listFromMs).toEqual(new Map([[HISTORY, hourStartMs(hour) + 3 * HOUR_MS]]));
    // The archive workflow's PlanColumnar stored the live stream's.
    expect((await readWatermarks(store, config.prefix, [LIVE])).has(LIVE)).toBe(true);
    const bounded = { listFromMs, nowMs: hourStartMs(hour) + 4 * HOUR_MS };
    expect((await planColumnar(store, config.prefix, [HISTORY], bounded)).hours).toEqual([]);
    await writeWatermarks(store, config.prefix, new Map([[HISTORY, hourStartMs(hour) + HOUR_MS]]));
    const withinMargin = { ...bounded, listFromMs: await readWatermarks(store, config.prefix, [HISTORY]) };
    expect((await planColumnar(store, config.prefix, [HISTORY], withinMargin)).hours).toEqual([hour]);
    await store.deleteKeys([columnarWatermarkKey(config.prefix, HISTORY)]);
    const retried = await convertHour(deps, config.prefix, hour);
    expect(retried).toMatchObject({
      status: 'converted',
      records: 23,
      previousGeneration: before!.value.generation,
    });
    const { rows } = await readHour(hour);
    expect(rows).toHaveLength(23);
    expect(new Set(rows.map((r) => r.sequence_number)).size).toBe(23);
    expect(await tagsOf(late.key)).toEqual([{ Key: 'reservoir-converted', Value: 'true' }]);
  });

  it('given a converted hour whose JSONL expired (jsonl-days), when a late object arrives, then the hour is not converted again (its rows would be lost) and the late object stays untagged', async () => {
    const { store, config } = columnarRuntime();
    const hour = { stream: HISTORY, dt: DAY, hr: '01' };
    const before = await store.getJson<ColumnarManifest>(columnarManifestKey(config.prefix, hour));
    await store.deleteKeys([historyObject(1, 100, 20).key]); // as the jsonl rule would
    const late = historyObject(1, 190, 2);
    await store.putObject(late.key, late.body, 'application/x-ndjson', 'gzip');

    await expect(convertHour(converterDeps(), config.prefix, hour)).rejects.toThrow(
      /JSONL object\(s\) its manifest lists are gone .* converting it again would drop their rows/,
    );
    expect(await store.getJson<ColumnarManifest>(columnarManifestKey(config.prefix, hour))).toEqual(before);
    expect(await tagsOf(late.key)).toEqual([]);
  });
});
