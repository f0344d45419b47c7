import { causeMessage } from '../core/error-cause';
import type { ShardWorkItem } from '../archive/plan';
import { archiveRunFiles } from '../archive/run-files';
import { archiveRuntime } from '../archive/runtime';
import type { ArchiveShardResult } from '../archive/shard-archiver';
import type { ShardRunResult, TaskUsage } from '../core/archive-summary';
import { passThrough, taskHandler } from './shared/task-handler';

interface RecordShardResultEvent {
  runId: string;
  item: ShardWorkItem;
  result?: ArchiveShardResult & { usage?: TaskUsage };
  /** RecordShardFailure: the usage of the invocations before the failure. */
  usage?: TaskUsage;
  /** A Catch's error output: { Error, Cause }. */
  error?: { Error: string; Cause?: string };
}

/** RecordShardResult / RecordShardFailure: the shard's outcome in this run, for the summary. */
export const handler = taskHandler(passThrough<RecordShardResultEvent>, async (event) => {
  const { store, config } = archiveRuntime();
  const { stream, shardId } = event.item;
  const record: ShardRunResult = event.error
    ? {
        stream,
        shardId,
        status: 'failed',
        lagMs: null,
        error: { name: event.error.Error, message: causeMessage(event.error.Cause) },
      }
    : {
        stream,
        shardId,
        status: event.result!.status,
        lagMs: event.result!.lagMs,
        ...(event.result!.waitingFor ? { waitingFor: event.result!.waitingFor } : {}),
        ...(event.result!.heldBy ? { heldBy: event.result!.heldBy } : {}),
      };
  const usage = event.result?.usage ?? event.usage;
  if (usage) record.usage = usage;
  await store.putJson(archiveRunFiles(config.prefix, event.runId).shardResult(stream, shardId), record);
  return { stream, shardId, status: record.status };
});
