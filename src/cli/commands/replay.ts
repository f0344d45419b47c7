import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { generateReplayId, type ReplayRequest } from '../../core/replay-request';
import type { ReplaySummary } from '../../core/replay-summary';
import { ExecutionFailedError, runLocalStateMachine, type TaskEvent } from '../../local/state-machine-runner';
import type { ReplayPlanSummary } from '../../replay/plan-replay';
import { formatReplayProgress, readReplayProgress } from '../../replay/replay-progress';
import { archiveLocation, type ArchiveLocation } from '../archive-location';
import { followDeployedExecution, sfnClient, stateMachineArn } from '../deployed';
import { followReplay, stderrRenderer, type FollowResult } from '../replay-follow';
import { replayRunFiles, type ReplayStopMarker } from '../../replay/run-files';
import {
  executionStatus,
  latestReplayExecution,
  replayExecutionName,
  stopExecution,
} from '../../aws/replay-executions';
import { requireKnownStreams } from '../known-streams';
import {
  CommandFailure,
  formatBytes,
  formatDuration,
  info,
  positiveOption,
  table,
  timeOption,
} from '../output';
import { kinesisClient } from '../../aws/clients';
import { KinesisRecordWriter } from '../../aws/kinesis-adapter';
import { loadInvocationBudget } from '../../config/base-config';
import { loadReadConfig } from '../../config/read-config';
import { loadReplayPlanningConfig } from '../../config/replay-config';
import { replayPlanReport, type ReplayPlanReport } from '../../replay/plan-report';
import { DEFAULT_PRICES, loadPrices } from './cost';
import { ProgressBar } from '../progress-bar';

export interface ReplayOptions {
  local?: boolean;
  request?: string;
  stream?: string;
  target?: string;
  from?: string;
  to?: string;
  filter?: string;
  annotate?: string[];
  format?: 'envelope' | 'raw';
  includeLive?: boolean;
  compact?: boolean;
  filterStage?: 'before' | 'after';
  replayId?: string;
  json?: boolean;
  /** `--plan` (`--dry-run` is its older name). */
  plan?: boolean;
  dryRun?: boolean;
  /** Price table for --plan (default: the package's, as `reservoir cost`). */
  prices?: string;
  stage?: string;
  /** `--speedup N` / `--records-per-second R`: the request's `pace`. */
  speedup?: string;
  recordsPerSecond?: string;
  /** `--follow ID`: progress bars of a running replay until it ends. */
  follow?: string;
  /** `--stop ID`: stops a running replay (a later run of the id resumes it); `--reason` says why. */
  stop?: string;
  reason?: string;
}

/** `--annotate key=value`: the value as JSON when it parses (true, 3, {"a":1}), else as text. */
export function parseAnnotation(text: string): [string, unknown] {
  const at = text.indexOf('=');
  if (at <= 0) throw new CommandFailure(`--annotate expects key=value, got "${text}"`);
  const raw = text.slice(at + 1);
  try {
    return [text.slice(0, at), JSON.parse(raw)];
  } catch {
    return [text.slice(0, at), raw];
  }
}

/** `--speedup N` or `--records-per-second R` (one of them) as the request field `pace`. */
function paceOption(options: ReplayOptions): ReplayRequest['pace'] {
  if (options.speedup !== undefined && options.recordsPerSecond !== undefined)
    throw new CommandFailure('--speedup and --records-per-second: give one of them (field pace takes one)');
  if (options.speedup !== undefined) return { speedup: positiveOption(options.speedup, '--speedup') };
  if (options.recordsPerSecond !== undefined)
    return { recordsPerSecond: positiveOption(options.recordsPerSecond, '--records-per-second') };
  return undefined;
}

