import { readCheckpoints } from './read-checkpoints';
import { acknowledgeOpenGap, isCheckpoint, liveLeaseOfOther, withoutLease } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { CheckpointConflictError, ValidationError } from '../core/errors';
import { acknowledgedGap, type AcknowledgedGap, type OpenGap } from '../core/gap-ledger';
import { checkpointKey, checkpointsPrefix, streamsOfCheckpointKeys } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import type { ReadRate } from '../core/read-budget';
import { compareSequenceNumbers } from '../core/sequence';
import { readShard, type ShardReadDeps, type ShardReadSettings } from '../reading/shard-read';
import { readGapLedger, writeGapLedgerEntry } from './gap-ledger-store';

/** An open gap where it is: the shard fails every archive run until it is acknowledged. */
export interface OpenGapRow extends OpenGap {
  stream: string;
  shardId: string;
}

export interface GapReport {
  open: OpenGapRow[];
  acknowledged: AcknowledgedGap[];
}

/** Open gaps (from the checkpoints) and acknowledged ones (the ledger) of the streams, or of all. */
export async function listGaps(
  store: ObjectStore,
  prefix: string,
  streams?: readonly string[],
): Promise<GapReport> {
  const named = streams?.length ? [...streams] : null;
  const withCheckpoints = named ?? streamsOfCheckpointKeys(await store.listKeys(checkpointsPrefix(prefix)));
  const [checkpoints, acknowledged] = await Promise.all([
    mapWithConcurrency(withCheckpoints, 4, (stream) => readCheckpoints(store, prefix, stream)),
    named
      ? mapWithConcurrency(named, 4, (stream) => readGapLedger(store, prefix, stream)).then((all) =>
          all.flat(),
        )
      : readGapLedger(store, prefix),
  ]);
  const open = checkpoints
    .flat()
    .flatMap((checkpoint) =>
      checkpoint.openGap
        ? [{ stream: checkpoint.stream, shardId: checkpoint.shardId, ...checkpoint.openGap }]
        : [],
    )
    .sort(
      (a, b) =>
        a.stream.localeCompare(b.stream) || a.shardId.localeCompare(b.shardId, 'en', { numeric: true }),
    );
  return { open, acknowledged };
}

export interface AcknowledgeDeps {
  store: ObjectStore;
  prefix: string;
  /** Reads the shard's trim horizon (one read, at `rate`). */
  read: ShardReadDeps;
  readSettings: ShardReadSettings;
  rate: ReadRate;
}

export interface AcknowledgeRequest {
  stream: string;
  shardId: string;
  by: string | null;
  note: string | null;
}

export interface AcknowledgeResult {
  /** The ledger entry's key and content. */
  key: string;
  gap: AcknowledgedGap;
  /** The oldest record left: the next run archives from it (it included). */
  resumesAt: string;
}

/**
 * Acknowledges a shard's open gap: writes the ledger entry, then moves the checkpoint past the
 * gap with a conditional write, so that the next run reads AT the oldest record left (it must be
 * there) and nothing archived before is read again. Refuses, changing nothing, when the shard has
 * no open gap, another run holds it, or no record is left to resume from.
 */
export async function acknowledgeGap(
  deps: AcknowledgeDeps,
  request: AcknowledgeRequest,
): Promise<AcknowledgeResult> {
  const { stream, shardId } = request;
  const key = checkpointKey(deps.prefix, stream, shardId);
  const stored = await deps.store.getJson<unknown>(key);
  if (!stored || !isCheckpoint(stored.value))
    throw new ValidationError(`${stream}/${shardId} has no checkpoint (is it archived?)`);
  let checkpoint = stored.value;
  const open = checkpoint.openGap;
  if (!open)
    throw new ValidationError(`${stream}/${shardId} has no open data gap (reservoir gaps lists them)`);
  const now = new Date(deps.read.now());
  const holder = liveLeaseOfOther(checkpoint, '', now);
  if (holder)
    throw new ValidationError(
      `${stream}/${shardId} is held by archive run ${holder.holder} until ${holder.expiresAt}: acknowledge after it`,
    );
  let droppedPendingKey: string | null = null;
  if (checkpoint.pending) {
    if (await deps.store.exists(checkpoint.pending.key))
      throw new ValidationError(
        `${stream}/${shardId} has a written block not committed yet (${checkpoint.pending.key}): ` +
          'run the archive once (it commits the block and reports the gap again), then acknowledge',
      );
    // Its object was never written and the gap took its first records: it can never be rebuilt.
    droppedPendingKey = checkpoint.pending.key;
    checkpoint = { ...checkpoint, pending: null };
  }
  const oldest = await oldestRecord(deps, stream, shardId);
  if (oldest === null)
    throw new ValidationError(
      `${stream}/${shardId} holds no record now: there is nothing to resume from ` +
        '(the next archive run reads nothing; acknowledge once records arrive)',
    );
  if (compareSequenceNumbers(oldest, open.from) <= 0)
    throw new ValidationError(
      `${stream}/${shardId} still holds record ${open.from}: the gap is not there now (run the archive)`,
    );
  const written = await writeGapLedgerEntry(
    deps.store,
    deps.prefix,
    acknowledgedGap(
      open,
      { stream, shardId, to: oldest },
      { now, by: request.by, note: request.note, droppedPendingKey },
    ),
  );
  try {
    await deps.store.putJsonIfMatch(
      key,
      withoutLease(acknowledgeOpenGap(checkpoint, oldest, now)),
      stored.etag,
    );
  } catch (error) {
    if (error instanceof CheckpointConflictError)
      throw new ValidationError(
        `an archive run moved the checkpoint of ${stream}/${shardId} meanwhile: nothing changed, acknowledge again`,
      );
    throw error;
  }
  return { key: written.key, gap: written.entry, resumesAt: oldest };
}

/** The sequence number of the shard's oldest record (at its trim horizon), or null when it holds none. */
async function oldestRecord(deps: AcknowledgeDeps, stream: string, shardId: string): Promise<string | null> {
  const read = readShard(deps.read, deps.readSettings, {
    stream,
    shardId,
    start: { type: 'TRIM_HORIZON' },
    mode: { type: 'polling', rate: deps.rate },
    stopAtTip: true,
  });
  for await (const batch of read) return batch.records[0]!.sequenceNumber;
  return null;
}
