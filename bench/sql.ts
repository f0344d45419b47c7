/**
 * SQL benchmark: `reservoir sql` (the command's own code path: list the partitions, check the cache,
 * build the `records` view, run the query in DuckDB) against DuckDB reading the same local files
 * directly, in the same run, with the cache warm. Goal: reservoir ≤ 1.5× DuckDB alone.
 *
 * The archive is generated locally: gzip JSON Lines objects of telemetry records, written straight
 * into an embedded s3rver bucket with the S3 SDK (no Kinesis involved), laid out as the archiver
 * lays them out (per stream, hour and shard, ≤ BENCH_SQL_OBJECT_MB each).
 *
 *   npx tsx bench/sql.ts                       # ~1 GB of record lines (BENCH_SQL_MB=1024)
 *   BENCH_SQL_MB=256 npx tsx bench/sql.ts
 *
 *   import { sqlBench, sqlBenchReport } from './sql';
 *   process.stdout.write(sqlBenchReport(await sqlBench()));
 *
 * Settings: BENCH_SQL_MB (uncompressed record lines, default 1024), BENCH_SQL_SHARDS (4),
 * BENCH_SQL_OBJECT_MB (8), BENCH_SQL_ROUNDS (3 timed rounds per query and side; the median counts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { resetClients, s3Client } from '../src/aws/clients';
import { sqlCommand } from '../src/cli/commands/sql';
import { table } from '../src/cli/output';
import { envInt } from '../src/config/env';
import { mapWithConcurrency } from '../src/core/concurrency';
import { archiveObjectKey } from '../src/core/layout';
import { serializeRecordLine } from '../src/core/record-line';
import { applyEnvironment, startEmulators } from '../src/local/emulators';
import { telemetryRecord } from '../src/local/traffic';
import { readRecordLinesSql, sqlString } from '../src/sql/records-view';

// The SDK warns once on Node 20 (supported by the pinned versions), as bin/reservoir.cjs says.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MB = 1024 * 1024;
const HOUR = 3_600_000;
export const BENCH_STREAM = 'bench-telemetry';
const STREAM = BENCH_STREAM;
const GOAL = 1.5;
const gzipAsync = promisify(gzip);

export interface SqlBenchOptions {
  megabytes: number;
  shards: number;
  objectMegabytes: number;
  rounds: number;
}

export function sqlBenchOptionsFromEnv(): SqlBenchOptions {
  return {
    megabytes: envInt('BENCH_SQL_MB', 1024, 1),
    shards: envInt('BENCH_SQL_SHARDS', 4, 1),
    objectMegabytes: envInt('BENCH_SQL_OBJECT_MB', 8, 1),
    rounds: envInt('BENCH_SQL_ROUNDS', 3, 1),
  };
}

/**
 * One query, as a reservoir user writes it (the view, the macros) and as a DuckDB user writes it
 * over the files (`files` is a read_json call: schema detected, or the view's typed call).
 */
export interface BenchQuery {
  name: string;
  reservoir: string;
  direct: (files: string) => string;
}

/** The two ways of reading the files directly: as the README shows (detected), and with the view's exact read_json. */
type DirectSide = 'detected' | 'typed';

export const QUERIES: BenchQuery[] = [
  {
    name: 'count per partition key',
    reservoir:
      'SELECT partition_key, count(*) AS records, max(arrival_time) AS newest FROM records GROUP BY partition_key',
    direct: (files) =>
      `SELECT partitionKey, count(*) AS records, max(epoch_ms(arrivalTimestamp)) AS newest FROM ${files} GROUP BY partitionKey`,
  },
  {
    name: 'JSON fields: avg temperature per machine',
    reservoir:
      "SELECT json_field(data, '$.data.machine') AS machine, " +
      "avg(json_number(data, '$.data.attributes.temperature.value')) AS temperature " +
      "FROM records WHERE encoding = 'utf8' GROUP BY machine",
    direct: (files) =>
      "SELECT json_extract_string(data, '$.data.machine') AS machine, " +
      "avg(CAST(json_extract(data, '$.data.attributes.temperature.value') AS DOUBLE)) AS temperature " +
      `FROM ${files} WHERE encoding = 'utf8' GROUP BY machine`,
  },
];

