import { SFNClient } from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { kinesisClient } from '../../aws/clients';
import { recentExecutions, replayIdOf, type RecentExecution } from '../../aws/execution-history';
import { KinesisShardReader } from '../../aws/kinesis-adapter';
import type { ObjectStore } from '../../core/ports';
import { missingRange } from '../../core/gap-ledger';
import { DEFAULT_TIME_TO_LOSS_ALARM_FRACTION } from '../../core/time-to-loss';
import { formatEstimate } from '../../core/unarchived-estimate';
import { recentArchiveSummaries } from '../../cost/measure-stream';
import { healthProblems, lastArchiveRun, type LastArchiveRun } from '../../status/health';
import { readReplayProgress, type ReplayProgressReport } from '../../replay/replay-progress';
import {
  collectStatus,
  type ShardStatus,
  type StatusDeps,
  type StreamStatus,
} from '../../status/collect-status';
import { archiveLocation } from '../archive-location';
import { STATE_MACHINE_OUTPUTS } from '../deployed';
import { requireKnownStreams } from '../known-streams';
import {
  CommandFailure,
  formatDuration,
  formatReadReport,
  parseDuration,
  positiveOption,
  table,
} from '../output';

export interface StatusCommandOptions {
  local?: boolean;
  json?: boolean;
  stage?: string;
  stream?: string[];
  probeLimit?: string;
  shortFraction?: string;
  executions?: string;
  /** Exit 2 when anything is unhealthy (for cron and CI). */
  check?: boolean;
  /** How long without a finished archive run is a problem, e.g. 2h (default: 2h, for the hourly schedule). */
  maxRunAge?: string;
}

/** The exit code of `status --check` when it finds problems. */
export const UNHEALTHY_EXIT_CODE = 2;

export interface StatusReport {
  generatedAt: string;
  mode: 'local' | 'aws';
  /** Time-to-loss under this share of a stream's retention is flagged (the alarm's default). */
  shortFraction: number;
  streams: StreamStatus[];
  /** The newest finished archive run, as health is judged from it. */
  lastArchiveRun: LastArchiveRun | null;
  /** What is unhealthy, one line each (see src/status/health.ts); empty when all is well. */
  problems: string[];
  /** AWS mode: the newest executions of each state machine. */
  executions?: (RecentExecution & { replay?: ReplayProgressReport })[];
}

/** `reservoir status`: per stream and shard, what is archived, what is not, and time to loss. */
export async function statusCommand(options: StatusCommandOptions): Promise<StatusReport> {
  const shortFraction = fraction(options.shortFraction);
  const probeLimit = positiveOption(options.probeLimit ?? '1000', '--probe-limit', true);
  const target = await statusTarget(options);
  await requireKnownStreams(options.stream, target.location);
  const maxRunAgeMs = parseDuration(options.maxRunAge ?? '2h', '--max-run-age') * 60_000;
  const streams = await collectStatus(target.deps, { streams: options.stream, probeLimit, shortFraction });
  const [newest] = await recentArchiveSummaries(target.deps.store, target.deps.prefix, 1);
  const lastRun = lastArchiveRun(newest);
  const report: StatusReport = {
    generatedAt: new Date().toISOString(),
    mode: options.local ? 'local' : 'aws',
    shortFraction,
    streams,
    lastArchiveRun: lastRun,
    problems: healthProblems({ streams, lastRun, now: Date.now(), maxRunAgeMs }),
  };
  if (target.stateMachines) {
    report.executions = await executionsWithProgress(
      target.stateMachines,
      target.deps.store,
      target.deps.prefix,
      positiveOption(options.executions ?? '5', '--executions', true),
    );
  }
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
  if (options.check && report.problems.length > 0) process.exitCode = UNHEALTHY_EXIT_CODE;
  return report;
}

/** Where status reads (the archive and Kinesis), and on AWS the state machines it lists. */
async function statusTarget(options: StatusCommandOptions) {
  const location = await archiveLocation(options);
  const deps: StatusDeps = {
    catalog: location.catalog,
    store: location.store,
    prefix: location.prefix,
    reader: new KinesisShardReader(kinesisClient()),
    now: Date.now,
  };
  const outputs = location.outputs;
  const stateMachines = outputs
    ? Object.fromEntries(
        Object.entries(STATE_MACHINE_OUTPUTS)
          .map(([name, output]) => [name, outputs[output]] as const)
          .filter((entry): entry is readonly [string, string] => Boolean(entry[1])),
      )
    : undefined;
  return { location, deps, stateMachines };
}

async function executionsWithProgress(
  stateMachines: Record<string, string>,
  store: ObjectStore,
  prefix: string,
  perMachine: number,
): Promise<StatusReport['executions']> {
  const sfn = new SFNClient({ requestHandler: new NodeHttpHandler() });
  try {
    const executions = await recentExecutions(sfn, stateMachines, perMachine);
    return await Promise.all(
      executions.map(async (execution) => {
        if (execution.stateMachine !== 'replay' || execution.status !== 'RUNNING') return execution;
        const replayId = await replayIdOf(sfn, execution.executionArn);
        return replayId
          ? { ...execution, replay: await readReplayProgress(store, prefix, replayId) }
          : execution;
      }),
    );
  } finally {
    sfn.destroy();
  }
}

