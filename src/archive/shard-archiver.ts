import { BlockBuilder, blockBody, type Block } from '../core/block-builder';
import {
  commitPending,
  DRAINED_CHECKPOINT_TAGS,
  initialCheckpoint,
  isCheckpoint,
  liveLeaseOfOther,
  markClosed,
  markDrained,
  pendingFor,
  resumePoint,
  withLease,
  withoutLease,
  withPending,
  type Checkpoint,
  type ShardLease,
} from '../core/checkpoint';
import { CheckpointConflictError, CorruptStateError, DataGapError, ReservoirError } from '../core/errors';
import { archiveObjectKey, checkpointKey } from '../core/layout';
import { isFromEarlierEpoch } from '../core/stream-epoch';
import type { KinesisRecord, ObjectStore } from '../core/ports';
import type { UserRecord } from '../core/record-line';
import {
  ARRIVAL_CLOCK_SLACK_MS,
  readShard,
  type ReadMode,
  type ShardBatch,
  type ShardRead,
  type ShardReadDeps,
  type ShardReadSettings,
  type ShardReadUsage,
} from '../reading/shard-read';
import { compareSequenceNumbers } from '../core/sequence';
import { archiveObjectMetadata } from '../core/object-metadata';

export interface ShardArchiverSettings extends ShardReadSettings {
  prefix: string;
  /** Uncompressed bytes at which a block is cut (a single larger record makes a larger block). */
  maxObjectBytes: number;
  /**
   * How long a run's hold on a shard lasts without a checkpoint write: longer than one
   * invocation can take, so only a holder that died loses it.
   */
  leaseMs: number;
}

export interface ShardArchiverDeps extends ShardReadDeps {
  store: ObjectStore;
  compress: (body: string) => Uint8Array;
  /** Called before a DataGapError is thrown, to emit the gap metric. */
  onGap: (gap: DataGapError) => void;
}

export interface ArchiveShardRequest {
  stream: string;
  shardId: string;
  /** Parents still listed by Kinesis; they must be drained before this shard is read. */
  parentShardIds: string[];
  /** True when ListShards reported an ending sequence number. */
  closed: boolean;
  /** Epoch ms after which no new GetRecords call starts (the open block is still written). */
  deadline: number;
  /** The execution archiving it (the run id): the lease's holder. */
  holder: string;
  /** Which stream of this name (StreamCreationTimestamp): recorded in the checkpoint. */
  streamCreatedAt?: number;
  /** Polling at the stream's read rate, or enhanced fan-out through its consumer. */
  read: ReadMode;
}

export type ArchiveShardStatus = 'caught-up' | 'drained' | 'budget-exhausted' | 'waiting-for-parent' | 'held';

export interface ArchiveShardResult {
  stream: string;
  shardId: string;
  status: ArchiveShardStatus;
  /** False only when the budget ran out with records left: the state machine loops again. */
  done: boolean;
  records: number;
  objects: number;
  bytes: number;
  /**
   * Age of the oldest record not archived yet: 0 when caught up or drained; otherwise
   * MillisBehindLatest of the last read, or the age of the last archived record when that says 0.
   */
  lagMs: number | null;
  lastSequenceNumber: string | null;
  /** What this invocation read (absent when it read nothing: drained, waiting or held). */
  read?: ShardReadUsage;
  waitingFor?: string;
  /** `held`: the execution that holds the shard's lease, and until when. */
  heldBy?: string;
  heldUntil?: string;
}

const CONTENT_TYPE = 'application/x-ndjson';

/**
 * Archives one shard from its checkpoint until it is caught up, drained, or the deadline
 * passes. Exactly once in effect: each block's range is recorded as pending (conditional
 * write) before its object is written, and committed (conditional write) only after. A shard
 * whose lease another live execution holds is left alone and reported `held`.
 */
export class ShardArchiver {
  constructor(
    private readonly settings: ShardArchiverSettings,
    private readonly deps: ShardArchiverDeps,
  ) {}

  async archive(request: ArchiveShardRequest): Promise<ArchiveShardResult> {
    const run = new ShardRun(this.settings, this.deps, request);
    return run.execute();
  }
}

class ShardRun {
  private checkpoint!: Checkpoint;
  private etag: string | null = null;
  private startTotals = { records: 0, objects: 0, bytes: 0 };
  private readonly builder: BlockBuilder;
  /** This run's read of the shard (its usage goes into the result). */
  private shardRead: ShardRead | null = null;
  /** Whether the pending block's object is known to be durable (only then may it be committed). */
  private pendingDurable = false;
  private readonly key: string;

  constructor(
    private readonly settings: ShardArchiverSettings,
    private readonly deps: ShardArchiverDeps,
    private readonly request: ArchiveShardRequest,
    /** False for a run that already started over once after losing its lease. */
    private readonly mayStartOver = true,
  ) {
    this.builder = new BlockBuilder(settings.maxObjectBytes);
    this.key = checkpointKey(settings.prefix, request.stream, request.shardId);
  }

