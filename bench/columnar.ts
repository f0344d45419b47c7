/**
 * Columnar benchmark (issue 13), on the SQL section's archive (bench/sql.ts, same generation):
 *
 * - bytes stored: the hourly Parquet (src/columnar/convert-hour.ts, the converter the archive
 *   workflow runs) against the gzip JSON Lines it came from; goal ≤ 0.7×;
 * - `reservoir sql` per query on the converted hours against the same query on JSONL, warm cache
 *   both; goals: count per partition key ≥ 5× faster, a JSON-field aggregate ≥ 1.5× faster. After
 *   conversion every hour has a manifest, so `reservoir sql` reads its Parquet and ignores its JSONL
 *   (checked: a Parquet run whose view holds a JSONL object fails the bench);
 * - conversion throughput in MB of record lines per CPU-second (per core), and the Lambda
 *   GB-seconds it implies per GB archived at convertHour's memory size in serverless.yml.
 *
 *   npx tsx bench/columnar.ts                  # BENCH_SQL_MB etc. as bench/sql.ts
 *   BENCH_SQL_MB=256 npx tsx bench/columnar.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { s3Client } from '../src/aws/clients';
import { S3ObjectStore } from '../src/aws/s3-adapter';
import { sqlCommand } from '../src/cli/commands/sql';
import { table } from '../src/cli/output';
import { convertHour } from '../src/columnar/convert-hour';
import { ParquetWriter } from '../src/columnar/parquet-writer';
import { groupByHour } from '../src/core/columnar';
import { archiveStreamPrefix } from '../src/core/layout';
import {
  BENCH_STREAM,
  QUERIES,
  median,
  timedReservoirSql,
  withBenchArchive,
  type BenchArchive,
  type SqlBenchResult,
} from './sql';

const MB = 1024 * 1024;
const GB = 1024 * MB;
/** Lambda allocates CPU in proportion to memory: 1,769 MB is one vCPU (Lambda developer guide, "Configure memory"). */
const LAMBDA_MB_PER_VCPU = 1769;
export const COLUMNAR_GOALS = { storageRatio: 0.7, countSpeedup: 5, jsonSpeedup: 1.5 } as const;

export interface ColumnarQueryResult {
  name: string;
  jsonlSeconds: number[];
  parquetSeconds: number[];
  /** Rows of the answer on each side: they must be equal. */
  jsonlRows: number;
  parquetRows: number;
}

export interface ColumnarBenchResult {
  records: number;
  hours: number;
  lineBytes: number;
  jsonlBytes: number;
  parquetBytes: number;
  convertWallSeconds: number;
  convertCpuSeconds: number;
  /** convertHour's memorySize in serverless.yml. */
  lambdaMemoryMb: number;
  queries: ColumnarQueryResult[];
  /** Where the JSONL timings came from: the SQL section of this run, or measured here. */
  jsonlFrom: 'sql section' | 'measured here';
}

/** convertHour's memorySize, read from serverless.yml (the figure Lambda bills GB-seconds at). */
export function convertHourMemoryMb(serverlessYml: string): number {
  const block = /^ {2}convertHour:\n((?: {4}.*\n|\s*\n)+)/m.exec(serverlessYml);
  const memory = block ? /^ {4}memorySize: (\d+)/m.exec(block[1]!) : null;
  if (!memory) throw new Error('serverless.yml: no memorySize under functions.convertHour');
  return Number(memory[1]);
}

async function timeQueries(
  archive: BenchArchive,
  side: 'jsonl' | 'parquet',
): Promise<Map<string, { seconds: number[]; rows: number }>> {
  const out = new Map<string, { seconds: number[]; rows: number }>();
  for (const query of QUERIES) {
    const entry = { seconds: [] as number[], rows: 0 };
    for (let round = 0; round < archive.options.rounds; round++) {
      const run = await timedReservoirSql(query.reservoir, archive.cacheDir);
      const jsonl = run.keys.filter((key) => key.endsWith('.jsonl.gz')).length;
      const parquet = run.keys.length - jsonl;
      if (side === 'parquet' && jsonl > 0)
        throw new Error(`the Parquet run read ${jsonl} JSONL object(s): some hour is not converted`);
      if (side === 'jsonl' && parquet > 0) throw new Error('the JSONL run read Parquet files');
      entry.seconds.push(run.seconds);
      entry.rows = run.rows;
      archive.log(`  ${side}: ${query.name}, round ${round + 1}: ${run.seconds.toFixed(2)} s`);
    }
    out.set(query.name, entry);
  }
  return out;
}

