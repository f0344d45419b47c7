import type { Context } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { passThrough, taskHandler } from '../../src/handlers/shared/task-handler';
import { resetTelemetry } from '../../src/telemetry/powertools';
import { METRIC, recordArchiveProgress, recordDataGap } from '../../src/telemetry/workflow-metrics';
import { shardExposure, HOUR_MS } from '../../src/core/time-to-loss';

/** Powertools writes logs and EMF lines to stdout (errors to stderr); these tests read them back. */
function captureStdout() {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  return {
    json: () => lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

const context = {
  functionName: 'reservoir-test-archiveShard',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:reservoir-test-archiveShard',
  memoryLimitInMB: '1024',
  awsRequestId: 'request-1',
  logGroupName: '/aws/lambda/reservoir-test-archiveShard',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const emf = (line: Record<string, unknown>) =>
  line._aws as {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };

beforeEach(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_SERVICE_NAME = 'reservoir-test';
  resetTelemetry();
});
afterEach(() => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_LOG_LEVEL;
  delete process.env.POWERTOOLS_SERVICE_NAME;
  resetTelemetry();
});

describe('taskHandler telemetry', () => {
  it('logs with the execution ARN, stream and shard, and hides executionArn from the handler', async () => {
    const seen: unknown[] = [];
    const handler = taskHandler(
      passThrough<{ runId: string; item: { stream: string; shardId: string } }>,
      async (event, _context, { logger }) => {
        seen.push(event);
        logger.info('working');
        return { ok: true };
      },
    );
    const out = captureStdout();
    try {
      await handler(
        {
          executionArn: 'arn:aws:states:us-east-1:1:execution:archive:run-1',
          runId: 'run-1',
          item: { stream: 'orders', shardId: 'shardId-000000000001' },
        },
        context,
      );
    } finally {
      out.restore();
    }
    expect(seen).toEqual([{ runId: 'run-1', item: { stream: 'orders', shardId: 'shardId-000000000001' } }]);
    const log = out.json().find((line) => line.message === 'working');
    expect(log).toMatchObject({
      level: 'INFO',
      service: 'reservoir-test',
      executionArn: 'arn:aws:states:us-east-1:1:execution:archive:run-1',
      runId: 'run-1',
      stream: 'orders',
      shardId: 'shardId-000000000001',
      function_name: 'reservoir-test-archiveShard',
    });
  });

  it('logs a failure with its error type and still flushes the metrics recorded before it', async () => {
    class DataGapError extends Error {
      override name = 'DataGapError';
    }
    const handler = taskHandler(passThrough<{ runId: string }>, async (_event, _context, { metrics }) => {
      recordDataGap(metrics, { stream: 'orders', shardId: 'shardId-000000000002' });
      throw new DataGapError('records gone');
    });
    const out = captureStdout();
    await expect(handler({ runId: 'run-2' }, context)).rejects.toThrow('records gone');
    out.restore();
    const lines = out.json();
    expect(lines.find((line) => line.level === 'ERROR')).toMatchObject({
      errorType: 'DataGapError',
      runId: 'run-2',
    });
    const gaps = lines.filter((line) => line[METRIC.dataGaps] === 1);
    expect(gaps.map((line) => emf(line).CloudWatchMetrics[0]!.Dimensions)).toEqual(
      expect.arrayContaining([[['service', 'Stream']], [['service']]]),
    );
    expect(gaps.find((line) => line.Stream === 'orders')).toMatchObject({ shardId: 'shardId-000000000002' });
  });
});

describe('archive metrics', () => {
  it('publish records, bytes, lag and time-to-loss per stream, and time-to-loss across streams', async () => {
    const handler = taskHandler(passThrough<object>, async (_event, _context, { metrics }) => {
      const now = Date.now();
      recordArchiveProgress(metrics, {
        stream: 'orders',
        shardId: 'shardId-000000000000',
        records: 1200,
        bytes: 345_678,
        exposure: shardExposure(now - 6 * HOUR_MS, 24, now),
      });
    });
    const out = captureStdout();
    await handler({}, context);
    out.restore();
    const lines = out.json().filter((line) => line._aws);
    const perStream = lines.find((line) => line.Stream === 'orders')!;
    const definition = emf(perStream).CloudWatchMetrics[0]!;
    expect(definition.Namespace).toBe('Reservoir');
    expect(definition.Dimensions).toEqual([['service', 'Stream']]);
    expect(definition.Metrics).toEqual(
      expect.arrayContaining([
        { Name: METRIC.recordsArchived, Unit: MetricUnit.Count },
        { Name: METRIC.bytesArchived, Unit: MetricUnit.Bytes },
        { Name: METRIC.archiveLagSeconds, Unit: MetricUnit.Seconds },
        { Name: METRIC.timeToLossSeconds, Unit: MetricUnit.Seconds },
        { Name: METRIC.timeToLossPercent, Unit: MetricUnit.Percent },
      ]),
    );
    expect(perStream).toMatchObject({
      service: 'reservoir-test',
      RecordsArchived: 1200,
      BytesArchived: 345_678,
      TimeToLossPercent: 75,
    });
    expect(perStream.ArchiveLagSeconds).toBeCloseTo(6 * 3600, -1);
    expect(perStream.TimeToLossSeconds).toBeCloseTo(18 * 3600, -1);
    const acrossStreams = lines.find((line) => emf(line).CloudWatchMetrics[0]!.Dimensions[0]!.length === 1)!;
    expect(acrossStreams).toMatchObject({ TimeToLossPercent: 75, stream: 'orders' });
  });

  it('leave lag and time-to-loss out for a shard that was not read', async () => {
    const handler = taskHandler(passThrough<object>, async (_event, _context, { metrics }) => {
      recordArchiveProgress(metrics, {
        stream: 'orders',
        shardId: 'shardId-000000000003',
        records: 0,
        bytes: 0,
        exposure: null,
      });
    });
    const out = captureStdout();
    await handler({}, context);
    out.restore();
    const names = out
      .json()
      .filter((line) => line._aws)
      .flatMap((line) => emf(line).CloudWatchMetrics[0]!.Metrics.map((metric) => metric.Name));
    expect(names.sort()).toEqual([METRIC.bytesArchived, METRIC.recordsArchived]);
  });
});
