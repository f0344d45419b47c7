import aslValidator from 'asl-validator';
import { archiveRunFiles } from '../../src/archive/run-files';
import { archiveRuntime } from '../../src/archive/runtime';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { DataGapError, ServiceUnavailableError, ThrottledError } from '../../src/core/errors';
import { loadLocalDefinition } from '../../src/local/asl-definition';
import {
  ExecutionFailedError,
  runLocalStateMachine,
  type TaskEvent,
} from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { gzipSync } from 'node:zlib';
import { columnarManifestKey } from '../../src/core/columnar';
import { archiveObjectKey } from '../../src/core/layout';
import { serializeRecordLine } from '../../src/core/record-line';
import { GetBucketLifecycleConfigurationCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { AddTagsToStreamCommand, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';

// One shard per page: the run must walk several pages, in lineage order.
const env = useEmulators({ RESERVOIR_SHARDS_PER_PAGE: '1' });
let runs = 0;

function run(input: object, options: Partial<Parameters<typeof runLocalStateMachine>[2]> = {}) {
  const tasks: TaskEvent[] = [];
  const executionName = `sm-archive-${++runs}`;
  const result = runLocalStateMachine('archive', input, {
    executionName,
    onTask: (event) => tasks.push(event),
    retryIntervalOverrides: { ArchiveShard: 0, DiscoverStreams: 0, ApplyRetention: 0, RecordShardResult: 0 },
    ...options,
  });
  return { result: result as Promise<ArchiveSummary>, tasks, executionName };
}

const shardOf = (event: TaskEvent) => (event.input as { item: { shardId: string } }).item.shardId;

describe('archive state machine (real ASL, real handlers)', () => {
  it('is a valid state machine definition', () => {
    const { definition } = loadLocalDefinition('archive');
    // asl-validator mutates what it is given.
    const { isValid, errorsText } = aslValidator(structuredClone(definition) as never);
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('given a split shard and one shard per page, then pages run in lineage order: the parent is drained before its children are read', async () => {
    const { kinesis } = env;
    await createArchivedStream(kinesis, 'lineage', 1);
    await putAll(
      kinesis,
      'lineage',
      Array.from({ length: 50 }, (_, i) => telemetryRecord(i)),
    );
    const [parent] = (await kinesis.send(new ListShardsCommand({ StreamName: 'lineage' }))).Shards!;
    const range = parent!.HashKeyRange!;
    const middle = (BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: 'lineage',
        ShardToSplit: parent!.ShardId!,
        NewStartingHashKey: middle.toString(),
      }),
    );
    await waitForActive(kinesis, 'lineage');
    await putAll(
      kinesis,
      'lineage',
      Array.from({ length: 50 }, (_, i) => telemetryRecord(100 + i)),
    );

    const { result, tasks } = await run({ streams: ['lineage'] });
    const summary = await result;
    expect(summary.totals.records).toBe(100);
    expect(tasks.filter((t) => t.state === 'LoadShardPage')).toHaveLength(3);
    const archived = tasks.filter((t) => t.state === 'ArchiveShard').map(shardOf);
    expect(archived[0]).toBe(parent!.ShardId);
    expect(new Set(archived.slice(1))).toEqual(new Set(['shardId-000000000001', 'shardId-000000000002']));
    expect(summary.shards.find((s) => s.shardId === parent!.ShardId)!.status).toBe('drained');
  });

  it('given a throttled ArchiveShard, then the Retry runs it again and the shard is archived', async () => {
    await createArchivedStream(env.kinesis, 'throttled', 1);
    await putAll(
      env.kinesis,
      'throttled',
      Array.from({ length: 20 }, (_, i) => telemetryRecord(i)),
    );
    let throttles = 0;
    const { result, tasks } = run(
      { streams: ['throttled'] },
      {
        wrap: (name, handler) =>
          name === 'archiveShard'
            ? async (event, context) => {
                if (throttles++ === 0)
                  throw new ThrottledError('Rate exceeded for shard shardId-000000000000');
                return handler(event, context);
              }
            : handler,
      },
    );
    const summary = await result;
    expect(throttles).toBe(2);
    expect(tasks.filter((t) => t.state === 'ArchiveShard').map((t) => t.error?.name ?? 'ok')).toEqual([
      'ThrottledError',
      'ok',
    ]);
    expect(summary).toMatchObject({ errorName: null, totals: { records: 20 } });
  });

  it('given a DataGapError on one shard, then it is caught and recorded, the other shards are archived, and the run fails with DataGapError', async () => {
    await createArchivedStream(env.kinesis, 'partly', 2);
    await putAll(
      env.kinesis,
      'partly',
      Array.from({ length: 40 }, (_, i) => telemetryRecord(i)),
    );
    const gap = new DataGapError('partly', 'shardId-000000000000', '1', '1', '9');
    const { result, tasks, executionName } = run(
      { streams: ['partly'] },
      {
        wrap: (name, handler) =>
          name === 'archiveShard'
            ? async (event, context) => {
                if (shardOf({ input: event } as TaskEvent) === 'shardId-000000000000') throw gap;
                return handler(event, context);
              }
            : handler,
      },
    );
    const failure = await result.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect((failure as ExecutionFailedError).error).toBe('DataGapError');
    expect((failure as ExecutionFailedError).causeText).toContain(gap.message);
    // Not retried: a gap does not heal.
    expect(tasks.filter((t) => t.state === 'ArchiveShard' && t.error)).toHaveLength(1);
    expect(tasks.filter((t) => t.state === 'RecordShardFailure')).toHaveLength(1);

    const { store, config } = archiveRuntime();
    const summary = (await store.getJson<ArchiveSummary>(
      archiveRunFiles(config.prefix, executionName).summary,
    ))!.value;
    expect(summary.shards.find((s) => s.shardId === 'shardId-000000000000')).toMatchObject({
      status: 'failed',
      error: { name: 'DataGapError' },
    });
    const healthy = summary.shards.find((s) => s.shardId === 'shardId-000000000001')!;
    expect(healthy.status).toBe('caught-up');
    expect(healthy.records).toBeGreaterThan(0);
  });

  it('given an invalid execution input, then the run fails at DiscoverStreams with a ValidationError naming the field', async () => {
    const failure = await run({ streams: ['no spaces allowed'] }).result.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect((failure as ExecutionFailedError).error).toBe('ValidationError');
    expect((failure as ExecutionFailedError).causeText).toContain('field streams[0]');
  });

  it('given ApplyRetention fails, then the archive runs anyway and the summary reports the failure as a warning', async () => {
    await createArchivedStream(env.kinesis, 'kept', 1);
    await env.kinesis.send(
      new AddTagsToStreamCommand({ StreamName: 'kept', Tags: { 'reservoir:retention-days': '30' } }),
    );
    await putAll(
      env.kinesis,
      'kept',
      Array.from({ length: 15 }, (_, i) => telemetryRecord(i)),
    );
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    const { result, tasks } = run(
      { streams: ['kept'] },
      {
        wrap: (name, handler) =>
          name === 'applyRetention'
            ? async () => {
                throw denied;
              }
            : handler,
      },
    );

    const summary = await result;
    expect(tasks.filter((t) => t.state === 'ApplyRetention').map((t) => t.error?.name)).toEqual([
      'AccessDenied',
    ]);
    expect(tasks.filter((t) => t.state === 'ArchiveShard').length).toBeGreaterThan(0);
    expect(summary).toMatchObject({ errorName: null, problemCount: 0, totals: { records: 15 } });
    expect(summary.retention).toMatchObject({ applied: false, error: { name: 'AccessDenied' } });
    expect(summary.warnings).toEqual([
      'retention: lifecycle rules not applied (AccessDenied: Access Denied); the archive ran; the next run tries again',
    ]);
  });

  it('given an S3 without lifecycle support (501 NotImplemented), then ApplyRetention is not retried and the archive runs on with a clear warning', async () => {
    await createArchivedStream(env.kinesis, 'no-lifecycle', 1);
    await env.kinesis.send(
      new AddTagsToStreamCommand({ StreamName: 'no-lifecycle', Tags: { 'reservoir:retention-days': '30' } }),
    );
    const send = S3Client.prototype.send;
    const notImplemented = jest.spyOn(S3Client.prototype, 'send').mockImplementation(function (
      this: S3Client,
      command: unknown,
    ) {
      if (command instanceof GetBucketLifecycleConfigurationCommand) {
        return Promise.reject(
          new S3ServiceException({
            name: 'NotImplemented',
            $fault: 'server',
            $metadata: { httpStatusCode: 501 },
            message: 'A header you provided implies functionality that is not implemented',
          }),
        );
      }
      return (send as (this: S3Client, c: unknown) => Promise<unknown>).call(this, command);
    } as typeof send);
    try {
      const { result, tasks } = run({ streams: ['no-lifecycle'] });
      const summary = await result;
      expect(tasks.filter((t) => t.state === 'ApplyRetention').map((t) => t.error?.name)).toEqual([
        'AwsRequestRejectedError',
      ]);
      expect(summary).toMatchObject({ errorName: null, problemCount: 0 });
      expect(summary.warnings[0]).toContain('NotImplemented');
      expect(summary.warnings[0]).toContain('HTTP 501');
    } finally {
      notImplemented.mockRestore();
    }
  });

  it('given ApplyRetention is throttled once, then the Retry runs it again and the rules are applied', async () => {
    await createArchivedStream(env.kinesis, 'retried', 1);
    await env.kinesis.send(
      new AddTagsToStreamCommand({ StreamName: 'retried', Tags: { 'reservoir:retention-days': '9' } }),
    );
    let calls = 0;
    const { result, tasks } = run(
      { streams: ['retried'] },
      {
        wrap: (name, handler) =>
          name === 'applyRetention'
            ? async (event, context) => {
                if (calls++ === 0) throw new ServiceUnavailableError('SlowDown');
                return handler(event, context);
              }
            : handler,
      },
    );

    const summary = await result;
    expect(tasks.filter((t) => t.state === 'ApplyRetention').map((t) => t.error?.name ?? 'ok')).toEqual([
      'ServiceUnavailableError',
      'ok',
    ]);
    expect(summary.retention).toMatchObject({ applied: true, changed: true, streamsWithRules: ['retried'] });
    expect(summary.warnings).toEqual([]);
  });

  it('given closed hours of an archived stream, then the run converts them to Parquet, and a failing conversion is a warning, not a failed run', async () => {
    await createArchivedStream(env.kinesis, 'hourly', 1);
    await putAll(
      env.kinesis,
      'hourly',
      Array.from({ length: 10 }, (_, i) => telemetryRecord(i)),
    );
    // Two past hours of the shard (kinesalite stamps arrival itself: the past is written directly).
    const { store } = archiveRuntime();
    const [shard] = (await env.kinesis.send(new ListShardsCommand({ StreamName: 'hourly' }))).Shards!;
    for (const hr of ['01', '02']) {
      const start = Date.parse(`2026-01-01T${hr}:00:00Z`);
      const line = serializeRecordLine({
        stream: 'hourly',
        shardId: shard!.ShardId!,
        sequenceNumber: `${hr}1`,
        subSequenceNumber: 0,
        partitionKey: 'k',
        arrivalTimestamp: start + 1000,
        data: Buffer.from(`{"hr":"${hr}"}`),
      });
      const key = archiveObjectKey('', 'hourly', shard!.ShardId!, start, `${hr}1`, `${hr}1`);
      await store.putObject(key, gzipSync(`${line}\n`), 'application/x-ndjson', 'gzip');
    }
    const broken = Object.assign(new Error('disk full'), { name: 'CorruptStateError' });
    const { result, tasks } = run(
      { streams: ['hourly'] },
      {
        retryIntervalOverrides: { ArchiveShard: 0, ConvertHour: 0 },
        wrap: (name, handler) =>
          name === 'convertHour'
            ? async (event, context) => {
                if ((event as { hour: { hr: string } }).hour.hr === '02') throw broken;
                return handler(event, context);
              }
            : handler,
      },
    );

    const summary = await result;
    expect(summary).toMatchObject({ errorName: null, problemCount: 0, totals: { records: 10 } });
    // The current hour is not closed: the hours converted are the two past ones, one failing.
    expect(
      tasks
        .filter((t) => t.state === 'ConvertHour')
        .map((t) => (t.input as { hour: { hr: string } }).hour.hr)
        .sort(),
    ).toEqual(['01', '02']);
    expect(summary.columnar).toMatchObject({
      planned: 2,
      converted: 1,
      records: 1,
      failures: [{ stream: 'hourly', dt: '2026-01-01', hr: '02', error: { name: 'CorruptStateError' } }],
    });
    expect(summary.warnings).toEqual([
      'columnar: hourly 2026-01-01 hr=02 not converted (CorruptStateError: disk full); the next run tries again',
    ]);
    expect(
      await store.exists(columnarManifestKey('', { stream: 'hourly', dt: '2026-01-01', hr: '01' })),
    ).toBe(true);
    expect(
      await store.exists(columnarManifestKey('', { stream: 'hourly', dt: '2026-01-01', hr: '02' })),
    ).toBe(false);

    // The next run converts the failed hour, and only that one.
    const next = run({ streams: ['hourly'] });
    const again = await next.result;
    expect(again.columnar).toMatchObject({ planned: 1, converted: 1, failures: [] });
    expect(
      await store.exists(columnarManifestKey('', { stream: 'hourly', dt: '2026-01-01', hr: '02' })),
    ).toBe(true);
  });
});