/** The request from --request (a file, or - for stdin) with the flags laid over it. */
export function buildReplayRequest(
  options: ReplayOptions,
  readStdin: () => string = () => readFileSync(0, 'utf8'),
): ReplayRequest {
  let base: Partial<ReplayRequest> = {};
  if (options.request) {
    const text = options.request === '-' ? readStdin() : readFileSync(options.request, 'utf8');
    try {
      base = JSON.parse(text) as ReplayRequest;
    } catch (error) {
      throw new CommandFailure(`--request: not JSON (${(error as Error).message})`);
    }
  }
  let filter: ReplayRequest['filter'];
  if (options.filter) {
    try {
      filter = JSON.parse(options.filter) as ReplayRequest['filter'];
    } catch (error) {
      throw new CommandFailure(`--filter: not JSON (${(error as Error).message})`);
    }
  }
  const annotations = options.annotate?.length
    ? Object.fromEntries(options.annotate.map(parseAnnotation))
    : undefined;
  const request: Record<string, unknown> = { ...base };
  const flags: Record<string, unknown> = {
    stream: options.stream,
    target: options.target,
    from: timeOption(options.from ?? base.from, '--from'),
    to: timeOption(options.to ?? base.to, '--to'),
    filter,
    annotations: annotations ? { ...(base.annotations ?? {}), ...annotations } : undefined,
    format: options.format,
    includeLive: options.includeLive,
    compact: options.compact,
    filterStage: options.filterStage,
    replayId: options.replayId,
    pace: paceOption(options),
  };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) request[key] = value;
  if (!request.stream) throw new CommandFailure('a replay needs --stream (or "stream" in --request)');
  return request as unknown as ReplayRequest;
}

/** `reservoir replay`: runs the replay state machine locally (--local) or on AWS, with a progress bar. */
export async function replayCommand(
  options: ReplayOptions,
): Promise<ReplaySummary | ReplayPlanReport | FollowResult | StopResult> {
  if (options.follow) return followCommand(options.follow, options);
  if (options.stop) return stopCommand(options.stop, options);
  const request = buildReplayRequest(options);
  const location = await archiveLocation(options);
  await requireKnownStreams([request.stream], location);
  request.replayId ??= generateReplayId(request.stream, new Date(), randomUUID().slice(0, 8));
  if (options.plan || options.dryRun) return planCommand(request, options, location);
  // A replay id run before resumes: what its earlier runs did is not this run's work.
  const earlier = await readReplayProgress(location.store, location.prefix, request.replayId);
  if (earlier.planned)
    info(
      `resuming replay ${request.replayId}: ${earlier.itemsDone}/${earlier.items} work items done and ` +
        `${earlier.put} records put by earlier runs`,
    );
  const summary = options.local ? await runLocally(request) : await runDeployed(request, options, location);
  const resumed = earlier.planned ? { put: earlier.put, completedItems: earlier.itemsDone } : null;
  if (options.json)
    process.stdout.write(`${JSON.stringify({ ...summary, resumedFrom: resumed }, null, 2)}\n`);
  else printReplaySummary(summary, resumed);
  return summary;
}

async function runLocally(request: ReplayRequest): Promise<ReplaySummary> {
  const bar = new ProgressBar('read');
  const byItem = new Map<string, { read: number; put: number }>();
  const onTask = (event: TaskEvent) => {
    if (event.state === 'PlanReplay' && event.output) {
      const plan = event.output as ReplayPlanSummary;
      info(
        `planned ${plan.itemCount} work item(s): ${plan.objects} archive object(s) (${formatBytes(plan.objectBytes)}), ${plan.liveShards} live shard(s)`,
      );
      bar.setTotal(plan.estimatedRecords);
    }
    if (event.state === 'ReplayItem' && event.output) {
      const result = event.output as { itemId: string; read: number; put: number };
      byItem.set(result.itemId, { read: result.read, put: result.put });
      const totals = [...byItem.values()].reduce((a, b) => ({ read: a.read + b.read, put: a.put + b.put }));
      bar.update(totals.read, `, put ${totals.put}`);
    }
  };
  try {
    const summary = (await runLocalStateMachine('replay', request, {
      executionName: request.replayId!,
      onTask,
    })) as ReplaySummary;
    bar.done();
    return summary;
  } catch (error) {
    bar.done();
    if (error instanceof ExecutionFailedError)
      throw new CommandFailure(`replay failed: ${error.error}: ${error.causeText}`);
    throw error;
  }
}

