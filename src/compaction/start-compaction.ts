import { validateFilter } from '../core/filter-pattern';
import { ValidationError } from '../core/errors';
import type { CompactionSpec, FilterStage } from '../core/compaction-spec';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import type { CompactionConfig } from '../config/compaction-config';
import { planCompactionRun } from './plan';

/** The compaction request as users write it (schemas/compact-request.schema.json). */
export interface CompactionRequest {
  stream: string;
  from?: string;
  to?: string;
  filter?: Record<string, unknown> | Record<string, unknown>[];
  filterStage?: FilterStage;
  tombstone?: Record<string, unknown> | Record<string, unknown>[];
  includeLive?: boolean;
  outPrefix?: string;
  runId?: string;
}

export function defaultOutPrefix(prefix: string, stream: string, runId: string): string {
  return `${prefix}compacted/stream=${stream}/${runId}/`;
}

/**
 * Checks a schema-valid request (bounds, filter and tombstone syntax) and plans the run. A run
 * id already planned keeps its spec: re-running it reuses every finished worker's output.
 */
export async function startCompaction(
  deps: { store: ObjectStore; catalog: StreamCatalog; config: CompactionConfig; now: Date },
  request: CompactionRequest,
  executionName: string,
): Promise<CompactionSpec> {
  const runId = request.runId ?? executionName;
  const fromMs = request.from ? Date.parse(request.from) : 0;
  const toMs = request.to ? Date.parse(request.to) : deps.now.getTime();
  if (fromMs >= toMs) throw new ValidationError(`field to: must be after from (from < to)`);
  if (request.filter !== undefined) validateFilter(request.filter, 'filter');
  if (request.tombstone !== undefined) validateFilter(request.tombstone, 'tombstone');
  return planCompactionRun(
    { store: deps.store, catalog: deps.catalog },
    {
      runId,
      stream: request.stream,
      prefix: deps.config.prefix,
      fromMs,
      toMs,
      filter: request.filter,
      filterStage: request.filterStage ?? 'before',
      tombstone: request.tombstone,
      outPrefix: request.outPrefix ?? defaultOutPrefix(deps.config.prefix, request.stream, runId),
      ...(request.includeLive ? { includeLive: { untilMs: toMs } } : {}),
    },
    { keysPerPartition: deps.config.keysPerPartition, chunkBytes: deps.config.chunkBytes },
  );
}
