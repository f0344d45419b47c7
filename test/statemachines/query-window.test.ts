import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { HiveSQL } from 'dt-sql-parser';
import aslValidator from 'asl-validator';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { parseRecordLines } from '../../src/core/record-line';
import { ServiceUnavailableError, ValidationError } from '../../src/core/errors';
import { loadLocalDefinition } from '../../src/local/asl-definition';
import {
  ExecutionFailedError,
  localTaskToken,
  runLocalStateMachine,
  type LocalRunOptions,
  type TaskEvent,
} from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { queryWindowFiles } from '../../src/query-window/files';
import { EMR_MANAGED_TAG, type NetworkCatalog, type TaggedResource } from '../../src/query-window/network';
import { queryWindowRuntime } from '../../src/query-window/runtime';
import {
  closeQueryWindow,
  readStatus,
  storeWindowToken,
  TaskNoLongerWaitingError,
  type TaskTokenSender,
} from '../../src/query-window/window';
import { createArchivedStream, useEmulators } from '../support/emulators';

/**
 * The queryWindow state machine: the real ASL and the real Lambda handlers (against kinesalite and
 * s3rver), with the EMR tasks - which exist only on AWS - overridden by state name. The overrides
 * record the parameters each EMR task was sent. WaitForClose runs StoreQueryWindowToken's logic and
 * then waits, like Step Functions, until its token is sent back through a local TaskTokenSender.
 */

// EC2 has no local emulator: the network is a fake (below); the endpoint only makes sure that a
// call that missed the fake fails on loopback instead of reaching AWS.
const env = useEmulators({
  RESERVOIR_STAGE: 'test',
  RESERVOIR_DRILL_VERSION: '1.21.2',
  AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9',
});

const STREAM = 'qw-orders';
const CLUSTER_ID = 'j-3QWTEST0001';
const MASTER = 'ip-10-0-1-23.ec2.internal';
const INPUT = {
  streams: [STREAM],
  durationMinutes: 30,
  instances: {
    masterInstanceType: 'r5.xlarge',
    coreInstanceType: 'r5.2xlarge',
    coreInstanceCount: 3,
    subnetId: 'subnet-0123456789abcdef0',
    additionalMasterSecurityGroups: ['sg-0123456789abcdef0'],
  },
};

const TAGGED = { [EMR_MANAGED_TAG.key]: EMR_MANAGED_TAG.value };
const VPC = 'vpc-0a1b2c3d4e5f60718';
const UNTAGGED_VPC_SUBNET = 'subnet-0fedcba9876543210';
const UNTAGGED_GROUP = 'sg-0bbbbbbbbbbbbbbbb';

/** The account's subnets, VPCs and security groups as EC2 would describe them. */
class FakeNetwork implements NetworkCatalog {
  subnets = new Map([
    [INPUT.instances.subnetId, { id: INPUT.instances.subnetId, vpcId: VPC, tags: TAGGED }],
    [UNTAGGED_VPC_SUBNET, { id: UNTAGGED_VPC_SUBNET, vpcId: 'vpc-0000000000000000a', tags: TAGGED }],
  ]);
  vpcs = new Map<string, TaggedResource>([
    [VPC, { id: VPC, tags: TAGGED }],
    ['vpc-0000000000000000a', { id: 'vpc-0000000000000000a', tags: { Name: 'legacy' } }],
  ]);
  groups = new Map<string, TaggedResource>([
    ['sg-0123456789abcdef0', { id: 'sg-0123456789abcdef0', tags: TAGGED }],
    [UNTAGGED_GROUP, { id: UNTAGGED_GROUP, tags: {} }],
  ]);

  async subnet(id: string) {
    return this.subnets.get(id) ?? null;
  }
  async vpc(id: string) {
    return this.vpcs.get(id) ?? null;
  }
  async securityGroups(ids: string[]) {
    return ids.flatMap((id) => this.groups.get(id) ?? []);
  }
}

/** Step Functions' side of task tokens, in process: tokens waiting for SendTaskSuccess. */
class LocalTokens implements TaskTokenSender {
  private readonly waiting = new Map<string, (output: unknown) => void>();

