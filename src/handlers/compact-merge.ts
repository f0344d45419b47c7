import { mergePartition } from '../compaction/merge-worker';
import { requireCompactionSpec } from '../compaction/plan';
import { compactionRuntime } from '../compaction/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

/** MergePartition: the newest record per key of one shuffle partition, written as record lines. */
export const handler = taskHandler(passThrough<{ runId: string; partition: number }>, async (event) => {
  const { store, config } = compactionRuntime();
  const spec = await requireCompactionSpec(store, config.prefix, event.runId);
  const result = await mergePartition(spec, event.partition, { store });
  return {
    partition: event.partition,
    keys: result.keys,
    records: result.records,
    outputs: result.outputs.length,
  };
});
