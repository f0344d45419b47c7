import type { Context } from 'aws-lambda';
import archiveShardTaskSchema from '../../schemas/archive-shard-task.schema.json';
import type { ShardWorkItem } from '../archive/plan';
import { archiveRuntime } from '../archive/runtime';
import { invocationDeadline } from '../config/base-config';
import { addUsage, NO_USAGE, type TaskUsage } from '../core/archive-summary';
import { exposureFromLag } from '../core/time-to-loss';
import { recordArchiveProgress } from '../telemetry/workflow-metrics';
import { compileValidator } from '../validation/compile';
import { taskHandler } from './shared/task-handler';

interface ArchiveShardEvent {
  runId: string;
  item: Omit<ShardWorkItem, 'read'> & Partial<Pick<ShardWorkItem, 'read'>>;
  /** The shard's invocations so far in this run (the state machine carries it round the loop). */
  usage?: TaskUsage;
}

const validate = compileValidator<ArchiveShardEvent>(archiveShardTaskSchema, 'ArchiveShard input');

/**
 * ArchiveShard: reads one shard from its checkpoint and writes blocks until it is caught up,
 * drained, or this invocation's budget ends (`done: false` makes the state machine loop).
 */
export const handler = taskHandler(
  validate,
  async (event: ArchiveShardEvent, context: Context, { metrics }) => {
    const startedAt = Date.now();
    const { archiver, config } = archiveRuntime();
    const result = await archiver.archive({
      ...event.item,
      // Items planned before read modes existed poll at the default rate.
      read: event.item.read ?? { type: 'polling', rate: config.defaultRate, share: null },
      deadline: invocationDeadline(config, context.getRemainingTimeInMillis()),
      holder: event.runId,
    });
    recordArchiveProgress(metrics, {
      stream: result.stream,
      shardId: result.shardId,
      records: result.records,
      bytes: result.bytes,
      exposure:
        result.lagMs === null ? null : exposureFromLag(result.lagMs, event.item.retentionHours, Date.now()),
    });
    const thisInvocation: TaskUsage = {
      invocations: 1,
      gbSeconds: ((Date.now() - startedAt) / 1000) * (Number(context.memoryLimitInMB) / 1024),
      ...(result.read
        ? {
            reads: {
              calls: result.read.calls,
              bytes: result.read.bytes,
              throttled: result.read.throttled,
              seconds: result.read.seconds,
            },
          }
        : {}),
    };
    return { ...result, usage: addUsage(event.usage ?? NO_USAGE, thisInvocation) };
  },
);