  async execute(): Promise<ArchiveShardResult> {
    const { stream } = this.request;
    await this.loadCheckpoint();
    if (this.checkpoint.drained) return this.result('drained', true, 0);

    for (const parent of this.request.parentShardIds) {
      const stored = await this.deps.store.getJson<Checkpoint>(
        checkpointKey(this.settings.prefix, stream, parent),
      );
      if (!stored || !stored.value.drained) {
        return { ...this.result('waiting-for-parent', true, null), waitingFor: parent };
      }
    }

    const holder = await this.acquireLease();
    if (holder) return this.heldResult(holder);
    try {
      return await this.read();
    } catch (error) {
      if (error instanceof CheckpointConflictError) {
        // Our lease had expired (a stalled invocation) and another execution took the shard over:
        // it still holds it, or it is done and the shard is free again.
        const taker = await this.otherLiveLease();
        if (taker) return this.heldResult(taker);
        if (this.mayStartOver) return this.startOver();
      } else if (!(error instanceof ReservoirError && error.transient)) {
        // The state machine will not call again in this run: let the next run in at once.
        await this.releaseLease().catch(() => undefined);
      }
      throw error;
    }
  }

  private async read(): Promise<ArchiveShardResult> {
    const { stream, shardId } = this.request;
    if (this.checkpoint.pending && (await this.deps.store.exists(this.checkpoint.pending.key))) {
      // The object of the pending block is durable (a PUT is all or nothing): just count it.
      this.pendingDurable = true;
      await this.writeCheckpoint(this.committed());
    }

    const resume = resumePoint(this.checkpoint);
    let expected = resume.type === 'AT_SEQUENCE_NUMBER' ? resume : null;
    // A pending block whose object is missing is rebuilt record for record: a concurrent writer
    // may still be putting it, and only an identical object keeps the archive free of repeats.
    let recovery = this.checkpoint.pending ? new BlockBuilder(Number.POSITIVE_INFINITY) : null;
    const readStartMs = this.deps.now();
    const read = readShard(this.deps, this.settings, {
      stream,
      shardId,
      start: resume,
      mode: this.request.read,
      // Records that arrived after this invocation started are the next run's: under steady
      // traffic a read at the tip is never empty, and the run would never be caught up.
      untilMs: readStartMs + ARRIVAL_CLOCK_SLACK_MS,
      deadline: this.request.deadline,
      stopAtTip: !this.request.closed,
    });
    this.shardRead = read;

    const batches = read[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.nextBatch(batches);
        if (next.done) break;
        for (const record of next.value.records) {
          if (expected) {
            if (record.sequenceNumber !== expected.sequenceNumber)
              throw this.gap(expected.sequenceNumber, record);
            const skip = expected.skipFirst;
            expected = null;
            if (skip) continue;
          }
          if (recovery) {
            if (await this.addToRecovery(recovery, read.userRecords(record), record)) recovery = null;
          } else {
            const closed = this.builder.add(
              record.sequenceNumber,
              record.arrivalTimestamp,
              read.userRecords(record),
            );
            if (closed) await this.persist(closed);
          }
        }
      }
    } finally {
      // Ends a subscription the loop left (a gap, a failed write).
      await batches.return?.();
    }

