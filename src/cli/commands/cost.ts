import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReadConfig } from '../../config/read-config';
import {
  checkPriceTable,
  estimateStreamCost,
  type AthenaScanEstimate,
  type CostColumn,
  type PriceTable,
  type ReadCostEstimate,
  type ReadModeChoice,
  type RetentionChoice,
  type StreamCostEstimate,
} from '../../core/cost-model';
import { retentionFromTags } from '../../core/retention';
import { readModeSource, readPolicyFor, type ReadDefaults } from '../../core/read-policy';
import { measureStream, recentArchiveSummaries, type MeasureDeps } from '../../cost/measure-stream';
import { archiveLocation } from '../archive-location';
import { requireKnownStreams } from '../known-streams';
import { CommandFailure, formatBytes, positiveOption, table } from '../output';

export interface CostCommandOptions {
  local?: boolean;
  json?: boolean;
  stage?: string;
  stream?: string[];
  prices?: string;
  windowDays?: string;
  runsPerMonth?: string;
}

export interface CostReport {
  generatedAt: string;
  prices: PriceTable;
  streams: StreamCostEstimate[];
}

/** Archive runs whose summaries the estimate reads (run files expire after 7 days). */
const RECENT_RUNS = 20;

/** The price table shipped with the package (dated; copy and edit it, then pass --prices). */
export const DEFAULT_PRICES = join(__dirname, '../../../pricing/us-east-1.json');

