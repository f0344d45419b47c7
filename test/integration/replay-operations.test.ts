import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { replayCommand } from '../../src/cli/commands/replay';
import type { ReplayPlanReport } from '../../src/replay/plan-report';
import { readReplayProgress } from '../../src/replay/replay-progress';
import { decodeRecord } from '../../src/consumer';
import { PACE_TICK_MS } from '../../src/core/replay-pace';
import type { ReplaySummary } from '../../src/core/replay-summary';
import type { RecordLine } from '../../src/core/record-line';
import { ExecutionFailedError, runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { createArchivedStream, useEmulators } from '../support/emulators';
import { quietly } from '../support/quietly';
import { readStream, type ReadRecord } from '../support/streams';

const env = useEmulators({ RESERVOIR_REPLAY_TARGETS: 'paced-*' });

const SOURCE = 'traffic';
/** Arrival times spread over this span (the minute, shortened to keep the suite fast). */
const SPAN_MS = 12_000;
const BATCHES = 7;
const PER_BATCH = 30;
let archived: RecordLine[] = [];
let span = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Per key, the source sequence numbers in the order the target holds them. */
function orderPerKey(records: ReadRecord[]): Map<string, string[]> {
  const perKey = new Map<string, string[]>();
  for (const record of records) {
    const decoded = decodeRecord(
      {
        SequenceNumber: record.sequenceNumber,
        PartitionKey: record.partitionKey,
        Data: record.data,
        ApproximateArrivalTimestamp: new Date(record.arrivalTimestamp),
      },
      record.shardId,
    );
    const id = decoded.position.sequenceNumber;
    perKey.set(record.partitionKey, [...(perKey.get(record.partitionKey) ?? []), id]);
  }
  return perKey;
}

function archivedOrderPerKey(): Map<string, string[]> {
  const perKey = new Map<string, string[]>();
  for (const line of archived)
    perKey.set(line.partitionKey, [...(perKey.get(line.partitionKey) ?? []), line.sequenceNumber]);
  return perKey;
}

describe('paced replay on the emulators', () => {
  beforeAll(async () => {
    await createArchivedStream(env.kinesis, SOURCE, 2);
    for (const target of ['paced-speedup', 'paced-rate', 'paced-stop'])
      await createArchivedStream(env.kinesis, target, 2, false);
    // Traffic whose arrival times really span SPAN_MS: Kinesis stamps them as they arrive.
    for (let batch = 0; batch < BATCHES; batch++) {
      if (batch > 0) await sleep(SPAN_MS / (BATCHES - 1));
      await putAll(
        env.kinesis,
        SOURCE,
        Array.from({ length: PER_BATCH }, (_, i) => telemetryRecord(batch * PER_BATCH + i)),
      );
    }
    await runLocalStateMachine('archive', { streams: [SOURCE] }, { executionName: 'pace-it-archive' });
    const { store, config } = archiveRuntime();
    archived = (await readWholeArchive(store, config.prefix, SOURCE)).lines.map(({ line }) => line);
    expect(archived).toHaveLength(BATCHES * PER_BATCH);
    const arrivals = archived.map((line) => line.arrivalTimestamp);
    span = Math.max(...arrivals) - Math.min(...arrivals);
    expect(span).toBeGreaterThanOrEqual(SPAN_MS - 500);
  }, 60_000);

  it('given --plan with --speedup 10, then it reports what would move, the capacity, the durations and the cost, and writes nothing', async () => {
    const { store } = archiveRuntime();
    const before = await store.listKeys('');
    const report = (await quietly(() =>
      replayCommand({
        local: true,
        plan: true,
        stream: SOURCE,
        target: 'paced-speedup',
        speedup: '10',
        json: true,
      }),
    )) as ReplayPlanReport;
    expect(await store.listKeys('')).toEqual(before);
    expect(report.estimatedRecords).toBe(archived.length);
    expect(report.itemCount).toBe(2);
    expect(report.arrivals!.last - report.arrivals!.first).toBe(span);
    expect(report.estimate.capacity).toMatchObject({
      mode: 'provisioned',
      openShards: 2,
      recordsPerSecond: 2000,
    });
    expect(report.estimate.atPaceMs).toBeCloseTo(span / 10, 0);
    expect(report.estimate.atCapacityMs).toBeCloseTo((archived.length / 2000) * 1000, 0);
    expect(report.estimate.lines.find((l) => l.unit === 'units')).toMatchObject({
      quantity: archived.length,
    });
    expect(report.estimate.total).toBeGreaterThan(0);
    expect(report.wouldWrite).toBeGreaterThan(0);
  });

  it('given --speedup 10, then the replay takes a tenth of the traffic span, never less, and every key keeps its order', async () => {
    const started = Date.now();
    const summary = (await quietly(() =>
      replayCommand({
        local: true,
        stream: SOURCE,
        target: 'paced-speedup',
        speedup: '10',
        replayId: 'paced-10',
      }),
    )) as ReplaySummary;
    const elapsed = Date.now() - started;
    expect(summary.put).toBe(archived.length);

    // Pacing never runs ahead of the schedule: the replayed records' own arrival times in the target span
    // at least span / 10 (less a tick per end, the most a record is put early).
    const out = await readStream(env.kinesis, 'paced-speedup');
    expect(out).toHaveLength(archived.length);
    const put = out.map((r) => r.arrivalTimestamp);
    expect(Math.max(...put) - Math.min(...put)).toBeGreaterThanOrEqual(span / 10 - 2 * PACE_TICK_MS);
    expect(elapsed).toBeGreaterThanOrEqual(span / 10 - PACE_TICK_MS);
    // A generous upper bound: planning, two items and an archive read, on a shared machine.
    expect(elapsed).toBeLessThan(span / 10 + 15_000);
    expect(orderPerKey(out)).toEqual(archivedOrderPerKey());
  }, 60_000);

  it('given pace recordsPerSecond, then the replay takes at least records / rate', async () => {
    const rate = 100;
    const started = Date.now();
    const summary = (await runLocalStateMachine(
      'replay',
      { stream: SOURCE, target: 'paced-rate', pace: { recordsPerSecond: rate } },
      { executionName: 'paced-rate' },
    )) as ReplaySummary;
    const elapsed = Date.now() - started;
    expect(summary.put).toBe(archived.length);
    const minimum = (1000 * archived.length) / rate;
    expect(elapsed).toBeGreaterThanOrEqual(minimum - 2 * PACE_TICK_MS);
    expect(elapsed).toBeLessThan(minimum + 15_000);
    expect(orderPerKey(await readStream(env.kinesis, 'paced-rate'))).toEqual(archivedOrderPerKey());
  }, 60_000);

  it('given both speedup and recordsPerSecond, then the replay fails validation naming the field', async () => {
    const run = runLocalStateMachine(
      'replay',
      { stream: SOURCE, target: 'paced-rate', pace: { speedup: 2, recordsPerSecond: 5 } },
      { executionName: 'paced-invalid' },
    );
    await expect(run).rejects.toBeInstanceOf(ExecutionFailedError);
    await expect(run).rejects.toMatchObject({ causeText: expect.stringContaining('field pace') });
  });

  it('given a local paced replay run elsewhere, when it is followed and stopped, then it ends with its resume points saved and the same id resumes it', async () => {
    const args = { local: true, stream: SOURCE, target: 'paced-stop', speedup: '2', replayId: 'paced-stop' };
    const { running, following, stopped, progress } = await quietly(async () => {
      const running = replayCommand(args).then(
        () => null,
        (error: Error) => error,
      );
      await sleep(1_500);
      const following = replayCommand({ local: true, follow: 'paced-stop', json: true }).then(
        () => null,
        (error: Error) => error,
      );
      await sleep(1_000);
      const stopped = await replayCommand({ local: true, stop: 'paced-stop', reason: 'it: enough' });
      const [runningError, followingError] = await Promise.all([running, following]);
      const progress = await readReplayProgress(
        archiveRuntime().store,
        archiveRuntime().config.prefix,
        'paced-stop',
      );
      return { running: runningError, following: followingError, stopped, progress };
    });
    expect(stopped).toMatchObject({ replayId: 'paced-stop', executionArn: null, cause: 'it: enough' });
    expect(running?.message).toContain('ReplayStoppedError');
    expect(running?.message).toContain('it: enough');
    expect(following?.message).toContain('replay paced-stop stopped');
    expect(progress.put).toBeGreaterThan(0);
    expect(progress.put).toBeLessThan(archived.length);
    expect(progress.itemsDone).toBeLessThan(progress.items);

    const resumed = (await quietly(() => replayCommand(args))) as ReplaySummary;
    expect(resumed).toMatchObject({ put: archived.length, problemCount: 0 });
    const out = await readStream(env.kinesis, 'paced-stop');
    expect(out).toHaveLength(archived.length); // each record once: the stop saved what was put
    expect(orderPerKey(out)).toEqual(archivedOrderPerKey());
  }, 60_000);

  it('given a replay id that never ran, then --follow and --stop say so in one line', async () => {
    await expect(quietly(() => replayCommand({ local: true, follow: 'no-such-replay' }))).rejects.toThrow(
      /no replay no-such-replay in s3:/,
    );
    await expect(quietly(() => replayCommand({ local: true, stop: 'no-such-replay' }))).rejects.toThrow(
      /no replay no-such-replay/,
    );
  });
});
