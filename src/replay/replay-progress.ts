import type { ObjectStore } from '../core/ports';
import type { ReplayPlanSummary } from './plan-replay';
import type { ReplayProgress } from './replay-worker';
import { replayRunFiles } from './run-files';

/** Where a replay stands, from its plan and its work items' progress files in S3. */
export interface ReplayProgressReport {
  replayId: string;
  /** False until PlanReplay has written the plan. */
  planned: boolean;
  items: number;
  itemsDone: number;
  estimatedRecords: number;
  read: number;
  put: number;
  throttledRetries: number;
}

export async function readReplayProgress(
  store: ObjectStore,
  prefix: string,
  replayId: string,
): Promise<ReplayProgressReport> {
  const files = replayRunFiles(prefix, replayId);
  const plan = await store.getJson<ReplayPlanSummary>(files.plan);
  const keys = await store.listKeys(files.progressPrefix);
  const progress = (await Promise.all(keys.map((key) => store.getJson<ReplayProgress>(key)))).map(
    (stored) => stored?.value,
  );
  const sum = (field: 'read' | 'put' | 'throttledRetries') =>
    progress.reduce((total, p) => total + (p?.counts[field] ?? 0), 0);
  return {
    replayId,
    planned: plan !== null,
    items: plan?.value.itemCount ?? 0,
    itemsDone: progress.filter((p) => p?.done).length,
    estimatedRecords: plan?.value.estimatedRecords ?? 0,
    read: sum('read'),
    put: sum('put'),
    throttledRetries: sum('throttledRetries'),
  };
}

export function formatReplayProgress(report: ReplayProgressReport): string {
  if (!report.planned) return 'planning';
  return (
    `items ${report.itemsDone}/${report.items}, read ${report.read} / ~${report.estimatedRecords}, ` +
    `put ${report.put}, throttled retries ${report.throttledRetries}`
  );
}

/** A progress report at a time: what rates and ETAs are computed from. */
export interface ProgressSample {
  at: number;
  put: number;
}

/**
 * Records put per second between two samples, and the time left at that rate for the records
 * the plan estimated (null while nothing moves: no ETA is better than a wrong one).
 */
export function progressRate(
  first: ProgressSample,
  latest: ProgressSample,
  estimatedRecords: number,
): { perSecond: number; etaMs: number | null } {
  const seconds = (latest.at - first.at) / 1000;
  const perSecond = seconds > 0 ? Math.max(0, latest.put - first.put) / seconds : 0;
  const left = Math.max(0, estimatedRecords - latest.put);
  return { perSecond, etaMs: perSecond > 0 ? (left / perSecond) * 1000 : left === 0 ? 0 : null };
}
