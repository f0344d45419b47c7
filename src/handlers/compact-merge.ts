import { mergePartition } from '../compaction/merge-worker';
import { requireCompactionSpec } from '../compaction/plan';
import { compactionRuntime } from '../compaction/runtime';
import { recordCompactionProgress } from '../telemetry/workflow-metrics';
import { passThrough, taskHandler } from './shared/task-handler';

/** MergePartition: the newest record per key of one shuffle partition, written as record lines. */
export const handler = taskHandler(
  passThrough<{ runId: string; partition: number }>,
  async (event, _context, { metrics }) => {
    const { store, config } = compactionRuntime();
    const spec = await requireCompactionSpec(store, config.prefix, event.runId);
    const result = await mergePartition(spec, event.partition, { store });
    recordCompactionProgress(metrics, { stream: spec.stream, runId: spec.runId, records: result.records });
    return {
      partition: event.partition,
      keys: result.keys,
      records: result.records,
      outputs: result.outputs.length,
    };
  },
  { logKeys: (event) => ({ partition: event.partition }) },
);
