import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  archiveRunTransitions,
  checkPriceTable,
  estimateCaveats,
  estimateStreamCost,
  firehoseBilledBytes,
  type CostColumn,
  type PriceTable,
  type StreamVolume,
} from '../../src/core/cost-model';
import { readModeSource } from '../../src/core/read-policy';

const prices = checkPriceTable(
  JSON.parse(readFileSync(join(__dirname, '../../pricing/us-east-1.json'), 'utf8')),
);
const GIB = 1024 ** 3;

const volume: StreamVolume = {
  stream: 'orders',
  shards: 2,
  openShards: 2,
  capacityMode: 'provisioned',
  lastRunReadMode: null,
  storedBytes: 10 * GIB,
  historyDays: 30,
  monthlyObjects: 1000,
  monthlyCompressedBytes: 2 * GIB,
  monthlyRecords: 1_000_000,
  monthlyRawBytes: 10 * GIB,
  monthlyLineBytes: 12 * GIB,
  monthlyHours: 730.5,
  columnarBytes: 4 * GIB,
  firehoseBilledBytesPerRecord: 5120,
  runsPerMonth: 730,
  runHistory: { source: 'observed', runs: 20, spanHours: 72 },
  perRun: { archiveShardInvocations: 2, archiveShardGbSeconds: 1 },
};

const usd = (column: { lines: { item: string; usd: number }[] }, item: string) =>
  column.lines.find((line) => line.item.startsWith(item))!.usd;

describe('cost model', () => {
  it('rounds every Firehose record up to 5 KiB', () => {
    expect(firehoseBilledBytes(1, 5)).toBe(5120);
    expect(firehoseBilledBytes(5120, 5)).toBe(5120);
    expect(firehoseBilledBytes(5121, 5)).toBe(10240);
    expect(firehoseBilledBytes(0, 5)).toBe(5120);
  });

  it('counts the archive state machine transitions of a run', () => {
    // 9 fixed, 4 for the page, and per shard RecordShardResult plus 2 per ArchiveShard invocation.
    expect(archiveRunTransitions(2, 1, 6)).toBe(9 + 4 + 2 + 12);
  });

  it('prices reservoir from the measured runs and the archive', () => {
    const { reservoir } = estimateStreamCost(volume, prices);
    // Per run: 2 ArchiveShard invocations (1 GB-s) + 7 control tasks (0.1 GB-s each).
    expect(usd(reservoir, 'Lambda compute')).toBeCloseTo(730 * 1.7 * 0.0000166667, 4);
    expect(usd(reservoir, 'Lambda requests')).toBeCloseTo(((730 * 9) / 1e6) * 0.2, 4);
    expect(usd(reservoir, 'Step Functions')).toBeCloseTo(((730 * (9 + 4 + 2 + 4)) / 1000) * 0.025, 4);
    expect(usd(reservoir, 'S3 PUT')).toBeCloseTo(((1000 * 3 + 730 * 7) / 1000) * 0.005, 4);
    expect(usd(reservoir, 'S3 storage')).toBeCloseTo(10 * 0.023, 4);
    expect(reservoir.total).toBeCloseTo(
      reservoir.lines.reduce((sum, line) => sum + line.usd, 0),
      4,
    );
  });

  it('prices Firehose on rounded records and Kinesis on shard-hours plus data beyond 7 days', () => {
    const { firehose, kinesisRetention } = estimateStreamCost(volume, prices);
    expect(usd(firehose, 'ingestion')).toBeCloseTo(((1_000_000 * 5120) / GIB) * 0.029, 4);
    expect(usd(kinesisRetention, 'extended')).toBeCloseTo(2 * 730.5 * 0.02, 2);
    expect(usd(kinesisRetention, 'long-term')).toBeCloseTo((10 / 30.4375) * 23 * 0.023, 4);
    expect(kinesisRetention.note).toMatch(/30 days/);
  });

  it('says when the archive holds more history than a stream can keep', () => {
    const { kinesisRetention } = estimateStreamCost({ ...volume, historyDays: 500 }, prices);
    expect(kinesisRetention.note).toMatch(/capped at 365/);
    expect(usd(kinesisRetention, 'long-term')).toBeCloseTo((10 / 30.4375) * 358 * 0.023, 3);
  });

  it('needs no retention beyond a day for a day-old archive', () => {
    expect(estimateStreamCost({ ...volume, historyDays: 0.5 }, prices).kinesisRetention.total).toBe(0);
  });

  it('rejects a price table with a missing or negative price, naming the field', () => {
    expect(() => checkPriceTable({ ...prices, asOf: 'soon' })).toThrow(/asOf: must be a date/);
    expect(() => checkPriceTable({ ...prices, s3: { ...prices.s3, putPerThousand: -1 } })).toThrow(
      /s3\.putPerThousand: must be a number >= 0/,
    );
    expect(() => checkPriceTable({ ...prices, lambda: {} })).toThrow(/lambda\.gbSecond/);
  });
});

