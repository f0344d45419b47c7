import type { CompactionSummary } from './cleanup';
import { snapshotPlanKey } from './start-compaction';
import { compactionRunPrefix } from '../core/compaction-spec';
import { CheckpointConflictError, CorruptStateError } from '../core/errors';
import type { ObjectStore } from '../core/ports';
import { snapshotPointerKey, type SnapshotPlan, type SnapshotPointer } from '../core/snapshot';

export interface SnapshotCommit {
  stream: string;
  generation: string;
  keys: number;
  records: number;
  /** Objects of the previous generation removed. */
  removed: number;
  /** When the tombstone pattern applied differs from the run's configuration: what happened. */
  tombstoneNote?: string;
}

/**
 * Makes a finished snapshot run's generation current: the pointer moves with a conditional
 * write on the ETag seen when the run was planned (another run that committed meanwhile wins;
 * this one deletes its own generation and fails with CheckpointConflictError), then
 * the previous generation's objects are deleted.
 */
export async function commitSnapshot(
  store: ObjectStore,
  prefix: string,
  runId: string,
  now: Date,
): Promise<SnapshotCommit> {
  const planKey = snapshotPlanKey(prefix, runId);
  const plan = (await store.getJson<SnapshotPlan>(planKey))?.value;
  if (!plan) throw new CorruptStateError(`Snapshot plan ${planKey} is missing`);
  const resultKey = `${compactionRunPrefix(prefix, runId)}result.json`;
  const result = (await store.getJson<CompactionSummary>(resultKey))?.value;
  if (!result) throw new CorruptStateError(`Compaction result ${resultKey} is missing`);

  const pointerKey = snapshotPointerKey(prefix, plan.stream);
  const current = await store.getJson<SnapshotPointer>(pointerKey);
  if (current?.value.generation === runId) {
    return { stream: plan.stream, generation: runId, keys: result.keys, records: result.records, removed: 0 };
  }
  const pointer: SnapshotPointer = {
    version: 1,
    stream: plan.stream,
    generation: runId,
    outPrefix: plan.outPrefix,
    outputs: result.outputs,
    watermark: plan.watermark,
    newestHourStart: plan.newestHourStart,
    keys: result.keys - result.tombstoned,
    records: result.records,
    createdAt: now.toISOString(),
    ...(plan.tombstone !== undefined ? { tombstone: plan.tombstone } : {}),
  };
  try {
    await store.putJsonIfMatch(pointerKey, pointer, plan.baseEtag);
  } catch (error) {
    // Another run made its generation current first: this one will never be read.
    if (error instanceof CheckpointConflictError)
      await store.deleteKeys(await store.listKeys(plan.outPrefix));
    throw error;
  }
  const previous = plan.base ? await store.listKeys(plan.base.outPrefix) : [];
  await store.deleteKeys(previous);
  return {
    stream: plan.stream,
    generation: runId,
    keys: pointer.keys,
    records: result.records,
    removed: previous.length,
    ...(plan.tombstoneNote ? { tombstoneNote: plan.tombstoneNote } : {}),
  };
}
