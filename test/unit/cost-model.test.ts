import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  archiveRunTransitions,
  checkPriceTable,
  estimateCaveats,
  estimateStreamCost,
  firehoseBilledBytes,
  type StreamVolume,
} from '../../src/core/cost-model';

const prices = checkPriceTable(
  JSON.parse(readFileSync(join(__dirname, '../../pricing/us-east-1.json'), 'utf8')),
);
const GIB = 1024 ** 3;

const volume: StreamVolume = {
  stream: 'orders',
  shards: 2,
  storedBytes: 10 * GIB,
  historyDays: 30,
  monthlyObjects: 1000,
  monthlyCompressedBytes: 2 * GIB,
  monthlyRecords: 1_000_000,
  monthlyRawBytes: 10 * GIB,
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

describe('formatCost', () => {
  it('prints each option with its total and the dated price table', async () => {
    const { formatCost } = await import('../../src/cli/commands/cost');
    const text = formatCost({ generatedAt: '', prices, streams: [estimateStreamCost(volume, prices)] });
    expect(text).toMatch(/reservoir\s+total per month\s+\$/);
    expect(text).toMatch(/Data Firehose\s+total per month/);
    expect(text).toMatch(/Kinesis retention\s+total per month/);
    expect(text).toContain(`as of ${prices.asOf}`);
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
