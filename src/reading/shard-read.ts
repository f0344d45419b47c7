import { backoffWithJitter } from '../core/backoff';
import { toUserRecords } from '../core/deaggregate';
import {
  ExpiredIteratorError,
  ReservoirError,
  ServiceUnavailableError,
  SubscriptionInUseError,
  ThrottledError,
} from '../core/errors';
import type { IteratorStart, KinesisRecord, ShardReader, ShardSubscriber } from '../core/ports';
import type { ReadBudget, ReadRate, ReadUsage } from '../core/read-budget';
import type { UserRecord } from '../core/record-line';

/**
 * The one way reservoir reads a shard. Every caller (archive, replay, compaction, query-window
 * snapshots, `sql --live`) states where to start and where to stop; the read owns iterator
 * renewal, throttle backoff with jitter, the process's read budget, and the end of a closed shard.
 */

/**
 * How far ahead of this process's clock an arrival timestamp may be and still count as "arrived
 * before now": Kinesis stamps records with its own clock (kinesalite even stamps a new child
 * shard's records up to a second ahead). Reads that stop at "now" stop at now + this.
 */
export const ARRIVAL_CLOCK_SLACK_MS = 5_000;

/** What every read of a process shares (one per workflow runtime). */
export interface ShardReadSettings {
  /** The most records one GetRecords asks for (the read budget asks for fewer, by bytes). */
  getRecordsLimit: number;
  /**
   * Throttled calls (or refused, broken or empty subscriptions) in a row before the error goes to
   * the caller (the state machine retries then).
   */
  throttleAttempts: number;
  throttleBaseDelayMs: number;
}

export interface ShardReadDeps {
  reader: ShardReader;
  /** Needed only for enhanced fan-out reads. */
  subscriber?: ShardSubscriber;
  /** The process's budget, shared by all its reads of a shard. */
  budget: ReadBudget;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Polling shares the shard's 5 calls/s and 2 MiB/s; enhanced fan-out has its own pipe. */
export type ReadMode =
  | {
      type: 'polling';
      rate: ReadRate;
      /** The share of the shard's limits `rate` is (null: the default rate); reported. */
      share?: number | null;
    }
  | { type: 'efo'; consumerArn: string };

export interface ShardReadRequest {
  stream: string;
  shardId: string;
  start: IteratorStart;
  mode: ReadMode;
  /** Records that arrived at or after this instant (epoch ms) end the read, unread. */
  untilMs?: number;
  /** No new call starts at or after this instant (epoch ms). */
  deadline?: number;
  /**
   * End at the tip (an empty read with MillisBehindLatest 0). False reads a closed shard to its
   * end, where Kinesis says so (a null iterator, or no continuation).
   */
  stopAtTip: boolean;
}

export interface ShardBatch {
  /** Kinesis records in shard order (none past `untilMs`). */
  records: KinesisRecord[];
  millisBehindLatest: number;
}

/** A read's usage, and how it read. */
export interface ShardReadUsage extends ReadUsage {
  mode: ReadMode['type'];
}

/** Why a read ended. */
export type ShardReadEnd = 'tip' | 'shard-end' | 'until' | 'deadline';

/**
 * One read of one shard: iterate it for batches, then look at `end`. Breaking out of the loop
 * early is fine (the read just stops). Batches are never empty.
 */
export class ShardRead implements AsyncIterable<ShardBatch> {
  end: ShardReadEnd | null = null;
  /** MillisBehindLatest of the last answer (null before the first). */
  millisBehindLatest: number | null = null;
  /** The last record handed out: where a renewed iterator or subscription continues. */
  lastSequenceNumber: string | null = null;
  private calls = 0;
  private bytes = 0;
  private throttled = 0;
  private firstCallAt: number | null = null;

  constructor(
    private readonly deps: ShardReadDeps,
    private readonly settings: ShardReadSettings,
    private readonly request: ShardReadRequest,
  ) {}

  /** The user records of a Kinesis record of this shard (KPL aggregates are de-aggregated). */
  userRecords(record: KinesisRecord): UserRecord[] {
    return toUserRecords(this.request.stream, this.request.shardId, record);
  }

