import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { s3Client } from '../../aws/clients';
import { S3ObjectStore } from '../../aws/s3-adapter';
import { ValidationError } from '../../core/errors';
import { normalizePrefix } from '../../core/layout';
import type { ObjectStore } from '../../core/ports';
import {
  validateQueryWindowInput,
  WINDOW_ID_PATTERN,
  type QueryWindowInput,
} from '../../query-window/request';
import { SfnTaskTokenSender } from '../../query-window/runtime';
import { closeQueryWindow, readStatus, type WindowStatus } from '../../query-window/window';
import { stackOutputs } from '../deployed';
import { CommandFailure, formatDuration, info, parseDuration, table } from '../output';

/**
 * `reservoir query-window open|close|status`: the deployed queryWindow state machine (AWS only:
 * EMR does not run locally). Progress and tables go to stderr; --json puts the window on stdout.
 */

export interface QueryWindowOpenOptions {
  stage?: string;
  request?: string;
  stream?: string[];
  duration?: string;
  release?: string;
  drillVersion?: string;
  masterType?: string;
  coreType?: string;
  coreCount?: string;
  subnet?: string;
  keyName?: string;
  securityGroup?: string[];
  securityConfiguration?: string;
  live?: 'auto' | 'snapshot' | 'none';
  kinesisTables?: boolean;
  windowId?: string;
  wait?: boolean;
  json?: boolean;
}

export interface QueryWindowCloseOptions {
  stage?: string;
  wait?: boolean;
  json?: boolean;
}

export interface QueryWindowStatusOptions {
  stage?: string;
  json?: boolean;
}

