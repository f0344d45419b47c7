import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { archiveRuntime } from '../../src/archive/runtime';
import { replayCommand, type StopResult } from '../../src/cli/commands/replay';
import type { FollowResult } from '../../src/cli/replay-follow';
import { replayRunFiles } from '../../src/replay/run-files';
import { createArchivedStream, useEmulators } from '../support/emulators';
import { quietly } from '../support/quietly';

/**
 * `reservoir replay --follow / --stop` and resumed runs against a deployed stack: Step Functions
 * and CloudFormation are doubles at the SDK boundary (there is no emulator of them); the run files
 * are real, in s3rver, read and written by the CLI with the user's credentials.
 */

const env = useEmulators();
const cloudformation = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:reservoir-dev-replay';
const execution = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:reservoir-dev-replay:${name}`;
const missing = () => Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });

/** Run files of a replay half done: two items, one done. */
async function seedReplay(replayId: string): Promise<void> {
  const { store, config } = archiveRuntime();
  const files = replayRunFiles(config.prefix, replayId);
  const request = { stream: 'orders', target: 'orders', replayId };
  await store.putJson(files.request, { request, resolved: { ...request, fromMs: 0, toMs: 1 } });
  await store.putJson(files.plan, {
    replayId,
    itemCount: 2,
    pageCount: 1,
    objects: 2,
    objectBytes: 1000,
    liveShards: 0,
    estimatedRecords: 100,
    items: [],
    objectKeys: [],
  });
  const counts = (put: number) => ({ read: put, matched: put, put, throttledRetries: 3 });
  await store.putJson(files.progress('item-00000'), { itemId: 'item-00000', done: true, counts: counts(60) });
  await store.putJson(files.progress('item-00001'), {
    itemId: 'item-00001',
    done: false,
    counts: counts(20),
  });
}

beforeAll(async () => {
  await createArchivedStream(env.kinesis, 'orders', 1);
});

beforeEach(() => {
  cloudformation.reset();
  sfn.reset();
  cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'reservoir-dev',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'ArchiveBucketName', OutputValue: archiveRuntime().config.bucket },
          { OutputKey: 'ArchivePrefix', OutputValue: archiveRuntime().config.prefix },
          { OutputKey: 'ReplayStateMachineArn', OutputValue: MACHINE },
        ],
      },
    ],
  });
});

describe('reservoir replay --stop on a deployed stack', () => {
  it('given a replay whose second run is running, then it writes the stop marker and stops that execution with a cause', async () => {
    await seedReplay('rp-stop');
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-stop') }).resolves({ status: 'FAILED' });
    sfn
      .on(DescribeExecutionCommand, { executionArn: execution('rp-stop-r2') })
      .resolves({ status: 'RUNNING' });
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-stop-r3') }).rejects(missing());
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });

    const result = (await quietly(() =>
      replayCommand({ stop: 'rp-stop', reason: 'wrong target' }),
    )) as StopResult;

    expect(result).toEqual({
      replayId: 'rp-stop',
      executionArn: execution('rp-stop-r2'),
      cause: 'wrong target',
    });
    expect(sfn.commandCalls(StopExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: execution('rp-stop-r2'), error: 'ReplayStoppedError', cause: 'wrong target' },
    ]);
    const { store, config } = archiveRuntime();
    expect((await store.getJson(replayRunFiles(config.prefix, 'rp-stop').stopped))?.value).toMatchObject({
      cause: 'wrong target',
      executionArn: execution('rp-stop-r2'),
    });
  });

  it('given a replay with no running execution, then it refuses and stops nothing', async () => {
    await seedReplay('rp-idle');
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-idle') }).resolves({ status: 'ABORTED' });
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-idle-r2') }).rejects(missing());
    await expect(quietly(() => replayCommand({ stop: 'rp-idle' }))).rejects.toThrow(
      'replay rp-idle is not running (rp-idle: aborted)',
    );
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });
});

describe('reservoir replay --follow on a deployed stack', () => {
  it('given a running execution, then it reports the run files progress until the execution succeeds', async () => {
    await seedReplay('rp-follow');
    sfn
      .on(DescribeExecutionCommand, { executionArn: execution('rp-follow') })
      .resolvesOnce({ status: 'RUNNING' }) // finding the newest execution
      .resolvesOnce({ status: 'RUNNING' }) // the first poll
      .resolves({ status: 'SUCCEEDED' });
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-follow-r2') }).rejects(missing());

    const result = (await quietly(() => replayCommand({ follow: 'rp-follow', json: true }))) as FollowResult;

    expect(result.status).toBe('SUCCEEDED');
    expect(result.progress).toMatchObject({
      items: 2,
      itemsDone: 1,
      put: 80,
      estimatedRecords: 100,
      throttledRetries: 6,
    });
  });

  it('given an execution that was stopped, then follow ends and says how to resume', async () => {
    await seedReplay('rp-aborted');
    sfn
      .on(DescribeExecutionCommand, { executionArn: execution('rp-aborted') })
      .resolves({ status: 'ABORTED' });
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-aborted-r2') }).rejects(missing());
    await expect(quietly(() => replayCommand({ follow: 'rp-aborted' }))).rejects.toThrow(
      'replay rp-aborted aborted: run it again with --replay-id rp-aborted to resume',
    );
  });
});

describe('a deployed replay run again under its id', () => {
  it('given its first execution was stopped, then the resumed run is started as {id}-r2 (a closed name cannot be reused)', async () => {
    await seedReplay('rp-resume');
    sfn
      .on(DescribeExecutionCommand, { executionArn: execution('rp-resume') })
      .resolves({ status: 'ABORTED' });
    sfn
      .on(DescribeExecutionCommand, { executionArn: execution('rp-resume-r2') })
      .rejectsOnce(missing())
      .resolves({ status: 'SUCCEEDED', output: JSON.stringify({ replayId: 'rp-resume', put: 100 }) });
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: execution('rp-resume-r2'), startDate: new Date() });

    await quietly(() =>
      replayCommand({ stream: 'orders', target: 'orders', replayId: 'rp-resume', json: true }),
    );

    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name)).toEqual([
      'rp-resume-r2',
    ]);
  }, 30_000);

  it('given its execution is still running, then it refuses to start another and points at --follow', async () => {
    await seedReplay('rp-busy');
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-busy') }).resolves({ status: 'RUNNING' });
    sfn.on(DescribeExecutionCommand, { executionArn: execution('rp-busy-r2') }).rejects(missing());
    await expect(
      quietly(() => replayCommand({ stream: 'orders', target: 'orders', replayId: 'rp-busy' })),
    ).rejects.toThrow('follow it with --follow rp-busy');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
