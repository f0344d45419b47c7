/**
 * `reservoir cost`: a monthly estimate per archived stream, from what the archive holds and
 * what recent runs used, beside the same volume kept by Data Firehose or by the stream itself.
 * Pure arithmetic over a dated price table (pricing/us-east-1.json); every figure is USD/month.
 */
import type { StreamReadMode } from './read-policy';

export interface PriceTable {
  asOf: string;
  region: string;
  currency: string;
  source: string;
  lambda: { gbSecond: number; requestsPerMillion: number };
  stepFunctions: { standardTransitionsPerThousand: number };
  s3: { standardGbMonth: number; putPerThousand: number; getPerThousand: number };
  firehose: { ingestionGb: number; recordRoundingKiB: number };
  kinesis: {
    extendedRetentionShardHour: number;
    longTermRetentionGbMonth: number;
    maxRetentionDays: number;
    /** Provisioned streams: enhanced fan-out, per consumer and shard, every hour it is registered. */
    efoConsumerShardHour: number;
    /** Provisioned streams: enhanced fan-out, per GB it delivers (polling is not charged). */
    efoDataRetrievalGb: number;
    /** Where the read prices come from, and when. */
    readSource?: string;
    /** Provisioned streams: per million PUT payload units (25 KB chunks of a record); replay plans. */
    putPayloadUnitsPerMillion?: number;
    /** Where the write prices come from, and when. */
    writeSource?: string;
  };
  /** On-demand streams, in each of the two on-demand modes (Advantage is chosen per account). */
  kinesisOnDemand: {
    standard: OnDemandPrices;
    advantage: OnDemandPrices;
    /** Where each figure comes from, and which are bounds rather than list prices. */
    source: string;
  };
  /**
   * Kinesis delivering an on-demand stream to S3 itself (CreateChannel). `perGbDelivered` null: the
   * price is not known, and the delivery line stays unpriced (said beside the total).
   */
  kinesisS3Delivery: { perGbDelivered: number | null; source: string };
  /** Athena SQL: USD per TB (2^40 bytes) scanned, MB rounded up, a minimum per query (optional in a user's table). */
  athena?: AthenaPrices & { source?: string };
  assumptions: {
    /** Control tasks (discover, plan, record, summarize) are not metered: GB-seconds each. */
    controlTaskGbSeconds: number;
    shardsPerPage: number;
    /** Lambda GB-seconds ConvertHour takes per GB of record lines (bench section "columnar"). */
    columnarGbSecondsPerLineGb: number;
    /** Parquet bytes per gzip JSONL byte (bench section "columnar"): the Parquet of a stream not converted yet. */
    parquetPerGzipRatio: number;
    /** Where the columnar figures come from. */
    columnarSource?: string;
  };
}

/** One on-demand mode's prices, per GB (GiB) or GB-month. */
export interface OnDemandPrices {
  streamHour: number;
  ingestGb: number;
  retrievalGb: number;
  efoRetrievalGb: number;
  /** Data kept from day 2 to day 7. */
  extendedRetentionGbMonth: number;
  /** Data kept beyond 7 days (to kinesis.maxRetentionDays). */
  longTermRetentionGbMonth: number;
}