/** The request from --request (a file, or - for stdin) with the flags laid over it, validated. */
export function buildQueryWindowInput(
  options: QueryWindowOpenOptions,
  readStdin: () => string = () => readFileSync(0, 'utf8'),
): QueryWindowInput {
  let base: Partial<QueryWindowInput> = {};
  if (options.request) {
    const text = options.request === '-' ? readStdin() : readFileSync(options.request, 'utf8');
    try {
      base = JSON.parse(text) as Partial<QueryWindowInput>;
    } catch (error) {
      throw new CommandFailure(`--request: not JSON (${(error as Error).message})`);
    }
  }
  const instances = {
    ...base.instances,
    ...defined({
      masterInstanceType: options.masterType,
      coreInstanceType: options.coreType,
      coreInstanceCount: options.coreCount === undefined ? undefined : Number(options.coreCount),
      subnetId: options.subnet,
      ec2KeyName: options.keyName,
      additionalMasterSecurityGroups: options.securityGroup,
    }),
  };
  // Assembled from flags and a file, checked by the schema below (instances.subnetId is required).
  const input: Record<string, unknown> = {
    ...base,
    ...defined({
      streams: options.stream,
      durationMinutes: options.duration === undefined ? undefined : parseDuration(options.duration),
      releaseLabel: options.release,
      drillVersion: options.drillVersion,
      live: options.live,
      kinesisTables: options.kinesisTables,
      securityConfiguration: options.securityConfiguration,
    }),
    ...(Object.keys(instances).length > 0 ? { instances } : {}),
  };
  try {
    return validateQueryWindowInput(input);
  } catch (error) {
    if (error instanceof ValidationError) throw new CommandFailure(error.message);
    throw error;
  }
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function generateWindowId(now = new Date()): string {
  return `qw-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomUUID().slice(0, 6)}`;
}

/** What a window is doing, from the state its execution last entered. */
export function phaseOf(state: string | undefined): string {
  switch (state) {
    case undefined:
    case 'PrepareQueryWindow':
      return 'preparing the window (streams, shards, scripts)';
    case 'TakeLiveSnapshot':
    case 'SnapshotLiveTail':
    case 'SnapshotLiveShard':
    case 'ShardSnapshotDone':
    case 'ShardSnapshotted':
      return 'snapshotting the streams’ tail not archived yet';
    case 'ChooseClusterSecurity':
    case 'CreateCluster':
    case 'CreateSecuredCluster':
      return 'starting the EMR cluster (Hive, ZooKeeper, Drill bootstrap action)';
    case 'DescribeCluster':
    case 'CreateTables':
      return 'creating the Hive tables and the records view';
    case 'KinesisTables':
    case 'CreateKinesisTables':
      return 'creating the Kinesis storage handler tables';
    case 'ConfigureDrill':
      return 'configuring Drill (storage plugins, records view)';
    case 'Endpoints':
    case 'WaitForClose':
      return 'open';
    case 'FindCluster':
    case 'AnyClusters':
    case 'TerminateWindowCluster':
    case 'IsWindowCluster':
    case 'TerminateFoundCluster':
    case 'OtherCluster':
    case 'Closed':
    case 'TimedOut':
    case 'TerminateCluster':
      return 'terminating the cluster';
    default:
      return 'closing';
  }
}

/** The state the execution last entered and the cluster it created, from its history (newest first). */
export function progressOf(events: HistoryEvent[]): { state?: string; clusterId?: string } {
  const entered = events.find((e) => e.stateEnteredEventDetails?.name);
  let clusterId: string | undefined;
  for (const event of events) {
    const output = event.taskSubmittedEventDetails?.output ?? event.taskSucceededEventDetails?.output;
    const id = output && /"(?:ClusterId|clusterId|JobFlowId)"\s*:\s*"(j-[A-Za-z0-9]+)"/.exec(output)?.[1];
    if (id) {
      clusterId = id;
      break;
    }
  }
  return { state: entered?.stateEnteredEventDetails?.name, clusterId };
}

interface Deployment {
  sfn: SFNClient;
  stateMachineArn: string;
  store: ObjectStore;
  prefix: string;
}

async function deployment(stage = process.env.RESERVOIR_STAGE ?? 'dev'): Promise<Deployment> {
  // Query windows exist only on AWS (EMR): there is no --local to suggest.
  const outputs = await stackOutputs(stage, '');
  const stateMachineArn = outputs.QueryWindowStateMachineArn;
  const bucket = outputs.ArchiveBucketName;
  if (!stateMachineArn || !bucket)
    throw new CommandFailure(
      `stack reservoir-${stage} has no QueryWindowStateMachineArn/ArchiveBucketName output (deploy this version first)`,
    );
  return {
    sfn: new SFNClient({ requestHandler: new NodeHttpHandler() }),
    stateMachineArn,
    store: new S3ObjectStore(s3Client(), bucket),
    prefix: normalizePrefix(outputs.ArchivePrefix ?? ''),
  };
}

function executionArn(stateMachineArn: string, windowId: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${windowId}`;
}

async function latestEvents(d: Deployment, arn: string): Promise<HistoryEvent[]> {
  const history = await d.sfn.send(
    new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true, maxResults: 100 }),
  );
  return history.events ?? [];
}

function printOpen(status: WindowStatus): void {
  const e = status.endpoints;
  if (!e) return;
  info(
    `window ${status.windowId} is open until ${status.closesBy ?? '?'} (streams: ${(status.streams ?? []).join(', ')})`,
  );
  info(`  cluster        ${e.clusterName} (${e.clusterId})`);
  info(`  master         ${e.masterAddress}`);
  info(`  Drill web      ${e.drillWebUrl}`);
  info(`  Drill JDBC     ${e.drillJdbcUrl}   (port ${e.ports.drillJdbc})`);
  info(`  HiveServer2    ${e.hiveJdbcUrl}   (port ${e.ports.hiveServer2})`);
  info(`  query          SELECT * FROM reservoir.records (Hive) / reservoir.views.records (Drill)`);
  info(`  close it with  reservoir query-window close ${status.windowId}`);
}

/** Follows an execution until the window is open (or the execution ends), with progress on stderr. */
async function followUntil(
  d: Deployment,
  windowId: string,
  done: (status: WindowStatus | null, running: boolean) => boolean,
  pollMs = 10_000,
): Promise<{
  status: WindowStatus | null;
  execution: { status?: string; error?: string; cause?: string; output?: string };
}> {
  const arn = executionArn(d.stateMachineArn, windowId);
  const started = Date.now();
  let reported = '';
  for (;;) {
    const execution = await d.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    const status = await readStatus(d.store, d.prefix, windowId).catch(() => null);
    const running = execution.status === 'RUNNING';
    if (running) {
      const { state, clusterId } = progressOf(await latestEvents(d, arn).catch(() => []));
      const line = `${phaseOf(state)}${clusterId ? ` - cluster ${clusterId}` : ''}`;
      if (line !== reported) {
        reported = line;
        info(`[${formatDuration(Date.now() - started).padStart(6)}] ${line}`);
      }
    }
    if (done(status, running)) return { status, execution };
    if (!running) return { status, execution };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** `reservoir query-window open`: starts a window and, unless --no-wait, follows it until it is open. */
export async function queryWindowOpenCommand(options: QueryWindowOpenOptions): Promise<WindowStatus | null> {
  const input = buildQueryWindowInput(options);
  const windowId = options.windowId ?? generateWindowId();
  if (!WINDOW_ID_PATTERN.test(windowId))
    throw new CommandFailure('--window-id: 1-80 letters, digits, - or _');
  const d = await deployment(options.stage);
  await d.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: d.stateMachineArn,
      name: windowId,
      input: JSON.stringify(input),
    }),
  );
  info(`opening query window ${windowId} (reservoir query-window status ${windowId})`);
  if (options.wait === false) {
    if (options.json) process.stdout.write(`${JSON.stringify({ windowId }, null, 2)}\n`);
    return null;
  }
  const { status, execution } = await followUntil(d, windowId, (s) => s?.phase === 'open');
  if (status?.phase === 'open') {
    printOpen(status);
    if (options.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return status;
  }
  throw new CommandFailure(
    `query window ${windowId} ${execution.status?.toLowerCase()}: ${execution.error ?? status?.error?.Error ?? ''}: ${
      execution.cause ?? status?.error?.Cause ?? ''
    }`,
  );
}

async function runningWindows(d: Deployment): Promise<string[]> {
  const listed = await d.sfn.send(
    new ListExecutionsCommand({
      stateMachineArn: d.stateMachineArn,
      statusFilter: 'RUNNING',
      maxResults: 100,
    }),
  );
  return (listed.executions ?? []).map((e) => e.name ?? '').filter(Boolean);
}

async function theWindow(d: Deployment, windowId: string | undefined): Promise<string> {
  if (windowId) return windowId;
  const running = await runningWindows(d);
  if (running.length === 1) return running[0]!;
  if (running.length === 0) throw new CommandFailure('no query window is open');
  throw new CommandFailure(`several query windows are open (${running.join(', ')}): name one`);
}

/** `reservoir query-window close [window]`: sends the window's task token back; the state machine terminates the cluster. */
export async function queryWindowCloseCommand(
  windowId: string | undefined,
  options: QueryWindowCloseOptions,
): Promise<string> {
  const d = await deployment(options.stage);
  const id = await theWindow(d, windowId);
  const outcome = await closeQueryWindow(
    { store: d.store, prefix: d.prefix, sender: new SfnTaskTokenSender(d.sfn) },
    id,
  );
  const said: Record<typeof outcome, string> = {
    closing: `closing query window ${id}: its cluster is being terminated`,
    'close-requested': `query window ${id} is still opening: it will close (and its cluster terminate) as soon as it is open`,
    'already-closed': `query window ${id} is already closed`,
    'not-found': `no query window ${id} in this deployment`,
  };
  info(said[outcome]);
  if (outcome === 'not-found') throw new CommandFailure(said[outcome]);
  if (options.wait && outcome !== 'already-closed') {
    const { status, execution } = await followUntil(d, id, (_, running) => !running);
    info(`query window ${id}: ${status?.phase ?? execution.status?.toLowerCase()}`);
    if (execution.status !== 'SUCCEEDED')
      throw new CommandFailure(
        `query window ${id} ${execution.status?.toLowerCase()}: ${execution.error}: ${execution.cause}`,
      );
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ windowId: id, outcome }, null, 2)}\n`);
  return outcome;
}