export interface SqlBenchQueryResult {
  name: string;
  reservoirSeconds: number[];
  /** DuckDB alone, read_json detecting the schema (as the README's example reads the archive). */
  detectedSeconds: number[];
  /** DuckDB alone, the same read_json call the view makes (explicit columns): the tightest baseline. */
  typedSeconds: number[];
  rows: number;
}

export interface SqlBenchResult {
  options: SqlBenchOptions;
  records: number;
  lineBytes: number;
  objects: number;
  objectBytes: number;
  generateSeconds: number;
  /** The first (cold) `reservoir sql`: downloads every object into the cache. */
  coldSeconds: number;
  downloaded: number;
  queries: SqlBenchQueryResult[];
  cpus: number;
  loadBefore: number;
  loadAfter: number;
}

interface ObjectSpec {
  shard: number;
  hourStart: number;
  /** Index of the object within its shard-hour. */
  part: number;
  records: number;
}

/** Writes the archive into the bucket: returns records, bytes of lines and compressed objects. */
async function generate(options: SqlBenchOptions, bucket: string) {
  const sample = serializeRecordLine({
    stream: STREAM,
    shardId: 'shardId-000000000000',
    sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    subSequenceNumber: 0,
    partitionKey: 'spark-1/press-00',
    arrivalTimestamp: 0,
    data: telemetryRecord(0).data,
  });
  const perObject = Math.max(1, Math.floor((options.objectMegabytes * MB) / (sample.length + 1)));
  const totalRecords = Math.max(1, Math.round((options.megabytes * MB) / (sample.length + 1)));
  // Two objects per shard-hour, so queries span many hour partitions as a real archive does.
  const specs: ObjectSpec[] = [];
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let left = totalRecords, index = 0; left > 0; index += 1) {
    const records = Math.min(perObject, left);
    const shard = index % options.shards;
    const slot = Math.floor(index / options.shards);
    specs.push({ shard, hourStart: start + Math.floor(slot / 2) * HOUR, part: slot % 2, records });
    left -= records;
  }
  const sequence = new Map<number, bigint>();
  let recordIndex = 0;
  const totals = { records: 0, lineBytes: 0, objectBytes: 0 };
  // Lines are built on this thread while earlier objects are compressed (zlib's pool) and put.
  await mapWithConcurrency(specs, 3, async (spec) => {
    const shardId = `shardId-${String(spec.shard).padStart(12, '0')}`;
    const base = sequence.get(spec.shard) ?? 49590338271490256608559692538361571095921575989136588898n;
    const lines: string[] = [];
    const first = base;
    const offset = spec.part * (HOUR / 2);
    for (let i = 0; i < spec.records; i++) {
      const arrival = spec.hourStart + offset + Math.floor((i * (HOUR / 2)) / spec.records);
      const produced = telemetryRecord(recordIndex++, arrival);
      lines.push(
        serializeRecordLine({
          stream: STREAM,
          shardId,
          sequenceNumber: String(base + BigInt(i)),
          subSequenceNumber: 0,
          partitionKey: produced.partitionKey,
          arrivalTimestamp: arrival,
          data: produced.data,
        }),
      );
    }
    const last = base + BigInt(spec.records - 1);
    sequence.set(spec.shard, last + 1n);
    const body = Buffer.from(`${lines.join('\n')}\n`);
    const compressed = await gzipAsync(body, { level: 6 });
    const key = archiveObjectKey('', STREAM, shardId, spec.hourStart + offset, String(first), String(last));
    await s3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: compressed,
        ContentType: 'application/x-ndjson',
      }),
    );
    totals.records += spec.records;
    totals.lineBytes += body.length;
    totals.objectBytes += compressed.length;
  });
  return { ...totals, objects: specs.length };
}