async function runDeployed(
  request: ReplayRequest,
  options: ReplayOptions,
  archive: ArchiveLocation,
): Promise<ReplaySummary> {
  const replayId = request.replayId!;
  const stage = options.stage ?? 'dev';
  const latest = await latestReplayExecution(
    sfnClient(),
    stateMachineArn(archive.outputs ?? {}, 'replay', stage),
    replayId,
  );
  if (latest?.status === 'RUNNING')
    throw new CommandFailure(
      `replay ${replayId} is running (${latest.executionArn}): follow it with --follow ${replayId} or stop it with --stop ${replayId}`,
    );
  return (await followDeployedExecution({
    stateMachine: 'replay',
    stage: options.stage,
    ...(archive.outputs ? { archive: { ...archive, outputs: archive.outputs } } : {}),
    // A closed execution's name cannot be used again: a resumed replay is its next run.
    executionName: replayExecutionName(replayId, (latest?.run ?? 0) + 1),
    input: request,
    progress: async (store, prefix) =>
      formatReplayProgress(await readReplayProgress(store, prefix, replayId)),
  })) as ReplaySummary;
}

/**
 * `--plan` (alias `--dry-run`): validates and plans as a run would, on a scratch layer over the
 * bucket (nothing is written, nothing is put), then prints what would move, the target's write
 * capacity, the expected duration at that capacity and at the pace, and the cost.
 */
async function planCommand(
  request: ReplayRequest,
  options: ReplayOptions,
  location: ArchiveLocation,
): Promise<ReplayPlanReport> {
  const planning = loadReplayPlanningConfig();
  const report = await replayPlanReport(
    {
      store: location.store,
      catalog: location.catalog,
      writer: new KinesisRecordWriter(kinesisClient()),
      prefix: location.prefix,
      replayTargets: planning.replayTargets,
      read: loadReadConfig(),
      pageSize: planning.itemsPerPage,
      invocationBudgetMs: loadInvocationBudget().budgetMs,
      prices: loadPrices(options.prices ?? DEFAULT_PRICES),
      now: new Date(),
    },
    request,
  );
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else info(formatPlanReport(report));
  return report;
}

export function formatPlanReport(report: ReplayPlanReport): string {
  const { estimate } = report;
  const usd = (value: number) => `$${value.toFixed(4)}`;
  const pace = report.pace
    ? 'speedup' in report.pace
      ? `speedup ${report.pace.speedup}`
      : `${report.pace.recordsPerSecond} records/s`
    : null;
  const span = report.arrivals
    ? `${new Date(report.arrivals.first).toISOString()} .. ${new Date(report.arrivals.last).toISOString()}`
    : 'nothing archived in bounds';
  const capacity = estimate.capacity;
  const out = [
    `replay ${report.replayId}: ${report.stream} -> ${report.target} (${report.format}${report.compact ? ', compacted' : ''}) — a plan: nothing is written or put`,
    `  ${report.objects} archive object(s), ${formatBytes(report.objectBytes)}; ${report.liveShards} live shard(s); ${report.itemCount} work item(s)`,
    `  about ${report.estimatedRecords} record(s) read (from the archiver's records per byte), ~${report.recordBytes} bytes each as put; arrivals ${span}`,
  ];
  if (report.compact)
    out.push(
      report.keys === null
        ? '  compacted: one record per key; the keys are counted by the compaction the replay runs first'
        : `  compacted: ${report.keys} key(s), one record each`,
    );
  out.push(
    `  target ${report.target}: ${capacity.mode}, ${capacity.openShards} open shard(s), writes up to ` +
      `${capacity.recordsPerSecond} records/s and ${formatBytes(capacity.bytesPerSecond)}/s` +
      (capacity.note ? ` (${capacity.note})` : ''),
    `  duration at that capacity: ${formatDuration(Math.round(estimate.atCapacityMs))}` +
      (pace ? `; at the pace (${pace}): ${formatDuration(Math.round(estimate.atPaceMs ?? 0))}` : ''),
    `  cost (${estimate.invocations} ReplayItem invocation(s), ${estimate.transitions} state transitions):`,
    table(
      ['    item', 'quantity', 'unit', 'USD'],
      estimate.lines.map((line) => [`    ${line.item}`, line.quantity, line.unit, usd(line.usd)]),
    ),
    `    total ${usd(estimate.total)}`,
  );
  return out.join('\n');
}

/** How often --follow polls the run files (and, deployed, DescribeExecution). */
const FOLLOW_INTERVAL_MS = 2_000;

/**
 * `--follow ID`: progress bars until the replay ends. Deployed: the newest execution of the id
 * and the run files in the stack's bucket. `--local`: a replay run by another process against
 * the same endpoints, from its run files alone.
 */
