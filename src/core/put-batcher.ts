/** One record on its way into the target stream, with the source position it came from. */
export interface PutEntry {
  partitionKey: string;
  data: Uint8Array;
  source: { shardId: string; sequenceNumber: string; subSequenceNumber: number };
}

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
}

/** PutRecords limits: 500 entries, 5 MiB per request (data plus partition keys). */
export const PUT_RECORDS_LIMITS: BatchLimits = { maxRecords: 500, maxBytes: 5 * 1024 * 1024 };

export function entryBytes(entry: PutEntry): number {
  return entry.data.byteLength + Buffer.byteLength(entry.partitionKey);
}

/**
 * Picks the next PutRecords batch from a queue in original order: at most one record per
 * partition key, and never a record whose key has an earlier record still waiting. So a
 * retried failure can never be overtaken by a later record of its key, while other keys fill
 * the batch. Returns queue indexes, in order.
 */
export function takeBatch(queue: readonly PutEntry[], limits: BatchLimits): number[] {
  const batch: number[] = [];
  const blocked = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < queue.length && batch.length < limits.maxRecords; i++) {
    const entry = queue[i]!;
    const size = entryBytes(entry);
    if (blocked.has(entry.partitionKey) || (batch.length > 0 && bytes + size > limits.maxBytes)) {
      blocked.add(entry.partitionKey);
      continue;
    }
    batch.push(i);
    bytes += size;
    blocked.add(entry.partitionKey);
  }
  return batch;
}
