import { ReadBudget, SHARD_READ_LIMITS } from '../../src/core/read-budget';
import type { ReadMode } from '../../src/reading/shard-read';
import { createHash } from 'node:crypto';
import { CheckpointConflictError, ExpiredIteratorError, ThrottledError } from '../../src/core/errors';
import type {
  IteratorStart,
  KinesisRecord,
  ObjectStore,
  RecordBatch,
  ShardReader,
  StoredJson,
} from '../../src/core/ports';
import { compareSequenceNumbers } from '../../src/core/sequence';

/** An in-memory bucket with S3's conditional-write semantics (412 on a stale ETag). */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<
    string,
    { body: Buffer; etag: string; tags?: Record<string, string>; metadata?: Record<string, string> }
  >();
  /** Throws (as a crash would) when this many more write operations have happened. */
  crashAfterWrites: number | null = null;
  writes = 0;

  /** A write replaces the object's tags, as PutObject does. */
  private write(
    key: string,
    body: Buffer,
    tags?: Readonly<Record<string, string>>,
    metadata?: Readonly<Record<string, string>>,
  ): string {
    if (this.crashAfterWrites !== null && this.writes >= this.crashAfterWrites) {
      throw new Error(`simulated crash before write #${this.writes + 1} (${key})`);
    }
    this.writes += 1;
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.objects.set(key, {
      body,
      etag,
      ...(tags ? { tags: { ...tags } } : {}),
      ...(metadata ? { metadata: { ...metadata } } : {}),
    });
    return etag;
  }

  async getJson<T>(key: string): Promise<StoredJson<T> | null> {
    const object = this.objects.get(key);
    return object ? { value: JSON.parse(object.body.toString('utf8')) as T, etag: object.etag } : null;
  }
  async putJsonIfMatch(
    key: string,
    value: unknown,
    expectedEtag: string | null,
    tags?: Readonly<Record<string, string>>,
  ): Promise<string> {
    const current = this.objects.get(key);
    if ((expectedEtag === null && current) || (expectedEtag !== null && current?.etag !== expectedEtag)) {
      throw new CheckpointConflictError(`conditional write of ${key} failed`);
    }
    return this.write(key, Buffer.from(JSON.stringify(value)), tags);
  }
  async putJson(key: string, value: unknown): Promise<void> {
    this.write(key, Buffer.from(JSON.stringify(value)));
  }
  async putObject(
    key: string,
    body: Uint8Array,
    _contentType?: string,
    _contentEncoding?: string,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.write(key, Buffer.from(body), undefined, metadata);
  }
  async getMetadata(key: string): Promise<Record<string, string> | null> {
    const object = this.objects.get(key);
    return object ? { ...(object.metadata ?? {}) } : null;
  }
  async getObject(key: string): Promise<Uint8Array | null> {
    return this.objects.get(key)?.body ?? null;
  }
  async exists(key: string): Promise<boolean> {
    return this.objects.has(key);
  }
  async firstKey(prefix: string): Promise<string | null> {
    return (await this.listKeys(prefix))[0] ?? null;
  }
  async listKeys(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
  async deleteKeys(keys: string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }
  async listObjects(prefix: string): Promise<{ key: string; bytes: number }[]> {
    return (await this.listKeys(prefix)).map((key) => ({ key, bytes: this.objects.get(key)!.body.length }));
  }
  /** Tags change neither the body nor the ETag, as on S3. */
  async tagObjects(keys: readonly string[], tags: Readonly<Record<string, string>>): Promise<void> {
    for (const key of keys) {
      const object = this.objects.get(key);
      if (object) object.tags = { ...tags };
    }
  }
}

/**
 * One shard in memory, read like Kinesis: iterators are positions, GetRecords returns at most
 * `batchSize` records, a closed shard's iterator turns null after an empty read, records
 * before `trimmedBefore` are gone, and scripted faults (throttles, expired iterators) fire first.
 */
export class MemoryShard implements ShardReader {
  records: KinesisRecord[] = [];
  closed = false;
  trimmedBefore = 0;
  batchSize = 3;
  faults: ('throttle' | 'expired')[] = [];
  getRecordsCalls = 0;

  async getIterator(_stream: string, _shardId: string, start: IteratorStart): Promise<string> {
    if (start.type === 'TRIM_HORIZON') return String(this.trimmedBefore);
    if (start.type === 'AT_TIMESTAMP') {
      const index = this.records.findIndex((r) => r.arrivalTimestamp >= start.timestamp);
      return String(Math.max(index === -1 ? this.records.length : index, this.trimmedBefore));
    }
    const index = this.records.findIndex(
      (r) => compareSequenceNumbers(r.sequenceNumber, start.sequenceNumber) >= 0,
    );
    const at = index === -1 ? this.records.length : index;
    const position =
      start.type === 'AT_SEQUENCE_NUMBER' || this.records[at]?.sequenceNumber !== start.sequenceNumber
        ? at
        : at + 1;
    return String(Math.max(position, this.trimmedBefore));
  }

  async getRecords(iterator: string, limit: number): Promise<RecordBatch> {
    this.getRecordsCalls += 1;
    const fault = this.faults.shift();
    if (fault === 'throttle') throw new ThrottledError('Rate exceeded for shard');
    if (fault === 'expired') throw new ExpiredIteratorError('Iterator expired');
    const from = Math.max(Number(iterator), this.trimmedBefore);
    const records = this.records.slice(from, from + Math.min(limit, this.batchSize));
    const next = from + records.length;
    const atEnd = next >= this.records.length;
    return {
      records,
      nextIterator: this.closed && atEnd && records.length === 0 ? null : String(next),
      millisBehindLatest: atEnd ? 0 : 1000,
    };
  }
}

let sequence = 49590338271490256608559692538361571095921575989136588898n;
export function kinesisRecord(
  partitionKey: string,
  data: string | Uint8Array,
  arrivalTimestamp: number,
): KinesisRecord {
  sequence += 1000n;
  return {
    sequenceNumber: sequence.toString(),
    partitionKey,
    arrivalTimestamp,
    data: typeof data === 'string' ? Buffer.from(data) : data,
  };
}

/** Polling at a whole shard's read limits (tests that are not about the budget). */
export const POLLING: Extract<ReadMode, { type: 'polling' }> = {
  type: 'polling',
  rate: SHARD_READ_LIMITS,
  share: 1,
};

/** A read budget whose waits return at once: spacing is asserted through `sleeps` when wanted. */
export function instantBudget(now: () => number = Date.now, sleeps: number[] = []): ReadBudget {
  return new ReadBudget({
    now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}