/** `reservoir cost`: a monthly estimate per archived stream, beside Firehose and long retention. */
export async function costCommand(options: CostCommandOptions): Promise<CostReport> {
  const prices = loadPrices(options.prices ?? DEFAULT_PRICES);
  const location = await archiveLocation(options);
  await requireKnownStreams(options.stream, location);
  const deps: MeasureDeps = { ...location, now: Date.now };
  const summaries = await recentArchiveSummaries(deps.store, deps.prefix, RECENT_RUNS);
  const streams = options.stream?.length
    ? options.stream
    : [...new Set(summaries.flatMap((summary) => summary.streams.map((row) => row.stream)))].sort();
  if (streams.length === 0)
    throw new CommandFailure(
      'no archive runs found: run `reservoir archive` first, or name streams with --stream',
    );
  const measureOptions = {
    windowDays: positiveOption(options.windowDays ?? '7', '--window-days'),
    sampleObjects: 20,
    ...(options.runsPerMonth
      ? { runsPerMonth: positiveOption(options.runsPerMonth, '--runs-per-month') }
      : {}),
  };
  const readDefaults = loadReadConfig();
  const estimates: StreamCostEstimate[] = [];
  for (const stream of streams) {
    const volume = await measureStream(deps, stream, summaries, prices, measureOptions);
    const tags = await deps.catalog.listTags(stream).catch(() => ({}));
    estimates.push(
      estimateStreamCost(
        volume,
        prices,
        currentReadMode(stream, tags, readDefaults),
        retentionChoice(stream, tags),
      ),
    );
  }
  const report: CostReport = { generatedAt: new Date().toISOString(), prices, streams: estimates };
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCost(report)}\n`);
  return report;
}

/**
 * How the archive reads the stream now: its tag reservoir:read-mode, or RESERVOIR_EFO_STREAMS in
 * this environment (a deployed stack's efoStreams is in its functions' environment, not here).
 */
function currentReadMode(
  stream: string,
  tags: Record<string, string>,
  defaults: ReadDefaults,
): ReadModeChoice {
  return {
    mode: readPolicyFor(stream, tags, defaults).policy.mode,
    from: readModeSource(stream, tags, defaults),
  };
}

/**
 * The stream's tag reservoir:jsonl-days (a malformed one counts as unset: the archive run reports
 * it). The deployment parameter jsonlDays is not visible from the CLI.
 */
function retentionChoice(stream: string, tags: Record<string, string>): RetentionChoice {
  const retention = retentionFromTags(stream, tags);
  const days = 'policy' in retention ? retention.policy?.jsonlDays : undefined;
  return days !== undefined ? { jsonlDays: days } : {};
}

export function loadPrices(path: string): PriceTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CommandFailure(`cannot read price table ${path}: ${(error as Error).message}`);
  }
  try {
    return checkPriceTable(parsed);
  } catch (error) {
    throw new CommandFailure(`${path}: ${(error as Error).message}`);
  }
}

export function formatCost(report: CostReport): string {
  const usd = (value: number): string =>
    value < 0 ? `-${usd(-value)}` : `$${value < 10 ? value.toFixed(4) : value.toFixed(2)}`;
  const out: string[] = [];
  const p = report.prices;
  for (const estimate of report.streams) {
    const v = estimate.volume;
    out.push(
      `${estimate.stream}: ${v.shards} shard(s); archive holds ${formatBytes(v.storedBytes)} over ${v.historyDays.toFixed(1)} days; ` +
        `per month ~${Math.round(v.monthlyRecords)} records, ${formatBytes(v.monthlyCompressedBytes)} gzip, ${Math.round(v.runsPerMonth)} runs`,
    );
    for (const caveat of estimate.caveats) out.push(`  ! weak estimate: ${caveat}`);
    const rows: (string | number)[][] = [];
    const columns = optionColumns(estimate);
    for (const [name, column] of columns) {
      for (const line of column.lines)
        rows.push([name, line.item, `${line.quantity} ${line.unit}`, usd(line.usd)]);
      const unpriced = column.unpriced?.length ? `+ unpriced: ${column.unpriced.join(', ')}` : '';
      rows.push([name, 'total per month', unpriced, usd(column.total)]);
    }
    out.push(
      table(
        ['  option', 'item', 'quantity', 'USD/month'],
        rows.map((row) => [`  ${row[0]}`, ...row.slice(1)]),
      ),
    );
    out.push(`  ${formatRead(estimate.read, usd)}`);
    if (estimate.read.note) out.push(`  ! ${estimate.read.note}`);
    if (estimate.athenaFullScan) out.push(`  ${formatAthenaScan(estimate.athenaFullScan, p)}`);
    for (const [name, column] of columns.slice(1)) {
      if (column.note) out.push(`  ${name}: ${column.note}`);
    }
    out.push('');
  }
  out.push(`prices (${p.region}, ${p.currency}, as of ${p.asOf}; edit a copy and pass --prices <file>):`);
  out.push(
    table(
      ['  price', 'value'],
      [
        ['  Lambda per GB-second', p.lambda.gbSecond],
        ['  Lambda per million requests', p.lambda.requestsPerMillion],
        ['  Step Functions per 1,000 transitions', p.stepFunctions.standardTransitionsPerThousand],
        ['  S3 Standard per GB-month', p.s3.standardGbMonth],
        ['  S3 PUT per 1,000', p.s3.putPerThousand],
        ['  S3 GET per 1,000', p.s3.getPerThousand],
        ['  Firehose ingestion per GB', p.firehose.ingestionGb],
        [`  Firehose record rounding (KiB)`, p.firehose.recordRoundingKiB],
        ['  Kinesis extended retention per shard-hour', p.kinesis.extendedRetentionShardHour],
        ['  Kinesis long-term retention per GB-month', p.kinesis.longTermRetentionGbMonth],
        ['  Kinesis enhanced fan-out per consumer-shard-hour', p.kinesis.efoConsumerShardHour],
        ['  Kinesis enhanced fan-out retrieval per GB', p.kinesis.efoDataRetrievalGb],
        ...(['standard', 'advantage'] as const).flatMap((mode) => {
          const d = p.kinesisOnDemand[mode];
          const name = `  Kinesis On-demand ${mode === 'standard' ? 'Standard' : 'Advantage'}`;
          return [
            [`${name} per stream-hour`, d.streamHour],
            [`${name} ingest per GB`, d.ingestGb],
            [`${name} polling / enhanced fan-out retrieval per GB`, `${d.retrievalGb} / ${d.efoRetrievalGb}`],
            [
              `${name} retention per GB-month (day 2-7 / beyond)`,
              `${d.extendedRetentionGbMonth} / ${d.longTermRetentionGbMonth}`,
            ],
          ];
        }),
        ['  Kinesis S3 delivery per GB', p.kinesisS3Delivery.perGbDelivered ?? 'not known'],
        ...(p.athena ? [['  Athena per TB scanned', p.athena.perTbScanned]] : []),
        ['  assumed GB-seconds per control task', p.assumptions.controlTaskGbSeconds],
        ['  assumed GB-seconds per GB of record lines converted', p.assumptions.columnarGbSecondsPerLineGb],
        [
          '  assumed Parquet bytes per gzip JSONL byte (nothing converted yet)',
          p.assumptions.parquetPerGzipRatio,
        ],
      ],
    ),
  );
  out.push(`  ${p.source}`);
  if (p.kinesis.readSource) out.push(`  ${p.kinesis.readSource}`);
  out.push(`  ${p.kinesisOnDemand.source}`, `  ${p.kinesisS3Delivery.source}`);
  if (p.athena?.source) out.push(`  ${p.athena.source}`);
  if (p.assumptions.columnarSource) out.push(`  ${p.assumptions.columnarSource}`);
  return out.join('\n');
}

/** The options side by side: reservoir first, then what else could keep the same history. */
function optionColumns(estimate: StreamCostEstimate): [string, CostColumn][] {
  return [
    ['reservoir', estimate.reservoir],
    ['Data Firehose', estimate.firehose],
    ['Kinesis retention, provisioned', estimate.kinesisRetention],
    ['Kinesis retention, On-demand Standard', estimate.onDemandRetention.standard],
    ['Kinesis retention, On-demand Advantage', estimate.onDemandRetention.advantage],
    ['Kinesis S3 delivery', estimate.kinesisS3Delivery],
  ];
}

/** e.g. "Athena, one query reading the whole archive: JSONL 10.0 GiB $0.0488 · Parquet 4.7 GiB $0.0229 (held now)". */
export function formatAthenaScan(scan: AthenaScanEstimate, prices: PriceTable): string {
  const usd = (value: number) => `$${value.toFixed(4)}`;
  return (
    `Athena at $${prices.athena!.perTbScanned}/TB, one query reading the whole archive: ` +
    `JSONL ${formatBytes(scan.jsonl.bytes)} ${usd(scan.jsonl.usd)} · ` +
    `Parquet at most ${formatBytes(scan.parquet.bytes)} ${usd(scan.parquet.usd)} ` +
    `(${scan.parquet.estimated ? 'estimated: nothing converted yet' : 'held now'}; a query reads only the columns it names)`
  );
}

/**
 * One line: each read mode's monthly cost and what it stands on, the current one marked, e.g.
 * "read: polling $0.0000 (in the shard-hours; shares each shard's 2 MiB/s) · enhanced fan-out
 * $22.0475 (1461 consumer-shard-hours, 10.0 GB); now polling (default)".
 */
export function formatRead(read: ReadCostEstimate, usd: (value: number) => string): string {
  const gb = `${read.gbRetrieved.toFixed(1)} GB`;
  const polling =
    read.pricedAs === 'on-demand'
      ? `${gb} on-demand retrieval; shares each shard's 2 MiB/s`
      : "in the shard-hours; shares each shard's 2 MiB/s";
  const efo =
    read.pricedAs === 'on-demand'
      ? `${gb} on-demand retrieval, no consumer-shard-hours`
      : `${Math.round(read.consumerShardHours)} consumer-shard-hours, ${gb}`;
  const cost = (column: CostColumn) => usd(column.total);
  const advantage = read.advantage
    ? ` (On-demand Standard; in an On-demand Advantage account: polling ${usd(read.advantage.polling)}, ` +
      `enhanced fan-out ${usd(read.advantage.enhancedFanOut)})`
    : '';
  return (
    `read: polling ${cost(read.polling)} (${polling}) · enhanced fan-out ${cost(read.enhancedFanOut)} (${efo})${advantage}; ` +
    `now ${read.mode === 'efo' ? 'enhanced fan-out' : 'polling'} (${read.from})`
  );
}
