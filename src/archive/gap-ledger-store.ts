import { mapWithConcurrency } from '../core/concurrency';
import { CheckpointConflictError } from '../core/errors';
import {
  gapLedgerKey,
  gapLedgerPrefix,
  isAcknowledgedGap,
  parseGapLedgerKey,
  type AcknowledgedGap,
  type GapLedgerRef,
} from '../core/gap-ledger';
import type { ObjectStore } from '../core/ports';
import { compareSequenceNumbers } from '../core/sequence';

/**
 * The gap ledger in S3 (`{prefix}gaps/stream=…/{shardId}/{from}-{to}.json`): the one place that
 * lists and reads it, and writes its entries.
 */

/** The acknowledged gaps of one stream (or of all), by stream, shard and position. */
export async function readGapLedger(
  store: ObjectStore,
  prefix: string,
  stream?: string,
): Promise<AcknowledgedGap[]> {
  const keys = (await store.listKeys(gapLedgerPrefix(prefix, stream))).filter((key) =>
    parseGapLedgerKey(key),
  );
  const entries = await mapWithConcurrency(
    keys,
    16,
    async (key) => (await store.getJson<unknown>(key))?.value,
  );
  return entries
    .filter(isAcknowledgedGap)
    .sort(
      (a, b) =>
        a.stream.localeCompare(b.stream) ||
        a.shardId.localeCompare(b.shardId, 'en', { numeric: true }) ||
        compareSequenceNumbers(a.from, b.from),
    );
}

/** The shard and range of each entry of a stream's ledger, from the keys alone (no reads). */
export async function listGapLedgerRefs(
  store: ObjectStore,
  prefix: string,
  stream: string,
): Promise<GapLedgerRef[]> {
  return (await store.listKeys(gapLedgerPrefix(prefix, stream)))
    .map(parseGapLedgerKey)
    .filter((ref): ref is GapLedgerRef => ref?.stream === stream);
}

/**
 * Writes an entry unless one with its key exists (a retried acknowledgment keeps the first): the
 * key and the entry that is stored.
 */
export async function writeGapLedgerEntry(
  store: ObjectStore,
  prefix: string,
  gap: AcknowledgedGap,
): Promise<{ key: string; entry: AcknowledgedGap }> {
  const key = gapLedgerKey(prefix, gap.stream, gap.shardId, gap.from, gap.to);
  try {
    await store.putJsonIfMatch(key, gap, null);
    return { key, entry: gap };
  } catch (error) {
    if (!(error instanceof CheckpointConflictError)) throw error;
    const stored = (await store.getJson<unknown>(key))?.value;
    return { key, entry: isAcknowledgedGap(stored) ? stored : gap };
  }
}