/** Round read prices, so that every figure below is exact. */
const readPrices: PriceTable = {
  ...prices,
  kinesis: { ...prices.kinesis, efoConsumerShardHour: 0.01, efoDataRetrievalGb: 0.02 },
  kinesisOnDemand: {
    ...prices.kinesisOnDemand,
    standard: { ...prices.kinesisOnDemand.standard, retrievalGb: 0.04, efoRetrievalGb: 0.05 },
  },
};
const lineOf = (column: CostColumn, item: string) => column.lines.find((line) => line.item.startsWith(item));

describe('read cost: polling beside enhanced fan-out', () => {
  // 2 open shards × 730.5 h = 1461 consumer-shard-hours; 10 GiB of raw records a month.
  const base = estimateStreamCost(volume, readPrices);
  const withoutReads = base.reservoir.total;

  it('given a provisioned stream read by polling, then polling costs nothing and enhanced fan-out is priced beside it', () => {
    const { read, reservoir } = base;
    expect(read).toMatchObject({ mode: 'polling', from: 'default', pricedAs: 'provisioned' });
    expect(read.consumerShardHours).toBe(1461);
    expect(read.gbRetrieved).toBe(10);
    expect(read.polling.total).toBe(0);
    expect(read.polling.note).toMatch(/shares each shard's 2 MiB\/s/);
    expect(read.enhancedFanOut.lines).toEqual([
      {
        item: 'Kinesis reads: enhanced fan-out consumer-shard-hours',
        quantity: 1461,
        unit: 'consumer-shard-hours',
        usd: 14.61,
      },
      { item: 'Kinesis reads: enhanced fan-out retrieval', quantity: 10, unit: 'GB', usd: 0.2 },
    ]);
    expect(read.enhancedFanOut.total).toBe(14.81);
    // The current mode's line is in the reservoir column, at $0.
    expect(lineOf(reservoir, 'Kinesis reads: polling')).toEqual({
      item: 'Kinesis reads: polling (in the shard-hours)',
      quantity: 10,
      unit: 'GB',
      usd: 0,
    });
    expect(lineOf(reservoir, 'Kinesis reads: enhanced')).toBeUndefined();
  });

  it('given a stream read with enhanced fan-out, then its total includes the consumer-shard-hours and GB', () => {
    const efo = estimateStreamCost(volume, readPrices, { mode: 'efo', from: 'tag reservoir:read-mode' });
    expect(efo.read).toMatchObject({ mode: 'efo', from: 'tag reservoir:read-mode' });
    expect(efo.reservoir.total).toBeCloseTo(withoutReads + 14.81, 4);
    expect(lineOf(efo.reservoir, 'Kinesis reads: enhanced fan-out consumer-shard-hours')!.usd).toBe(14.61);
    expect(lineOf(efo.reservoir, 'Kinesis reads: polling')).toBeUndefined();
    // Both modes are priced whichever is current.
    expect(efo.read.polling).toEqual(base.read.polling);
    expect(efo.read.enhancedFanOut).toEqual(base.read.enhancedFanOut);
  });

  it('given closed shards, then only the open ones are billed by the hour', () => {
    const { read } = estimateStreamCost({ ...volume, shards: 3, openShards: 1 }, readPrices);
    expect(read.consumerShardHours).toBe(730.5);
    expect(read.enhancedFanOut.total).toBe(7.505);
  });

  it('given an on-demand stream, then both modes bill per GB and enhanced fan-out has no consumer-shard-hours', () => {
    const onDemand = { ...volume, capacityMode: 'on-demand' as const };
    const polled = estimateStreamCost(onDemand, readPrices);
    expect(polled.read).toMatchObject({ pricedAs: 'on-demand', consumerShardHours: 0 });
    expect(polled.read.polling.lines).toEqual([
      { item: 'Kinesis reads: polling, on-demand retrieval', quantity: 10, unit: 'GB', usd: 0.4 },
    ]);
    expect(polled.read.enhancedFanOut.lines).toEqual([
      { item: 'Kinesis reads: enhanced fan-out, on-demand retrieval', quantity: 10, unit: 'GB', usd: 0.5 },
    ]);
    expect(polled.reservoir.total).toBeCloseTo(withoutReads + 0.4, 4);
    // The same reads in an On-demand Advantage account (its retrieval price, 0.016 per GB).
    expect(polled.read.advantage).toEqual({ polling: 0.16, enhancedFanOut: 0.5 });
    expect(base.read.advantage).toBeUndefined();
    const fannedOut = estimateStreamCost(onDemand, readPrices, {
      mode: 'efo',
      from: 'RESERVOIR_EFO_STREAMS',
    });
    expect(fannedOut.reservoir.total).toBeCloseTo(withoutReads + 0.5, 4);
  });

  it('given a stream that could not be described, then reads are priced as provisioned, with a caveat', () => {
    const unknown = estimateStreamCost({ ...volume, capacityMode: null }, readPrices);
    expect(unknown.read.pricedAs).toBe('provisioned');
    expect(unknown.read.enhancedFanOut.total).toBe(14.81);
    expect(unknown.caveats).toEqual([
      'the stream could not be described (DescribeStreamSummary): its reads are priced as provisioned',
    ]);
  });

  it('given a newest run that read otherwise, then the estimate says so', () => {
    const efoBefore = estimateStreamCost({ ...volume, lastRunReadMode: 'efo' }, readPrices);
    expect(efoBefore.read.note).toMatch(
      /newest archive run read it with enhanced fan-out: .*RESERVOIR_EFO_STREAMS/,
    );
    const same = estimateStreamCost({ ...volume, lastRunReadMode: 'polling' }, readPrices);
    expect(same.read.note).toBeUndefined();
  });

  it('rejects a price table without the read prices', () => {
    const { efoConsumerShardHour: _dropped, ...kinesis } = prices.kinesis;
    expect(() => checkPriceTable({ ...prices, kinesis })).toThrow(/kinesis\.efoConsumerShardHour/);
  });
});

describe('read mode source', () => {
  const defaults = { efoStreams: ['payments'] };
  it('names what chose the mode: the environment first, then the tag, else the default', () => {
    expect(readModeSource('payments', { 'reservoir:read-mode': 'polling' }, defaults)).toBe(
      'RESERVOIR_EFO_STREAMS',
    );
    expect(readModeSource('orders', { 'reservoir:read-mode': ' EFO ' }, defaults)).toBe(
      'tag reservoir:read-mode',
    );
    expect(readModeSource('orders', { 'reservoir:read-mode': 'fast' }, defaults)).toBe('default');
    expect(readModeSource('orders', {}, defaults)).toBe('default');
  });
});

describe('formatCost', () => {
  it('prints each option with its total and the dated price table', async () => {
    const { formatCost } = await import('../../src/cli/commands/cost');
    const text = formatCost({ generatedAt: '', prices, streams: [estimateStreamCost(volume, prices)] });
    expect(text).toMatch(/reservoir\s+total per month\s+\$/);
    expect(text).toMatch(/Data Firehose\s+total per month/);
    expect(text).toMatch(/Kinesis retention, provisioned\s+total per month/);
    expect(text).toContain(`as of ${prices.asOf}`);
    expect(text).toMatch(/Kinesis enhanced fan-out per consumer-shard-hour\s+0\.015/);
  });

  it('prints one read line per stream: both modes with what they stand on, the current one named', async () => {
    const { formatCost } = await import('../../src/cli/commands/cost');
    const efo = estimateStreamCost(volume, readPrices, { mode: 'efo', from: 'tag reservoir:read-mode' });
    const text = formatCost({ generatedAt: '', prices: readPrices, streams: [efo] });
    expect(text).toContain(
      "  read: polling $0.0000 (in the shard-hours; shares each shard's 2 MiB/s) · " +
        'enhanced fan-out $14.81 (1461 consumer-shard-hours, 10.0 GB); now enhanced fan-out (tag reservoir:read-mode)',
    );
    const onDemand = estimateStreamCost({ ...volume, capacityMode: 'on-demand' }, readPrices);
    expect(formatCost({ generatedAt: '', prices: readPrices, streams: [onDemand] })).toContain(
      "  read: polling $0.4000 (10.0 GB on-demand retrieval; shares each shard's 2 MiB/s) · " +
        'enhanced fan-out $0.5000 (10.0 GB on-demand retrieval, no consumer-shard-hours) (On-demand Standard; ' +
        'in an On-demand Advantage account: polling $0.1600, enhanced fan-out $0.5000); now polling (default)',
    );
  });
});

describe('estimate caveats', () => {
  it('given days of archive and runs, then none', () => {
    expect(estimateCaveats(volume)).toEqual([]);
  });

  it('given minutes of history, then the estimate is marked as extrapolated, with how much history it used', () => {
    const young: StreamVolume = {
      ...volume,
      historyDays: 0.25,
      runHistory: { source: 'observed', runs: 3, spanHours: 0.5 },
    };
    expect(estimateCaveats(young)).toEqual([
      'the archive holds 6.0 h of history: monthly volume is extrapolated from under a day',
      'run frequency from 3 runs over 0.5 h (under a day): pass --runs-per-month, or estimate again after a day of scheduled runs',
    ]);
  });

  it('given one run, then the hourly schedule is said to be assumed; given --runs-per-month, no run caveat', () => {
    expect(estimateCaveats({ ...volume, runHistory: { source: 'observed', runs: 1, spanHours: 0 } })).toEqual(
      ['only one archive run seen: the hourly schedule is assumed (pass --runs-per-month)'],
    );
    expect(estimateCaveats({ ...volume, runHistory: { source: 'given' } })).toEqual([]);
  });
});

/** Round prices for the columnar, on-demand and delivery figures, so that every figure below is exact. */
const roundPrices: PriceTable = {
  ...prices,
  lambda: { gbSecond: 0.00001, requestsPerMillion: 0.2 },
  stepFunctions: { standardTransitionsPerThousand: 0.025 },
  s3: { standardGbMonth: 0.02, putPerThousand: 0.005, getPerThousand: 0.0004 },
  kinesisOnDemand: {
    ...prices.kinesisOnDemand,
    standard: {
      streamHour: 0.04,
      ingestGb: 0.08,
      retrievalGb: 0.04,
      efoRetrievalGb: 0.05,
      extendedRetentionGbMonth: 0.1,
      longTermRetentionGbMonth: 0.02,
    },
    advantage: {
      streamHour: 0,
      ingestGb: 0.032,
      retrievalGb: 0.016,
      efoRetrievalGb: 0.05,
      extendedRetentionGbMonth: 0.02,
      longTermRetentionGbMonth: 0.02,
    },
  },
  kinesisS3Delivery: { perGbDelivered: null, source: 'not known' },
  athena: { perTbScanned: 5, minimumMbPerQuery: 10 },
  assumptions: { ...prices.assumptions, columnarGbSecondsPerLineGb: 50, parquetPerGzipRatio: 0.5 },
};
/** 30 days of history: 10 GiB of raw records a month, i.e. 10 / 30.4375 GiB a day. */
const daily = 10 / 30.4375;

describe('columnar costs in the reservoir column', () => {
  const { reservoir } = estimateStreamCost(volume, roundPrices);

  it('given 12 GiB of record lines a month, then conversion costs the bench GB-seconds per GB of lines', () => {
    expect(lineOf(reservoir, 'columnar conversion: Lambda compute')).toEqual({
      item: 'columnar conversion: Lambda compute',
      quantity: 600,
      unit: 'GB-s',
      usd: 0.006,
    });
  });

  it('given an hour partition every hour, then one ConvertHour request and transition each, and its S3 requests', () => {
    expect(lineOf(reservoir, 'columnar conversion: requests')).toEqual({
      item: 'columnar conversion: requests and transitions',
      quantity: 730.5,
      unit: 'hours converted',
      usd: 0.0184,
    });
    // 1000 objects read and tagged; per hour a Parquet file and a manifest written, the manifest read.
    const s3 = lineOf(reservoir, 'columnar conversion: S3 requests')!;
    expect(s3.quantity).toBe(1000 + 2 * 730.5 + 1000 + 730.5);
    expect(s3.usd).toBeCloseTo(((1000 + 1461) / 1000) * 0.005 + ((1000 + 730.5) / 1000) * 0.0004, 4);
  });

  it('given converted hours, then the Parquet held is measured; given none, then estimated from the ratio and said so', () => {
    expect(lineOf(reservoir, 'S3 storage, Parquet')).toEqual({
      item: 'S3 storage, Parquet (held now)',
      quantity: 4,
      unit: 'GB-month',
      usd: 0.08,
    });
    const fresh = estimateStreamCost({ ...volume, columnarBytes: null }, roundPrices);
    expect(lineOf(fresh.reservoir, 'S3 storage, Parquet')).toEqual({
      item: 'S3 storage, Parquet (estimated: nothing converted yet)',
      quantity: 5,
      unit: 'GB-month',
      usd: 0.1,
    });
  });

  it('given jsonl-days, then the JSONL beyond N days of growth is a saving; without it, no such line', () => {
    expect(lineOf(reservoir, 'S3 storage, JSONL expired')).toBeUndefined();
    const expiring = estimateStreamCost(volume, roundPrices, undefined, { jsonlDays: 7 });
    const kept = (2 / 30.4375) * 7; // 2 GiB of gzip a month
    const saving = lineOf(expiring.reservoir, 'S3 storage, JSONL expired')!;
    expect(saving.item).toBe('S3 storage, JSONL expired after 7 days (jsonl-days)');
    expect(saving.quantity).toBeCloseTo(-(10 - kept), 3);
    expect(saving.usd).toBeCloseTo(-(10 - kept) * 0.02, 4);
    expect(expiring.reservoir.total).toBeCloseTo(reservoir.total - (10 - kept) * 0.02, 3);
  });
});

describe('keeping the history in an on-demand stream, Standard and Advantage', () => {
  const { onDemandRetention } = estimateStreamCost(volume, roundPrices);

  it('given 30 days of history, then six days at the extended price and 23 at the long-term price', () => {
    expect(onDemandRetention.standard.lines).toEqual([
      expect.objectContaining({ item: 'extended retention (day 2 to 7)', unit: 'GB-month' }),
      expect.objectContaining({ item: 'long-term retention (beyond 7 days)', unit: 'GB-month' }),
    ]);
    expect(usd(onDemandRetention.standard, 'extended')).toBeCloseTo(daily * 6 * 0.1, 4);
    expect(usd(onDemandRetention.standard, 'long-term')).toBeCloseTo(daily * 23 * 0.02, 4);
    expect(onDemandRetention.standard.note).toMatch(/^the stream's retention set to 30 days/);
  });

  it('given On-demand Advantage, then its own retention prices apply', () => {
    expect(usd(onDemandRetention.advantage, 'extended')).toBeCloseTo(daily * 6 * 0.02, 4);
    expect(onDemandRetention.advantage.total).toBeCloseTo(daily * 29 * 0.02, 3);
    expect(onDemandRetention.advantage.total).toBeLessThan(onDemandRetention.standard.total);
    expect(onDemandRetention.advantage.note).toMatch(
      /^an account-level mode; the stream's retention set to 30 days/,
    );
  });

  it('given a day of history, then nothing to keep beyond the default 24 hours', () => {
    const young = estimateStreamCost({ ...volume, historyDays: 1 }, roundPrices).onDemandRetention;
    expect(young.standard.total).toBe(0);
    expect(young.advantage.total).toBe(0);
  });
});

describe("Kinesis's own S3 delivery", () => {
  it('given no delivery price in the table, then the delivery line is unpriced and said so', () => {
    const { kinesisS3Delivery } = estimateStreamCost(volume, roundPrices);
    expect(kinesisS3Delivery.unpriced).toEqual(['delivery (per GB delivered)']);
    expect(usd(kinesisS3Delivery, 'delivery')).toBe(0);
    expect(kinesisS3Delivery.total).toBe(0.2); // the same 10 GiB held in S3
    expect(kinesisS3Delivery.note).toMatch(/^needs the stream in on-demand mode; no backfill/);
  });

  it('given a delivery price, then it bills every raw GB; on an on-demand stream, no mode note', () => {
    const priced = { ...roundPrices, kinesisS3Delivery: { perGbDelivered: 0.03, source: '' } };
    const { kinesisS3Delivery } = estimateStreamCost({ ...volume, capacityMode: 'on-demand' }, priced);
    expect(kinesisS3Delivery.unpriced).toBeUndefined();
    expect(usd(kinesisS3Delivery, 'delivery')).toBe(0.3);
    expect(kinesisS3Delivery.total).toBe(0.5);
    expect(kinesisS3Delivery.note).toMatch(/^no backfill/);
  });
});

describe('Athena scans', () => {
  it('given the table athena price, then one full scan of JSONL and of Parquet at $ per TB', () => {
    const scan = estimateStreamCost(volume, roundPrices).athenaFullScan!;
    expect(scan.jsonl).toEqual({ bytes: 10 * GIB, usd: 0.048828 }); // 10/1024 TB × $5
    expect(scan.parquet).toEqual({ bytes: 4 * GIB, usd: 0.019531, estimated: false });
  });

  it('given a tiny archive, then the 10 MB minimum; given no Parquet, then the estimate', () => {
    const tiny = estimateStreamCost({ ...volume, storedBytes: 1000, columnarBytes: null }, roundPrices);
    expect(tiny.athenaFullScan!.jsonl.usd).toBeCloseTo((10 / 1024 ** 2) * 5, 6);
    expect(tiny.athenaFullScan!.parquet).toMatchObject({ bytes: 500, estimated: true });
  });

  it('given a table without athena, then no scan figure', () => {
    const { athena: _dropped, ...withoutAthena } = roundPrices;
    expect(estimateStreamCost(volume, withoutAthena).athenaFullScan).toBeNull();
  });
});

describe('price table: on-demand modes, delivery and columnar assumptions', () => {
  it('ships dated on-demand Standard and Advantage prices with their sources', () => {
    expect(prices.kinesisOnDemand.advantage.streamHour).toBe(0);
    expect(prices.kinesisOnDemand.advantage.longTermRetentionGbMonth).toBe(0.023);
    expect(prices.kinesisOnDemand.advantage.ingestGb).toBeLessThan(prices.kinesisOnDemand.standard.ingestGb);
    expect(prices.kinesisOnDemand.source).toMatch(/On-demand Advantage|Advantage/);
    expect(prices.kinesisOnDemand.source).toContain('https://');
    expect(prices.kinesisS3Delivery.source).toMatch(/not found/);
  });

  it('names a missing on-demand price or assumption; accepts an unknown (null) delivery price, not a negative one', () => {
    const { ingestGb: _dropped, ...advantage } = prices.kinesisOnDemand.advantage;
    expect(() =>
      checkPriceTable({ ...prices, kinesisOnDemand: { ...prices.kinesisOnDemand, advantage } }),
    ).toThrow(/kinesisOnDemand\.advantage\.ingestGb: must be a number >= 0/);
    const { columnarGbSecondsPerLineGb: _gone, ...assumptions } = prices.assumptions;
    expect(() => checkPriceTable({ ...prices, assumptions })).toThrow(
      /assumptions\.columnarGbSecondsPerLineGb/,
    );
    expect(() =>
      checkPriceTable({ ...prices, kinesisS3Delivery: { perGbDelivered: null, source: '' } }),
    ).not.toThrow();
    expect(() =>
      checkPriceTable({ ...prices, kinesisS3Delivery: { perGbDelivered: -1, source: '' } }),
    ).toThrow(/kinesisS3Delivery\.perGbDelivered/);
  });
});

describe('formatCost: the new options', () => {
  it('prints the on-demand retention columns, the unpriced delivery, the Athena line and the new prices', async () => {
    const { formatCost } = await import('../../src/cli/commands/cost');
    const text = formatCost({
      generatedAt: '',
      prices: roundPrices,
      streams: [estimateStreamCost(volume, roundPrices, undefined, { jsonlDays: 7 })],
    });
    expect(text).toMatch(/Kinesis retention, On-demand Standard\s+total per month/);
    expect(text).toMatch(/Kinesis retention, On-demand Advantage\s+total per month/);
    expect(text).toMatch(
      /Kinesis S3 delivery\s+total per month\s+\+ unpriced: delivery \(per GB delivered\)/,
    );
    expect(text).toMatch(
      /reservoir\s+S3 storage, JSONL expired after 7 days \(jsonl-days\)\s+-\d+\.\d+ GB-month\s+-\$0\.\d{4}/,
    );
    expect(text).toContain(
      'Athena at $5/TB, one query reading the whole archive: JSONL 10.0 GiB $0.0488 · Parquet at most 4.0 GiB $0.0195 (held now;',
    );
    expect(text).toMatch(/Kinesis On-demand Advantage per stream-hour\s+0/);
    expect(text).toMatch(/Kinesis S3 delivery per GB\s+not known/);
  });
});
