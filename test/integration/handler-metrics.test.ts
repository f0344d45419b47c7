import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { METRIC } from '../../src/telemetry/workflow-metrics';
import { emfLinesOf, type EmfLine } from '../support/emf';
import { createArchivedStream, useEmulators } from '../support/emulators';

const env = useEmulators({ RESERVOIR_REPLAY_TARGETS: 'metrics-replica', RESERVOIR_GETRECORDS_LIMIT: '100' });

const sum = (lines: EmfLine[], name: string, stream: string) =>
  lines
    .filter((line) => line.Stream === stream && typeof line[name] === 'number')
    .reduce((total, line) => total + (line[name] as number), 0);

describe('handlers emit CloudWatch metrics (EMF) on the emulators', () => {
  it('archive reports records, bytes, lag and time-to-loss; replay reports records put', async () => {
    await createArchivedStream(env.kinesis, 'metrics-source', 2);
    await createArchivedStream(env.kinesis, 'metrics-replica', 1, false);
    await putAll(
      env.kinesis,
      'metrics-source',
      Array.from({ length: 240 }, (_, i) => telemetryRecord(i)),
    );

    const archived = await emfLinesOf(() =>
      runLocalStateMachine('archive', { streams: ['metrics-source'] }, { executionName: 'metrics-archive' }),
    );
    expect(archived.every((line) => line._aws.CloudWatchMetrics[0]!.Namespace === 'Reservoir')).toBe(true);
    expect(sum(archived, METRIC.recordsArchived, 'metrics-source')).toBe(240);
    expect(sum(archived, METRIC.bytesArchived, 'metrics-source')).toBeGreaterThan(0);
    const perShard = archived.filter(
      (line) => line.Stream === 'metrics-source' && METRIC.timeToLossSeconds in line,
    );
    expect(new Set(perShard.map((line) => line.shardId))).toEqual(
      new Set(['shardId-000000000000', 'shardId-000000000001']),
    );
    // Caught up: nothing waits, so the full 24 h retention is left.
    expect(perShard.every((line) => line[METRIC.timeToLossSeconds] === 24 * 3600)).toBe(true);
    expect(perShard.every((line) => line[METRIC.archiveLagSeconds] === 0)).toBe(true);
    const alarmed = archived.filter(
      (line) => line._aws.CloudWatchMetrics[0]!.Dimensions[0]!.join() === 'service',
    );
    expect(alarmed.map((line) => line[METRIC.timeToLossPercent])).toContain(100);

    const replayed = await emfLinesOf(() =>
      runLocalStateMachine(
        'replay',
        { stream: 'metrics-source', target: 'metrics-replica' },
        { executionName: 'metrics-replay' },
      ),
    );
    expect(sum(replayed, METRIC.recordsReplayed, 'metrics-replica')).toBe(240);
    expect(replayed.find((line) => line.Stream === 'metrics-replica')).toMatchObject({
      replayId: expect.stringMatching(/^replay-metrics-source-/),
    });
  });
});