const seconds = (since: number) => (performance.now() - since) / 1000;
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const discard = async () => undefined;

/** The generated archive in a running s3rver, for the SQL and columnar sections (same data, one generation). */
export interface BenchArchive {
  options: SqlBenchOptions;
  bucket: string;
  /** Scratch directory of the run (removed afterwards). */
  dir: string;
  /** `reservoir sql`'s cache. */
  cacheDir: string;
  records: number;
  lineBytes: number;
  objects: number;
  objectBytes: number;
  generateSeconds: number;
  log: (line: string) => void;
}

/**
 * Starts the emulators, generates the archive into the bucket (BENCH_SQL_* settings), runs `use`
 * on it, and stops everything (the environment is restored).
 */
export async function withBenchArchive<T>(
  overrides: Partial<SqlBenchOptions>,
  use: (archive: BenchArchive) => Promise<T>,
): Promise<T> {
  const options = { ...sqlBenchOptionsFromEnv(), ...overrides };
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-bench-sql-'));
  const saved = { ...process.env };
  const emulators = await startEmulators({ dir });
  try {
    applyEnvironment(emulators.env);
    resetClients();
    const log = (line: string) => process.stderr.write(`${line}\n`);
    log(`sql bench: generating ~${options.megabytes} MB of record lines into s3rver`);
    const started = performance.now();
    const generated = await generate(options, emulators.bucket);
    const generateSeconds = seconds(started);
    log(
      `  ${generated.records} records, ${generated.objects} objects, ${(generated.objectBytes / MB).toFixed(0)} MB gzip in ${generateSeconds.toFixed(1)} s`,
    );
    return await use({
      options,
      bucket: emulators.bucket,
      dir,
      cacheDir: join(dir, 'cache'),
      ...generated,
      generateSeconds,
      log,
    });
  } finally {
    resetClients();
    await emulators.stop();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function sqlBench(overrides: Partial<SqlBenchOptions> = {}): Promise<SqlBenchResult> {
  return withBenchArchive(overrides, sqlBenchOn);
}

/** The SQL section on a generated archive (before any conversion: every hour is JSONL). */
export async function sqlBenchOn(archive: BenchArchive): Promise<SqlBenchResult> {
  const { options, cacheDir, log } = archive;
  const loadBefore = loadavg()[0]!;

  // Cold: downloads everything into the cache (not part of the comparison).
  let started = performance.now();
  const cold = await sqlCommand(
    'SELECT count(*) FROM records',
    { stream: [STREAM], cacheDir, format: 'json' },
    discard,
  );
  const coldSeconds = seconds(started);
  log(`  cold query (downloads ${cold.fetch.fetched.length} objects): ${coldSeconds.toFixed(1)} s`);
  const paths = cold.objects.map((o) => o.path);
  const files: Record<DirectSide, string> = {
    detected: `read_json([${paths.map(sqlString).join(', ')}], format = 'newline_delimited')`,
    typed: readRecordLinesSql(paths, 'gzip'),
  };

  const queries: SqlBenchQueryResult[] = [];
  for (const query of QUERIES) {
    const result: SqlBenchQueryResult = {
      name: query.name,
      reservoirSeconds: [],
      detectedSeconds: [],
      typedSeconds: [],
      rows: 0,
    };
    for (let round = 0; round < options.rounds; round++) {
      // Rotate which side goes first, so none always gets the warmest caches.
      const order = ['reservoir', 'detected', 'typed'] as const;
      const sides = order.map((_, i) => order[(i + round) % order.length]!);
      for (const side of sides) {
        started = performance.now();
        if (side === 'reservoir') {
          const report = await timedReservoirSql(query.reservoir, cacheDir);
          result.rows = report.rows;
          result.reservoirSeconds.push(report.seconds);
        } else {
          const instance = await DuckDBInstance.create(':memory:');
          const connection = await instance.connect();
          const reader = await connection.runAndReadAll(query.direct(files[side]));
          reader.getRowsJson();
          connection.closeSync();
          instance.closeSync();
          (side === 'detected' ? result.detectedSeconds : result.typedSeconds).push(seconds(started));
        }
      }
      log(
        `  ${query.name}, round ${round + 1}: reservoir ${result.reservoirSeconds.at(-1)!.toFixed(2)} s, ` +
          `DuckDB alone ${result.detectedSeconds.at(-1)!.toFixed(2)} s (schema detected) / ` +
          `${result.typedSeconds.at(-1)!.toFixed(2)} s (typed)`,
      );
    }
    queries.push(result);
  }
  return {
    options,
    records: archive.records,
    lineBytes: archive.lineBytes,
    objects: archive.objects,
    objectBytes: archive.objectBytes,
    generateSeconds: archive.generateSeconds,
    coldSeconds,
    downloaded: cold.fetch.fetched.length,
    queries,
    cpus: cpus().length,
    loadBefore,
    loadAfter: loadavg()[0]!,
  };
}

/**
 * One warm `reservoir sql` run of a query over the bench stream: its time, rows and what the view
 * read (archive objects and Parquet files). Fails when something had to be downloaded.
 */
export async function timedReservoirSql(query: string, cacheDir: string) {
  const started = performance.now();
  const report = await sqlCommand(query, { stream: [STREAM], cacheDir, format: 'json' }, discard);
  const elapsed = seconds(started);
  if (report.fetch.fetched.length > 0) throw new Error('the cache was not warm');
  return { seconds: elapsed, rows: report.result.rows, keys: report.objects.map((o) => o.key) };
}

/** A plain-text report of a benchmark result. */
export function sqlBenchReport(result: SqlBenchResult): string {
  // The goal is judged against the faster of the two direct readings.
  const ratio = (q: SqlBenchQueryResult) =>
    median(q.reservoirSeconds) / Math.min(median(q.detectedSeconds), median(q.typedSeconds));
  const rows = result.queries.map((q) => [
    q.name,
    q.rows,
    median(q.reservoirSeconds).toFixed(2),
    median(q.detectedSeconds).toFixed(2),
    median(q.typedSeconds).toFixed(2),
    ratio(q).toFixed(2),
  ]);
  const worst = Math.max(...result.queries.map(ratio));
  return [
    `sql: reservoir sql vs DuckDB reading the same cached files directly; ${result.records} records, ` +
      `${(result.lineBytes / MB).toFixed(0)} MB of record lines in ${result.objects} gzip objects ` +
      `(${(result.objectBytes / MB).toFixed(0)} MB), ${result.options.shards} shards; ${result.cpus} CPUs, ` +
      `load ${result.loadBefore.toFixed(1)} before / ${result.loadAfter.toFixed(1)} after`,
    `   generated in ${result.generateSeconds.toFixed(1)} s; first query (cold cache, ${result.downloaded} objects downloaded ` +
      `from s3rver) ${result.coldSeconds.toFixed(1)} s; then ${result.options.rounds} rounds per query, warm cache, median:`,
    table(
      ['query', 'rows', 'reservoir sql s', 'DuckDB, schema detected s', 'DuckDB, typed read_json s', 'ratio'],
      rows,
    ),
    '   ratio: reservoir sql / the faster DuckDB-alone reading. Both sides open a fresh in-memory DuckDB per query;',
    '   reservoir sql also lists the partitions in s3rver, checks the cache and builds the view.',
    `goal reservoir / DuckDB alone <= ${GOAL}: ${worst <= GOAL ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)})`,
    '',
  ].join('\n');
}

if (require.main === module) {
  sqlBench()
    .then((result) => process.stdout.write(sqlBenchReport(result)))
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
