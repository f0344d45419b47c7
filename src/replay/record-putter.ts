import { AdaptiveRate } from '../core/adaptive-rate';
import { backoffWithJitter } from '../core/backoff';
import {
  RecordTooLargeError,
  ReplayDeliveryError,
  ServiceUnavailableError,
  ThrottledError,
} from '../core/errors';
import type { RecordWriter } from '../core/ports';
import { entryBytes, PUT_RECORDS_LIMITS, takeBatch, type PutEntry } from '../core/put-batcher';

export interface PutterSettings {
  /** Attempts per record before the replay fails naming it. */
  maxAttempts: number;
  baseDelayMs: number;
  /** Largest record (data + partition key) the target accepts. */
  maxRecordBytes: number;
  initialRatePerSecond: number;
}

export interface PutStats {
  put: number;
  throttledRetries: number;
}

const describe = (entry: PutEntry) =>
  `${entry.source.shardId} sequence ${entry.source.sequenceNumber}/${entry.source.subSequenceNumber} (key ${entry.partitionKey})`;

/**
 * Puts records into a stream with PutRecords, keeping each partition key's order: one record
 * per key per batch, failed entries retried before any later record of their key. Backs off
 * exponentially with jitter on throttling and partial failures, and adapts its send rate to what
 * the target accepts. A record that still fails after `maxAttempts` fails the replay, named.
 */
export class RecordPutter {
  private readonly rate: AdaptiveRate;
  private lastSendAt = 0;

  constructor(
    private readonly writer: RecordWriter,
    private readonly target: string,
    private readonly settings: PutterSettings,
    private readonly clock: { now: () => number; sleep: (ms: number) => Promise<void> },
  ) {
    this.rate = new AdaptiveRate({
      initialPerSecond: settings.initialRatePerSecond,
      minPerSecond: 10,
      maxPerSecond: 100_000,
      increasePerSecond: Math.max(50, settings.initialRatePerSecond / 10),
    });
  }

  async putAll(entries: PutEntry[]): Promise<PutStats> {
    for (const entry of entries) {
      if (entryBytes(entry) > this.settings.maxRecordBytes) {
        throw new RecordTooLargeError(
          `Record ${describe(entry)} is ${entryBytes(entry)} bytes, over the ${this.settings.maxRecordBytes} bytes ` +
            `stream ${this.target} accepts (format raw avoids the envelope's overhead)`,
        );
      }
    }
    const queue = [...entries];
    const attempts = new Map<PutEntry, number>();
    const stats: PutStats = { put: 0, throttledRetries: 0 };
    let failedRounds = 0;

    while (queue.length > 0) {
      const limit = Math.max(1, Math.min(PUT_RECORDS_LIMITS.maxRecords, Math.floor(this.rate.perSecond)));
      const indexes = takeBatch(queue, { ...PUT_RECORDS_LIMITS, maxRecords: limit });
      const batch = indexes.map((i) => queue[i]!);
      await this.pace(batch.length);

      let results: ({ ok: true } | { ok: false; errorCode: string; errorMessage: string })[];
      try {
        results = await this.writer.putRecords(this.target, batch);
      } catch (error) {
        if (!(error instanceof ThrottledError || error instanceof ServiceUnavailableError)) throw error;
        results = batch.map(() => ({ ok: false, errorCode: error.name, errorMessage: error.message }));
      }

      let throttled = 0;
      const done = new Set<number>();
      results.forEach((result, i) => {
        const entry = batch[i]!;
        if (result.ok) {
          done.add(indexes[i]!);
          return;
        }
        throttled += 1;
        const tries = (attempts.get(entry) ?? 0) + 1;
        attempts.set(entry, tries);
        if (tries >= this.settings.maxAttempts) {
          throw new ReplayDeliveryError(
            `Record ${describe(entry)} could not be put into ${this.target} after ${tries} attempts: ` +
              `${result.errorCode}: ${result.errorMessage}`,
          );
        }
      });
      this.rate.record(batch.length, throttled);
      stats.put += done.size;
      stats.throttledRetries += throttled;
      for (let i = queue.length - 1; i >= 0; i--) if (done.has(i)) queue.splice(i, 1);
      // A partly accepted batch made progress: the lower send rate is enough. A batch refused
      // whole backs off exponentially, with jitter, before the next try.
      if (throttled === batch.length) {
        failedRounds += 1;
        await this.clock.sleep(backoffWithJitter(this.settings.baseDelayMs, Math.min(failedRounds, 8)));
      } else {
        failedRounds = 0;
      }
    }
    return stats;
  }

  /** Keeps the send rate at what the target has been accepting. */
  private async pace(count: number): Promise<void> {
    const wait = this.lastSendAt + this.rate.delayFor(count) - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
    this.lastSendAt = this.clock.now();
  }
}
