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
  };
}