/** What one stream puts through the archive, measured (see src/cost/measure-stream.ts). */
export interface StreamVolume {
  stream: string;
  /** Shards an archive run visits (open ones, and closed ones within retention). */
  shards: number;
  /**
   * Open shards now (ListShards, no ending sequence number): what enhanced fan-out bills by the
   * hour. When the stream cannot be listed, the shards recent runs visited.
   */
  openShards: number;
  /** DescribeStreamSummary's StreamModeDetails; null when the stream could not be described. */
  capacityMode: 'provisioned' | 'on-demand' | null;
  /** How the newest run that archived the stream read it (null: no run, or one before read policies). */
  lastRunReadMode: StreamReadMode | null;
  /** What the archive holds now. */
  storedBytes: number;
  /** Days between the oldest archived partition and now. */
  historyDays: number;
  /** Growth per month, from the newest partitions. */
  monthlyObjects: number;
  monthlyCompressedBytes: number;
  monthlyRecords: number;
  /** Partition key plus payload bytes, as Kinesis counts stored data. */
  monthlyRawBytes: number;
  /** Bytes of record lines (uncompressed JSONL): what the columnar conversion reads. */
  monthlyLineBytes: number;
  /** Hour partitions archived per month: ConvertHour runs once for each. */
  monthlyHours: number;
  /** Parquet bytes of the columnar tree now; null when no hour is converted yet. */
  columnarBytes: number | null;
  /** Mean billed size of a record in Firehose (rounded up per record). */
  firehoseBilledBytesPerRecord: number;
  runsPerMonth: number;
  /**
   * Where runsPerMonth came from: `given` (--runs-per-month), or the spacing of `runs` recent runs
   * spanning `spanHours` (one run alone: the hourly schedule is assumed).
   */
  runHistory: { source: 'given' } | { source: 'observed'; runs: number; spanHours: number };
  /** Per run, from recent run summaries: ArchiveShard invocations and their GB-seconds. */
  perRun: { archiveShardInvocations: number; archiveShardGbSeconds: number };
}

