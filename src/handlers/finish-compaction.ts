import { cleanupCompaction } from '../compaction/cleanup';
import { requireCompactionSpec } from '../compaction/plan';
import { compactionRuntime } from '../compaction/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

/** FinishCompaction: the run's result (stored in S3), and the shuffle objects removed. */
export const handler = taskHandler(passThrough<{ runId: string }>, async (event) => {
  const { store, config } = compactionRuntime();
  const spec = await requireCompactionSpec(store, config.prefix, event.runId);
  const summary = await cleanupCompaction(spec, { store });
  // The output list stays in S3 (resultKey): it grows with the partitions.
  return { ...summary, outputs: summary.outputs.length, outPrefix: spec.outPrefix, stream: spec.stream };
});
