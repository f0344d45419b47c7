import { invocationDeadline } from '../config/base-config';
import type { Context } from 'aws-lambda';
import type { LiveShard } from '../query-window/prepare';
import { queryWindowRuntime } from '../query-window/runtime';
import { snapshotLiveShard } from '../query-window/snapshot';
import { passThrough, taskHandler } from './shared/task-handler';

/** SnapshotLiveShard: one shard's tail not archived yet, up to the window's opening; `done: false` loops. */
export const handler = taskHandler(
  passThrough<{ windowId: string; cutoff: number; shard: LiveShard }>,
  async (event, context: Context) => {
    const { store, live, config } = queryWindowRuntime();
    return snapshotLiveShard(
      { ...live, store, prefix: config.prefix },
      { ...config, partRecords: config.snapshotPartRecords },
      { ...event, deadline: invocationDeadline(config, context.getRemainingTimeInMillis()) },
    );
  },
);
