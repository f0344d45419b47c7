import { RecordTooLargeError, ReplayDeliveryError } from '../core/errors';
import type { RecordWriter } from '../core/ports';
import { DEFAULT_MAX_RECORD_BYTES, entryBytes, type PutEntry } from '../core/put-batcher';
import { BatchSender, type Clock } from '../producer/batch-sender';

export interface PutterSettings {
  /** Attempts per record before the replay fails naming it. */
  maxAttempts: number;
  baseDelayMs: number;
  /** Largest record (data + partition key) the target accepts; default 1 MiB. */
  maxRecordBytes?: number;
  initialRatePerSecond: number;
}

export interface PutStats {
  put: number;
  throttledRetries: number;
}

const describe = (entry: PutEntry) =>
  `${entry.source.shardId} sequence ${entry.source.sequenceNumber}/${entry.source.subSequenceNumber} (key ${entry.partitionKey})`;

/**
 * The replay's writer: puts records into the target through the producer library's BatchSender
 * (per-key order across retries, backoff with jitter, adaptive rate). A record that still fails
 * after `maxAttempts`, or fails with an error retrying cannot fix, fails the replay, named by its
 * source position; a request the target refuses outright fails it with that error.
 */
export class RecordPutter {
  private readonly sender: BatchSender<PutEntry>;
  private readonly maxRecordBytes: number;

  constructor(
    writer: RecordWriter,
    private readonly target: string,
    settings: PutterSettings,
    clock: Clock,
  ) {
    this.maxRecordBytes = settings.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.sender = new BatchSender<PutEntry>((batch) => writer.putRecords(target, batch), settings, clock);
  }

  async putAll(entries: PutEntry[]): Promise<PutStats> {
    for (const entry of entries) {
      if (entryBytes(entry) > this.maxRecordBytes) {
        throw new RecordTooLargeError(
          `Record ${describe(entry)} is ${entryBytes(entry)} bytes, over the ${this.maxRecordBytes} bytes ` +
            `stream ${this.target} accepts (format raw avoids the envelope's overhead)`,
        );
      }
    }
    const queue = [...entries];
    const stats: PutStats = { put: 0, throttledRetries: 0 };
    while (queue.length > 0) {
      const round = await this.sender.sendRound(queue);
      if (round.requestError !== undefined) throw round.requestError;
      const [failed] = round.failed;
      if (failed) {
        throw new ReplayDeliveryError(
          `Record ${describe(failed.entry)} could not be put into ${this.target} after ${failed.attempts} attempts: ` +
            `${failed.errorCode}: ${failed.errorMessage}`,
        );
      }
      stats.put += round.acknowledged.length;
      stats.throttledRetries += round.retried;
    }
    return stats;
  }
}
