import { randomBytes } from 'node:crypto';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { RecordAggregator } from 'aws-kinesis-agg';

/** A record as a producer sends it. */
export interface ProducedRecord {
  partitionKey: string;
  data: Buffer;
}

const ATTRIBUTES = ['temperature', 'pressure', 'spindle_rpm', 'vibration'] as const;

/** Machine telemetry shaped like the seeds' producer: {"type","host","data":{"machine","time","attributes"}}. */
export function telemetryRecord(index: number, now = Date.now()): ProducedRecord {
  const host = `spark-${(index % 5) + 1}`;
  const machine = `press-${String(index % 23).padStart(2, '0')}`;
  const attributes = Object.fromEntries(
    ATTRIBUTES.map((name, i) => [
      name,
      {
        name,
        description: `${name.replace('_', ' ')} sensor`,
        format: 'float',
        value: Math.round(((index * (i + 3)) % 997) * 10) / 10,
      },
    ]),
  );
  const body = { type: 'record', host, data: { machine, time: new Date(now).toISOString(), attributes } };
  return { partitionKey: `${host}/${machine}`, data: Buffer.from(JSON.stringify(body)) };
}

/** Bytes that are not valid UTF-8, as a device might send (archived as base64). */
export function binaryRecord(index: number, size = 64): ProducedRecord {
  const data = randomBytes(size);
  data[0] = 0xff; // 0xFF never occurs in UTF-8
  return { partitionKey: `device-${index % 7}`, data };
}

/** KPL-aggregates user records into Kinesis records (one per aggregate, ≤ 1 MiB each). */
export function kplAggregate(records: ProducedRecord[]): ProducedRecord[] {
  const aggregates: ProducedRecord[] = [];
  const aggregator = new RecordAggregator(
    (error: Error | null, encoded?: { partitionKey: string; data: Buffer }) => {
      if (error) throw error;
      if (encoded) aggregates.push({ partitionKey: encoded.partitionKey, data: encoded.data });
    },
  );
  aggregator.aggregateRecords(records, true);
  return aggregates;
}

/**
 * Puts records in PutRecords batches (≤ 500 entries, ≤ 5 MiB), retrying failed entries until
 * all are in. Each batch holds one record per partition key, so a retried entry can never
 * overtake a later record of its key.
 */
export async function putAll(
  kinesis: KinesisClient,
  stream: string,
  records: ProducedRecord[],
): Promise<void> {
  let queue = records;
  while (queue.length > 0) {
    const batch: ProducedRecord[] = [];
    let bytes = 0;
    const keys = new Set<string>();
    const rest: ProducedRecord[] = [];
    for (const record of queue) {
      const size = record.data.length + Buffer.byteLength(record.partitionKey);
      if (
        batch.length < 500 &&
        // A record over the request's 5 MiB (records reach 10 MiB) goes in a request of its own.
        (batch.length === 0 || bytes + size <= 5 * 1024 * 1024) &&
        !keys.has(record.partitionKey) &&
        rest.length === 0
      ) {
        batch.push(record);
        bytes += size;
        keys.add(record.partitionKey);
      } else {
        rest.push(record);
      }
    }
    const output = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: batch.map((record) => ({ PartitionKey: record.partitionKey, Data: record.data })),
      }),
    );
    const failed = (output.Records ?? []).flatMap((entry, i) => (entry.ErrorCode ? [batch[i]!] : []));
    if (failed.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    queue = [...failed, ...rest];
  }
}
