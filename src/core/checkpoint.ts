import type { Block } from './block-builder';
import { detectedGap, type GapRange, type OpenGap } from './gap-ledger';

/**
 * One JSON object per shard (DESIGN.md "Checkpoints"). `lastSequenceNumber` moves only after
 * the block it covers is durable. Before a block is written, its range is recorded as
 * `pending`: if the writer dies between the object and the commit, the next run rebuilds that
 * exact block (same records, same key, same bytes) instead of cutting a different one, so a
 * reader never sees a record in two objects.
 */
export interface PendingBlock {
  key: string;
  firstSequenceNumber: string;
  lastSequenceNumber: string;
  lastArrivalTimestamp: number;
  records: number;
  bytes: number;
}

export interface ArchiveTotals {
  records: number;
  objects: number;
  bytes: number;
}

/**
 * Which archive execution is working on the shard, until when. Overlapping runs are normal (a
 * backfill or a backlog outlasts the schedule's interval): a run that finds another's live lease
 * leaves the shard alone and reports it `held`. A holder that died stops renewing, and once its
 * lease has expired the next run takes the shard over; the conditional checkpoint write decides
 * who wins when two try at once. Every checkpoint write of the holder renews it.
 */
export interface ShardLease {
  /** The holder's execution name (the archive run id). */
  holder: string;
  /** ISO-8601 time after which another run may take the shard over. */
  expiresAt: string;
}

export interface Checkpoint {
  version: 1;
  stream: string;
  shardId: string;
  parentShardIds: string[];
  /** Last Kinesis record whose user records are all archived; null before the first block. */
  lastSequenceNumber: string | null;
  lastArrivalTimestamp: number | null;
  pending: PendingBlock | null;
  shardState: 'open' | 'closed';
  /** Closed and read to the end (its iterator returned null): children may be read. */
  drained: boolean;
  totals: ArchiveTotals;
  updatedAt: string;
  /** Absent in checkpoints written before leases existed, and null when released. */
  lease?: ShardLease | null;
  /**
   * The stream's StreamCreationTimestamp (epoch ms): which stream of this name the checkpoint
   * belongs to (core/stream-epoch.ts). Absent in checkpoints written before it was recorded.
   */
  streamCreatedAt?: number;
  /**
   * Epoch ms up to which the shard is known complete: the last run that read it to its tip (or
   * to records stamped after it started) began at this time, less the arrival clock slack. Every
   * record that arrived before it is archived (approximately: arrival stamps are approximate).
   * Lets a quiet shard close an hour (core/columnar.ts). Absent until such a run.
   */
  caughtUpTo?: number;
  /**
   * A data gap found by a run and not acknowledged yet (core/gap-ledger.ts): every run fails the
   * shard with DataGapError until `reservoir gaps acknowledge` removes it. Absent or null: none.
   */
  openGap?: OpenGap | null;
  /**
   * Set by an acknowledgment: the oldest record left after the gap, not archived yet. Reading
   * resumes AT it and it must be there (otherwise that is a new gap). Cleared by the next commit.
   */
  resumeAfterGap?: { sequenceNumber: string } | null;
  /** How many gaps of the shard were acknowledged (the ledger holds them); absent: none. */
  acknowledgedGaps?: number;
}

export function initialCheckpoint(stream: string, shardId: string, parentShardIds: string[]): Checkpoint {
  return {
    version: 1,
    stream,
    shardId,
    parentShardIds,
    lastSequenceNumber: null,
    lastArrivalTimestamp: null,
    pending: null,
    shardState: 'open',
    drained: false,
    totals: { records: 0, objects: 0, bytes: 0 },
    updatedAt: new Date(0).toISOString(),
  };
}

export function pendingFor(block: Block, key: string, compressedBytes: number): PendingBlock {
  return {
    key,
    firstSequenceNumber: block.firstSequenceNumber,
    lastSequenceNumber: block.lastSequenceNumber,
    lastArrivalTimestamp: block.lastArrivalTimestamp,
    records: block.records,
    bytes: compressedBytes,
  };
}

/** Records the intent to write `pending`. Only legal when nothing else is pending. */
export function withPending(checkpoint: Checkpoint, pending: PendingBlock, now: Date): Checkpoint {
  if (checkpoint.pending) throw new Error(`Checkpoint of ${checkpoint.shardId} already has a pending block`);
  return { ...checkpoint, pending, updatedAt: now.toISOString() };
}

