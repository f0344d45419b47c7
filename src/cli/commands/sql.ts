import { AthenaClient } from '@aws-sdk/client-athena';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { writeAthenaResult } from '../../athena/output';
import { AthenaQueryError, athenaQueryCost, runAthenaQuery } from '../../athena/query';
import { SqlError, copyOptionsFor, type QueryOutput } from '../../sql/engine';
import { QueryPlanError } from '../../sql/plan';
import { runSql, type SqlRunReport } from '../../sql/run-sql';
import { archiveLocation } from '../archive-location';
import { requireKnownStreams } from '../known-streams';
import { CommandFailure, formatBytes, info } from '../output';
import { deployedArchive } from '../deployed';
import { DEFAULT_PRICES, loadPrices } from './cost';
import { ProgressBar } from '../progress-bar';

export interface SqlOptions {
  stream?: string[];
  from?: string;
  to?: string;
  live?: boolean;
  format?: string;
  out?: string;
  maxRows?: string;
  cacheDir?: string;
  /** Read the bucket and prefix from the deployed stack reservoir-{stage} (else RESERVOIR_BUCKET). */
  stage?: string;
  /** duckdb (default, embedded) or athena (the deployed stack's workgroup and Glue database). */
  engine?: string;
  /** Athena: the price table for the query's cost (default pricing/us-east-1.json). */
  prices?: string;
}

/** Where the result text goes: stdout by default (tests and the benchmark pass their own). */
export type TextSink = (text: string) => Promise<void>;

export const stdoutSink: TextSink = (text) =>
  new Promise((resolve, reject) => {
    if (process.stdout.write(text, (error) => (error ? reject(error) : undefined))) resolve();
    else process.stdout.once('drain', () => resolve());
  });

function outputFor(options: SqlOptions, sink: TextSink): QueryOutput {
  if (options.out) {
    if (!copyOptionsFor(options.out))
      throw new CommandFailure(`--out ${options.out}: use a .csv, .csv.gz or .parquet file`);
    return { format: 'file', path: options.out };
  }
  const format = options.format ?? 'table';
  if (format === 'json' || format === 'csv') return { format, write: sink };
  if (format !== 'table') throw new CommandFailure(`--format ${format}: use table, json or csv`);
  const maxRows = options.maxRows === undefined ? 100 : Number(options.maxRows);
  if (!Number.isInteger(maxRows) || maxRows < 0)
    throw new CommandFailure(`--max-rows ${options.maxRows}: not a whole number`);
  return { format: 'table', write: sink, maxRows };
}

/**
 * `reservoir sql "QUERY"`: DuckDB over the `records` view of the archive (and with --live, of what
 * is still in the streams). The result goes to stdout (table, json, csv) or to --out; progress and
 * counts go to stderr. A SQL error prints DuckDB's message and the offending position, and fails.
 */
export async function sqlCommand(
  query: string,
  options: SqlOptions,
  sink: TextSink = stdoutSink,
): Promise<SqlRunReport> {
  const engine = options.engine ?? 'duckdb';
  if (engine !== 'duckdb') throw new CommandFailure(`--engine ${engine}: use duckdb or athena`);
  const output = outputFor(options, sink);
  const location = await archiveLocation({
    local: !options.stage,
    stage: options.stage,
    alternative: 'or leave out --stage to read the bucket RESERVOIR_BUCKET names',
  });
  await requireKnownStreams(options.stream, location);
  const archive = options.stage ? { bucket: location.bucket, prefix: location.prefix } : {};
  const bar = new ProgressBar('download');
  let started = false;
  try {
    const report = await runSql(
      {
        query,
        streams: options.stream,
        from: options.from,
        to: options.to,
        live: options.live,
        output,
        cacheDir: options.cacheDir,
        ...archive,
      },
      {
        log: info,
        onDownload: (done, total) => {
          if (!started) bar.setTotal(total.objects);
          started = true;
          bar.update(done.objects, `, ${formatBytes(done.bytes)} of ${formatBytes(total.bytes)}`);
        },
        onDownloadsDone: () => bar.done(),
      },
    );
    if (output.format === 'file') info(`wrote ${report.result.rows} row(s) to ${output.path}`);
    return report;
  } catch (error) {
    bar.done();
    if (error instanceof SqlError) {
      // The caret under the offending position first (stderr), then the one-line reason.
      info(error.render());
      throw new CommandFailure(error.summary());
    }
    if (error instanceof QueryPlanError) throw new CommandFailure(error.message);
    throw error;
  }
}

export interface AthenaRunReport {
  engine: 'athena';
  queryExecutionId: string;
  rows: number;
  bytesScanned: number;
  costUsd: number;
}

/**
 * `reservoir sql --engine athena`: the query runs in the stack's workgroup (reservoir-{stage})
 * against its Glue database, where the `records` view is created when missing. Progress (state,
 * bytes scanned) and the cost go to stderr; the result to stdout as with DuckDB. DuckDB-only
 * options (--stream, --from, --to, --live, --out, --cache-dir) are refused: in Athena, filter in
 * SQL (`WHERE stream = 'orders'` is required: the stream partition is injected).
 */
export async function athenaSqlCommand(
  query: string,
  options: SqlOptions,
  sink: TextSink = stdoutSink,
  client: AthenaClient = new AthenaClient({ requestHandler: new NodeHttpHandler(), maxAttempts: 5 }),
): Promise<AthenaRunReport> {
  const duckdbOnly = (['stream', 'from', 'to', 'live', 'out', 'cacheDir'] as const).filter(
    (name) => options[name] !== undefined && options[name] !== false,
  );
  if (duckdbOnly.length > 0)
    throw new CommandFailure(
      `--engine athena: ${duckdbOnly.map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ` +
        "apply to DuckDB only; filter in SQL instead (WHERE stream = 'orders' AND arrival_time >= TIMESTAMP '...')",
    );
  const output = outputFor(options, sink);
  if (output.format === 'file')
    throw new CommandFailure('--engine athena: use --format csv instead of --out');
  const prices = loadPrices(options.prices ?? DEFAULT_PRICES);
  if (!prices.athena) throw new CommandFailure('the price table has no athena prices (athena.perTbScanned)');
  const stage = options.stage ?? process.env.RESERVOIR_STAGE ?? 'dev';
  const { outputs } = await deployedArchive(stage, '');
  const workGroup = outputs.AthenaWorkGroupName;
  const database = outputs.GlueDatabaseName;
  if (!workGroup || !database)
    throw new CommandFailure(
      `stack reservoir-${stage} has no AthenaWorkGroupName or GlueDatabaseName output (deploy this release)`,
    );
  let reported = '';
  try {
    const result = await runAthenaQuery(client, {
      query,
      workGroup,
      database,
      onProgress: (state, bytes) => {
        const line = `athena: ${state.toLowerCase()}, ${formatBytes(bytes)} scanned`;
        if (line !== reported) info(line);
        reported = line;
      },
    });
    const rows = await writeAthenaResult(result, output);
    const costUsd = athenaQueryCost(result.bytesScanned, prices.athena);
    info(
      `query ${result.queryExecutionId}: ${formatBytes(result.bytesScanned)} scanned, ` +
        `$${costUsd.toFixed(6)} at $${prices.athena.perTbScanned} per TB (${prices.athena.minimumMbPerQuery} MB minimum)`,
    );
    return {
      engine: 'athena',
      queryExecutionId: result.queryExecutionId,
      rows,
      bytesScanned: result.bytesScanned,
      costUsd,
    };
  } catch (error) {
    if (error instanceof AthenaQueryError) throw new CommandFailure(error.message);
    throw error;
  }
}
