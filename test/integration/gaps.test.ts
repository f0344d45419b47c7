import { ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { gapsAcknowledgeCommand, gapsCommand } from '../../src/cli/commands/gaps';
import { statusCommand } from '../../src/cli/commands/status';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { ExecutionFailedError, runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord, type ProducedRecord } from '../../src/local/traffic';
import { checkArchive } from '../../src/local/verify-archive';
import { METRIC } from '../../src/telemetry/workflow-metrics';
import { emfLinesOf, type EmfLine } from '../support/emf';
import { verifyCommand } from '../../src/cli/commands/verify';
import { quietly } from '../support/quietly';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';

const env = useEmulators();
const STREAM = 'gap-stream';
const PARENT = 'shardId-000000000000';
let runs = 0;
const archive = () =>
  runLocalStateMachine(
    'archive',
    { streams: [STREAM] },
    { executionName: `it-gaps-${++runs}` },
  ) as Promise<ArchiveSummary>;
const telemetry = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => telemetryRecord(from + i));
/** The value of a per-stream gauge in a run's EMF lines (one line each). */
const gauge = (lines: EmfLine[], name: string) =>
  lines.filter((line) => line.Stream === STREAM && typeof line[name] === 'number').map((line) => line[name]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('data gaps people resolve, on the emulators', () => {
  it('given records that expired unarchived on a shard since split, then runs fail until `gaps acknowledge`, after which the shard and its children are archived, none twice', async () => {
    const { kinesis, emulators } = env;
    await createArchivedStream(kinesis, STREAM, 1);
    const archived: ProducedRecord[] = telemetry(0, 10);
    await putAll(kinesis, STREAM, archived);
    expect((await archive()).errorName).toBeNull();

    const lost = telemetry(100, 5);
    await putAll(kinesis, STREAM, lost);
    const lostAt = Date.now();
    await sleep(6_000);
    const keptAt = Date.now();
    const kept = telemetry(200, 5);
    await putAll(kinesis, STREAM, kept);
    // Kinesis trims between the lost and the kept records: retention reaches back to halfway
    // between them (set again before each step, as time moves on; ~3 s of slack either way).
    const trimBetween = () => emulators.setRetentionMillis(STREAM, Date.now() - (lostAt + keptAt) / 2);

    // The parent splits: its children must wait until it is drained.
    const range = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards![0]!
      .HashKeyRange!;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: STREAM,
        ShardToSplit: PARENT,
        NewStartingHashKey: ((BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n).toString(),
      }),
    );
    await waitForActive(kinesis, STREAM);
    const children = telemetry(300, 40);
    await putAll(kinesis, STREAM, children);

    // Without acknowledgment every run fails the shard with DataGapError, and its children wait.
    for (let attempt = 0; attempt < 2; attempt++) {
      await trimBetween();
      let failure: unknown = null;
      const emf = await emfLinesOf(() => archive().catch((error: unknown) => (failure = error)));
      expect(failure).toBeInstanceOf(ExecutionFailedError);
      expect((failure as ExecutionFailedError).error).toBe('DataGapError');
      // The alarm's metric every time; the open-gap gauge for the dashboard.
      expect(gauge(emf, METRIC.dataGaps)).toEqual([1]);
      expect(gauge(emf, METRIC.openDataGaps)).toEqual([1]);
    }

    const open = await quietly(() => gapsCommand({ local: true, stream: [STREAM] }));
    expect(open.acknowledged).toEqual([]);
    expect(open.open).toHaveLength(1);
    const gap = open.open[0]!;
    expect(gap).toMatchObject({ stream: STREAM, shardId: PARENT, fromArchived: true });
    expect(Date.parse(gap.lastSeen)).toBeGreaterThan(Date.parse(gap.firstDetected));

    const before = await quietly(() => statusCommand({ local: true, stream: [STREAM] }));
    expect(before.streams[0]!.shards.find((shard) => shard.shardId === PARENT)!.openGap).toEqual({
      from: gap.from,
      fromArchived: true,
      to: gap.to,
      firstDetected: gap.firstDetected,
      lastSeen: gap.lastSeen,
    });
    expect(before.problems.some((problem) => problem.includes(`${STREAM}/${PARENT}: open data gap`))).toBe(
      true,
    );

    await trimBetween();
    const acknowledged = await quietly(() =>
      gapsAcknowledgeCommand({ local: true, stream: STREAM, shard: PARENT, note: 'outage', by: 'ops' }),
    );
    expect(acknowledged.gap).toMatchObject({
      stream: STREAM,
      shardId: PARENT,
      from: gap.from,
      to: gap.to,
      firstDetected: gap.firstDetected,
      acknowledgedBy: 'ops',
      note: 'outage',
    });
    expect(acknowledged.key).toBe(`gaps/stream=${STREAM}/${PARENT}/${gap.from}-${gap.to}.json`);

    // Nothing else expires from here on (the next run reads AT the oldest kept record, never before it).
    await emulators.setRetentionMillis(STREAM, 24 * 3_600_000);
    let summary: ArchiveSummary | undefined;
    const emf = await emfLinesOf(async () => (summary = await archive()));
    // No gap metric any more (the DataGaps alarm returns to OK); the acknowledged one stays on the dashboard.
    expect(gauge(emf, METRIC.dataGaps)).toEqual([]);
    expect(gauge(emf, METRIC.openDataGaps)).toEqual([0]);
    expect(gauge(emf, METRIC.acknowledgedDataGaps)).toEqual([1]);
    if (!summary) throw new Error('no summary');
    expect(summary.errorName).toBeNull();
    expect(summary.shards.map((shard) => [shard.shardId, shard.status]).sort()).toEqual([
      [PARENT, 'drained'],
      ['shardId-000000000001', 'caught-up'],
      ['shardId-000000000002', 'caught-up'],
    ]);
    const { store, config } = archiveRuntime();
    const { lines } = await readWholeArchive(store, config.prefix, STREAM);
    // The lost records are in no object (they would count as unexpected), every other one is in one.
    expect(checkArchive([...archived, ...kept, ...children], lines)).toMatchObject({
      missing: 0,
      duplicates: 0,
      unexpected: 0,
      misplaced: 0,
    });

    const after = await quietly(() => gapsCommand({ local: true }));
    expect(after.open).toEqual([]);
    expect(after.acknowledged).toEqual([acknowledged.gap]);
    // Acknowledged gaps stay visible in status; they are no longer a problem.
    const status = await quietly(() => statusCommand({ local: true, stream: [STREAM] }));
    expect(status.streams[0]!.acknowledgedGaps).toEqual([acknowledged.gap]);
    expect(status.streams[0]!.shards.every((shard) => !shard.openGap)).toBe(true);
    expect(status.problems.filter((problem) => problem.includes('gap'))).toEqual([]);
    // And in verify: the parent's chain resumes at the gap, which shows as an acknowledged gap.
    const verified = await quietly(() => verifyCommand({ local: true, stream: [STREAM], json: true }));
    expect(verified.ok).toBe(true);
    const gapHours = verified.streams[0]!.hours.filter((hour) => hour.status === 'gap');
    expect(gapHours.length).toBeGreaterThan(0);
    expect(gapHours.flatMap((hour) => hour.findings.map((f) => f.shardId))).toContain(PARENT);
  });
});
