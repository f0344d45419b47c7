import { SqlError, copyOptionsFor, type QueryOutput } from '../../sql/engine';
import { QueryPlanError } from '../../sql/plan';
import { runSql, type SqlRunReport } from '../../sql/run-sql';
import { archiveLocation } from '../archive-location';
import { requireKnownStreams } from '../known-streams';
import { CommandFailure, formatBytes, info } from '../output';
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
