/** A record on its way into a stream with PutRecords. */
export interface PutRecordsEntry {
  partitionKey: string;
  data: Uint8Array;
  /** Routes the record to the shard whose hash key range holds it, instead of the key's MD5. */
  explicitHashKey?: string;
  /**
   * The keys whose order this entry must keep, when it carries more than its own partition key's
   * records (a KPL aggregate carries several keys); absent: its partition key.
   */
  orderKeys?: readonly string[];
}

/** One record on its way into the target stream, with the source position it came from. */
export interface PutEntry extends PutRecordsEntry {
  source: { shardId: string; sequenceNumber: string; subSequenceNumber: number };
}

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
}

/** PutRecords limits: 500 entries, 5 MiB per request (data plus partition keys). */
export const PUT_RECORDS_LIMITS: BatchLimits = { maxRecords: 500, maxBytes: 5 * 1024 * 1024 };

/** Kinesis's default maximum record size (data plus partition key): 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

/** What a record counts against the record and request size limits: data plus partition key. */
export function entryBytes(entry: PutRecordsEntry): number {
  return entry.data.byteLength + Buffer.byteLength(entry.partitionKey);
}

/**
 * Picks the next PutRecords batch from a queue in original order: at most one entry per
 * partition key (or per order key), and never an entry whose key has an earlier entry still
 * waiting. So a retried failure can never be overtaken by a later record of its key, while other
 * keys fill the batch. Returns queue indexes, in order.
 */
export function takeBatch(queue: readonly PutRecordsEntry[], limits: BatchLimits): number[] {
  const batch: number[] = [];
  const blocked = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < queue.length && batch.length < limits.maxRecords; i++) {
    const entry = queue[i]!;
    const keys = entry.orderKeys ?? [entry.partitionKey];
    const size = entryBytes(entry);
    const free = keys.every((key) => !blocked.has(key));
    for (const key of keys) blocked.add(key);
    if (!free || (batch.length > 0 && bytes + size > limits.maxBytes)) continue;
    batch.push(i);
    bytes += size;
  }
  return batch;
}