/** The pending block is durable: move the position past it and count it. */
export function commitPending(checkpoint: Checkpoint, now: Date): Checkpoint {
  const pending = checkpoint.pending;
  if (!pending) return checkpoint;
  return {
    ...checkpoint,
    // The first block after an acknowledged gap is archived: the position is its end now.
    ...(checkpoint.resumeAfterGap ? { resumeAfterGap: null } : {}),
    lastSequenceNumber: pending.lastSequenceNumber,
    lastArrivalTimestamp: pending.lastArrivalTimestamp,
    pending: null,
    totals: {
      records: checkpoint.totals.records + pending.records,
      objects: checkpoint.totals.objects + 1,
      bytes: checkpoint.totals.bytes + pending.bytes,
    },
    updatedAt: now.toISOString(),
  };
}

/**
 * Object tags of the checkpoint write that marks a shard drained (the last write of that
 * checkpoint). Retention's lifecycle rule expires only checkpoints carrying them: an open
 * shard's checkpoint must never expire.
 */
export const DRAINED_CHECKPOINT_TAGS: Readonly<Record<string, string>> = { 'reservoir-drained': 'true' };

/** The shard's iterator returned null: closed, nothing left to read. */
export function markDrained(checkpoint: Checkpoint, now: Date): Checkpoint {
  if (checkpoint.pending) throw new Error(`Cannot mark ${checkpoint.shardId} drained with a pending block`);
  return { ...checkpoint, shardState: 'closed', drained: true, updatedAt: now.toISOString() };
}

export function markClosed(checkpoint: Checkpoint, now: Date): Checkpoint {
  return checkpoint.shardState === 'closed'
    ? checkpoint
    : { ...checkpoint, shardState: 'closed', updatedAt: now.toISOString() };
}

/** The lease of another execution that is still live at `now`, if any. */
export function liveLeaseOfOther(checkpoint: Checkpoint, holder: string, now: Date): ShardLease | null {
  const lease = checkpoint.lease;
  if (!lease || lease.holder === holder) return null;
  return Date.parse(lease.expiresAt) > now.getTime() ? lease : null;
}

export function withLease(checkpoint: Checkpoint, holder: string, leaseMs: number, now: Date): Checkpoint {
  return { ...checkpoint, lease: { holder, expiresAt: new Date(now.getTime() + leaseMs).toISOString() } };
}

export function withoutLease(checkpoint: Checkpoint): Checkpoint {
  return { ...checkpoint, lease: null };
}

/** The checkpoint of a run that found a gap: open until acknowledged (first detected kept). */
export function withOpenGap(checkpoint: Checkpoint, range: GapRange, now: Date): Checkpoint {
  return {
    ...checkpoint,
    openGap: detectedGap(checkpoint.openGap, range, now),
    updatedAt: now.toISOString(),
  };
}

/**
 * The checkpoint after its open gap is acknowledged: reading resumes AT `firstAvailable`, the
 * oldest record left, and the gap is closed. A pending block must have been dealt with first
 * (committed, or dropped when its records are gone).
 */
export function acknowledgeOpenGap(checkpoint: Checkpoint, firstAvailable: string, now: Date): Checkpoint {
  if (checkpoint.pending)
    throw new Error(`Cannot acknowledge a gap of ${checkpoint.shardId} with a pending block`);
  return {
    ...checkpoint,
    openGap: null,
    resumeAfterGap: { sequenceNumber: firstAvailable },
    acknowledgedGaps: (checkpoint.acknowledgedGaps ?? 0) + 1,
    updatedAt: now.toISOString(),
  };
}

/** Where reading resumes, and which record must be there for the range to be gap-free. */
export type ResumePoint =
  { type: 'TRIM_HORIZON' } | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string; skipFirst: boolean };

export function resumePoint(checkpoint: Checkpoint): ResumePoint {
  if (checkpoint.resumeAfterGap) {
    // The first record after an acknowledged gap is not archived yet (a pending block, if any,
    // starts at it): read it, and it must be there.
    return {
      type: 'AT_SEQUENCE_NUMBER',
      sequenceNumber: checkpoint.resumeAfterGap.sequenceNumber,
      skipFirst: false,
    };
  }
  if (checkpoint.lastSequenceNumber) {
    // Read AT the last archived record: seeing it again proves nothing after it expired.
    return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: checkpoint.lastSequenceNumber, skipFirst: true };
  }
  if (checkpoint.pending) {
    return {
      type: 'AT_SEQUENCE_NUMBER',
      sequenceNumber: checkpoint.pending.firstSequenceNumber,
      skipFirst: false,
    };
  }
  return { type: 'TRIM_HORIZON' };
}

export function isCheckpoint(value: unknown): value is Checkpoint {
  const v = value as Checkpoint;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.version === 1 &&
    typeof v.shardId === 'string' &&
    (v.lastSequenceNumber === null || typeof v.lastSequenceNumber === 'string') &&
    typeof v.totals === 'object'
  );
}
