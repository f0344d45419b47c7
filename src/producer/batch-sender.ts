import { AdaptiveRate } from '../core/adaptive-rate';
import { backoffWithJitter } from '../core/backoff';
import { ServiceUnavailableError, ThrottledError } from '../core/errors';
import type { PutResult } from '../core/ports';
import { PUT_RECORDS_LIMITS, takeBatch, type PutRecordsEntry } from '../core/put-batcher';

export interface SenderSettings {
  /** Attempts per record before it fails, named (Infinity: retried as long as Kinesis throttles). */
  maxAttempts: number;
  baseDelayMs: number;
  initialRatePerSecond: number;
}

export interface Clock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** One PutRecords call: a result per entry, in order; throws ThrottledError or ServiceUnavailableError when the whole request may be tried again. */
export type SendBatch<E> = (entries: E[]) => Promise<PutResult[]>;

export interface Acknowledged<E> {
  entry: E;
  shardId?: string;
  sequenceNumber?: string;
}

export interface Failed<E> {
  entry: E;
  attempts: number;
  errorCode: string;
  errorMessage: string;
}

export interface RoundOutcome<E> {
  /** The entries sent in this round, in order. */
  sent: number;
  acknowledged: Acknowledged<E>[];
  /** Entries refused this round that stay queued for another try. */
  retried: number;
  /** Of those, the ones refused for throughput (the stream's or KMS's limits). */
  throttled: number;
  /** Entries that will not be tried again: an error retrying cannot fix, or out of attempts. */
  failed: Failed<E>[];
  /** The request itself was refused with an error that is not retried (its entries are in `failed`). */
  requestError?: unknown;
  /** Milliseconds the round's PutRecords call took. */
  latencyMs: number;
}

/**
 * What PutRecords' per-entry ErrorCode can say that a later try may fix: AWS documents
 * ProvisionedThroughputExceededException and InternalFailure; KMS throttles too. Whole-request
 * throttling and 5xx arrive as ThrottledError and ServiceUnavailableError.
 */
const RETRYABLE_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'InternalFailure',
  'KMSThrottlingException',
  'ThrottledError',
  'ServiceUnavailableError',
]);

const THROTTLING_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'KMSThrottlingException',
  'ThrottledError',
]);

/**
 * Sends a queue of records with PutRecords, one request at a time, keeping each key's order: one
 * entry per key per batch, and a refused entry is retried before any later entry of its key.
 * Adapts its send rate to what the stream accepts (AIMD) and backs off exponentially, with
 * jitter, when a whole batch is refused. The replay writer and the producer library both send
 * through it.
 */
export class BatchSender<E extends PutRecordsEntry> {
  private readonly rate: AdaptiveRate;
  private readonly attempts = new WeakMap<E, number>();
  private lastSendAt = 0;
  private failedRounds = 0;

  constructor(
    private readonly send: SendBatch<E>,
    private readonly settings: SenderSettings,
    private readonly clock: Clock,
  ) {
    this.rate = new AdaptiveRate({
      initialPerSecond: settings.initialRatePerSecond,
      minPerSecond: 10,
      maxPerSecond: 100_000,
      increasePerSecond: Math.max(50, settings.initialRatePerSecond / 10),
    });
  }

  /** The send rate the stream has been accepting, in records per second. */
  get ratePerSecond(): number {
    return this.rate.perSecond;
  }

  /**
   * Sends one batch from the front of `queue` and removes from it what was acknowledged or
   * failed for good; what was refused stays, in place, for the next round.
   */
  async sendRound(queue: E[]): Promise<RoundOutcome<E>> {
    const limit = Math.max(1, Math.min(PUT_RECORDS_LIMITS.maxRecords, Math.floor(this.rate.perSecond)));
    const indexes = takeBatch(queue, { ...PUT_RECORDS_LIMITS, maxRecords: limit });
    const batch = indexes.map((i) => queue[i]!);
    await this.pace(batch.length);

    const started = this.clock.now();
    let results: PutResult[];
    let requestError: unknown;
    try {
      results = await this.send(batch);
    } catch (error) {
      if (!(error instanceof ThrottledError || error instanceof ServiceUnavailableError))
        requestError = error;
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      results = batch.map(() => ({ ok: false, errorCode: name, errorMessage: message }));
    }
    const latencyMs = this.clock.now() - started;

    const outcome: RoundOutcome<E> = {
      sent: batch.length,
      acknowledged: [],
      retried: 0,
      throttled: 0,
      failed: [],
      latencyMs,
      ...(requestError === undefined ? {} : { requestError }),
    };
    const done = new Set<number>();
    results.forEach((result, i) => {
      const entry = batch[i]!;
      if (result.ok) {
        done.add(indexes[i]!);
        outcome.acknowledged.push({ entry, shardId: result.shardId, sequenceNumber: result.sequenceNumber });
        return;
      }
      const attempts = (this.attempts.get(entry) ?? 0) + 1;
      this.attempts.set(entry, attempts);
      if (
        requestError === undefined &&
        RETRYABLE_CODES.has(result.errorCode) &&
        attempts < this.settings.maxAttempts
      ) {
        outcome.retried += 1;
        if (THROTTLING_CODES.has(result.errorCode)) outcome.throttled += 1;
        return;
      }
      done.add(indexes[i]!);
      outcome.failed.push({
        entry,
        attempts,
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
      });
    });
    this.rate.record(batch.length, outcome.retried);
    let kept = 0;
    for (let i = 0; i < queue.length; i++) if (!done.has(i)) queue[kept++] = queue[i]!;
    queue.length = kept;
    // A partly accepted batch made progress: the lower send rate is enough. A batch refused
    // whole backs off exponentially, with jitter, before the next try.
    if (outcome.retried === batch.length && batch.length > 0) {
      this.failedRounds += 1;
      await this.clock.sleep(backoffWithJitter(this.settings.baseDelayMs, Math.min(this.failedRounds, 8)));
    } else {
      this.failedRounds = 0;
    }
    return outcome;
  }

  /** Keeps the send rate at what the target has been accepting. */
  private async pace(count: number): Promise<void> {
    const wait = this.lastSendAt + this.rate.delayFor(count) - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
    this.lastSendAt = this.clock.now();
  }
}
