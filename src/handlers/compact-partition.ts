import { workerParquetSource } from '../columnar/worker-parquet';
import { partitionChunk } from '../compaction/partition-worker';
import { requireCompactionSpec } from '../compaction/plan';
import { compactionRuntime } from '../compaction/runtime';
import { recordCompactionProgress } from '../telemetry/workflow-metrics';
import { passThrough, taskHandler } from './shared/task-handler';

/** CompactChunk: one chunk's records, hash-partitioned by key into shuffle objects. */
export const handler = taskHandler(
  passThrough<{ runId: string; chunk: number }>,
  async (event, _context, { metrics }) => {
    const { store, live, config } = compactionRuntime();
    const spec = await requireCompactionSpec(store, config.prefix, event.runId);
    const result = await partitionChunk(
      spec,
      event.chunk,
      { store, live, parquet: workerParquetSource(store) },
      {
        bufferBytes: config.bufferBytes,
        inlineBytes: config.inlineBytes,
        getRecordsLimit: config.getRecordsLimit,
        throttleAttempts: config.throttleAttempts,
        throttleBaseDelayMs: config.throttleBaseDelayMs,
        defaultRate: config.defaultRate,
      },
    );
    recordCompactionProgress(metrics, { stream: spec.stream, runId: spec.runId, records: result.records });
    return {
      chunk: event.chunk,
      records: result.records,
      matched: result.matched,
      shuffleObjects: result.shuffleObjects,
    };
  },
  { logKeys: (event) => ({ chunk: event.chunk }) },
);
