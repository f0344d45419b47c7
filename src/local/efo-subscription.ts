/**
 * One SubscribeToShard subscription of the local enhanced fan-out endpoint: reads a kinesalite
 * shard and pushes SubscribeToShardEvent events until the subscription is ended (`signal`) or the
 * shard is read to its end.
 *
 * - Records are pushed as they are read; at the tip the shard is read again every `pollMs`, and an
 *   event without records goes out every `emptyEventMs` (and first thing), carrying the
 *   continuation.
 * - ContinuationSequenceNumber is the last pushed record's sequence number, or (before any record)
 *   the sequence number just before the next one: AFTER_SEQUENCE_NUMBER of it continues without a
 *   loss or a duplicate, as the KCL resumes.
 * - MillisBehindLatest is 0 when the push has caught up with what the last read found, otherwise
 *   how old the last pushed record is (kinesalite itself answers 0 always).
 * - A closed shard's last event has no ContinuationSequenceNumber and lists ChildShards.
 * - Each consumer-shard pair has its own byte budget (data bytes), AWS's 2 MiB/s by default: a
 *   token bucket full at start, refilling continuously up to one second's worth.
 */
import { performance } from 'node:perf_hooks';
import type { WireChildShard, WireRecord, WireSubscribeToShardEvent } from './efo-wire';
import { iteratorPosition, sequenceBefore } from './kinesalite-positions';

export interface UpstreamRecord {
  sequenceNumber: string;
  partitionKey: string;
  /** Epoch ms. */
  arrivalTimestamp: number;
  data: Uint8Array;
}

export interface UpstreamBatch {
  records: UpstreamRecord[];
  /** null once a closed shard has been read to its end. */
  nextIterator: string | null;
}

/** Where a subscription starts: an iterator, and records already read past it (AT_TIMESTAMP). */
export interface StartPoint {
  iterator: string | null;
  pending: UpstreamRecord[];
}

export interface ShardSource {
  getRecords(iterator: string): Promise<UpstreamBatch>;
  /** The shards that took over this (closed) shard's hash range. */
  childShards(): Promise<WireChildShard[]>;
}

/** GetRecords' largest Limit: a batch this size may not be the tip. */
export const READ_LIMIT = 10_000;

/** Bytes a consumer may be pushed from one shard: a token bucket, full at start. */
export class PushBudget {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(
      this.bytesPerSecond,
      this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond,
    );
    this.last = now;
  }

  /** A record larger than one second's budget goes out when the bucket is full, leaving a debt. */
  tryTake(bytes: number): boolean {
    this.refill();
    if (this.tokens < bytes && this.tokens < this.bytesPerSecond) return false;
    this.tokens -= bytes;
    return true;
  }

  msUntil(bytes: number): number {
    this.refill();
    const needed = Math.min(bytes, this.bytesPerSecond) - this.tokens;
    return Math.max(1, Math.ceil((needed / this.bytesPerSecond) * 1000));
  }
}

export interface PushOptions {
  source: ShardSource;
  start: StartPoint;
  budget: PushBudget;
  pollMs: number;
  emptyEventMs: number;
  /** Ends the subscription (its end, a takeover, the client leaving, the endpoint stopping). */
  signal: AbortSignal;
  send(event: WireSubscribeToShardEvent, records: number, bytes: number): Promise<void>;
}

function toWire(record: UpstreamRecord): WireRecord {
  return {
    SequenceNumber: record.sequenceNumber,
    ApproximateArrivalTimestamp: record.arrivalTimestamp / 1000,
    Data: Buffer.from(record.data).toString('base64'),
    PartitionKey: record.partitionKey,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Pushes events until `signal` ends the subscription ('ended') or the shard's last event went out. */
export async function pushShard(options: PushOptions): Promise<'ended' | 'shard-end'> {
  const { source, budget, signal, send } = options;
  let { iterator } = options.start;
  let pending = [...options.start.pending];
  const positionBefore = () =>
    pending.length > 0
      ? sequenceBefore(pending[0]!.sequenceNumber)
      : iterator !== null
        ? sequenceBefore(iteratorPosition(iterator))
        : undefined;
  let continuation = positionBefore();
  let behind = false;
  let lastEventAt: number | undefined;

  while (!signal.aborted) {
    if (pending.length === 0 && iterator !== null) {
      const batch = await source.getRecords(iterator);
      if (signal.aborted) break;
      pending = batch.records;
      iterator = batch.nextIterator;
      behind = batch.records.length >= READ_LIMIT;
      if (pending.length === 0) continuation = positionBefore() ?? continuation;
    }
    if (pending.length === 0 && iterator === null) {
      await send({ Records: [], MillisBehindLatest: 0, ChildShards: await source.childShards() }, 0, 0);
      return 'shard-end';
    }
    let count = 0;
    let bytes = 0;
    while (count < pending.length && budget.tryTake(pending[count]!.data.length)) {
      bytes += pending[count]!.data.length;
      count++;
    }
    if (count > 0) {
      const records = pending.splice(0, count);
      const last = records.at(-1)!;
      continuation = last.sequenceNumber;
      const caughtUp = pending.length === 0 && !behind;
      await send(
        {
          Records: records.map(toWire),
          ContinuationSequenceNumber: continuation,
          MillisBehindLatest: caughtUp ? 0 : Math.max(0, Date.now() - last.arrivalTimestamp),
        },
        count,
        bytes,
      );
      lastEventAt = performance.now();
      continue;
    }
    if (pending.length > 0) {
      await sleep(budget.msUntil(pending[0]!.data.length), signal);
      continue;
    }
    if (lastEventAt === undefined || performance.now() - lastEventAt >= options.emptyEventMs) {
      await send({ Records: [], ContinuationSequenceNumber: continuation, MillisBehindLatest: 0 }, 0, 0);
      lastEventAt = performance.now();
    }
    await sleep(options.pollMs, signal);
  }
  return 'ended';
}
