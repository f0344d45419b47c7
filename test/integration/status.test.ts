import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { AddTagsToStreamCommand } from '@aws-sdk/client-kinesis';
import type { ColumnarReport } from '../../src/cli/commands/columnar';
import type { CostReport } from '../../src/cli/commands/cost';
import type { StatusReport } from '../../src/cli/commands/status';
import { createArchivedStream, useEmulators } from '../support/emulators';

const env = useEmulators();
const STREAM = 'status-stream';
const DAY = 24 * 3600;

/**
 * The real CLI, as a user runs it against the emulators (`reservoir status --local --json`).
 * Asynchronous: kinesalite runs in this process and must keep answering.
 */
async function cli<T>(command: string, ...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(__dirname, '../../bin/reservoir.cjs'), command, '--local', '--json', '--stream', STREAM, ...args],
    { env: process.env, encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(stdout) as T;
}
const status = () => cli<StatusReport>('status');

const shardsOf = (report: StatusReport) => report.streams.find((s) => s.stream === STREAM)!.shards;
const unarchived = (report: StatusReport) => shardsOf(report).map((shard) => shard.unarchived);
const total = (report: StatusReport) =>
  shardsOf(report).reduce((sum, shard) => sum + shard.unarchived.count, 0);

describe('reservoir status --local --json on the emulators', () => {
  it('follows unarchived records, lag and time-to-loss as records are added and archived', async () => {
    await createArchivedStream(env.kinesis, STREAM, 2);

    const empty = await status();
    expect(empty.mode).toBe('local');
    expect(shardsOf(empty).map((shard) => [shard.shardId, shard.state])).toEqual([
      ['shardId-000000000000', 'open'],
      ['shardId-000000000001', 'open'],
    ]);
    expect(unarchived(empty)).toEqual([
      { count: 0, kind: 'exact' },
      { count: 0, kind: 'exact' },
    ]);
    expect(shardsOf(empty).every((shard) => shard.timeToLossSeconds === DAY && shard.lagSeconds === 0)).toBe(
      true,
    );

    await putAll(
      env.kinesis,
      STREAM,
      Array.from({ length: 60 }, (_, i) => telemetryRecord(i)),
    );
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const waiting = await status();
    expect(total(waiting)).toBe(60);
    expect(unarchived(waiting).every((estimate) => estimate.kind === 'exact')).toBe(true);
    for (const shard of shardsOf(waiting).filter((s) => s.unarchived.count > 0)) {
      expect(shard.lagSeconds).toBeGreaterThanOrEqual(2);
      // Each is rounded to whole seconds on its own: they may differ by one from the exact sum.
      expect(Math.abs(shard.timeToLossSeconds! + shard.lagSeconds - DAY)).toBeLessThanOrEqual(1);
      expect(shard.checkpointSequenceNumber).toBeNull();
    }
    const stream = waiting.streams[0]!;
    expect(stream.unarchived).toEqual({ count: 60, kind: 'exact' });
    expect(stream.timeToLossSeconds).toBe(Math.min(...shardsOf(waiting).map((s) => s.timeToLossSeconds!)));

    await runLocalStateMachine('archive', { streams: [STREAM] }, { executionName: 'status-archive-1' });
    const archived = await status();
    expect(total(archived)).toBe(0);
    for (const shard of shardsOf(archived)) {
      expect(shard.timeToLossSeconds).toBe(DAY);
      if (shard.unarchived.count === 0 && shard.checkpointSequenceNumber) {
        expect(shard.newestArchivedArrival).not.toBeNull();
      }
    }
    expect(shardsOf(archived).filter((shard) => shard.checkpointSequenceNumber).length).toBeGreaterThan(0);

    await putAll(
      env.kinesis,
      STREAM,
      Array.from({ length: 25 }, (_, i) => telemetryRecord(100 + i)),
    );
    const more = await status();
    expect(total(more)).toBe(25);
    expect(more.streams[0]!.newestArchivedArrival).toBe(archived.streams[0]!.newestArchivedArrival);
  });

  it('reservoir cost --local --json prices the stream from its archive and its run', async () => {
    const report = await cli<CostReport>('cost');
    const estimate = report.streams.find((s) => s.stream === STREAM)!;
    expect(estimate.volume.shards).toBe(2);
    expect(estimate.volume.storedBytes).toBeGreaterThan(0);
    expect(estimate.volume.monthlyRecords).toBeGreaterThan(0);
    // The one run archived both shards: at least one ArchiveShard invocation each, metered.
    expect(estimate.volume.perRun.archiveShardInvocations).toBeGreaterThanOrEqual(2);
    expect(estimate.volume.perRun.archiveShardGbSeconds).toBeGreaterThan(0);
    expect(estimate.reservoir.total).toBeGreaterThan(0);
    expect(estimate.firehose.total).toBeGreaterThan(0);
    expect(report.prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // Untagged and not in RESERVOIR_EFO_STREAMS, the run polled it: free on a provisioned stream,
    // with enhanced fan-out priced beside it for both open shards.
    expect(estimate.volume).toMatchObject({
      openShards: 2,
      capacityMode: 'provisioned',
      lastRunReadMode: 'polling',
    });
    expect(estimate.read).toMatchObject({ mode: 'polling', from: 'default', consumerShardHours: 2 * 730.5 });
    expect(estimate.read.note).toBeUndefined();
    expect(estimate.read.polling.total).toBe(0);
    expect(estimate.read.enhancedFanOut.total).toBeGreaterThanOrEqual(
      2 * 730.5 * report.prices.kinesis.efoConsumerShardHour,
    );
    // Nothing converted yet: the Parquet is estimated from the table's ratio, and said so.
    expect(estimate.volume.columnarBytes).toBeNull();
    expect(estimate.volume.monthlyLineBytes).toBeGreaterThan(estimate.volume.monthlyRawBytes);
    expect(estimate.reservoir.lines.map((line) => line.item)).toContain(
      'S3 storage, Parquet (estimated: nothing converted yet)',
    );
    expect(estimate.athenaFullScan!.parquet.estimated).toBe(true);
    // Kinesis's own delivery needs an on-demand stream, and its price is not in the shipped table.
    expect(estimate.kinesisS3Delivery.note).toMatch(/^needs the stream in on-demand mode/);
    expect(estimate.kinesisS3Delivery.unpriced).toEqual(['delivery (per GB delivered)']);
    // Minutes of archive and one run: the estimate says how little it stands on.
    expect(estimate.caveats).toEqual([
      expect.stringMatching(/^the archive holds \d+\.\d h of history: monthly volume is extrapolated/),
      'only one archive run seen: the hourly schedule is assumed (pass --runs-per-month)',
    ]);
  });

  it('given converted hours and tag reservoir:jsonl-days, then reservoir cost measures the Parquet and prices the JSONL expiry', async () => {
    await env.kinesis.send(
      new AddTagsToStreamCommand({ StreamName: STREAM, Tags: { 'reservoir:jsonl-days': '3' } }),
    );
    const converted = await cli<ColumnarReport>('columnar', '--include-open');
    const parquetBytes = converted.hours.reduce((sum, hour) => sum + hour.parquetBytes, 0);
    expect(parquetBytes).toBeGreaterThan(0);

    const report = await cli<CostReport>('cost');
    const estimate = report.streams.find((s) => s.stream === STREAM)!;
    expect(estimate.volume.columnarBytes).toBe(parquetBytes);
    const items = estimate.reservoir.lines.map((line) => line.item);
    expect(items).toEqual(
      expect.arrayContaining([
        'columnar conversion: Lambda compute',
        'S3 storage, Parquet (held now)',
        'S3 storage, JSONL expired after 3 days (jsonl-days)',
      ]),
    );
    expect(estimate.athenaFullScan!.parquet).toMatchObject({ bytes: parquetBytes, estimated: false });
  });
});
