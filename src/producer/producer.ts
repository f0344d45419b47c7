import { performance } from 'node:perf_hooks';
import { DEFAULT_MAX_RECORD_BYTES, entryBytes, type PutRecordsEntry } from '../core/put-batcher';
import { aggregate } from './aggregation';
import { BatchSender, type Clock, type Failed } from './batch-sender';
import { InvalidRecordError, ProducerClosedError, RecordDeliveryError } from './errors';
import {
  createKinesisClient,
  describeTarget,
  putRecordsVia,
  type ClientSettings,
  type KinesisClientLike,
  type StreamTarget,
} from './kinesis-client';

/** A record to put. A string is put as its UTF-8 bytes. */
export interface ProducerRecord {
  partitionKey: string;
  data: Uint8Array | string;
  /** Routes the record to the shard whose hash key range holds this number, instead of the key's MD5. */
  explicitHashKey?: string;
}

/** Where Kinesis stored a record: what put() resolves with. */
export interface Acknowledgement {
  shardId: string;
  sequenceNumber: string;
  /** The record's index in its KPL aggregate, when it was aggregated. */
  subSequenceNumber?: number;
}

/** Running totals since the producer was created. */
export interface ProducerTotals {
  /** PutRecords requests sent. */
  batches: number;
  /** Kinesis records acknowledged (aggregates count once). */
  kinesisRecordsPut: number;
  /** Records of put() acknowledged. */
  recordsPut: number;
  /** Entries refused and tried again. */
  retries: number;
  /** Of those, refused for throughput (ProvisionedThroughputExceeded, KMS throttling). */
  throttles: number;
  /** Records whose put() rejected with RecordDeliveryError. */
  failed: number;
}

/** Reported after every PutRecords request. */
export interface BatchMetrics {
  /** Kinesis records in this request, and what became of them. */
  sent: number;
  acknowledged: number;
  retried: number;
  throttled: number;
  failed: number;
  /** How long the request took. */
  latencyMs: number;
  /** The send rate the stream has been accepting, records per second. */
  ratePerSecond: number;
  /** Records held now (admitted, not yet acknowledged or failed), their bytes, and put() calls waiting for room. */
  buffered: number;
  bufferedBytes: number;
  waiting: number;
  totals: ProducerTotals;
}

export type ProducerOptions = StreamTarget &
  ClientSettings & {
    /** The client to send through; absent, one is built from `region`/`endpoint`/`credentials` with `@aws-sdk/client-kinesis`. */
    client?: KinesisClientLike;
    /** At most this many records are held; put() waits for room beyond it (default 10,000). */
    maxBufferedRecords?: number;
    /** At most this many bytes are held; put() waits for room beyond it (default 32 MiB). */
    maxBufferedBytes?: number;
    /** KPL-aggregate records (aws-kinesis-agg) sharing a partition key, or an explicit hash key (default false). */
    aggregation?: boolean;
    /** The stream's maximum record size, data plus partition key (default 1 MiB; up to 10 MiB). */
    maxRecordBytes?: number;
    /** Sends per record before put() rejects (default: no limit while Kinesis throttles or fails internally). */
    maxAttempts?: number;
    /** Backoff base after a request refused whole (default 100 ms, doubling, with jitter, to 10 s). */
    baseDelayMs?: number;
    /** Records per second to start at; the rate then follows what the stream accepts (default 1,000). */
    initialRatePerSecond?: number;
    /** Called after every PutRecords request; an exception it throws becomes a process warning. */
    onMetrics?: (metrics: BatchMetrics) => void;
    /** The clock pacing and backoff wait by (tests). */
    clock?: Clock;
  };

export interface Producer {
  /**
   * Puts a record. Resolves when Kinesis acknowledged it; rejects with RecordDeliveryError (or
   * InvalidRecordError, ProducerClosedError) naming it, never silently. While the buffer is full
   * the record waits, outside it, for room: the producer holds at most `maxBufferedRecords`.
   */
  put(record: ProducerRecord): Promise<Acknowledgement>;
  /** Resolves once every record put so far is acknowledged or failed. */
  flush(): Promise<void>;
  /** Refuses further puts, then flushes. */
  close(): Promise<void>;
  /** Running totals and what is held now. */
  metrics(): ProducerTotals & { buffered: number; bufferedBytes: number; waiting: number };
}

interface Pending {
  /** The n-th record put, from 1: names it in errors. */
  n: number;
  partitionKey: string;
  data: Buffer;
  explicitHashKey?: string;
  bytes: number;
  resolve: (ack: Acknowledgement) => void;
  reject: (error: Error) => void;
}

interface Entry extends PutRecordsEntry {
  records: Pending[];
  aggregated: boolean;
}