  /** Calls (GetRecords, or subscriptions), bytes and throttles of this read, and its interval. */
  usage(): ReadUsage {
    if (this.firstCallAt === null) return { calls: 0, bytes: 0, throttled: 0, seconds: 0 };
    const until =
      this.request.mode.type === 'polling'
        ? Math.max(this.deps.now(), this.deps.budget.reservedUntil(this.budgetKey()))
        : this.deps.now();
    return {
      calls: this.calls,
      bytes: this.bytes,
      throttled: this.throttled,
      seconds: (until - this.firstCallAt) / 1000,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<ShardBatch> {
    return this.request.mode.type === 'polling'
      ? this.poll(this.request.mode.rate)
      : this.subscribe(this.request.mode.consumerArn);
  }

  private async *poll(rate: ReadRate): AsyncGenerator<ShardBatch> {
    const { reader, budget } = this.deps;
    const { stream, shardId } = this.request;
    let iterator = await reader.getIterator(stream, shardId, this.request.start);
    let throttledInARow = 0;
    for (;;) {
      if (this.pastDeadline()) return;
      if (!(await budget.beforeCall(this.budgetKey(), rate, this.request.deadline))) {
        this.end = 'deadline';
        return;
      }
      this.firstCallAt ??= this.deps.now();
      this.calls += 1;
      let batch;
      try {
        const limit = budget.recordsPerCall(this.budgetKey(), rate, this.settings.getRecordsLimit);
        batch = await reader.getRecords(iterator, limit);
        throttledInARow = 0;
      } catch (error) {
        if (error instanceof ExpiredIteratorError) {
          iterator = await reader.getIterator(stream, shardId, this.resumePoint());
          continue;
        }
        if (error instanceof ThrottledError) {
          this.throttled += 1;
          if (++throttledInARow < this.settings.throttleAttempts) {
            await this.deps.sleep(backoffWithJitter(this.settings.throttleBaseDelayMs, throttledInARow));
            continue;
          }
        }
        throw error;
      }
      const bytes = bytesOf(batch.records);
      this.bytes += bytes;
      budget.afterCall(this.budgetKey(), rate, bytes, batch.records.length);
      if (yield* this.handOut(batch.records, batch.millisBehindLatest)) return this.stop('until');
      if (batch.nextIterator === null) return this.stop('shard-end');
      if (this.atTip(batch.records, batch.millisBehindLatest)) return this.stop('tip');
      iterator = batch.nextIterator;
    }
  }

  /** Enhanced fan-out: subscriptions (5 minutes each on AWS), renewed after the last record. */
  private async *subscribe(consumerArn: string): AsyncGenerator<ShardBatch> {
    const subscriber = this.deps.subscriber;
    if (!subscriber)
      throw new Error(`Shard ${this.request.shardId}: an enhanced fan-out read needs a subscriber`);
    let failedInARow = 0;
    for (;;) {
      if (this.pastDeadline()) return;
      const abort = new AbortController();
      this.firstCallAt ??= this.deps.now();
      this.calls += 1;
      let events = 0;
      let failure: unknown = null;
      try {
        for await (const event of subscriber.subscribe(
          consumerArn,
          this.request.shardId,
          this.resumePoint(),
          abort.signal,
        )) {
          events += 1;
          failedInARow = 0;
          this.bytes += bytesOf(event.records);
          if (yield* this.handOut(event.records, event.millisBehindLatest)) return this.stop('until');
          if (event.continuationSequenceNumber === null) return this.stop('shard-end');
          if (this.atTip(event.records, event.millisBehindLatest)) return this.stop('tip');
          if (this.pastDeadline()) return;
        }
      } catch (error) {
        // Refused (LimitExceeded; the previous subscription is less than 5 s old), or the stream
        // broke (a 5xx, an HTTP/2 reset): renew after the last record, as the KCL re-subscribes.
        // A request AWS rejects for good (access, a missing consumer) is not renewed.
        if (error instanceof ReservoirError && !error.transient) throw error;
        if (error instanceof ThrottledError || error instanceof SubscriptionInUseError) this.throttled += 1;
        failure = error;
      } finally {
        abort.abort();
      }
      // A subscription that ends with events is renewed at once (AWS ends each after 5 minutes);
      // one that failed, or ended without a single event, waits first, and not forever.
      if (failure === null && events > 0) continue;
      if (++failedInARow >= this.settings.throttleAttempts) {
        throw (
          failure ??
          new ServiceUnavailableError(
            `Shard ${this.request.shardId}: ${failedInARow} subscriptions in a row ended without an event`,
          )
        );
      }
      await this.deps.sleep(backoffWithJitter(this.settings.throttleBaseDelayMs, failedInARow));
    }
  }

  /** Hands out an answer's records before `untilMs`; true when the time bound was reached. */
  private *handOut(answer: KinesisRecord[], millisBehindLatest: number): Generator<ShardBatch, boolean> {
    this.millisBehindLatest = millisBehindLatest;
    const { records, untilReached } = this.beforeUntil(answer);
    if (records.length > 0) {
      this.lastSequenceNumber = records.at(-1)!.sequenceNumber;
      yield { records, millisBehindLatest };
    }
    return untilReached;
  }

  /**
   * Only an empty answer proves the tip: a full batch can come back with MillisBehindLatest 0
   * (kinesalite always says 0), and AWS may return a short batch with records still behind.
   */
  private atTip(answer: KinesisRecord[], millisBehindLatest: number): boolean {
    return this.request.stopAtTip && answer.length === 0 && millisBehindLatest === 0;
  }

  /** After the last record handed out; the requested start while none was. */
  private resumePoint(): IteratorStart {
    return this.lastSequenceNumber
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastSequenceNumber }
      : this.request.start;
  }

  private beforeUntil(records: KinesisRecord[]): { records: KinesisRecord[]; untilReached: boolean } {
    const { untilMs } = this.request;
    if (untilMs === undefined) return { records, untilReached: false };
    const at = records.findIndex((record) => record.arrivalTimestamp >= untilMs);
    return at === -1
      ? { records, untilReached: false }
      : { records: records.slice(0, at), untilReached: true };
  }

  private pastDeadline(): boolean {
    const { deadline } = this.request;
    if (deadline === undefined || this.deps.now() < deadline) return false;
    this.end = 'deadline';
    return true;
  }

  private stop(end: ShardReadEnd): void {
    this.end = end;
  }

  private budgetKey(): string {
    return `${this.request.stream}/${this.request.shardId}`;
  }
}

/** What a batch weighs against the read budget: data and partition keys (AWS counts the data). */
function bytesOf(records: readonly KinesisRecord[]): number {
  let bytes = 0;
  for (const record of records) bytes += record.data.length + Buffer.byteLength(record.partitionKey);
  return bytes;
}

/** Starts a read; iterate the result. */
export function readShard(
  deps: ShardReadDeps,
  settings: ShardReadSettings,
  request: ShardReadRequest,
): ShardRead {
  return new ShardRead(deps, settings, request);
}