    if (read.end === 'deadline') {
      await this.finish({ drained: false, release: false });
      return this.result('budget-exhausted', false, this.lagWithRecordsLeft(read.millisBehindLatest));
    }
    // Stopped at records stamped after this invocation began (a clock ahead of ours) while the
    // pending block is rebuilt: it stays pending, and the next run finishes it.
    if (recovery && read.end === 'until') {
      await this.finish({ drained: false, release: true });
      return this.result('caught-up', true, 0);
    }
    // The end of a closed shard, or the tip of an open one, without the pending block's last
    // record: its records are gone. (A quiet shard whose last archived record has expired shows
    // nothing at all: no record after it is known to exist, so there is no gap to report.)
    if (recovery) throw this.gap(this.checkpoint.pending!.firstSequenceNumber, null);
    if (read.end === 'shard-end') {
      await this.finish({ drained: true, release: true });
      return this.result('drained', true, 0);
    }
    // Caught up: every record that arrived before this read began is archived (the slack covers
    // a Kinesis clock behind ours), which closes hours for the columnar conversion.
    await this.finish({ drained: false, release: true, caughtUpTo: readStartMs - ARRIVAL_CLOCK_SLACK_MS });
    // Stopped at the records that arrived after this invocation started: those are still waiting.
    return this.result(
      'caught-up',
      true,
      read.end === 'until' ? this.lagWithRecordsLeft(read.millisBehindLatest) : 0,
    );
  }

  /**
   * The next batch. When the read fails for a while (throttled past its attempts, a subscription
   * refused, Kinesis unavailable), what was read is written first: the state machine's retry
   * goes on from there. (Only the read's own failures: after a failed write, the open block must
   * not be written over the pending one.)
   */
  private async nextBatch(batches: AsyncIterator<ShardBatch>): Promise<IteratorResult<ShardBatch>> {
    try {
      return await batches.next();
    } catch (error) {
      if (error instanceof ReservoirError && error.transient) {
        await this.finish({ drained: false, release: false });
      }
      throw error;
    }
  }

  private async loadCheckpoint(): Promise<void> {
    const { stream, shardId, parentShardIds } = this.request;
    const stored = await this.deps.store.getJson<Checkpoint>(this.key);
    if (stored && !isCheckpoint(stored.value)) {
      throw new CorruptStateError(`Checkpoint ${this.key} is not a reservoir checkpoint`);
    }
    this.checkpoint = stored?.value ?? initialCheckpoint(stream, shardId, parentShardIds);
    const { streamCreatedAt } = this.request;
    if (stored && streamCreatedAt !== undefined && isFromEarlierEpoch(stored.value, streamCreatedAt)) {
      // ListShards moves an earlier stream's checkpoints aside before planning: only a run
      // planned before a recreation gets here.
      throw new CorruptStateError(
        `Checkpoint ${this.key} belongs to an earlier stream named ${stream} (deleted and created again); ` +
          'the next archive run moves it aside and starts a new epoch',
      );
    }
    this.etag = stored?.etag ?? null;
    this.startTotals = { ...this.checkpoint.totals };
  }

  /**
   * Takes (or renews) the shard's lease with a conditional write. Returns the other execution's
   * lease when that one is live, or when it won the race for the same checkpoint version.
   */
  private async acquireLease(retried = false): Promise<ShardLease | null> {
    const other = liveLeaseOfOther(this.checkpoint, this.request.holder, this.nowDate());
    if (other) return other;
    try {
      await this.writeCheckpoint(this.checkpoint);
      return null;
    } catch (error) {
      if (!(error instanceof CheckpointConflictError)) throw error;
      const winner = await this.otherLiveLease();
      if (winner) return winner;
      // The other run was quick: it took the shard, finished and released it between our read
      // and our write. Read what it left and try once more.
      if (retried) throw error;
      await this.loadCheckpoint();
      return this.acquireLease(true);
    }
  }

  private async otherLiveLease(): Promise<ShardLease | null> {
    const stored = await this.deps.store.getJson<Checkpoint>(this.key);
    if (!stored || !isCheckpoint(stored.value)) return null;
    return liveLeaseOfOther(stored.value, this.request.holder, this.nowDate());
  }

  private async releaseLease(): Promise<void> {
    if (this.checkpoint.lease?.holder === this.request.holder) {
      await this.writeCheckpoint(this.checkpoint, 'release');
    }
  }

  /** Reads on from the checkpoint the other execution left; what this run committed still counts. */
  private async startOver(): Promise<ArchiveShardResult> {
    const before = this.result('caught-up', true, null);
    const after = await new ShardRun(this.settings, this.deps, this.request, false).execute();
    return {
      ...after,
      records: before.records + after.records,
      objects: before.objects + after.objects,
      bytes: before.bytes + after.bytes,
    };
  }

  private heldResult(lease: ShardLease): ArchiveShardResult {
    return { ...this.result('held', true, null), heldBy: lease.holder, heldUntil: lease.expiresAt };
  }

  /** Adds a record to the block being rebuilt; true once the block is complete and committed. */
  private async addToRecovery(
    recovery: BlockBuilder,
    users: UserRecord[],
    record: KinesisRecord,
  ): Promise<boolean> {
    const pending = this.checkpoint.pending!;
    const order = compareSequenceNumbers(record.sequenceNumber, pending.lastSequenceNumber);
    if (order > 0) {
      throw new CorruptStateError(
        `Pending block ${pending.key} ends at ${pending.lastSequenceNumber}, which shard ${this.request.shardId} does not hold`,
      );
    }
    recovery.add(record.sequenceNumber, record.arrivalTimestamp, users);
    if (order < 0) return false;
    const block = recovery.flush()!;
    const key = this.objectKey(block);
    if (key !== pending.key) {
      throw new CorruptStateError(`Rebuilt block ${key} does not match pending block ${pending.key}`);
    }
    // Not yet committed: the checkpoint's position is still the block before this one.
    await this.putBlock(key, block, this.checkpoint.lastSequenceNumber);
    this.pendingDurable = true;
    await this.writeCheckpoint(this.committed());
    return true;
  }

  /** Writes a closed block: intent (which also commits the previous block), then the object. */
  private async persist(block: Block): Promise<void> {
    const body = this.deps.compress(blockBody(block));
    const key = this.objectKey(block);
    const intent = withPending(this.committed(), pendingFor(block, key, body.length), this.nowDate());
    await this.writeCheckpoint(intent);
    this.pendingDurable = false;
    await this.putBlock(key, block, intent.lastSequenceNumber, body);
    this.pendingDurable = true;
  }

  /**
   * The block's object, with the last sequence number of the block before it (core/object-metadata.ts):
   * the same value when a pending block is rebuilt, so the rebuilt object is identical.
   */
  private async putBlock(
    key: string,
    block: Block,
    previous: string | null,
    body = this.deps.compress(blockBody(block)),
  ): Promise<void> {
    await this.deps.store.putObject(
      key,
      body,
      CONTENT_TYPE,
      'gzip',
      archiveObjectMetadata(previous, block.records),
    );
  }

  /**
   * The checkpoint with its pending block counted, when that block's object is durable. A block
   * still being rebuilt stays pending: committing it would skip records that are in no object.
   */
  private committed(): Checkpoint {
    return this.pendingDurable ? commitPending(this.checkpoint, this.nowDate()) : this.checkpoint;
  }

  /**
   * Writes the open block, commits, and records the shard's state; releases the lease when this
   * run is done with the shard (not when the state machine will call again).
   */
  private async finish({
    drained,
    release,
    caughtUpTo,
  }: {
    drained: boolean;
    release: boolean;
    caughtUpTo?: number;
  }): Promise<void> {
    const open = this.builder.flush();
    if (open) await this.persist(open);
    let next = this.committed();
    if (caughtUpTo !== undefined && !next.pending)
      next = { ...next, caughtUpTo: Math.max(caughtUpTo, next.caughtUpTo ?? caughtUpTo) };
    if (this.request.closed) next = markClosed(next, this.nowDate());
    if (drained) next = markDrained(next, this.nowDate());
    await this.writeCheckpoint(
      { ...next, updatedAt: this.nowDate().toISOString() },
      release ? 'release' : 'renew',
    );
  }

  /** Every write of the holder renews its lease, or releases it. */
  private async writeCheckpoint(next: Checkpoint, lease: 'renew' | 'release' = 'renew'): Promise<void> {
    const stamped = {
      ...next,
      updatedAt: this.nowDate().toISOString(),
      ...(this.request.streamCreatedAt !== undefined
        ? { streamCreatedAt: this.request.streamCreatedAt }
        : {}),
    };
    const leased =
      lease === 'release'
        ? withoutLease(stamped)
        : withLease(stamped, this.request.holder, this.settings.leaseMs, this.nowDate());
    // The write that marks the shard drained is its checkpoint's last: tagged, so that the
    // stream's retention rule can expire it (an open shard's checkpoint is never tagged).
    const tags = leased.drained ? DRAINED_CHECKPOINT_TAGS : undefined;
    this.etag = await this.deps.store.putJsonIfMatch(this.key, leased, this.etag, tags);
    this.checkpoint = leased;
  }

  private objectKey(block: Block): string {
    return archiveObjectKey(
      this.settings.prefix,
      this.request.stream,
      this.request.shardId,
      block.hourStart,
      block.firstSequenceNumber,
      block.lastSequenceNumber,
    );
  }

  private gap(expectedSequenceNumber: string, found: KinesisRecord | null): DataGapError {
    const error = new DataGapError(
      this.request.stream,
      this.request.shardId,
      this.checkpoint.lastSequenceNumber,
      expectedSequenceNumber,
      found?.sequenceNumber ?? null,
    );
    this.deps.onGap(error);
    return error;
  }

  /**
   * MillisBehindLatest, or when it says 0 although records are left (kinesalite always says 0),
   * the age of the last archived record: never less than the real lag, so time-to-loss errs short.
   */
  private lagWithRecordsLeft(lagMs: number | null): number | null {
    if (lagMs) return lagMs;
    const lastArrival = this.checkpoint.lastArrivalTimestamp;
    return lastArrival === null ? lagMs : Math.max(0, this.deps.now() - lastArrival);
  }

  private nowDate(): Date {
    return new Date(this.deps.now());
  }

  private result(status: ArchiveShardStatus, done: boolean, lagMs: number | null): ArchiveShardResult {
    const totals = this.checkpoint.totals;
    const read = this.shardRead ? { mode: this.request.read.type, ...this.shardRead.usage() } : undefined;
    return {
      stream: this.request.stream,
      shardId: this.request.shardId,
      status,
      done,
      records: totals.records - this.startTotals.records,
      objects: totals.objects - this.startTotals.objects,
      bytes: totals.bytes - this.startTotals.bytes,
      lagMs,
      lastSequenceNumber: this.checkpoint.lastSequenceNumber,
      ...(read ? { read } : {}),
    };
  }
}
