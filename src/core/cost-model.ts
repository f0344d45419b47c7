/**
 * `reservoir cost`: a monthly estimate per archived stream, from what the archive holds and
 * what recent runs used, beside the same volume kept by Data Firehose or by the stream itself.
 * Pure arithmetic over a dated price table (pricing/us-east-1.json); every figure is USD/month.
 */
export interface PriceTable {
  asOf: string;
  region: string;
  currency: string;
  source: string;
  lambda: { gbSecond: number; requestsPerMillion: number };
  stepFunctions: { standardTransitionsPerThousand: number };
  s3: { standardGbMonth: number; putPerThousand: number; getPerThousand: number };
  firehose: { ingestionGb: number; recordRoundingKiB: number };
  kinesis: { extendedRetentionShardHour: number; longTermRetentionGbMonth: number; maxRetentionDays: number };
  assumptions: {
    /** Control tasks (discover, plan, record, summarize) are not metered: GB-seconds each. */
    controlTaskGbSeconds: number;
    shardsPerPage: number;
  };
}

/** What one stream puts through the archive, measured (see src/cost/measure-stream.ts). */
export interface StreamVolume {
  stream: string;
  /** Shards an archive run visits (open ones, and closed ones within retention). */
  shards: number;
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
}

export interface StreamCostEstimate {
  stream: string;
  volume: StreamVolume;
  /** Why the estimate is weak (too little history): shown beside it, never hidden. */
  caveats: string[];
  reservoir: CostColumn;
  firehose: CostColumn;
  kinesisRetention: CostColumn;
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

export function estimateStreamCost(volume: StreamVolume, prices: PriceTable): StreamCostEstimate {
  return {
    stream: volume.stream,
    volume,
    caveats: estimateCaveats(volume),
    reservoir: reservoirColumn(volume, prices),
    firehose: firehoseColumn(volume, prices),
    kinesisRetention: kinesisRetentionColumn(volume, prices),
  };
}

function reservoirColumn(v: StreamVolume, p: PriceTable): CostColumn {
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
  return column([
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
  ]);
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
    ['assumptions.controlTaskGbSeconds', table?.assumptions?.controlTaskGbSeconds],
    ['assumptions.shardsPerPage', table?.assumptions?.shardsPerPage],
  ];
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