/** Downloads whatever form the hours have now into the cache (not timed). */
async function warm(archive: BenchArchive): Promise<void> {
  await sqlCommand(
    'SELECT count(*) FROM records',
    { stream: [BENCH_STREAM], cacheDir: archive.cacheDir, format: 'json' },
    async () => undefined,
  );
}

/**
 * The columnar section on the SQL section's archive. `sql`: that section's result on the same
 * archive (its `reservoir sql` medians are the JSONL side); without it they are measured here.
 */
export async function columnarBenchOn(
  archive: BenchArchive,
  sql?: SqlBenchResult,
): Promise<ColumnarBenchResult> {
  const lambdaMemoryMb = convertHourMemoryMb(readFileSync(join(__dirname, '..', 'serverless.yml'), 'utf8'));
  let jsonl: Map<string, { seconds: number[]; rows: number }>;
  if (sql) {
    jsonl = new Map(sql.queries.map((q) => [q.name, { seconds: q.reservoirSeconds, rows: q.rows }]));
  } else {
    await warm(archive);
    jsonl = await timeQueries(archive, 'jsonl');
  }

  // Convert every hour, as ConvertHour does in the archive workflow (one hour at a time).
  const store = new S3ObjectStore(s3Client(), archive.bucket);
  const tmpDir = join(archive.dir, 'columnar');
  const deps = {
    store,
    writer: new ParquetWriter({ tempDirectory: join(tmpDir, 'duckdb-spill') }),
    tmpDir,
    now: () => new Date(),
  };
  const hours = groupByHour(BENCH_STREAM, await store.listObjects(archiveStreamPrefix('', BENCH_STREAM)));
  archive.log(`columnar bench: converting ${hours.length} hours with convertHour`);
  const totals = { records: 0, lineBytes: 0, parquetBytes: 0, jsonlBytes: 0 };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (const { hour, sources } of hours) {
    const result = await convertHour(deps, '', hour);
    if (result.status !== 'converted') throw new Error(`hour ${hour.dt} ${hour.hr}: ${result.status}`);
    totals.records += result.records;
    totals.lineBytes += result.lineBytes;
    totals.parquetBytes += result.parquetBytes;
    totals.jsonlBytes += sources.reduce((sum, s) => sum + s.bytes, 0);
  }
  const convertWallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const convertCpuSeconds = (cpu.user + cpu.system) / 1e6;
  archive.log(
    `  ${totals.records} records: ${(totals.lineBytes / MB).toFixed(0)} MB of lines, ` +
      `${(totals.parquetBytes / MB).toFixed(1)} MB Parquet in ${convertWallSeconds.toFixed(1)} s ` +
      `(${convertCpuSeconds.toFixed(1)} CPU-s)`,
  );

  await warm(archive);
  const parquet = await timeQueries(archive, 'parquet');
  const queries = QUERIES.map((q) => ({
    name: q.name,
    jsonlSeconds: jsonl.get(q.name)!.seconds,
    parquetSeconds: parquet.get(q.name)!.seconds,
    jsonlRows: jsonl.get(q.name)!.rows,
    parquetRows: parquet.get(q.name)!.rows,
  }));
  for (const q of queries)
    if (q.jsonlRows !== q.parquetRows)
      throw new Error(`${q.name}: ${q.jsonlRows} rows on JSONL, ${q.parquetRows} on Parquet`);
  return {
    ...totals,
    hours: hours.length,
    convertWallSeconds,
    convertCpuSeconds,
    lambdaMemoryMb,
    queries,
    jsonlFrom: sql ? 'sql section' : 'measured here',
  };
}

