import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReadConfig } from '../../config/read-config';
import {
  checkPriceTable,
  estimateStreamCost,
  type CostColumn,
  type PriceTable,
  type ReadCostEstimate,
  type ReadModeChoice,
  type StreamCostEstimate,
} from '../../core/cost-model';
import type { StreamCatalog } from '../../core/ports';
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
    const readMode = await currentReadMode(deps.catalog, stream, readDefaults);
    estimates.push(estimateStreamCost(volume, prices, readMode));
  }
  const report: CostReport = { generatedAt: new Date().toISOString(), prices, streams: estimates };
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCost(report)}\n`);
  return report;
}

/**
 * How the archive reads the stream now: its tag reservoir:read-mode, or RESERVOIR_EFO_STREAMS in
 * this environment (a deployed stack's efoStreams is in its functions' environment, not here).
 */
async function currentReadMode(
  catalog: StreamCatalog,
  stream: string,
  defaults: ReadDefaults,
): Promise<ReadModeChoice> {
  const tags = await catalog.listTags(stream).catch(() => ({}));
  return {
    mode: readPolicyFor(stream, tags, defaults).policy.mode,
    from: readModeSource(stream, tags, defaults),
  };
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
  const usd = (value: number) => `$${value < 10 ? value.toFixed(4) : value.toFixed(2)}`;
  const out: string[] = [];
  for (const estimate of report.streams) {
    const v = estimate.volume;
    out.push(
      `${estimate.stream}: ${v.shards} shard(s); archive holds ${formatBytes(v.storedBytes)} over ${v.historyDays.toFixed(1)} days; ` +
        `per month ~${Math.round(v.monthlyRecords)} records, ${formatBytes(v.monthlyCompressedBytes)} gzip, ${Math.round(v.runsPerMonth)} runs`,
    );
    for (const caveat of estimate.caveats) out.push(`  ! weak estimate: ${caveat}`);
    const rows: (string | number)[][] = [];
    for (const [name, column] of [
      ['reservoir', estimate.reservoir],
      ['Data Firehose', estimate.firehose],
      ['Kinesis retention', estimate.kinesisRetention],
    ] as const) {
      for (const line of column.lines)
        rows.push([name, line.item, `${line.quantity} ${line.unit}`, usd(line.usd)]);
      rows.push([name, 'total per month', '', usd(column.total)]);
    }
    out.push(
      table(
        ['  option', 'item', 'quantity', 'USD/month'],
        rows.map((row) => [`  ${row[0]}`, ...row.slice(1)]),
      ),
    );
    out.push(`  ${formatRead(estimate.read, usd)}`);
    if (estimate.read.note) out.push(`  ! ${estimate.read.note}`);
    for (const [name, column] of [
      ['Data Firehose', estimate.firehose],
      ['Kinesis retention', estimate.kinesisRetention],
    ] as const) {
      if (column.note) out.push(`  ${name}: ${column.note}`);
    }
    out.push('');
  }
  const p = report.prices;
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
        ['  Kinesis on-demand polling retrieval per GB', p.kinesis.onDemandDataRetrievalGb],
        ['  Kinesis on-demand enhanced fan-out retrieval per GB', p.kinesis.onDemandEfoDataRetrievalGb],
        ['  assumed GB-seconds per control task', p.assumptions.controlTaskGbSeconds],
      ],
    ),
  );
  out.push(`  ${p.source}`);
  if (p.kinesis.readSource) out.push(`  ${p.kinesis.readSource}`);
  return out.join('\n');
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
  return (
    `read: polling ${cost(read.polling)} (${polling}) · enhanced fan-out ${cost(read.enhancedFanOut)} (${efo}); ` +
    `now ${read.mode === 'efo' ? 'enhanced fan-out' : 'polling'} (${read.from})`
  );
}
