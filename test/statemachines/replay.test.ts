import aslValidator from 'asl-validator';
import type { ReplaySummary } from '../../src/core/replay-summary';
import { ReplayDeliveryError, ThrottledError } from '../../src/core/errors';
import { loadLocalDefinition } from '../../src/local/asl-definition';
import {
  ExecutionFailedError,
  runLocalStateMachine,
  type LocalRunOptions,
  type TaskEvent,
} from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { createArchivedStream, useEmulators } from '../support/emulators';
import { readStream } from '../support/streams';

const env = useEmulators({ RESERVOIR_REPLAY_TARGETS: 'sm-target-*' });

function run(request: object, executionName: string, options: Partial<LocalRunOptions> = {}) {
  const tasks: TaskEvent[] = [];
  const result = runLocalStateMachine('replay', request, {
    executionName,
    onTask: (event) => tasks.push(event),
    retryIntervalOverrides: { ReplayItem: 0, ValidateReplay: 0 },
    ...options,
  }) as Promise<ReplaySummary>;
  return { result, tasks };
}

const failFirst = (functionName: string, error: Error): LocalRunOptions['wrap'] => {
  let failed = false;
  return (name, handler) =>
    name === functionName
      ? async (event, context) => {
          if (!failed) {
            failed = true;
            throw error;
          }
          return handler(event, context);
        }
      : handler;
};

describe('replay state machine (real ASL, real handlers)', () => {
  beforeAll(async () => {
    await createArchivedStream(env.kinesis, 'sm-source', 2);
    for (const target of ['sm-target-a', 'sm-target-b', 'sm-target-c'])
      await createArchivedStream(env.kinesis, target, 1, false);
    await putAll(
      env.kinesis,
      'sm-source',
      Array.from({ length: 120 }, (_, i) => telemetryRecord(i)),
    );
    await runLocalStateMachine('archive', { streams: ['sm-source'] }, { executionName: 'sm-replay-archive' });
  });

  it('is a valid state machine definition', () => {
    const { isValid, errorsText } = aslValidator(
      structuredClone(loadLocalDefinition('replay').definition) as never,
    );
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('given a throttled ReplayItem, then the Retry runs it again and every record is put', async () => {
    const { result, tasks } = run({ stream: 'sm-source', target: 'sm-target-a' }, 'sm-replay-throttle', {
      wrap: failFirst('replayItem', new ThrottledError('Rate exceeded for shard shardId-000000000000')),
    });
    const summary = await result;
    expect(tasks.filter((t) => t.state === 'ReplayItem' && t.error).map((t) => t.error!.name)).toEqual([
      'ThrottledError',
    ]);
    expect(summary).toMatchObject({ put: 120, problemCount: 0 });
    expect(await readStream(env.kinesis, 'sm-target-a')).toHaveLength(120);
  });

  it('given a record that cannot be delivered, then the item is caught, recorded, and the execution fails naming it', async () => {
    const error = new ReplayDeliveryError(
      'Record shardId-000000000001 sequence 42/0 (key k) could not be put into sm-target-b',
    );
    const { result, tasks } = run(
      { stream: 'sm-source', target: 'sm-target-b', replayId: 'sm-undeliverable' },
      'sm-undeliverable-1',
      {
        wrap: failFirst('replayItem', error),
      },
    );
    const failure = (await result.catch((e: unknown) => e)) as ExecutionFailedError;
    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect(failure.error).toBe('ReplayDeliveryError');
    expect(failure.causeText).toContain('sequence 42/0');
    expect(tasks.filter((t) => t.state === 'RecordReplayFailure')).toHaveLength(1);

    // Re-running the same replayId finishes what is left: the completed item is not replayed again.
    const { result: again, tasks: againTasks } = run(
      { stream: 'sm-source', target: 'sm-target-b', replayId: 'sm-undeliverable' },
      'sm-undeliverable-2',
    );
    const summary = await again;
    expect(summary).toMatchObject({ problemCount: 0, put: 120 });
    const puts = againTasks
      .filter((t) => t.state === 'ReplayItem')
      .map((t) => (t.output as { put: number }).put);
    expect(puts).toHaveLength(2);
    expect(await readStream(env.kinesis, 'sm-target-b')).toHaveLength(120);
  });

  it('given a finished replay, when its replayId runs again, then no record is put twice', async () => {
    const request = { stream: 'sm-source', target: 'sm-target-c', replayId: 'sm-twice' };
    await run(request, 'sm-twice-1').result;
    const second = await run(request, 'sm-twice-2').result;
    expect(second.put).toBe(120);
    expect(await readStream(env.kinesis, 'sm-target-c')).toHaveLength(120);
  });

  it('given a different request under an existing replayId, then it is refused', async () => {
    const failure = (await run(
      { stream: 'sm-source', target: 'sm-target-a', replayId: 'sm-twice' },
      'sm-twice-3',
    ).result.catch((e: unknown) => e)) as ExecutionFailedError;
    expect(failure.error).toBe('ValidationError');
    expect(failure.causeText).toContain('field replayId');
  });
});