export interface CostLine {
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface CostColumn {
  lines: CostLine[];
  total: number;
  note?: string;
  /** Lines whose price the table does not know (counted as $0 in the total). */
  unpriced?: string[];
}

/** How the archive reads the stream now, and what decided it (see readPolicyFor). */
export interface ReadModeChoice {
  mode: StreamReadMode;
  /** `tag reservoir:read-mode`, `RESERVOIR_EFO_STREAMS` (deployment parameter efoStreams) or `default`. */
  from: string;
}

/** What reading the stream costs each way; the current mode's lines are also in the reservoir column. */
export interface ReadCostEstimate extends ReadModeChoice {
  /** The capacity mode the read prices are for (provisioned when it could not be read). */
  pricedAs: 'provisioned' | 'on-demand';
  /** Consumer-shard-hours (open shards × hours) and GB read per month (the archived raw bytes). */
  consumerShardHours: number;
  gbRetrieved: number;
  polling: CostColumn;
  enhancedFanOut: CostColumn;
  /**
   * On-demand streams: the same reads in an account on On-demand Advantage (USD per month). The
   * polling and enhancedFanOut columns are On-demand Standard's: the mode of the account is not
   * visible per stream.
   */
  advantage?: { polling: number; enhancedFanOut: number };
  /** When the newest run read the stream otherwise than the mode found now. */
  note?: string;
}

export interface StreamCostEstimate {
  stream: string;
  volume: StreamVolume;
  /** Why the estimate is weak (too little history): shown beside it, never hidden. */
  caveats: string[];
  /** Includes what the stream's current read mode costs (its `read` lines). */
  reservoir: CostColumn;
  read: ReadCostEstimate;
  firehose: CostColumn;
  /** The same history kept in the stream: provisioned (shard-hours and GB-month). */
  kinesisRetention: CostColumn;
  /** The same history kept in an on-demand stream, in each on-demand mode. */
  onDemandRetention: { standard: CostColumn; advantage: CostColumn };
  /** Kinesis delivering the stream to S3 itself (on-demand streams only). */
  kinesisS3Delivery: CostColumn;
  /** What one Athena query reading every byte of the stream's archive costs, per form. */
  athenaFullScan: AthenaScanEstimate | null;
}

/** A full scan of the archive in Athena: JSONL (gzip, every byte read) and Parquet (at most its bytes). */
export interface AthenaScanEstimate {
  jsonl: { bytes: number; usd: number };
  parquet: { bytes: number; usd: number; estimated: boolean };
}

/** What the stream's retention tags ask for, where the cost depends on it. */
export interface RetentionChoice {
  /** Tag reservoir:jsonl-days: converted JSONL expires after this many days (Parquet stays). */
  jsonlDays?: number;
}

export const DAYS_PER_MONTH = 30.4375;
const HOURS_PER_MONTH = DAYS_PER_MONTH * 24;
const GIB = 1024 ** 3;

/**
 * State transitions of one archive run (statemachines/archive.asl.yml): the fixed states,
 * four per page (LoadShardPage, ArchiveShards, NextPage, MorePages), and per shard its child
 * execution: ArchiveShard + ShardDone per invocation, then RecordShardResult.
 */
export function archiveRunTransitions(
  shards: number,
  pages: number,
  archiveShardInvocations: number,
): number {
  const fixed = 9; // DiscoverStreams … ArchiveComplete, with no LATEST stream to snapshot
  return fixed + 4 * pages + shards + 2 * archiveShardInvocations;
}

/** Control-task invocations of one run: discover, retention, plan, a page load each, a result per shard, summary. */
export function archiveRunControlInvocations(shards: number, pages: number): number {
  return 4 + pages + shards;
}

export function estimateStreamCost(
  volume: StreamVolume,
  prices: PriceTable,
  readMode: ReadModeChoice = { mode: 'polling', from: 'default' },
  retention: RetentionChoice = {},
): StreamCostEstimate {
  const read = readCost(volume, prices, readMode);
  const current = read.mode === 'efo' ? read.enhancedFanOut : read.polling;
  return {
    stream: volume.stream,
    volume,
    caveats: estimateCaveats(volume),
    reservoir: column([
      ...reservoirLines(volume, prices),
      ...columnarLines(volume, prices, retention),
      ...current.lines,
    ]),
    read,
    firehose: firehoseColumn(volume, prices),
    kinesisRetention: kinesisRetentionColumn(volume, prices),
    onDemandRetention: {
      standard: onDemandRetentionColumn(volume, prices, 'standard'),
      advantage: onDemandRetentionColumn(volume, prices, 'advantage'),
    },
    kinesisS3Delivery: kinesisS3DeliveryColumn(volume, prices),
    athenaFullScan: athenaFullScan(volume, prices),
  };
}

/**
 * Reading the stream by polling and by enhanced fan-out, for what the archive takes from it each
 * month. Provisioned: polling is in the shard-hours (it shares each shard's 2 MiB/s and 5 reads/s
 * with every other polling consumer); enhanced fan-out bills every open shard each hour the
 * consumer is registered, and each GB it delivers. On-demand: both bill per GB read, nothing per hour.
 */
export function readCost(v: StreamVolume, p: PriceTable, choice: ReadModeChoice): ReadCostEstimate {
  const k = p.kinesis;
  const standard = p.kinesisOnDemand.standard;
  const gb = v.monthlyRawBytes / GIB;
  const onDemand = v.capacityMode === 'on-demand';
  const consumerShardHours = onDemand ? 0 : v.openShards * HOURS_PER_MONTH;
  const polling = onDemand
    ? column(
        [line('Kinesis reads: polling, on-demand retrieval', gb, 'GB', gb * standard.retrievalGb)],
        "shares each shard's 2 MiB/s and 5 reads/s with every other polling consumer",
      )
    : column(
        [line('Kinesis reads: polling (in the shard-hours)', gb, 'GB', 0)],
        "no charge beyond the stream's shard-hours; shares each shard's 2 MiB/s and 5 reads/s with every other polling consumer",
      );
  const enhancedFanOut = onDemand
    ? column(
        [
          line(
            'Kinesis reads: enhanced fan-out, on-demand retrieval',
            gb,
            'GB',
            gb * standard.efoRetrievalGb,
          ),
        ],
        'its own 2 MiB/s per shard; on-demand streams bill it per GB only (priced as On-demand Standard)',
      )
    : column(
        [
          line(
            'Kinesis reads: enhanced fan-out consumer-shard-hours',
            consumerShardHours,
            'consumer-shard-hours',
            consumerShardHours * k.efoConsumerShardHour,
          ),
          line('Kinesis reads: enhanced fan-out retrieval', gb, 'GB', gb * k.efoDataRetrievalGb),
        ],
        `its own 2 MiB/s per shard; ${v.openShards} open shard(s) billed every hour the consumer is registered, read or not`,
      );
  const note = readModeNote(choice, v.lastRunReadMode);
  return {
    ...choice,
    pricedAs: onDemand ? 'on-demand' : 'provisioned',
    consumerShardHours: round(consumerShardHours, 3),
    gbRetrieved: round(gb, 3),
    polling,
    enhancedFanOut,
    ...(onDemand
      ? {
          advantage: {
            polling: round(gb * p.kinesisOnDemand.advantage.retrievalGb, 4),
            enhancedFanOut: round(gb * p.kinesisOnDemand.advantage.efoRetrievalGb, 4),
          },
        }
      : {}),
    ...(note ? { note } : {}),
  };
}

/**
 * The deployment parameter efoStreams is not visible from the CLI (only RESERVOIR_EFO_STREAMS in
 * its environment): a newest run that read otherwise is said, with what may explain it.
 */
function readModeNote(choice: ReadModeChoice, lastRun: StreamReadMode | null): string | undefined {
  if (lastRun === null || lastRun === choice.mode) return undefined;
  return lastRun === 'efo'
    ? 'the newest archive run read it with enhanced fan-out: if the deployment lists it in efoStreams, ' +
        'set RESERVOIR_EFO_STREAMS to match'
    : 'the newest archive run read it by polling: enhanced fan-out starts with the next run';
}

function reservoirLines(v: StreamVolume, p: PriceTable): CostLine[] {
  const pages = Math.max(1, Math.ceil(v.shards / p.assumptions.shardsPerPage));
  const control = archiveRunControlInvocations(v.shards, pages);
  const invocations = v.runsPerMonth * (v.perRun.archiveShardInvocations + control);
  const gbSeconds =
    v.runsPerMonth * (v.perRun.archiveShardGbSeconds + control * p.assumptions.controlTaskGbSeconds);
  const transitions =
    v.runsPerMonth * archiveRunTransitions(v.shards, pages, v.perRun.archiveShardInvocations);
  // Each block: pending checkpoint, object, commit. Each run and shard: final checkpoint and result
  // file; each run: plan, pages, summary.
  const puts = v.monthlyObjects * 3 + v.runsPerMonth * (v.shards * 2 + pages + 2);
  // Each run and shard: its checkpoint, its parents' checkpoints (about one), the summary's read.
  const gets = v.runsPerMonth * v.shards * 3;
  return [
    line('Lambda compute', gbSeconds, 'GB-s', gbSeconds * p.lambda.gbSecond),
    line('Lambda requests', invocations, 'requests', (invocations / 1e6) * p.lambda.requestsPerMillion),
    line(
      'Step Functions transitions',
      transitions,
      'transitions',
      (transitions / 1000) * p.stepFunctions.standardTransitionsPerThousand,
    ),
    line('S3 PUT', puts, 'requests', (puts / 1000) * p.s3.putPerThousand),
    line('S3 GET', gets, 'requests', (gets / 1000) * p.s3.getPerThousand),
    line(
      'S3 storage (held now)',
      v.storedBytes / GIB,
      'GB-month',
      (v.storedBytes / GIB) * p.s3.standardGbMonth,
    ),
  ];
}

function firehoseColumn(v: StreamVolume, p: PriceTable): CostColumn {
  const billedGb = (v.monthlyRecords * v.firehoseBilledBytesPerRecord) / GIB;
  return column(
    [
      line('ingestion (rounded per record)', billedGb, 'GB', billedGb * p.firehose.ingestionGb),
      line(
        'S3 storage (same bytes held)',
        v.storedBytes / GIB,
        'GB-month',
        (v.storedBytes / GIB) * p.s3.standardGbMonth,
      ),
    ],
    'Firehose reading the stream and writing gzip to S3; no replay, compaction or exactly-once.',
  );
}

function kinesisRetentionColumn(v: StreamVolume, p: PriceTable): CostColumn {
  const days = Math.min(Math.max(1, v.historyDays), p.kinesis.maxRetentionDays);
  const lines: CostLine[] = [];
  if (days > 1) {
    const shardHours = v.shards * HOURS_PER_MONTH;
    lines.push(
      line(
        'extended retention (to 7 days)',
        shardHours,
        'shard-hours',
        shardHours * p.kinesis.extendedRetentionShardHour,
      ),
    );
  }
  if (days > 7) {
    // In steady state the stream holds (days - 7) days of raw data beyond the first week.
    const gbMonth = ((v.monthlyRawBytes / DAYS_PER_MONTH) * (days - 7)) / GIB;
    lines.push(
      line(
        'long-term retention (beyond 7 days)',
        gbMonth,
        'GB-month',
        gbMonth * p.kinesis.longTermRetentionGbMonth,
      ),
    );
  }
  const capped = v.historyDays > p.kinesis.maxRetentionDays;
  return column(
    lines,
    `the stream's retention set to ${Math.ceil(days)} days (the archive's history)` +
      (capped ? `: capped at ${p.kinesis.maxRetentionDays}, the archive holds more` : '') +
      '; provisioned mode; reads of old data cost extra.',
  );
}

export interface AthenaPrices {
  perTbScanned: number;
  minimumMbPerQuery: number;
}

/** What Athena bills for a query that scanned `bytesScanned`: MB (2^20) rounded up, at least the minimum, per TB (2^40). */
export function athenaQueryCost(bytesScanned: number, prices: AthenaPrices): number {
  const mb = Math.max(Math.ceil(bytesScanned / 2 ** 20), prices.minimumMbPerQuery);
  return (mb / 2 ** 20) * prices.perTbScanned;
}

/** The Parquet the stream has (or would have: the bench's ratio to gzip JSONL), and whether it is measured. */
function parquetBytes(v: StreamVolume, p: PriceTable): { bytes: number; estimated: boolean } {
  return v.columnarBytes !== null
    ? { bytes: v.columnarBytes, estimated: false }
    : { bytes: v.storedBytes * p.assumptions.parquetPerGzipRatio, estimated: true };
}

/**
 * The columnar copy: ConvertHour once per archived hour (compute from the bench's GB-seconds per GB
 * of record lines; one request and one state transition each; S3: the hour's objects read and
 * tagged, a Parquet file and a manifest written, the manifest read), the Parquet held, and with
 * jsonl-days the JSONL that expires once converted (in steady state: N days of growth are kept).
 */
function columnarLines(v: StreamVolume, p: PriceTable, retention: RetentionChoice): CostLine[] {
  const gbSeconds = (v.monthlyLineBytes / GIB) * p.assumptions.columnarGbSecondsPerLineGb;
  const hours = v.monthlyHours;
  const puts = v.monthlyObjects + 2 * hours;
  const gets = v.monthlyObjects + hours;
  const parquet = parquetBytes(v, p);
  const lines = [
    line('columnar conversion: Lambda compute', gbSeconds, 'GB-s', gbSeconds * p.lambda.gbSecond),
    line(
      'columnar conversion: requests and transitions',
      hours,
      'hours converted',
      hours * (p.lambda.requestsPerMillion / 1e6 + p.stepFunctions.standardTransitionsPerThousand / 1000),
    ),
    line(
      'columnar conversion: S3 requests',
      puts + gets,
      'requests',
      (puts / 1000) * p.s3.putPerThousand + (gets / 1000) * p.s3.getPerThousand,
    ),
    line(
      parquet.estimated
        ? 'S3 storage, Parquet (estimated: nothing converted yet)'
        : 'S3 storage, Parquet (held now)',
      parquet.bytes / GIB,
      'GB-month',
      (parquet.bytes / GIB) * p.s3.standardGbMonth,
    ),
  ];
  if (retention.jsonlDays !== undefined) {
    const kept = (v.monthlyCompressedBytes / DAYS_PER_MONTH) * retention.jsonlDays;
    // Negative: a saving (never -0, which JSON would print as 0 but tests tell apart).
    const expired = v.storedBytes > kept ? (kept - v.storedBytes) / GIB : 0;
    lines.push(
      line(
        `S3 storage, JSONL expired after ${retention.jsonlDays} days (jsonl-days)`,
        expired,
        'GB-month',
        expired * p.s3.standardGbMonth,
      ),
    );
  }
  return lines;
}

/**
 * The archive's history kept in an on-demand stream instead: from day 2 to day 7 at the extended
 * price, beyond at the long-term price (steady state: each day's raw bytes held that long).
 */
function onDemandRetentionColumn(v: StreamVolume, p: PriceTable, mode: 'standard' | 'advantage'): CostColumn {
  const prices = p.kinesisOnDemand[mode];
  const days = Math.min(Math.max(1, v.historyDays), p.kinesis.maxRetentionDays);
  const dailyGb = v.monthlyRawBytes / DAYS_PER_MONTH / GIB;
  const lines: CostLine[] = [];
  if (days > 1) {
    const gbMonth = dailyGb * (Math.min(days, 7) - 1);
    lines.push(
      line('extended retention (day 2 to 7)', gbMonth, 'GB-month', gbMonth * prices.extendedRetentionGbMonth),
    );
  }
  if (days > 7) {
    const gbMonth = dailyGb * (days - 7);
    lines.push(
      line(
        'long-term retention (beyond 7 days)',
        gbMonth,
        'GB-month',
        gbMonth * prices.longTermRetentionGbMonth,
      ),
    );
  }
  return column(
    lines,
    (mode === 'advantage' ? 'an account-level mode; ' : '') +
      `the stream's retention set to ${Math.ceil(days)} days` +
      (v.historyDays > p.kinesis.maxRetentionDays ? ` (capped at ${p.kinesis.maxRetentionDays})` : '') +
      '; ingest and reads are paid either way; reads of old data are billed as retrieval.',
  );
}

/**
 * Kinesis delivering the stream to S3 itself: per GB delivered (the raw records), and the same
 * bytes held as the archive holds now. Unpriced when the table has no delivery price.
 */
function kinesisS3DeliveryColumn(v: StreamVolume, p: PriceTable): CostColumn {
  const gb = v.monthlyRawBytes / GIB;
  const price = p.kinesisS3Delivery.perGbDelivered;
  const result = column(
    [
      line('delivery (per GB delivered)', gb, 'GB', gb * (price ?? 0)),
      line(
        'S3 storage (same bytes held)',
        v.storedBytes / GIB,
        'GB-month',
        (v.storedBytes / GIB) * p.s3.standardGbMonth,
      ),
    ],
    (v.capacityMode === 'on-demand' ? '' : 'needs the stream in on-demand mode; ') +
      'no backfill, no partition key or sequence number in the S3 objects, no replay, compaction or SQL view.',
  );
  return price === null ? { ...result, unpriced: ['delivery (per GB delivered)'] } : result;
}

/** Athena bills bytes scanned (MB rounded up, a minimum per query): gzip JSONL is read whole, Parquet at most whole. */
function athenaFullScan(v: StreamVolume, p: PriceTable): AthenaScanEstimate | null {
  if (!p.athena) return null;
  const athena = p.athena;
  const cost = (bytes: number) => round(athenaQueryCost(bytes, athena), 6);
  const parquet = parquetBytes(v, p);
  return {
    jsonl: { bytes: Math.round(v.storedBytes), usd: cost(v.storedBytes) },
    parquet: { bytes: Math.round(parquet.bytes), usd: cost(parquet.bytes), estimated: parquet.estimated },
  };
}

function line(item: string, quantity: number, unit: string, usd: number): CostLine {
  return { item, quantity: round(quantity, 3), unit, usd: round(usd, 4) };
}

function column(lines: CostLine[], note?: string): CostColumn {
  return {
    lines,
    total: round(
      lines.reduce((sum, l) => sum + l.usd, 0),
      4,
    ),
    ...(note ? { note } : {}),
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Firehose bills each record rounded up to the next `roundingKiB`. */
export function firehoseBilledBytes(recordBytes: number, roundingKiB: number): number {
  const unit = roundingKiB * 1024;
  return Math.max(1, Math.ceil(recordBytes / unit)) * unit;
}

const ON_DEMAND_PRICES: readonly (keyof OnDemandPrices)[] = [
  'streamHour',
  'ingestGb',
  'retrievalGb',
  'efoRetrievalGb',
  'extendedRetentionGbMonth',
  'longTermRetentionGbMonth',
];

/** A price table must have every price as a non-negative number and a date. */
export function checkPriceTable(value: unknown): PriceTable {
  const table = value as PriceTable;
  const problems: string[] = [];
  if (typeof table?.asOf !== 'string' || Number.isNaN(Date.parse(table.asOf)))
    problems.push('asOf: must be a date');
  const numbers: [string, unknown][] = [
    ['lambda.gbSecond', table?.lambda?.gbSecond],
    ['lambda.requestsPerMillion', table?.lambda?.requestsPerMillion],
    ['stepFunctions.standardTransitionsPerThousand', table?.stepFunctions?.standardTransitionsPerThousand],
    ['s3.standardGbMonth', table?.s3?.standardGbMonth],
    ['s3.putPerThousand', table?.s3?.putPerThousand],
    ['s3.getPerThousand', table?.s3?.getPerThousand],
    ['firehose.ingestionGb', table?.firehose?.ingestionGb],
    ['firehose.recordRoundingKiB', table?.firehose?.recordRoundingKiB],
    ['kinesis.extendedRetentionShardHour', table?.kinesis?.extendedRetentionShardHour],
    ['kinesis.longTermRetentionGbMonth', table?.kinesis?.longTermRetentionGbMonth],
    ['kinesis.maxRetentionDays', table?.kinesis?.maxRetentionDays],
    ['kinesis.efoConsumerShardHour', table?.kinesis?.efoConsumerShardHour],
    ['kinesis.efoDataRetrievalGb', table?.kinesis?.efoDataRetrievalGb],
    ...(['standard', 'advantage'] as const).flatMap((mode) =>
      ON_DEMAND_PRICES.map((name): [string, unknown] => [
        `kinesisOnDemand.${mode}.${name}`,
        table?.kinesisOnDemand?.[mode]?.[name],
      ]),
    ),
    ['assumptions.controlTaskGbSeconds', table?.assumptions?.controlTaskGbSeconds],
    ['assumptions.shardsPerPage', table?.assumptions?.shardsPerPage],
    ['assumptions.columnarGbSecondsPerLineGb', table?.assumptions?.columnarGbSecondsPerLineGb],
    ['assumptions.parquetPerGzipRatio', table?.assumptions?.parquetPerGzipRatio],
  ];
  // null: a price not known (said in the table's source note), never a guess.
  const delivery = table?.kinesisS3Delivery?.perGbDelivered;
  if (delivery !== null) numbers.push(['kinesisS3Delivery.perGbDelivered', delivery]);
  for (const [field, number] of numbers) {
    if (typeof number !== 'number' || !(number >= 0)) problems.push(`${field}: must be a number >= 0`);
  }
  if (problems.length > 0) throw new RangeError(`Invalid price table: ${problems.join('; ')}`);
  return table;
}

/**
 * What makes an estimate weak: a monthly figure extrapolated from under a day of archive, or a
 * run frequency from under a day of runs. The estimate is still given, marked with these.
 */
export function estimateCaveats(v: StreamVolume): string[] {
  const caveats: string[] = [];
  if (v.historyDays < 1) {
    caveats.push(
      `the archive holds ${(v.historyDays * 24).toFixed(1)} h of history: monthly volume is extrapolated from under a day`,
    );
  }
  if (v.capacityMode === null) {
    caveats.push(
      'the stream could not be described (DescribeStreamSummary): its reads are priced as provisioned',
    );
  }
  const runs = v.runHistory;
  if (runs.source === 'observed' && runs.runs < 2) {
    caveats.push('only one archive run seen: the hourly schedule is assumed (pass --runs-per-month)');
  } else if (runs.source === 'observed' && runs.spanHours < 24) {
    caveats.push(
      `run frequency from ${runs.runs} runs over ${runs.spanHours.toFixed(1)} h (under a day): ` +
        'pass --runs-per-month, or estimate again after a day of scheduled runs',
    );
  }
  return caveats;
}