/** `reservoir query-window status [window]`: one window in detail, or every open one. */
export async function queryWindowStatusCommand(
  windowId: string | undefined,
  options: QueryWindowStatusOptions,
): Promise<unknown> {
  const d = await deployment(options.stage);
  const ids = windowId ? [windowId] : await runningWindows(d);
  const rows = await Promise.all(
    ids.map(async (id) => {
      const arn = executionArn(d.stateMachineArn, id);
      const execution = await d.sfn
        .send(new DescribeExecutionCommand({ executionArn: arn }))
        .catch(() => null);
      const status = await readStatus(d.store, d.prefix, id);
      const progress = execution?.status === 'RUNNING' ? progressOf(await latestEvents(d, arn)) : {};
      return {
        windowId: id,
        execution: execution?.status ?? 'UNKNOWN',
        phase: phaseOf(progress.state),
        progress,
        status,
      };
    }),
  );
  if (options.json) {
    process.stdout.write(`${JSON.stringify(windowId ? rows[0] : rows, null, 2)}\n`);
    return rows;
  }
  if (rows.length === 0) info('no query window is open');
  if (windowId && rows[0]) {
    const row = rows[0];
    if (!row.status && row.execution === 'UNKNOWN')
      throw new CommandFailure(`no query window ${windowId} in this deployment`);
    info(
      `query window ${row.windowId}: ${row.execution.toLowerCase()}, ${row.status?.phase ?? '?'} (${row.phase})`,
    );
    if (row.progress.clusterId) info(`  cluster        ${row.progress.clusterId}`);
    if (row.status?.phase === 'open') printOpen(row.status);
    if (row.status?.error) info(`  error          ${row.status.error.Error}: ${row.status.error.Cause}`);
    return row;
  }
  if (rows.length > 0)
    info(
      table(
        ['window', 'phase', 'master', 'closes by'],
        rows.map((r) => [
          r.windowId,
          r.status?.phase === 'open' ? 'open' : r.phase,
          r.status?.endpoints?.masterAddress ?? '-',
          r.status?.closesBy ?? '-',
        ]),
      ),
    );
  return rows;
}
