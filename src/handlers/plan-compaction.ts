import compactRequestSchema from '../../schemas/compact-request.schema.json';
import { compactionRuntime } from '../compaction/runtime';
import { startCompaction, type CompactionRequest } from '../compaction/start-compaction';
import { compileValidator } from '../validation/compile';
import { taskHandler } from './shared/task-handler';

const validateRequest = compileValidator<CompactionRequest>(compactRequestSchema, 'compaction request');

interface PlanCompactionEvent {
  request: CompactionRequest;
  executionName: string;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** PlanCompaction: inputs in bounds, partition count, chunks; the spec goes to S3, indexes into the state. */
export const handler = taskHandler(
  (event: unknown) => {
    const e = event as PlanCompactionEvent;
    return { ...e, request: validateRequest(e?.request) };
  },
  async (event: PlanCompactionEvent) => {
    const { store, catalog, config } = compactionRuntime();
    const spec = await startCompaction(
      { store, catalog, config, now: new Date() },
      event.request,
      event.executionName,
    );
    return {
      runId: spec.runId,
      stream: spec.stream,
      inputs: spec.inputs.length,
      partitions: spec.partitions,
      estimatedRecords: spec.estimatedRecords,
      outPrefix: spec.outPrefix,
      chunkIndexes: range(spec.chunks.length),
      partitionIndexes: range(spec.partitions),
    };
  },
);
