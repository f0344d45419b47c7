import { runPrefix } from '../core/layout';

/** Working files of one archive execution, under {prefix}runs/archive/{runId}/. */
export function archiveRunFiles(prefix: string, runId: string) {
  const base = runPrefix(prefix, 'archive', runId);
  return {
    base,
    plan: `${base}plan.json`,
    page: (index: number) => `${base}pages/${String(index).padStart(5, '0')}.json`,
    shardResults: `${base}shards/`,
    shardResult: (stream: string, shardId: string) => `${base}shards/stream=${stream}/${shardId}.json`,
    summary: `${base}summary.json`,
    /** The hours PlanColumnar chose (ConvertHours' items), and one result or failure per hour. */
    columnarHours: `${base}columnar/hours.json`,
    columnarResults: `${base}columnar/results/`,
    columnarResult: (hour: { stream: string; dt: string; hr: string }) =>
      `${base}columnar/results/stream=${hour.stream}/dt=${hour.dt}/hr=${hour.hr}.json`,
  };
}