const EXPLICIT_HASH_KEY = /^(0|[1-9]\d{0,38})$/;
const MAX_HASH_KEY = (1n << 128n) - 1n;

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A Kinesis producer that never drops a record: it batches put()s into PutRecords, retries what
 * Kinesis refuses (keeping each key's order across retries), adapts its rate to the stream, holds
 * a bounded buffer (put() waits when it is full), and optionally KPL-aggregates.
 *
 *     const producer = createProducer({ streamName: 'orders', region: 'eu-west-1' });
 *     await producer.put({ partitionKey: order.id, data: JSON.stringify(order) });
 *     await producer.close();
 */
export function createProducer(options: ProducerOptions): Producer {
  return new KinesisProducer(options);
}

class KinesisProducer implements Producer {
  private readonly target: StreamTarget;
  private readonly sender: BatchSender<Entry>;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly maxRecordBytes: number;
  private readonly aggregation: boolean;
  private readonly onMetrics?: (metrics: BatchMetrics) => void;

  /** put() calls waiting for room, in call order. */
  private readonly waiting: Pending[] = [];
  /** Admitted records not yet in an entry (aggregation packs them at the next request). */
  private fresh: Pending[] = [];
  /** Entries to send, in put order per key. */
  private readonly queue: Entry[] = [];
  private buffered = 0;
  private bufferedBytes = 0;
  private count = 0;
  private closed = false;
  private pumping = false;
  private idle: (() => void)[] = [];
  private readonly totals: ProducerTotals = {
    batches: 0,
    kinesisRecordsPut: 0,
    recordsPut: 0,
    retries: 0,
    throttles: 0,
    failed: 0,
  };

  constructor(options: ProducerOptions) {
    this.target =
      'streamARN' in options && options.streamARN
        ? { streamARN: options.streamARN }
        : { streamName: (options as { streamName: string }).streamName };
    if (!('streamARN' in this.target) && !this.target.streamName) {
      throw new InvalidRecordError('createProducer needs streamName or streamARN');
    }
    this.maxRecords = positive(options.maxBufferedRecords, 10_000, 'maxBufferedRecords');
    this.maxBytes = positive(options.maxBufferedBytes, 32 * 1024 * 1024, 'maxBufferedBytes');
    this.maxRecordBytes = positive(options.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES, 'maxRecordBytes');
    this.aggregation = options.aggregation ?? false;
    this.onMetrics = options.onMetrics;
    const client = options.client ?? createKinesisClient(options);
    // A client that cannot be built fails each put() with the reason, not the process.
    if (client instanceof Promise) client.catch(() => undefined);
    this.sender = new BatchSender<Entry>(
      putRecordsVia(client, this.target),
      {
        maxAttempts: options.maxAttempts ?? Infinity,
        baseDelayMs: options.baseDelayMs ?? 100,
        initialRatePerSecond: options.initialRatePerSecond ?? 1000,
      },
      options.clock ?? realClock,
    );
  }

  put(record: ProducerRecord): Promise<Acknowledgement> {
    const n = ++this.count;
    return new Promise<Acknowledgement>((resolve, reject) => {
      if (this.closed) {
        reject(new ProducerClosedError(`Record #${n} (key ${record.partitionKey}): the producer is closed`));
        return;
      }
      const data = typeof record.data === 'string' ? Buffer.from(record.data, 'utf8') : toBuffer(record.data);
      const pending: Pending = {
        n,
        partitionKey: record.partitionKey,
        data,
        ...(record.explicitHashKey === undefined ? {} : { explicitHashKey: record.explicitHashKey }),
        bytes: entryBytes({ partitionKey: record.partitionKey, data }),
        resolve,
        reject,
      };
      const invalid = this.invalid(pending);
      if (invalid) {
        reject(new InvalidRecordError(`${this.describe(pending)} ${invalid}`));
        return;
      }
      this.waiting.push(pending);
      this.admit();
    });
  }

  flush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  metrics() {
    return {
      ...this.totals,
      buffered: this.buffered,
      bufferedBytes: this.bufferedBytes,
      waiting: this.waiting.length,
    };
  }

  private invalid(record: Pending): string | undefined {
    const keyLength = [...record.partitionKey].length;
    if (keyLength < 1 || keyLength > 256)
      return `has a partition key of ${keyLength} characters (Kinesis: 1 to 256)`;
    if (record.bytes > this.maxRecordBytes) {
      return `is ${record.bytes} bytes (data plus partition key), over the ${this.maxRecordBytes} bytes the stream accepts`;
    }
    if (
      record.explicitHashKey !== undefined &&
      !(EXPLICIT_HASH_KEY.test(record.explicitHashKey) && BigInt(record.explicitHashKey) <= MAX_HASH_KEY)
    ) {
      return `has explicit hash key ${record.explicitHashKey}, not a decimal from 0 to 2^128 - 1`;
    }
    return undefined;
  }

  /** Moves waiting records into the buffer, in call order, while there is room (an empty buffer takes any record). */
  private admit(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const empty = this.buffered === 0;
      if (!empty && (this.buffered + 1 > this.maxRecords || this.bufferedBytes + next.bytes > this.maxBytes))
        break;
      this.waiting.shift();
      this.buffered += 1;
      this.bufferedBytes += next.bytes;
      this.fresh.push(next);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.pumping || this.fresh.length + this.queue.length === 0) return;
    this.pumping = true;
    // After the current turn: puts made together go out together.
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    try {
      while (this.fresh.length + this.queue.length > 0) {
        this.pack();
        const round = await this.sender.sendRound(this.queue);
        this.totals.batches += 1;
        this.totals.retries += round.retried;
        this.totals.throttles += round.throttled;
        for (const { entry, shardId, sequenceNumber } of round.acknowledged) {
          this.totals.kinesisRecordsPut += 1;
          entry.records.forEach((record, i) => {
            this.totals.recordsPut += 1;
            this.release(record);
            record.resolve({
              shardId: shardId ?? '',
              sequenceNumber: sequenceNumber ?? '',
              ...(entry.aggregated ? { subSequenceNumber: i } : {}),
            });
          });
        }
        for (const failure of round.failed) this.fail(failure, round.requestError);
        this.report(round);
        this.admit();
      }
    } catch (error) {
      // Not a refusal by Kinesis (those are settled above) but a fault here: every held record fails with it.
      for (const entry of this.queue.splice(0))
        for (const record of entry.records) this.failRecord(record, 'Error', 0, error);
      for (const record of this.fresh.splice(0)) this.failRecord(record, 'Error', 0, error);
    } finally {
      this.pumping = false;
    }
    this.admit();
    if (this.isIdle()) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Turns admitted records into entries: one each, or KPL aggregates. */
  private pack(): void {
    if (this.fresh.length === 0) return;
    const records = this.fresh;
    this.fresh = [];
    if (!this.aggregation) {
      for (const record of records)
        this.queue.push({ ...routing(record), records: [record], aggregated: false });
      return;
    }
    for (const out of aggregate(records, this.maxRecordBytes)) {
      const keys = [...new Set(out.records.map((r) => r.partitionKey))];
      this.queue.push({
        partitionKey: out.partitionKey,
        data: out.data,
        ...(out.explicitHashKey === undefined ? {} : { explicitHashKey: out.explicitHashKey }),
        ...(keys.length > 1 || keys[0] !== out.partitionKey ? { orderKeys: keys } : {}),
        records: out.records,
        aggregated: out.aggregated,
      });
    }
  }

  private fail(failure: Failed<Entry>, requestError: unknown): void {
    for (const record of failure.entry.records) {
      this.failRecord(record, failure.errorCode, failure.attempts, requestError, failure.errorMessage);
    }
  }

  private failRecord(
    record: Pending,
    errorCode: string,
    attempts: number,
    cause: unknown,
    message?: string,
  ): void {
    this.totals.failed += 1;
    this.release(record);
    const reason = message ?? (cause instanceof Error ? cause.message : String(cause));
    record.reject(
      new RecordDeliveryError(
        `${this.describe(record)} could not be put into ${describeTarget(this.target)} after ${attempts} ` +
          `attempt${attempts === 1 ? '' : 's'}: ${errorCode}: ${reason}`,
        record.partitionKey,
        errorCode,
        attempts,
        cause === undefined ? undefined : { cause },
      ),
    );
  }

  private release(record: Pending): void {
    this.buffered -= 1;
    this.bufferedBytes -= record.bytes;
  }

  private report(round: {
    sent: number;
    acknowledged: unknown[];
    retried: number;
    throttled: number;
    failed: unknown[];
    latencyMs: number;
  }): void {
    if (!this.onMetrics) return;
    try {
      this.onMetrics({
        sent: round.sent,
        acknowledged: round.acknowledged.length,
        retried: round.retried,
        throttled: round.throttled,
        failed: round.failed.length,
        latencyMs: round.latencyMs,
        ratePerSecond: this.sender.ratePerSecond,
        buffered: this.buffered,
        bufferedBytes: this.bufferedBytes,
        waiting: this.waiting.length,
        totals: { ...this.totals },
      });
    } catch (error) {
      process.emitWarning(`kinesis-reservoir-producer: onMetrics threw: ${String(error)}`);
    }
  }

  private isIdle(): boolean {
    return this.buffered === 0 && this.waiting.length === 0;
  }

  private describe(record: Pending): string {
    return `Record #${record.n} (key ${record.partitionKey}, ${record.bytes} bytes)`;
  }
}

function routing(record: Pending): PutRecordsEntry {
  return {
    partitionKey: record.partitionKey,
    data: record.data,
    ...(record.explicitHashKey === undefined ? {} : { explicitHashKey: record.explicitHashKey }),
  };
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0))
    throw new InvalidRecordError(`createProducer: ${name} must be a positive number, not ${value}`);
  return value;
}
