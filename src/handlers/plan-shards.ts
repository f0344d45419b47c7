import { planArchiveRun } from '../archive/plan';
import { archiveRuntime } from '../archive/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

interface PlanShardsEvent {
  runId: string;
  streams: string[];
  missingStreams: string[];
}

/** PlanShards: every shard in lineage order, written to S3 as pages; returns the page count. */
export const handler = taskHandler(passThrough<PlanShardsEvent>, async (event) => {
  const { catalog, store, subscriber, config } = archiveRuntime();
  return planArchiveRun(
    { catalog, store, subscriber, prefix: config.prefix, pageSize: config.shardsPerPage, read: config },
    event.runId,
    event.streams,
    event.missingStreams ?? [],
  );
});