  wait(token: string): Promise<unknown> {
    return new Promise((resolve) => this.waiting.set(token, resolve));
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    const resolve = this.waiting.get(token);
    if (!resolve) throw new TaskNoLongerWaitingError(`no task is waiting for ${token}`);
    this.waiting.delete(token);
    resolve(output);
  }
}

type Override = (input: unknown) => Promise<unknown>;

interface Run {
  result: Promise<unknown>;
  tasks: TaskEvent[];
  /** Parameters each overridden (EMR) Task was called with, by state. */
  sent: Record<string, unknown[]>;
  tokens: LocalTokens;
}

const failWith = (name: string, message: string): Override => {
  return async () => {
    const error = new Error(message);
    error.name = name;
    throw error;
  };
};

/** Run options under which `functionName`'s handler throws `error` instead of running. */
function failingHandler(functionName: string, error: Error): Partial<LocalRunOptions> {
  return {
    wrap: (name, handler) =>
      name === functionName
        ? async () => {
            throw error;
          }
        : handler,
  };
}

function start(
  executionName: string,
  input: object,
  overrides: Record<string, Override> = {},
  options: Partial<LocalRunOptions> = {},
): Run {
  const tasks: TaskEvent[] = [];
  const sent: Record<string, unknown[]> = {};
  const tokens = new LocalTokens();
  const { store, config } = queryWindowRuntime();
  const emr: Record<string, Override> = {
    CreateCluster: async () => ({
      ClusterId: CLUSTER_ID,
      ClusterArn: `arn:aws:elasticmapreduce:us-east-1:000000000000:cluster/${CLUSTER_ID}`,
    }),
    CreateSecuredCluster: async () => ({ ClusterId: CLUSTER_ID }),
    FindCluster: async () => ({ Clusters: [] }),
    DescribeCluster: async () => ({
      Cluster: {
        Id: CLUSTER_ID,
        Name: `reservoir-query-window-${executionName}`,
        MasterPublicDnsName: MASTER,
      },
    }),
    CreateTables: async () => ({ StepId: 's-1' }),
    CreateKinesisTables: async () => ({ StepId: 's-2' }),
    ConfigureDrill: async () => ({ StepId: 's-3' }),
    WaitForClose: async (input) => {
      const payload = (input as { Payload: Parameters<typeof storeWindowToken>[1] }).Payload;
      const closed = tokens.wait(payload.token);
      await storeWindowToken(
        { store, prefix: config.prefix, sender: tokens, now: () => new Date() },
        payload,
      );
      return closed;
    },
    TerminateCluster: async () => ({}),
    TerminateFoundCluster: async () => ({}),
    ...overrides,
  };
  const taskOverrides = Object.fromEntries(
    Object.entries(emr).map(([state, override]) => [
      state,
      async (stateInput: unknown) => {
        (sent[state] ??= []).push(stateInput);
        return override(stateInput);
      },
    ]),
  );
  const result = runLocalStateMachine('query-window', input, {
    executionName,
    onTask: (event) => tasks.push(event),
    taskOverrides,
    // Retries without their real pauses.
    retryIntervalOverrides: Object.fromEntries(
      [
        'PrepareQueryWindow',
        'WaitForClose',
        'TerminateCluster',
        'TerminateFoundCluster',
        'FindCluster',
        'DescribeCluster',
        'CleanupQueryWindow',
      ].map((state) => [state, 0]),
    ),
    ...options,
  });
  result.catch(() => undefined);
  return { result, tasks, sent, tokens };
}

async function statusOf(windowId: string) {
  const { store, config } = queryWindowRuntime();
  return readStatus(store, config.prefix, windowId);
}

async function waitForPhase(windowId: string, phase: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    // s3rver writes an object in place, so a read racing the state machine's overwrite of
    // status.json can see half of it (S3 itself replaces objects atomically): read again.
    const status = await statusOf(windowId).catch((error: Error) => {
      if (error instanceof SyntaxError) return null;
      throw error;
    });
    if (status?.phase === phase) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`window ${windowId} never reached ${phase}`);
}

