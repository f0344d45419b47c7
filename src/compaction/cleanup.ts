import { mapWithConcurrency } from '../core/concurrency';
import { compactionFiles, type CompactionSpec } from '../core/compaction-spec';
import { CorruptStateError } from '../core/errors';
import type { MergeResult } from './merge-worker';
import type { CompactionDeps } from './inputs';

export interface CompactionSummary {
  runId: string;
  partitions: number;
  keys: number;
  records: number;
  tombstoned: number;
  filteredOut: number;
  bytes: number;
  /** Output objects, partition by partition (archive record lines, readable like archive objects). */
  outputs: string[];
  /** Shuffle objects deleted. */
  deleted: number;
  /** Where this summary is stored (`{run}result.json`). */
  resultKey: string;
}

/**
 * Ends a successful run: checks that every partition was merged, stores the summary at
 * `{run}result.json`, and deletes the shuffle objects. Refuses (CorruptStateError) while a
 * partition has no merge result: deleting its shuffle would lose records. A run that never gets
 * here leaves its shuffle to the run prefix's lifecycle rule. Safe to call again.
 */
export async function cleanupCompaction(
  spec: CompactionSpec,
  deps: CompactionDeps,
): Promise<CompactionSummary> {
  const files = compactionFiles(spec.prefix, spec.runId);
  const merged = await deps.store.listKeys(files.merged);
  const expected = Array.from({ length: spec.partitions }, (_, p) => files.mergeResult(p));
  const present = new Set(merged);
  const missing = expected.filter((key) => !present.has(key));
  if (missing.length > 0) {
    throw new CorruptStateError(
      `Compaction ${spec.runId}: ${missing.length} of ${spec.partitions} partitions are not merged ` +
        `(e.g. ${missing[0]}); the shuffle is kept`,
    );
  }
  const results = await mapWithConcurrency(expected, 16, async (key) => {
    const stored = await deps.store.getJson<MergeResult>(key);
    if (!stored) throw new CorruptStateError(`Compaction ${spec.runId}: merge result ${key} vanished`);
    return stored.value;
  });
  const resultKey = `${files.run}result.json`;
  const sum = (pick: (r: MergeResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  const summary: CompactionSummary = {
    runId: spec.runId,
    partitions: spec.partitions,
    keys: sum((r) => r.keys),
    records: sum((r) => r.records),
    tombstoned: sum((r) => r.tombstoned),
    filteredOut: sum((r) => r.filteredOut),
    bytes: sum((r) => r.bytes),
    outputs: results.flatMap((r) => r.outputs),
    deleted: 0,
    resultKey,
  };
  const shuffle = await deps.store.listKeys(files.shuffle);
  await deps.store.deleteKeys(shuffle);
  summary.deleted = shuffle.length;
  const previous = await deps.store.getJson<CompactionSummary>(resultKey);
  // A second call finds nothing left to delete: keep the first call's count.
  if (previous && shuffle.length === 0) summary.deleted = previous.value.deleted;
  await deps.store.putJson(resultKey, summary);
  return summary;
}