/**
 * What conversion costs on Lambda, from the measured CPU time: wall time here mostly measures the
 * machine's other load (its share of CPU is printed), so Lambda's billed duration is taken as the
 * CPU-seconds at one vCPU's pace — conservative: DuckDB's sort and write use more when there are.
 */
export function conversionFigures(r: ColumnarBenchResult) {
  const lineGb = r.lineBytes / GB;
  const mbPerCpuSecond = r.lineBytes / MB / r.convertCpuSeconds;
  const cpuShare = r.convertCpuSeconds / r.convertWallSeconds;
  const vcpus = r.lambdaMemoryMb / LAMBDA_MB_PER_VCPU;
  const gbSecondsPerLineGb = ((r.lambdaMemoryMb / 1024) * r.convertCpuSeconds) / lineGb;
  return { mbPerCpuSecond, cpuShare, vcpus, gbSecondsPerLineGb };
}

const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

export function columnarBenchReport(r: ColumnarBenchResult): string {
  const ratio = r.parquetBytes / r.jsonlBytes;
  const speedup = (q: ColumnarQueryResult) => median(q.jsonlSeconds) / median(q.parquetSeconds);
  const [count, json] = r.queries;
  const f = conversionFigures(r);
  return [
    `columnar: the same archive converted hour by hour with convertHour (DuckDB, zstd, ordered); ${r.records} records, ` +
      `${(r.lineBytes / MB).toFixed(0)} MB of record lines, ${r.hours} hours`,
    table(
      ['stored', 'MB', 'ratio'],
      [
        ['gzip JSON Lines', (r.jsonlBytes / MB).toFixed(1), '1.00'],
        ['Parquet (zstd)', (r.parquetBytes / MB).toFixed(1), ratio.toFixed(2)],
      ],
    ),
    `goal Parquet / gzip JSONL <= ${COLUMNAR_GOALS.storageRatio}: ${verdict(ratio <= COLUMNAR_GOALS.storageRatio)} (${ratio.toFixed(2)})`,
    `   reservoir sql, warm cache, median of ${count!.parquetSeconds.length} (JSONL side: ${r.jsonlFrom}); ` +
      'on Parquet every hour has a manifest, so its JSONL is not read:',
    table(
      ['query', 'rows', 'JSONL s', 'Parquet s', 'speed-up'],
      r.queries.map((q) => [
        q.name,
        q.parquetRows,
        median(q.jsonlSeconds).toFixed(2),
        median(q.parquetSeconds).toFixed(2),
        `${speedup(q).toFixed(1)}x`,
      ]),
    ),
    `goal count per partition key >= ${COLUMNAR_GOALS.countSpeedup}x faster: ${verdict(speedup(count!) >= COLUMNAR_GOALS.countSpeedup)} ` +
      `(${speedup(count!).toFixed(1)}x)`,
    `goal JSON-field aggregate >= ${COLUMNAR_GOALS.jsonSpeedup}x faster: ${verdict(speedup(json!) >= COLUMNAR_GOALS.jsonSpeedup)} ` +
      `(${speedup(json!).toFixed(1)}x)`,
    `   conversion: ${r.convertCpuSeconds.toFixed(1)} CPU-s in ${r.convertWallSeconds.toFixed(1)} s wall (this process got ` +
      `${(100 * f.cpuShare).toFixed(0)}% of a core on average: the rest is waiting for s3rver and the machine's other load) for ` +
      'download, gunzip, DuckDB read_json + sort + Parquet write, upload, manifest:',
    `   ${f.mbPerCpuSecond.toFixed(1)} MB of record lines per CPU-second (per core); on Lambda at convertHour's ${r.lambdaMemoryMb} MB ` +
      `(${f.vcpus.toFixed(2)} vCPU), taking the CPU-seconds at one vCPU's pace: ~${f.gbSecondsPerLineGb.toFixed(0)} GB-s per GB of ` +
      `record lines archived (pricing/us-east-1.json assumptions.columnarGbSecondsPerLineGb)`,
    '',
  ].join('\n');
}

if (require.main === module) {
  withBenchArchive({}, (archive) => columnarBenchOn(archive))
    .then((result) => process.stdout.write(columnarBenchReport(result)))
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
