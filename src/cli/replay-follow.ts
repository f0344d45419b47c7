import type { ObjectStore } from '../core/ports';
import {
  progressRate,
  readReplayProgress,
  type ProgressSample,
  type ReplayProgressReport,
} from '../replay/replay-progress';
import { replayRunFiles, type ReplayStopMarker } from '../replay/run-files';
import type { ReplaySummary } from '../core/replay-summary';
import { formatDuration } from './output';
import { barText } from './progress-bar';

/** Where a followed replay stands: an execution's status on AWS, or what its run files say locally. */
export type FollowStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'STOPPED' | string;

export interface FollowDeps {
  store: ObjectStore;
  prefix: string;
  /** Deployed: the execution's status (DescribeExecution). Absent: local, from the run files alone. */
  executionStatus?: () => Promise<FollowStatus>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  intervalMs: number;
  /** Redraws the bars (a terminal) or writes them when they change (a log). */
  render: (lines: string[]) => void;
}

export interface FollowResult {
  status: FollowStatus;
  progress: ReplayProgressReport;
}

/**
 * Follows a replay to its end: progress bars for work items and records (rate, throttled retries,
 * ETA) from its run files, until the execution ends (deployed) or, locally, until every item is
 * done, the replay was stopped, or its summary says it ended with problems.
 */
export async function followReplay(deps: FollowDeps, replayId: string): Promise<FollowResult> {
  let first: ProgressSample | null = null;
  for (;;) {
    const progress = await readReplayProgress(deps.store, deps.prefix, replayId);
    const sample = { at: deps.now(), put: progress.put };
    first ??= sample;
    const status = deps.executionStatus
      ? await deps.executionStatus()
      : await localStatus(deps.store, deps.prefix, progress);
    deps.render(followLines(progress, progressRate(first, sample, progress.estimatedRecords), status));
    if (status !== 'RUNNING') return { status, progress };
    await deps.sleep(deps.intervalMs);
  }
}

export function followLines(
  progress: ReplayProgressReport,
  rate: { perSecond: number; etaMs: number | null },
  status: FollowStatus,
): string[] {
  if (!progress.planned) return [`replay ${progress.replayId}: ${status.toLowerCase()}, planning`];
  const eta = rate.etaMs === null ? 'ETA -' : `ETA ${formatDuration(Math.round(rate.etaMs))}`;
  return [
    `replay ${progress.replayId}: ${status.toLowerCase()}`,
    `  ${barText('items  ', progress.itemsDone, progress.items, 30)}`,
    `  ${barText('records', progress.put, progress.estimatedRecords, 30)} put, ` +
      `${Math.round(rate.perSecond)}/s, throttled retries ${progress.throttledRetries}, ${eta}`,
  ];
}

/** A local replay (another process) has no execution to ask: its run files say where it is. */
async function localStatus(
  store: ObjectStore,
  prefix: string,
  progress: ReplayProgressReport,
): Promise<FollowStatus> {
  // Planned with nothing to replay counts as done too.
  if (progress.planned && progress.itemsDone === progress.items) return 'SUCCEEDED';
  const files = replayRunFiles(prefix, progress.replayId);
  if ((await store.getJson<ReplayStopMarker>(files.stopped))?.value.cause) return 'STOPPED';
  // A summary that matches the items as they are now: the run ended short of done (failed items).
  const summary = (await store.getJson<ReplaySummary>(files.summary))?.value;
  if (summary && summary.put === progress.put && summary.completedItems === progress.itemsDone)
    return 'FAILED';
  return 'RUNNING';
}

/** A renderer for stderr: redraws in place on a terminal, prints changed bars otherwise. */
export function stderrRenderer(stream: NodeJS.WriteStream = process.stderr): (lines: string[]) => void {
  let previous: string[] = [];
  return (lines) => {
    if (stream.isTTY) {
      if (previous.length > 0) stream.write(`\x1b[${previous.length}A`);
      stream.write(lines.map((line) => `\x1b[2K${line}\n`).join(''));
    } else if (lines.join('\n') !== previous.join('\n')) {
      stream.write(`${lines.join('\n')}\n`);
    }
    previous = lines;
  };
}
