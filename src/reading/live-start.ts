import type { Checkpoint } from '../core/checkpoint';
import type { ObjectStore } from '../core/ports';

/**
 * Where a shard's live read starts, past its archive: after the last archived record, or after the
 * pending block when its object was written (its records are in the archive listing then). No
 * checkpoint: null, the trim horizon. Replay, compaction, query windows and `sql --live` all start
 * here, so archive and live tail meet without a gap.
 */
export async function liveStart(
  store: ObjectStore,
  checkpoint: Checkpoint | undefined,
): Promise<string | null> {
  if (!checkpoint) return null;
  if (checkpoint.pending && (await store.exists(checkpoint.pending.key)))
    return checkpoint.pending.lastSequenceNumber;
  return checkpoint.lastSequenceNumber;
}