/** Plain tables; shards whose time-to-loss is short are marked `!` (and red on a terminal). */
export function formatStatus(
  report: StatusReport,
  color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
): string {
  const alert = (line: string, short: boolean) => (short && color ? `\u001b[1;31m${line}\u001b[0m` : line);
  const out: string[] = [];
  for (const stream of report.streams) {
    out.push(
      alert(
        `${stream.timeToLossShort ? '! ' : ''}${stream.stream} (${stream.archiveMode ?? 'not tagged'}, retention ${stream.retentionHours} h): ` +
          `unarchived ${formatEstimate(stream.unarchived)}, lag ${formatSeconds(stream.lagSeconds)}, ` +
          `time to loss ${formatSeconds(stream.timeToLossSeconds)}, newest archived ${stream.newestArchivedArrival ?? '-'}`,
        stream.timeToLossShort,
      ),
    );
    out.push(
      `  archive from ${stream.oldestArchivedHour ?? '-'} to ${stream.newestArchivedArrival ?? '-'}` +
        (stream.snapshot
          ? `; LATEST snapshot ${stream.snapshot.generation}, ${formatSeconds(stream.snapshot.ageSeconds)} old`
          : ''),
    );
    const read = report.lastArchiveRun?.reads[stream.stream];
    if (read) out.push(`  read (last run): ${formatReadReport(read)}`);
    if (stream.recreated)
      out.push(
        alert(
          `! ${stream.stream} was deleted and created again (${stream.recreated.createdAt}): its checkpoints are ` +
            "the earlier stream's; the next archive run moves them aside and starts a new epoch",
          true,
        ),
      );
    const rows = stream.shards.map((shard) => [
      `${shard.timeToLossShort ? '!' : ' '} ${shard.shardId}`,
      shardState(shard),
      shard.checkpointSequenceNumber ? abbreviate(shard.checkpointSequenceNumber) : '-',
      shard.newestArchivedArrival ?? '-',
      shard.probeError ? '?' : formatEstimate(shard.unarchived),
      formatSeconds(shard.lagSeconds),
      formatSeconds(shard.timeToLossSeconds),
    ]);
    const lines = table(
      ['  shard', 'state', 'checkpoint', 'newest archived', 'unarchived', 'lag', 'time to loss'],
      rows,
    ).split('\n');
    out.push(
      ...lines.map((line, i) => (i === 0 ? line : alert(line, stream.shards[i - 1]!.timeToLossShort))),
    );
    for (const shard of stream.shards.filter((s) => s.probeError))
      out.push(`  ${shard.shardId}: ${shard.probeError}`);
    for (const shard of stream.shards.filter((s) => s.openGap))
      out.push(
        alert(
          `! ${shard.shardId}: open data gap, records ${missingRange(shard.openGap!)} expired unarchived ` +
            `(first detected ${shard.openGap!.firstDetected}, last seen ${shard.openGap!.lastSeen}); ` +
            'see `reservoir gaps`',
          true,
        ),
      );
    for (const gap of stream.acknowledgedGaps ?? [])
      out.push(
        `  ${gap.shardId}: acknowledged data gap, records ${missingRange(gap)} are in no archive ` +
          `(acknowledged ${gap.acknowledgedAt}${gap.acknowledgedBy ? ` by ${gap.acknowledgedBy}` : ''}` +
          `${gap.note ? `: ${gap.note}` : ''})`,
      );
    out.push('');
  }
  if (report.streams.length === 0)
    out.push('no archived streams (tag one reservoir:archive=ALL, or run an archive)', '');
  const run = report.lastArchiveRun;
  out.push(
    run ? `last archive run: ${run.runId}, finished ${run.finishedAt}` : 'no archive run has finished yet',
  );
  if (report.problems.length === 0) out.push('health: ok', '');
  else
    out.push(
      alert(`health: ${report.problems.length} problem(s)`, true),
      ...report.problems.map((p) => `  - ${p}`),
      '',
    );
  if (report.executions) {
    out.push('recent executions');
    out.push(
      table(
        ['state machine', 'execution', 'status', 'started', 'progress'],
        report.executions.map((execution) => [
          execution.stateMachine,
          execution.name,
          execution.status,
          execution.startDate ?? '-',
          execution.replay
            ? `items ${execution.replay.itemsDone}/${execution.replay.items}, put ${execution.replay.put} / ~${execution.replay.estimatedRecords}`
            : '',
        ]),
      ),
    );
  }
  out.push(
    `! marks a time to loss under ${Math.round(report.shortFraction * 100)} % of the stream's retention`,
  );
  return out.join('\n');
}

function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '-';
  return seconds < 1 ? '0 s' : formatDuration(seconds * 1000);
}

function abbreviate(sequenceNumber: string): string {
  return sequenceNumber.length > 16 ? `…${sequenceNumber.slice(-12)}` : sequenceNumber;
}

function fraction(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIME_TO_LOSS_ALARM_FRACTION;
  const parsed = Number(value);
  if (!(parsed > 0 && parsed < 1))
    throw new CommandFailure(`--short-fraction must be between 0 and 1, got ${value}`);
  return parsed;
}

/** open / closed / gone, drained, and which execution holds the shard (overlapping runs). */
function shardState(shard: ShardStatus): string {
  const parts: string[] = [shard.state];
  if (shard.drained) parts.push('drained');
  if (shard.openGap) parts.push('open data gap');
  if (shard.lease?.live) parts.push(`held by ${shard.lease.holder} until ${shard.lease.expiresAt}`);
  else if (shard.lease) parts.push(`lease of ${shard.lease.holder} expired (the next run takes over)`);
  return parts.join(', ');
}