async function followCommand(replayId: string, options: ReplayOptions): Promise<FollowResult> {
  const location = await archiveLocation(options);
  await requireReplay(location, replayId);
  let status: (() => Promise<string>) | undefined;
  if (!options.local) {
    const sfn = sfnClient();
    const execution = await latestReplayExecution(
      sfn,
      stateMachineArn(location.outputs ?? {}, 'replay', options.stage ?? 'dev'),
      replayId,
    );
    if (!execution) throw new CommandFailure(`replay ${replayId} has no execution on the deployed stack`);
    info(`following ${execution.executionArn}`);
    status = () => executionStatus(sfn, execution.executionArn);
  }
  const result = await followReplay(
    {
      store: location.store,
      prefix: location.prefix,
      ...(status ? { executionStatus: status } : {}),
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      intervalMs: FOLLOW_INTERVAL_MS,
      render: options.json ? () => {} : stderrRenderer(),
    },
    replayId,
  );
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (result.status !== 'SUCCEEDED')
    throw new CommandFailure(
      `replay ${replayId} ${result.status.toLowerCase()}: run it again with --replay-id ${replayId} to resume`,
    );
  return result;
}

export interface StopResult {
  replayId: string;
  /** The execution stopped (deployed); null for a local replay. */
  executionArn: string | null;
  cause: string;
}

/**
 * `--stop ID`: writes the replay's stop marker (work items see it at their next flush, save their
 * resume point and end) and, deployed, stops the execution with StopExecution. Running the same
 * replay id again resumes it.
 */
async function stopCommand(replayId: string, options: ReplayOptions): Promise<StopResult> {
  const location = await archiveLocation(options);
  await requireReplay(location, replayId);
  const progress = await readReplayProgress(location.store, location.prefix, replayId);
  if (progress.planned && progress.items > 0 && progress.itemsDone === progress.items)
    throw new CommandFailure(`replay ${replayId} has finished: nothing to stop`);
  const cause = options.reason ?? `stopped by reservoir replay --stop at ${new Date().toISOString()}`;
  let executionArn: string | null = null;
  const sfn = options.local ? null : sfnClient();
  if (sfn) {
    const execution = await latestReplayExecution(
      sfn,
      stateMachineArn(location.outputs ?? {}, 'replay', options.stage ?? 'dev'),
      replayId,
    );
    if (execution?.status !== 'RUNNING')
      throw new CommandFailure(
        `replay ${replayId} is not running (${execution ? `${execution.name}: ${execution.status.toLowerCase()}` : 'no execution'})`,
      );
    executionArn = execution.executionArn;
  }
  // The marker first: items still in flight after StopExecution end at their next flush.
  const stopKey = replayRunFiles(location.prefix, replayId).stopped;
  const run = (await location.store.getJson<ReplayStopMarker>(stopKey))?.value.run ?? 0;
  const marker: ReplayStopMarker = { cause, stoppedAt: new Date().toISOString(), executionArn, run };
  await location.store.putJson(stopKey, marker);
  if (sfn && executionArn) await stopExecution(sfn, executionArn, cause);
  const result: StopResult = { replayId, executionArn, cause };
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else
    info(
      `stopped replay ${replayId}${executionArn ? ` (${executionArn})` : ''}: its work items save their resume points ` +
        `and end at their next flush; run it again with --replay-id ${replayId} to resume`,
    );
  return result;
}

async function requireReplay(location: ArchiveLocation, replayId: string): Promise<void> {
  if (!(await location.store.getJson(replayRunFiles(location.prefix, replayId).request)))
    throw new CommandFailure(
      `no replay ${replayId} in s3://${location.bucket}/${location.prefix}runs/replay/ (run files expire after 7 days)`,
    );
}

/** The summary counts the whole replay; after a resume, it says how much of it earlier runs did. */
export function printReplaySummary(
  summary: ReplaySummary,
  resumedFrom: { put: number; completedItems: number } | null = null,
): void {
  const earlier = resumedFrom
    ? ` (resumed: ${resumedFrom.put} of them put and ${resumedFrom.completedItems} work items done by earlier runs, ` +
      `${summary.put - resumedFrom.put} put now)`
    : '';
  info(
    `replay ${summary.replayId}: ${summary.stream} -> ${summary.target} (${summary.format}): read ${summary.read}, ` +
      `matched ${summary.matched}, put ${summary.put}${earlier}, throttled retries ${summary.throttledRetries}; ` +
      `${summary.completedItems}/${summary.items} work items complete; summary: ${summary.summaryKey}`,
  );
}
