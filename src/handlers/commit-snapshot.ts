import { commitSnapshot } from '../compaction/commit-snapshot';
import { compactionRuntime } from '../compaction/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

/** CommitSnapshot: the new generation of a LATEST stream's snapshot becomes current. */
export const handler = taskHandler(passThrough<{ runId: string }>, async (event) => {
  const { store, config } = compactionRuntime();
  return commitSnapshot(store, config.prefix, event.runId, new Date());
});