async function close(windowId: string, tokens: TaskTokenSender) {
  const { store, config } = queryWindowRuntime();
  return closeQueryWindow({ store, prefix: config.prefix, sender: tokens }, windowId);
}

async function failure(result: Promise<unknown>): Promise<ExecutionFailedError> {
  const error = await result.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExecutionFailedError);
  return error as ExecutionFailedError;
}

async function keysUnder(prefix: string): Promise<string[]> {
  return queryWindowRuntime().store.listKeys(prefix);
}

describe('queryWindow state machine (real ASL and handlers, EMR tasks overridden)', () => {
  const archivedSequences = new Set<string>();
  const tailSequences = new Set<string>();

  beforeAll(async () => {
    queryWindowRuntime().network = new FakeNetwork();
    const kinesis = env.kinesis;
    await createArchivedStream(kinesis, STREAM, 2);
    await putAll(
      kinesis,
      STREAM,
      Array.from({ length: 40 }, (_, i) => telemetryRecord(i)),
    );
    await runLocalStateMachine('archive', { streams: [STREAM] }, { executionName: 'qw-archive' });
    const { store, config } = archiveRuntime();
    for (const { line } of (await readWholeArchive(store, config.prefix, STREAM)).lines)
      archivedSequences.add(line.sequenceNumber);
    // The tail: in the stream, not archived.
    await putAll(
      kinesis,
      STREAM,
      Array.from({ length: 15 }, (_, i) => telemetryRecord(100 + i)),
    );
    const shards = await kinesis.send(new ListShardsCommand({ StreamName: STREAM }));
    for (const shard of shards.Shards ?? []) {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: STREAM,
          ShardId: shard.ShardId!,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
      for (const record of Records ?? [])
        if (!archivedSequences.has(record.SequenceNumber!)) tailSequences.add(record.SequenceNumber!);
    }
    // Records the window snapshots arrived before it opened (kinesalite stamps whole milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(archivedSequences.size).toBe(40);
    expect(tailSequences.size).toBe(15);
  });

  it('is a valid state machine definition, and only its EMR and callback tasks need overriding', () => {
    const local = loadLocalDefinition('query-window');
    const { isValid, errorsText } = aslValidator(structuredClone(local.definition) as never);

    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
    expect(Object.fromEntries(local.taskResources)).toEqual({
      CreateCluster: 'arn:aws:states:::elasticmapreduce:createCluster.sync',
      CreateSecuredCluster: 'arn:aws:states:::elasticmapreduce:createCluster.sync',
      FindCluster: 'arn:aws:states:::aws-sdk:emr:listClusters',
      DescribeCluster: 'arn:aws:states:::aws-sdk:emr:describeCluster',
      CreateTables: 'arn:aws:states:::elasticmapreduce:addStep.sync',
      CreateKinesisTables: 'arn:aws:states:::elasticmapreduce:addStep.sync',
      ConfigureDrill: 'arn:aws:states:::elasticmapreduce:addStep.sync',
      WaitForClose: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TerminateCluster: 'arn:aws:states:::elasticmapreduce:terminateCluster.sync',
      TerminateFoundCluster: 'arn:aws:states:::elasticmapreduce:terminateCluster.sync',
    });
    expect(Object.fromEntries(local.taskFunctions)).toEqual({
      PrepareQueryWindow: 'prepareQueryWindow',
      SnapshotLiveShard: 'snapshotLiveShard',
      CleanupQueryWindow: 'cleanupQueryWindow',
    });
  });

  it('when a Task that exists only on AWS has no override, then the local run refuses to start', async () => {
    await expect(
      runLocalStateMachine('query-window', INPUT, { executionName: 'qw-no-overrides' }),
    ).rejects.toThrow(
      /State CreateCluster runs arn:aws:states:::elasticmapreduce:createCluster.sync, which exists only on AWS/,
    );
  });

  describe('given a window opened and then closed by `query-window close`', () => {
    const windowId = 'qw-close';
    let run: Run;
    let output: unknown;

    beforeAll(async () => {
      run = start(windowId, INPUT);
      await waitForPhase(windowId, 'open');
    });

    it('then the cluster is created with Hive, ZooKeeper, the Drill bootstrap action and the instances asked for', () => {
      const { bucket } = queryWindowRuntime().config;
      const files = queryWindowFiles('', windowId);
      const [params] = run.sent.CreateCluster as Record<string, unknown>[];

      expect(run.sent.CreateSecuredCluster).toBeUndefined();
      expect(params).toMatchObject({
        Name: `reservoir-query-window-${windowId}`,
        ReleaseLabel: 'emr-6.15.0',
        Applications: [{ Name: 'Hive' }, { Name: 'ZooKeeper' }],
        ServiceRole: 'reservoir-query-window-emr-service',
        JobFlowRole: 'reservoir-query-window-emr-instance',
        LogUri: `s3://${bucket}/${files.logs}`,
        VisibleToAllUsers: true,
        AutoTerminationPolicy: { IdleTimeout: 30 * 60 + 3600 },
      });
      expect(params!.BootstrapActions).toEqual([
        {
          Name: 'Install Apache Drill 1.21.2',
          ScriptBootstrapAction: {
            Path: `s3://${bucket}/${files.installDrill}`,
            Args: [
              '--version',
              '1.21.2',
              '--plugins',
              `s3://${bucket}/${files.drillPlugins}`,
              '--cluster-id',
              `reservoir-${windowId}`,
              '--sha256',
              expect.stringMatching(/^[0-9a-f]{64}$/),
            ],
          },
        },
      ]);
      expect(params!.Instances).toEqual({
        InstanceGroups: [
          {
            Name: 'master',
            InstanceRole: 'MASTER',
            InstanceType: 'r5.xlarge',
            InstanceCount: 1,
            Market: 'ON_DEMAND',
          },
          {
            Name: 'core',
            InstanceRole: 'CORE',
            InstanceType: 'r5.2xlarge',
            InstanceCount: 3,
            Market: 'ON_DEMAND',
          },
        ],
        KeepJobFlowAliveWhenNoSteps: true,
        TerminationProtected: false,
        Ec2SubnetId: 'subnet-0123456789abcdef0',
        AdditionalMasterSecurityGroups: ['sg-0123456789abcdef0'],
      });
      expect(params!.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'reservoir-query-window', Value: 'test' },
          { Key: 'reservoir-window-id', Value: windowId },
        ]),
      );
      expect(params!.Configurations).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Classification: 'hive-site',
            Properties: expect.objectContaining({ 'hive.mapred.supports.subdirectories': 'true' }),
          }),
        ]),
      );
    });

    it('then the bootstrap script is the repository’s, shipped to the window’s run files', async () => {
      const { store } = queryWindowRuntime();
      const script = await store.getObject(queryWindowFiles('', windowId).installDrill);

      expect(Buffer.from(script!).toString('utf8')).toBe(
        readFileSync(join(__dirname, '..', '..', 'deploy', 'emr', 'install-drill.sh'), 'utf8'),
      );
    });

    it('then the steps run the generated scripts on the cluster the state machine created', async () => {
      const { bucket } = queryWindowRuntime().config;
      const files = queryWindowFiles('', windowId);
      const step = (state: string) =>
        run.sent[state]![0] as {
          ClusterId: string;
          Step: { HadoopJarStep: { Jar: string; Args: string[] } };
        };

      expect(step('CreateTables').ClusterId).toBe(CLUSTER_ID);
      expect(step('CreateTables').Step.HadoopJarStep).toEqual({
        Jar: 'command-runner.jar',
        Args: ['hive-script', '--run-hive-script', '--args', '-f', `s3://${bucket}/${files.hiveTables}`],
      });
      expect(step('ConfigureDrill').ClusterId).toBe(CLUSTER_ID);
      expect(step('ConfigureDrill').Step.HadoopJarStep.Args.slice(0, 2)).toEqual(['bash', '-c']);
      expect(step('ConfigureDrill').Step.HadoopJarStep.Args[2]).toContain(
        `s3://${bucket}/${files.configureDrill}`,
      );
      expect(step('ConfigureDrill').Step.HadoopJarStep.Args[2]).toContain(
        `'s3://${bucket}/${files.drillSql}'`,
      );
      // emr-6.x: the Kinesis storage handler is not documented there, so no handler tables by default.
      expect(run.sent.CreateKinesisTables).toBeUndefined();

      const { store } = queryWindowRuntime();
      const hiveql = Buffer.from((await store.getObject(files.hiveTables))!).toString('utf8');
      expect(new HiveSQL().validate(hiveql)).toEqual([]);
      expect(hiveql).toContain(`LOCATION 's3://${bucket}/archive/'`);
      expect(hiveql).toContain(`LOCATION 's3://${bucket}/${files.live}'`);
    });

    it('then the live snapshot holds exactly the records not archived, up to the opening', async () => {
      const { store } = queryWindowRuntime();
      const keys = await keysUnder(queryWindowFiles('', windowId).live);
      const lines = (
        await Promise.all(
          keys.map(async (key) =>
            parseRecordLines(gunzipSync((await store.getObject(key))!).toString('utf8')),
          ),
        )
      ).flat();

      expect(keys.every((key) => /live\/stream=qw-orders\/shardId-\d+-\d{5}\.jsonl\.gz$/.test(key))).toBe(
        true,
      );
      expect(new Set(lines.map((line) => line.sequenceNumber))).toEqual(tailSequences);
      expect(lines).toHaveLength(15);
      expect(lines.every((line) => line.stream === STREAM)).toBe(true);
    });

    it('then the window is open: its status names the cluster, the master and the Drill and HiveServer2 endpoints', async () => {
      const status = await statusOf(windowId);

      expect(status).toMatchObject({
        phase: 'open',
        streams: [STREAM],
        endpoints: {
          clusterId: CLUSTER_ID,
          clusterName: `reservoir-query-window-${windowId}`,
          masterAddress: MASTER,
          drillWebUrl: `http://${MASTER}:8047`,
          drillJdbcUrl: `jdbc:drill:drillbit=${MASTER}:31010`,
          hiveJdbcUrl: `jdbc:hive2://${MASTER}:10000/reservoir`,
          ports: { drillWeb: 8047, drillJdbc: 31010, hiveServer2: 10000 },
        },
      });
      expect(run.sent.TerminateCluster).toBeUndefined();
    });

    it('when closed, then the token goes back, the cluster is terminated, the snapshot removed, and the output names the endpoints', async () => {
      const outcome = await close(windowId, run.tokens);
      output = await run.result;

      expect(outcome).toBe('closing');
      expect(run.sent.WaitForClose![0]).toMatchObject({
        Payload: { token: localTaskToken(windowId), timeoutSeconds: 1800 },
      });
      expect(run.sent.TerminateCluster).toEqual([{ ClusterId: CLUSTER_ID }]);
      expect(output).toEqual({
        windowId,
        ended: 'closed',
        streams: [STREAM],
        endpoints: expect.objectContaining({ clusterId: CLUSTER_ID, masterAddress: MASTER }),
        cleanup: { phase: 'closed', removed: expect.any(Number) },
      });
      expect(await keysUnder(queryWindowFiles('', windowId).live)).toEqual([]);
      expect(await keysUnder(queryWindowFiles('', windowId).token)).toEqual([]);
      expect(await statusOf(windowId)).toMatchObject({ phase: 'closed', endedAt: expect.any(String) });
    });

    it('when closed again, then nothing is sent', async () => {
      expect(await close(windowId, run.tokens)).toBe('already-closed');
    });

    it('then every $.window path the state machine reads exists in what PrepareQueryWindow returned (a missing one would be States.Runtime, which no Catch sees)', () => {
      const prepared = run.tasks.find((t) => t.state === 'PrepareQueryWindow' && t.output)!.output;
      const definition = JSON.stringify(loadLocalDefinition('query-window').definition);
      // Read only behind IsPresent (ChooseClusterSecurity).
      const optional = new Set(['$.window.cluster.securityConfiguration']);
      const paths = [...new Set(definition.match(/\$\.window(\.[A-Za-z0-9_]+)+/g))].filter(
        (p) => !optional.has(p),
      );
      const missing = paths.filter(
        (path) =>
          path
            .split('.')
            .slice(2)
            .reduce<unknown>(
              (node, key) =>
                node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined,
              prepared,
            ) === undefined,
      );

      expect(paths.length).toBeGreaterThan(15);
      expect(missing).toEqual([]);
    });
  });

  it('given a window closed normally whose cleanup fails, then it still ends closed, with the cleanup’s error, and its cluster terminated', async () => {
    const windowId = 'qw-cleanup-fails';
    const run = start(
      windowId,
      INPUT,
      {},
      failingHandler('cleanupQueryWindow', new ServiceUnavailableError('S3 is down')),
    );
    await waitForPhase(windowId, 'open');
    await close(windowId, run.tokens);

    expect(await run.result).toMatchObject({
      windowId,
      ended: 'closed',
      cleanup: { Error: 'ServiceUnavailableError', Cause: expect.stringContaining('S3 is down') },
    });
    expect(run.sent.TerminateCluster).toEqual([{ ClusterId: CLUSTER_ID }]);
  });

  it('given a window that reaches its duration, then the timeout terminates the cluster', async () => {
    // A short TimeoutSecondsPath value: PrepareQueryWindow's result, as the state machine reads it.
    const run = start(
      'qw-timeout',
      INPUT,
      {},
      {
        wrap: (name, handler) =>
          name === 'prepareQueryWindow'
            ? async (event, context) => ({
                ...((await handler(event, context)) as object),
                timeoutSeconds: 1,
              })
            : handler,
      },
    );
    const output = await run.result;

    expect(run.sent.WaitForClose).toHaveLength(1);
    expect(run.sent.TerminateCluster).toEqual([{ ClusterId: CLUSTER_ID }]);
    expect(output).toMatchObject({ ended: 'timed-out' });
    expect(await statusOf('qw-timeout')).toMatchObject({ phase: 'timed-out' });
    expect(await keysUnder(queryWindowFiles('', 'qw-timeout').live)).toEqual([]);
  });

  it('given a close while the window is still opening, then it closes as soon as it opens', async () => {
    const tokens = new LocalTokens();
    let closeOutcome: unknown;
    const run = start('qw-early-close', INPUT, {
      ConfigureDrill: async () => {
        closeOutcome = await close('qw-early-close', tokens);
        return { StepId: 's-3' };
      },
      WaitForClose: async (input) => {
        const { store, config } = queryWindowRuntime();
        const payload = (input as { Payload: Parameters<typeof storeWindowToken>[1] }).Payload;
        const closed = tokens.wait(payload.token);
        await storeWindowToken(
          { store, prefix: config.prefix, sender: tokens, now: () => new Date() },
          payload,
        );
        return closed;
      },
    });
    const output = await run.result;

    expect(closeOutcome).toBe('close-requested');
    expect(output).toMatchObject({ ended: 'closed' });
    expect(run.sent.TerminateCluster).toEqual([{ ClusterId: CLUSTER_ID }]);
  });

  describe('given a failure once the cluster exists, then the cluster is terminated and the execution fails with the error', () => {
    it.each([
      ['DescribeCluster', 'Emr.InvalidRequestException'],
      ['CreateTables', 'States.TaskFailed'],
      ['ConfigureDrill', 'States.TaskFailed'],
      ['WaitForClose', 'Lambda.Unknown'],
    ])('%s fails (%s)', async (state, errorName) => {
      const windowId = `qw-fail-${state}`;
      const run = start(windowId, INPUT, { [state]: failWith(errorName, `${state} failed on purpose`) });
      const error = await failure(run.result);

      expect(error.error).toBe(errorName);
      expect(error.causeText).toBe(`${state} failed on purpose`);
      expect(run.sent.TerminateCluster).toEqual([{ ClusterId: CLUSTER_ID }]);
      expect(await statusOf(windowId)).toMatchObject({ phase: 'failed', error: { Error: errorName } });
      expect(await keysUnder(queryWindowFiles('', windowId).live)).toEqual([]);
    });

    it('StoreQueryWindowToken’s Lambda fails, then WaitForClose’s Catch terminates the cluster', async () => {
      const run = start('qw-fail-store-token', INPUT, {
        WaitForClose: async () => {
          throw new ServiceUnavailableError('S3 is down');
        },
      });
      const error = await failure(run.result);

      expect(error.error).toBe('ServiceUnavailableError');
      expect(run.sent.TerminateCluster).toEqual([{ ClusterId: CLUSTER_ID }]);
    });

    it('CreateCluster fails after RunJobFlow started the cluster: it is found by name and terminated', async () => {
      const windowId = 'qw-fail-create-started';
      const run = start(windowId, INPUT, {
        CreateCluster: failWith('States.Timeout', 'createCluster.sync timed out'),
        FindCluster: async () => ({
          Clusters: [
            { Id: 'j-SOMEONEELSE', Name: 'another-cluster' },
            { Id: 'j-LEFTRUNNING', Name: `reservoir-query-window-${windowId}` },
          ],
        }),
      });
      const error = await failure(run.result);

      expect(error.error).toBe('States.Timeout');
      expect(run.sent.FindCluster![0]).toMatchObject({
        ClusterStates: ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING'],
        CreatedAfter: expect.any(String),
      });
      expect(run.sent.TerminateFoundCluster).toEqual([{ ClusterId: 'j-LEFTRUNNING' }]);
      expect(run.sent.TerminateCluster).toBeUndefined();
      expect(await statusOf(windowId)).toMatchObject({ phase: 'failed' });
    });

    it('CreateCluster fails and no cluster of the window runs: nothing to terminate, the execution fails', async () => {
      const run = start('qw-fail-create-none', INPUT, {
        CreateCluster: failWith('States.TaskFailed', 'Terminated with errors: bootstrap action 1 failed'),
        FindCluster: async () => ({ Clusters: [{ Id: 'j-SOMEONEELSE', Name: 'another-cluster' }] }),
      });
      const error = await failure(run.result);

      expect(error.error).toBe('States.TaskFailed');
      expect(run.sent.TerminateFoundCluster).toBeUndefined();
      expect(run.sent.TerminateCluster).toBeUndefined();
    });

    it('CreateCluster fails and listing clusters fails too: ClusterNotFound names the problem', async () => {
      const run = start('qw-fail-find', INPUT, {
        CreateCluster: failWith('States.TaskFailed', 'createCluster failed'),
        FindCluster: failWith('Emr.AccessDeniedException', 'not allowed to list clusters'),
      });
      const error = await failure(run.result);

      expect(error.error).toBe('ClusterNotFound');
      expect(error.causeText).toBe('not allowed to list clusters');
    });

    it('TerminateCluster keeps failing: ClusterNotTerminated, after its retries', async () => {
      const run = start('qw-fail-terminate', INPUT, {
        WaitForClose: failWith('States.TaskFailed', 'callback failed'),
        TerminateCluster: failWith('ElasticMapReduce.AmazonElasticMapReduceException', 'terminate refused'),
      });
      const error = await failure(run.result);

      expect(error.error).toBe('ClusterNotTerminated');
      expect(run.sent.TerminateCluster).toHaveLength(7);
      expect(await statusOf('qw-fail-terminate')).toMatchObject({
        phase: 'failed',
        error: { Error: 'ClusterNotTerminated', Cause: expect.stringContaining(CLUSTER_ID) },
      });
    });
  });

  describe('given a failure before the cluster exists, then no EMR task runs', () => {
    it('no subnet is named: the request is refused naming instances.subnetId', async () => {
      const run = start('qw-no-subnet', { streams: [STREAM] });
      const error = await failure(run.result);

      expect(error.error).toBe(ValidationError.name);
      expect(error.causeText).toContain('field instances: is required');
      expect(Object.keys(run.sent)).toEqual([]);
    });

    it.each([
      [
        'qw-vpc-untagged',
        'the subnet’s VPC is not tagged',
        { subnetId: UNTAGGED_VPC_SUBNET },
        `field instances.subnetId: the subnet's VPC vpc-0000000000000000a is not tagged ${EMR_MANAGED_TAG.key}=true`,
      ],
      [
        'qw-subnet-missing',
        'the subnet does not exist',
        { subnetId: 'subnet-00000000000000000' },
        'field instances.subnetId: subnet subnet-00000000000000000 does not exist',
      ],
      [
        'qw-sg-untagged',
        'a security group is not tagged',
        { subnetId: INPUT.instances.subnetId, additionalMasterSecurityGroups: [UNTAGGED_GROUP] },
        `field instances.additionalMasterSecurityGroups[0]: security group ${UNTAGGED_GROUP} is not tagged ${EMR_MANAGED_TAG.key}=true`,
      ],
    ])(
      '%s: %s, so PrepareQueryWindow refuses the window naming the field, the resource and the tag',
      async (windowId, _, instances, message) => {
        const run = start(windowId, { streams: [STREAM], instances });
        const error = await failure(run.result);

        expect(error.error).toBe(ValidationError.name);
        expect(error.causeText).toContain(message);
        expect(Object.keys(run.sent)).toEqual([]);
      },
    );

    it('an invalid request fails in PrepareQueryWindow, naming the field', async () => {
      const run = start('qw-invalid', { ...INPUT, instances: { coreInstanceCount: -1 } });
      const error = await failure(run.result);

      expect(error.error).toBe(ValidationError.name);
      expect(error.causeText).toContain('field instances.coreInstanceCount');
      expect(Object.keys(run.sent)).toEqual([]);
    });

    it('a failed snapshot is cleaned up and no cluster is created', async () => {
      const windowId = 'qw-fail-snapshot';
      const run = start(
        windowId,
        INPUT,
        {},
        failingHandler('snapshotLiveShard', new ValidationError('snapshot refused')),
      );
      const error = await failure(run.result);

      expect(error.error).toBe('ValidationError');
      expect(Object.keys(run.sent)).toEqual([]);
      expect(await statusOf(windowId)).toMatchObject({ phase: 'failed' });
    });
  });

  describe('given the other options', () => {
    it('a security configuration is passed to RunJobFlow (CreateSecuredCluster)', async () => {
      const run = start('qw-secured', { ...INPUT, securityConfiguration: 'reservoir-tls', live: 'none' });
      await waitForPhase('qw-secured', 'open');
      await close('qw-secured', run.tokens);
      await run.result;

      expect(run.sent.CreateCluster).toBeUndefined();
      expect(run.sent.CreateSecuredCluster![0]).toMatchObject({ SecurityConfiguration: 'reservoir-tls' });
      expect(run.tasks.some((t) => t.state === 'SnapshotLiveShard')).toBe(false);
    });

    it('on emr-5.x the Kinesis storage handler tables are created, and their failure keeps the window open', async () => {
      const { bucket } = queryWindowRuntime().config;
      const run = start(
        'qw-kinesis',
        { ...INPUT, releaseLabel: 'emr-5.36.2' },
        {
          CreateKinesisTables: failWith('States.TaskFailed', 'ClassNotFoundException: KinesisStorageHandler'),
        },
      );
      await waitForPhase('qw-kinesis', 'open');
      await close('qw-kinesis', run.tokens);

      expect(await run.result).toMatchObject({ ended: 'closed' });
      expect(run.sent.CreateKinesisTables![0]).toMatchObject({
        Step: {
          HadoopJarStep: {
            Args: [
              'hive-script',
              '--run-hive-script',
              '--args',
              '-f',
              `s3://${bucket}/${queryWindowFiles('', 'qw-kinesis').kinesisTables}`,
            ],
          },
        },
      });
    });
  });
});
